package jira

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	jira "github.com/andygrunwald/go-jira"

	"github.com/pmsync/pmsync/connectors"
)

// FindByMarker must find an issue created a moment ago, and Cloud's search
// index lags writes (seconds, minutes under bulk load). So it asks in two
// ways:
//
//  1. JQL "labels = pmsync-<id>": exact and immediate on Data Center, and
//     on Cloud for issues this connector wrote lately (reconcileIssues).
//     On Data Center this answer is final.
//  2. Cloud only: keys are sequential per project, so it reads the issues above the
//     highest key this connector has seen (after a restart: the newest key
//     the index knows) directly by GET, which is consistent, until
//     probeMisses keys in a row do not exist; with a hint it also walks
//     down from there while issues are newer than hint.CreatedAfter and
//     than the index lag (an older issue is in the index, so step 1 would
//     have found it).
//     Each read asks for the "pmsync" entity property.
const (
	probeMisses  = 4
	maxProbeUp   = 200
	maxProbeDown = 50
)

// FindByMarker returns the issue carrying marker, or ErrNotFound.
func (c *Connector) FindByMarker(ctx context.Context, marker string, hint connectors.FindHint) (*connectors.Item, error) {
	op := c.op("find marker in %s", c.project)
	if !connectors.ValidMarker(marker) {
		return nil, invalid(op, "%q is not a valid marker id", marker)
	}
	jql := "project = " + c.project + ` AND labels = "` + markerLabelPrefix + marker + `" ORDER BY created DESC`
	raws, err := c.search(ctx, op, jql)
	if err != nil {
		return nil, err
	}
	for i := range raws {
		if it, err := c.item(op, &raws[i]); err == nil && it.Marker == marker {
			return it, nil
		}
	}
	if c.flavor == FlavorDataCenter {
		// Data Center indexes an issue in the request that creates it, so
		// the JQL answer is authoritative: probing keys would only add
		// requests (and, on a failing network, chances to fail).
		return nil, connectors.Errorf(connectors.CodeNotFound, op, errors.New("no issue carries the marker"))
	}
	return c.probe(ctx, op, marker, hint)
}

// probe reads issues by key around the newest one known (see above).
func (c *Connector) probe(ctx context.Context, op, marker string, hint connectors.FindHint) (*connectors.Item, error) {
	c.mu.Lock()
	top := c.highest
	c.mu.Unlock()
	if top == 0 {
		var err error
		if top, err = c.newestIndexed(ctx, op); err != nil {
			return nil, err
		}
	}
	misses := 0
	for n := top + 1; n <= top+maxProbeUp && misses < probeMisses; n++ {
		it, err := c.probeOne(ctx, op, n)
		switch {
		case errors.Is(err, connectors.ErrNotFound):
			misses++
			continue
		case err != nil:
			return nil, err
		}
		misses = 0
		if it.Marker == marker {
			return it, nil
		}
	}
	if hint.CreatedAfter.IsZero() {
		return nil, connectors.Errorf(connectors.CodeNotFound, op, errors.New("no issue carries the marker"))
	}
	// An issue older than the index lag is in the index, so the label
	// search above would have found it: only younger ones need reading.
	after := hint.CreatedAfter
	if floor := c.now().Add(-(c.indexLag + c.overlap)); floor.After(after) {
		after = floor
	}
	for n := top; n >= 1 && n > top-maxProbeDown; n-- {
		it, err := c.probeOne(ctx, op, n)
		switch {
		case errors.Is(err, connectors.ErrNotFound):
			continue
		case err != nil:
			return nil, err
		}
		if it.Marker == marker {
			return it, nil
		}
		if it.CreatedAt.Before(after) {
			break
		}
	}
	return nil, connectors.Errorf(connectors.CodeNotFound, op, errors.New("no issue carries the marker"))
}

// probeOne reads PROJECT-n; an issue that moved to another project counts
// as present but never matches.
func (c *Connector) probeOne(ctx context.Context, op string, n int) (*connectors.Item, error) {
	r, err := c.getRaw(ctx, op, c.project+"-"+strconv.Itoa(n))
	if err != nil {
		return nil, err
	}
	it, err := c.item(op, r)
	if err != nil {
		return nil, err
	}
	if keyNumber(c.project, it.Ref.Key) != n {
		it.Marker = ""
	}
	return it, nil
}

// newestIndexed returns the number of the newest issue the search index
// knows, 0 for an empty project.
func (c *Connector) newestIndexed(ctx context.Context, op string) (int, error) {
	jql := "project = " + c.project + " ORDER BY key DESC"
	var key string
	if c.flavor == FlavorCloud {
		var out struct {
			Issues []struct {
				Key string `json:"key"`
			} `json:"issues"`
		}
		body := map[string]any{"jql": jql, "fields": []string{"created"}, "maxResults": 1}
		if _, err := c.call(ctx, op, http.MethodPost, "rest/api/2/search/jql", body, &out); err != nil {
			return 0, err
		}
		if len(out.Issues) > 0 {
			key = out.Issues[0].Key
		}
	} else {
		issues, resp, err := c.client.Issue.SearchWithContext(ctx, jql, &jira.SearchOptions{MaxResults: 1, Fields: []string{"created"}})
		if err := c.check(ctx, op, resp, err); err != nil {
			return 0, err
		}
		if len(issues) > 0 {
			key = issues[0].Key
		}
	}
	n := keyNumber(c.project, key)
	c.noteKey("", key)
	return n, nil
}
