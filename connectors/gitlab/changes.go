package gitlab

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/pmsync/pmsync/connectors"
)

// cursorPrefix versions the cursor format: "v1:" and the newest
// updated_at seen, RFC 3339 with nanoseconds.
const cursorPrefix = "v1:"

func formatCursor(t time.Time) string { return cursorPrefix + t.UTC().Format(time.RFC3339Nano) }

func parseCursor(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	v, ok := strings.CutPrefix(s, cursorPrefix)
	t, err := time.Parse(time.RFC3339Nano, v)
	if !ok || err != nil {
		return time.Time{}, fmt.Errorf("cursor %q is not a GitLab cursor (%s<RFC 3339 time>)", s, cursorPrefix)
	}
	return t, nil
}

// Changes lists issues updated since the cursor's time minus the overlap
// (updated_after, order_by=updated_at, sort=asc, per_page=100), following
// every page, de-duplicated by id. With nothing changed it costs one
// request.
func (c *Client) Changes(ctx context.Context, cursor string) (*connectors.Changes, error) {
	op := "gitlab: list changed issues"
	start := c.now()
	since, err := parseCursor(cursor)
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
	if !since.IsZero() {
		opt.UpdatedAfter = gl.Ptr(since.Add(-c.overlap))
	}
	out := &connectors.Changes{Cursor: cursor}
	index := map[int64]int{}
	newest := since
	var served time.Time
	out.Requests, served, err = c.eachPage(ctx, op, opt, func(page []*gl.Issue) bool {
		for _, is := range page {
			c.rememberConfidential(is.IID, is.Confidential)
			it := c.labels.toItem(c.id, path, is)
			if i, dup := index[is.ID]; dup {
				if it.UpdatedAt.After(out.Items[i].UpdatedAt) {
					out.Items[i] = *it
				}
				continue
			}
			index[is.ID] = len(out.Items)
			out.Items = append(out.Items, *it)
			if it.UpdatedAt.After(newest) {
				newest = it.UpdatedAt
			}
		}
		return false
	})
	if err != nil {
		return nil, err
	}
	// The next poll starts from GitLab's time at this listing (its Date
	// header, else our clock), or the newest change seen if later, so an
	// idle poll repeats only what changed within the overlap.
	if served.IsZero() {
		served = start
	}
	if served.After(newest) {
		newest = served
	}
	if newest.After(since) || cursor == "" {
		out.Cursor = formatCursor(newest)
	}
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
	c.rememberConfidential(found.IID, found.Confidential)
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
