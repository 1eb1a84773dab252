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
	out.Requests, err = c.eachPage(ctx, op, opt, func(page []*gl.Issue) bool {
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
	switch {
	case newest.After(since):
		out.Cursor = formatCursor(newest)
	case cursor == "":
		// Nothing exists yet: start from the time of this call; the
		// overlap covers a clock behind GitLab's.
		out.Cursor = formatCursor(start)
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
	_, err = c.eachPage(ctx, op, opt, func(page []*gl.Issue) bool {
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
// or no page is left, and returns how many requests it made. It asks for
// keyset pagination and follows whatever the server answers (a Link
// rel="next" cursor, or X-Next-Page); a server that refuses keyset (405)
// is asked again by offset, and not asked for keyset again.
func (c *Client) eachPage(ctx context.Context, op string, opt *gl.ListProjectIssuesOptions, fn func([]*gl.Issue) bool) (int, error) {
	keyset := !c.noKeyset.get()
	if keyset {
		opt.Pagination = "keyset"
	}
	requests := 0
	var next []gl.RequestOptionFunc
	for page := 0; page < maxPages; page++ {
		if err := c.guard(op); err != nil {
			return requests, err
		}
		issues, resp, err := c.api.Issues.ListProjectIssues(c.pid(), opt, append([]gl.RequestOptionFunc{gl.WithContext(ctx)}, next...)...)
		requests++
		if err != nil && keyset && page == 0 && resp != nil && resp.StatusCode == http.StatusMethodNotAllowed {
			c.log.Debug("keyset pagination refused; using offset pagination")
			c.noKeyset.set()
			keyset, opt.Pagination, page = false, "", -1
			continue
		}
		if err != nil {
			return requests, c.fail(op, resp, err)
		}
		if fn(issues) {
			return requests, nil
		}
		nextOpt, ok := gl.WithNext(resp)
		if !ok || len(issues) == 0 {
			return requests, nil
		}
		next = []gl.RequestOptionFunc{nextOpt}
	}
	return requests, connectors.Errorf(connectors.CodeTemporary, op, fmt.Errorf("more than %d pages", maxPages))
}
