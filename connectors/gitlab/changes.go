package gitlab

import (
	"context"
	"fmt"
	"net/http"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/pmsync/pmsync/connectors"
)

// Changes lists issues updated since the cursor's time minus the overlap
// (updated_after, order_by=updated_at, sort=asc, per_page=100), following
// every page, de-duplicated by iid, and leaves out the issues the cursor
// says were already returned with the same updated_at. With nothing
// changed it costs one request and returns nothing, also within the
// overlap after a change.
func (c *Client) Changes(ctx context.Context, cursor string) (*connectors.Changes, error) {
	op := "gitlab: list changed issues"
	start := c.now()
	state, err := parseCursor(cursor)
	if err != nil {
		return nil, connectors.Errorf(connectors.CodeInvalid, op, err)
	}
	path, err := c.projectPath(ctx)
	if err != nil {
		return nil, err
	}
	op += " in " + path
	opt := &gl.ListProjectIssuesOptions{
		ListOptions: gl.ListOptions{PerPage: perPage},
		State:       gl.Ptr("all"), OrderBy: gl.Ptr("updated_at"), Sort: gl.Ptr("asc"),
	}
	since := state.t
	if !since.IsZero() {
		opt.UpdatedAfter = gl.Ptr(since.Add(-c.overlap))
	}
	type row struct {
		iid int64
		it  *connectors.Item
	}
	var rows []row
	index := map[int64]int{} // iid → position in rows
	requests, served, err := c.eachPage(ctx, op, opt, func(page []*gl.Issue) bool {
		for _, is := range page {
			c.seen(is)
			it := c.labels.toItem(c.id, path, is)
			if i, dup := index[is.IID]; dup {
				// Updated while we paged: it moved to a later page.
				if it.UpdatedAt.After(rows[i].it.UpdatedAt) {
					rows[i].it = it
				}
				continue
			}
			index[is.IID] = len(rows)
			rows = append(rows, row{is.IID, it})
		}
		return false
	})
	if err != nil {
		return nil, err
	}
	out := &connectors.Changes{Requests: requests}
	newest := since
	for _, r := range rows {
		if r.it.UpdatedAt.After(newest) {
			newest = r.it.UpdatedAt
		}
		if state.returned(r.iid, r.it.UpdatedAt) {
			continue
		}
		state.seen[r.iid] = r.it.UpdatedAt.UnixMilli()
		out.Items = append(out.Items, *r.it)
	}
	// The next poll starts from GitLab's time at this listing (its Date
	// header, else our clock), or the newest change seen if later; the
	// issues returned within its window are remembered, so it returns
	// only what changed since.
	if served.IsZero() {
		served = start
	}
	state.t = newest
	if served.After(state.t) {
		state.t = served
	}
	state.prune(c.overlap)
	out.Cursor = state.format()
	return out, nil
}

// FindByMarker lists the project's issues newest first (created_after the
// hint, when given) and returns the one whose description carries marker.
// It reads the issue list, never the search API, whose index lags.
func (c *Client) FindByMarker(ctx context.Context, marker string, hint connectors.FindHint) (*connectors.Item, error) {
	op := "gitlab: find marker " + marker
	if !connectors.ValidMarker(marker) {
		return nil, connectors.Errorf(connectors.CodeInvalid, op, fmt.Errorf("marker %q is not a valid marker id", marker))
	}
	path, err := c.projectPath(ctx)
	if err != nil {
		return nil, err
	}
	opt := &gl.ListProjectIssuesOptions{
		ListOptions: gl.ListOptions{PerPage: perPage},
		State:       gl.Ptr("all"), OrderBy: gl.Ptr("created_at"), Sort: gl.Ptr("desc"),
	}
	if !hint.CreatedAfter.IsZero() {
		opt.CreatedAfter = gl.Ptr(hint.CreatedAfter)
	}
	var found *gl.Issue
	_, _, err = c.eachPage(ctx, op, opt, func(page []*gl.Issue) bool {
		for _, is := range page {
			if connectors.HasMarker(is.Description, marker) {
				found = is
				return true
			}
		}
		return false
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, connectors.Errorf(connectors.CodeNotFound, op, nil)
	}
	c.seen(found)
	return c.labels.toItem(c.id, path, found), nil
}

// eachPage lists issues with opt, page after page, until fn returns true
// or no page is left. It returns how many requests it made and GitLab's
// time (the Date header) at the first page. It asks for keyset pagination
// and follows whatever the server answers (a Link rel="next" cursor, or
// X-Next-Page); a server that refuses keyset (405) is asked again by
// offset, and not asked for keyset again.
func (c *Client) eachPage(ctx context.Context, op string, opt *gl.ListProjectIssuesOptions, fn func([]*gl.Issue) bool) (int, time.Time, error) {
	keyset := !c.noKeyset.Load()
	if keyset {
		opt.Pagination = "keyset"
	}
	requests := 0
	var served time.Time
	var next []gl.RequestOptionFunc
	for page := 0; page < maxPages; page++ {
		if err := c.guard(op); err != nil {
			return requests, served, err
		}
		issues, resp, err := c.api.Issues.ListProjectIssues(c.pid(), opt, append([]gl.RequestOptionFunc{gl.WithContext(ctx)}, next...)...)
		requests++
		if err != nil && keyset && page == 0 && resp != nil && resp.StatusCode == http.StatusMethodNotAllowed {
			c.log.Debug("keyset pagination refused; using offset pagination")
			c.noKeyset.Store(true)
			keyset, opt.Pagination, page = false, "", -1
			continue
		}
		if err != nil {
			return requests, served, c.fail(op, resp, err)
		}
		if page == 0 {
			served, _ = http.ParseTime(resp.Header.Get("Date"))
		}
		if fn(issues) {
			return requests, served, nil
		}
		nextOpt, ok := gl.WithNext(resp)
		if !ok || len(issues) == 0 {
			return requests, served, nil
		}
		next = []gl.RequestOptionFunc{nextOpt}
	}
	return requests, served, connectors.Errorf(connectors.CodeTemporary, op, fmt.Errorf("more than %d pages", maxPages))
}
