package jira

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/pmsync/pmsync/connectors"
)

// issueRefRE matches what Get and friends accept: a key or a numeric id.
var issueRefRE = regexp.MustCompile(`^(?:[A-Za-z][A-Za-z0-9_]*-[0-9]{1,12}|[0-9]{1,18})$`)

func checkKey(op, key string) error {
	if !issueRefRE.MatchString(key) {
		return invalid(op, "%q is not a Jira issue key or id", key)
	}
	return nil
}

// issuePath is the path of an issue resource with the fields and property
// pmsync reads.
func issuePath(key string) string {
	return "rest/api/2/issue/" + url.PathEscape(key) + "?fields=" + strings.Join(issueFields, ",") + "&properties=" + markerProperty
}

// getRaw reads one issue with its marker property and keeps it for Update
// (see cache.go).
func (c *Connector) getRaw(ctx context.Context, op, key string) (*rawIssue, error) {
	var r rawIssue
	at := c.now()
	if _, err := c.call(ctx, op, http.MethodGet, issuePath(key), nil, &r); err != nil {
		if errors.Is(err, connectors.ErrNotFound) {
			c.cache.drop(key)
		}
		return nil, err
	}
	c.noteKey(r.ID, r.Key)
	c.cache.put(at, &r)
	return &r, nil
}

// item maps a raw issue, classifying a malformed one.
func (c *Connector) item(op string, r *rawIssue) (*connectors.Item, error) {
	it, err := c.toItem(r)
	if err != nil {
		return nil, connectors.Errorf(connectors.CodeTemporary, op, err)
	}
	return it, nil
}

// Get reads one issue by key or id.
func (c *Connector) Get(ctx context.Context, key string) (*connectors.Item, error) {
	op := c.op("get %s", key)
	if err := checkKey(op, key); err != nil {
		return nil, err
	}
	r, err := c.getRaw(ctx, op, key)
	if err != nil {
		return nil, err
	}
	return c.item(op, r)
}

// Create makes an issue carrying marker in one request: the marker is an
// entity property and a label, both part of the create body, so no issue
// ever exists without them. A status other than open is then reached
// through the workflow.
func (c *Connector) Create(ctx context.Context, marker string, it *connectors.Item) (*connectors.Item, error) {
	op := c.op("create issue in %s", c.project)
	if marker != "" && !connectors.ValidMarker(marker) {
		return nil, invalid(op, "marker %q is not a valid marker id", marker)
	}
	if it == nil {
		return nil, invalid(op, "no item")
	}
	if err := checkItem(op, it); err != nil {
		return nil, err
	}
	body := map[string]any{"fields": c.createFields(it, marker)}
	if marker != "" {
		body["properties"] = []map[string]any{{"key": markerProperty, "value": map[string]string{"marker": marker}}}
	}
	var created struct{ ID, Key string }
	if marker != "" {
		c.forgetFind(marker) // from now on an issue may carry it
	}
	if _, err := c.call(ctx, op, http.MethodPost, "rest/api/2/issue", body, &created); err != nil {
		return nil, err
	}
	if created.Key == "" {
		return nil, connectors.Errorf(connectors.CodeTemporary, op, fmt.Errorf("Jira answered the create without an issue key"))
	}
	c.noteKey(created.ID, created.Key)
	c.noteWrite(created.ID)
	c.log.Debug("created issue", "key", created.Key)
	if it.Status != "" && it.Status != connectors.StatusOpen {
		if _, err := c.setStatus(ctx, op+" "+created.Key, created.Key, it.Status, nil); err != nil {
			return nil, fmt.Errorf("jira: created %s but could not set its status: %w", created.Key, connectors.Sent(err))
		}
	}
	// Read as stored (the create answers only id and key), which also
	// keeps the read for an Update that follows.
	out, err := c.Get(ctx, created.Key)
	return out, connectors.Sent(err)
}
