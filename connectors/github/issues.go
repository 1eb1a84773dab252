package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v62/github"

	"github.com/pmsync/pmsync/connectors"
)

// Get reads one issue. A pull request, a deleted issue (410) or a missing
// one is ErrNotFound.
func (c *Connector) Get(ctx context.Context, key string) (*connectors.Item, error) {
	op := "github: get " + key
	n, err := c.number(op, key)
	if err != nil {
		return nil, err
	}
	is, err := c.read(ctx, op, n)
	if err != nil {
		return nil, err
	}
	it, ok := toItem(is, c.labels, c.ref())
	if !ok {
		return nil, connectors.Errorf(connectors.CodeNotFound, op, errors.New("it is a pull request, not an issue"))
	}
	return it, nil
}

// Create opens an issue carrying marker, with pmsync's labels created
// first when the repository lacks them. A closed status needs a second
// request: GitHub creates every issue open. Creates are paced; the request
// is never retried here.
func (c *Connector) Create(ctx context.Context, marker string, it *connectors.Item) (*connectors.Item, error) {
	op := "github: create issue in " + c.full()
	if it == nil {
		return nil, invalid(op, errors.New("no item"))
	}
	if marker != "" && !connectors.ValidMarker(marker) {
		return nil, invalid(op, fmt.Errorf("marker %q is not a valid marker id", marker))
	}
	req, err := createRequest(c.labels, marker, it)
	if err != nil {
		return nil, invalid(op, err)
	}
	managed := c.labels.Encode(it.Priority, it.Kind, it.Status == connectors.StatusInProgress, it.Incident, it.Owner)
	if err := c.ensureLabels(ctx, managed); err != nil {
		return nil, err
	}
	release, err := c.pace.acquire(ctx, op)
	if err != nil {
		return nil, err
	}
	is, _, err := c.client.Issues.Create(c.ctx(ctx), c.owner, c.repo, req)
	release()
	if err != nil {
		return nil, c.fail(op, err)
	}
	if it.Status.Closed() {
		state, reason := stateFor(it.Status)
		closeOp := fmt.Sprintf("github: close new issue %s", c.ref().key(is.GetNumber()))
		closed, _, err := c.client.Issues.Edit(c.ctx(ctx), c.owner, c.repo, is.GetNumber(),
			&gh.IssueRequest{State: &state, StateReason: &reason})
		if err != nil {
			return nil, connectors.Sent(c.fail(closeOp, err))
		}
		is = closed
	}
	c.cache.put(is)
	out, _ := toItem(is, c.labels, c.ref())
	c.log.Debug("issue created", "key", out.Ref.Key)
	return out, nil
}

// Update sends one PATCH with every changed field: labels are sent as a
// whole set that keeps the labels pmsync does not manage. An empty patch
// makes no request and returns nil; a patch that changes nothing makes no
// write.
//
// The patch is computed against the current issue, which Update reads
// with a GET unless the connector has seen the issue (through Get, a list
// page, Create or an earlier Update) less than Options.IssueCacheAge ago
// by its clock; the engine reads an item with Get right before it
// updates it, so a field change costs 1 read and 1 write in all. The
// PATCH answer replaces the remembered issue; a failed PATCH forgets it.
//
// Read-modify-write: GitHub's PATCH is not conditional, so a label set
// computed from an issue read before a person changed its labels drops
// that person's change. Without the cache the window is the time between
// Update's GET and its PATCH; with it, the window starts at the read that
// filled the cache, at most IssueCacheAge before the PATCH (in the
// engine's flow, at its Get, a moment before). A webhook delivery for the
// issue (ParseWebhook) and every later read refresh the remembered issue,
// so a label added before that refresh is kept. Labels are sent only
// when pmsync's label-borne fields change.
func (c *Connector) Update(ctx context.Context, key string, p connectors.Patch) (*connectors.Item, error) {
	op := "github: update " + key
	n, err := c.number(op, key)
	if err != nil {
		return nil, err
	}
	if p.Empty() {
		return nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, connectors.Errorf(connectors.CodeTemporary, op, contextErr(err))
	}
	cur := c.cache.get(n)
	if cur == nil {
		if cur, err = c.read(ctx, op, n); err != nil {
			return nil, err
		}
	}
	if cur.IsPullRequest() {
		return nil, connectors.Errorf(connectors.CodeNotFound, op, errors.New("it is a pull request, not an issue"))
	}
	req, changed, err := patchRequest(c.labels, cur, p)
	if err != nil {
		return nil, invalid(op, err)
	}
	if changed {
		edited, _, err := c.client.Issues.Edit(c.ctx(ctx), c.owner, c.repo, n, req)
		if err != nil {
			c.cache.drop(n)
			return nil, c.fail(op, err)
		}
		c.cache.put(edited)
		cur = edited
	}
	it, _ := toItem(cur, c.labels, c.ref())
	return it, nil
}

// read GETs issue n and remembers it; a failed read forgets it.
func (c *Connector) read(ctx context.Context, op string, n int) (*gh.Issue, error) {
	is, _, err := c.client.Issues.Get(c.ctx(ctx), c.owner, c.repo, n)
	if err != nil {
		c.cache.drop(n)
		return nil, c.fail(op, err)
	}
	c.cache.put(is)
	return is, nil
}

// labelColor gives pmsync's labels a colour by role.
func (c *Connector) labelColor(name string) (color, desc string) {
	s := c.labels
	for p, l := range s.Priority {
		if strings.EqualFold(l, name) {
			colors := map[connectors.Priority]string{connectors.P0: "b60205", connectors.P1: "d93f0b",
				connectors.P2: "fbca04", connectors.P3: "0e8a16", connectors.P4: "c5def5"}
			return colors[p], "pmsync: priority " + string(p)
		}
	}
	switch {
	case strings.EqualFold(name, s.InProgress):
		return "1d76db", "pmsync: being worked on"
	case hasPrefixFold(name, s.KindPrefix):
		return "5319e7", "pmsync: action item kind"
	case hasPrefixFold(name, s.IncidentPrefix):
		return "e99695", "pmsync: postmortem incident"
	case hasPrefixFold(name, s.OwnerPrefix):
		return "bfdadc", "pmsync: side that owns the work"
	}
	return "ededed", "pmsync"
}

func hasPrefixFold(s, prefix string) bool {
	return prefix != "" && len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// ensureLabels creates those of names the repository lacks. The label list
// is read once and cached; a label another writer created meanwhile (422
// already_exists) counts as present.
func (c *Connector) ensureLabels(ctx context.Context, names []string) error {
	if len(names) == 0 {
		return nil
	}
	c.labelMu.Lock()
	defer c.labelMu.Unlock()
	if c.known == nil {
		if err := c.listLabels(ctx); err != nil {
			return err
		}
	}
	for _, name := range names {
		if c.known[strings.ToLower(name)] {
			continue
		}
		op := fmt.Sprintf("github: create label %q in %s", name, c.full())
		color, desc := c.labelColor(name)
		_, _, err := c.client.Issues.CreateLabel(c.ctx(ctx), c.owner, c.repo,
			&gh.Label{Name: gh.String(name), Color: gh.String(color), Description: gh.String(desc)})
		var er *gh.ErrorResponse
		if err != nil && !(errors.As(err, &er) && er.Response != nil &&
			er.Response.StatusCode == http.StatusUnprocessableEntity && alreadyExists(er)) {
			return c.fail(op, err)
		}
		c.known[strings.ToLower(name)] = true
	}
	return nil
}

func (c *Connector) listLabels(ctx context.Context) error {
	op := "github: list labels of " + c.full()
	known := map[string]bool{}
	opts := &gh.ListOptions{PerPage: c.perPage}
	for {
		page, resp, err := c.client.Issues.ListLabels(c.ctx(ctx), c.owner, c.repo, opts)
		if err != nil {
			return c.fail(op, err)
		}
		for _, l := range page {
			known[strings.ToLower(l.GetName())] = true
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	c.known = known
	return nil
}

func alreadyExists(er *gh.ErrorResponse) bool {
	for _, e := range er.Errors {
		if e.Code == "already_exists" {
			return true
		}
	}
	return false
}
