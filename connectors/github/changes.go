package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	gh "github.com/google/go-github/v62/github"

	"github.com/pmsync/pmsync/connectors"
)

// cursor is what Changes hands back: the newest updated_at reconciled and
// the ETag of the one-page answer that the next poll's first request will
// repeat (empty when that request differs or the answer had more pages).
type cursor struct {
	Since time.Time `json:"since,omitzero"`
	ETag  string    `json:"etag,omitempty"`
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	if s == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return c, fmt.Errorf("cursor %q is not a GitHub cursor: %v", s, err)
	}
	return c, nil
}

func (c cursor) String() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// sinceParam is the `since` sent for watermark w: w minus the overlap,
// rounded down to a multiple of the overlap so that consecutive polls ask
// the same question (and an unchanged answer can be a 304) while the
// watermark moves within one step.
func (c *Connector) sinceParam(w time.Time) time.Time {
	if w.IsZero() {
		return time.Time{}
	}
	step := max(c.overlap, time.Second)
	return w.Add(-c.overlap).UTC().Truncate(step)
}

// listPage is one page of a walk.
type listPage struct {
	served time.Time // the answer's Date header, zero when absent
	last   time.Time // updated_at of its last row
}

// Changes lists issues updated since the cursor's watermark (minus the
// overlap), oldest first, following every page. The first request carries
// the previous answer's ETag, so an idle poll is one request answered 304.
func (c *Connector) Changes(ctx context.Context, cur string) (*connectors.Changes, error) {
	op := "github: list changes in " + c.full()
	cs, err := decodeCursor(cur)
	if err != nil {
		return nil, invalid(op, err)
	}
	param := c.sinceParam(cs.Since)
	out := &connectors.Changes{Cursor: cs.String()}
	var (
		pages    []listPage
		rows     []*gh.Issue
		firstTag string
	)
	for page := 1; page != 0; {
		q := url.Values{"state": {"all"}, "sort": {"updated"}, "direction": {"asc"}, "per_page": {strconv.Itoa(c.perPage)}}
		if !param.IsZero() {
			q.Set("since", param.Format(time.RFC3339))
		}
		if page > 1 {
			q.Set("page", strconv.Itoa(page))
		}
		req, err := c.client.NewRequest(http.MethodGet, "repos/"+c.owner+"/"+c.repo+"/issues?"+q.Encode(), nil)
		if err != nil {
			return nil, invalid(op, err)
		}
		if page == 1 && cs.ETag != "" {
			req.Header.Set("If-None-Match", cs.ETag)
		}
		var list []*gh.Issue
		resp, err := c.client.Do(c.ctx(ctx), req, &list)
		out.Requests++
		if page == 1 && notModified(err) {
			return out, nil
		}
		if err != nil {
			return nil, c.fail(op, err)
		}
		if page == 1 {
			firstTag = resp.Header.Get("ETag")
		}
		p := listPage{}
		if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
			p.served = d.UTC()
		}
		if len(list) > 0 {
			p.last = list[len(list)-1].GetUpdatedAt().Time
		}
		pages = append(pages, p)
		rows = append(rows, list...)
		page = resp.NextPage
	}
	next := cursor{Since: watermark(cs.Since, pages, rows)}
	if len(pages) == 1 && c.sinceParam(next.Since).Equal(param) {
		next.ETag = firstTag
	}
	out.Cursor = next.String()
	out.Items = c.items(rows)
	return out, nil
}

// notModified reports whether err is go-github's error for a 304.
func notModified(err error) bool {
	var er *gh.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotModified
}

// watermark is the newest updated_at the walk may safely move to. A walk
// over several pages sorted by updated_at can skip a row when another row
// is updated meanwhile (it jumps to the end and the rows after it shift one
// place back). Rows updated at or after the first page was served show
// that; then the watermark stops at the end of the last page served before
// the earliest such update, so the next poll reads the rest again.
func watermark(old time.Time, pages []listPage, rows []*gh.Issue) time.Time {
	w := old
	var earliest time.Time // earliest update made during the walk
	for _, is := range rows {
		u := is.GetUpdatedAt().Time
		if u.After(w) {
			w = u
		}
		if len(pages) > 1 && !pages[0].served.IsZero() && !u.Before(pages[0].served) && (earliest.IsZero() || u.Before(earliest)) {
			earliest = u
		}
	}
	if earliest.IsZero() {
		return w
	}
	safe := old
	for _, p := range pages {
		if p.served.IsZero() || !p.served.Before(earliest.Truncate(time.Second)) {
			break
		}
		if p.last.After(safe) {
			safe = p.last
		}
	}
	return safe
}

// items maps rows to items without pull requests, keeping the newest copy
// of a row seen twice, oldest first.
func (c *Connector) items(rows []*gh.Issue) []connectors.Item {
	byID := map[int64]int{}
	var out []connectors.Item
	for _, is := range rows {
		it, ok := toItem(is, c.labels, c.ref())
		if !ok {
			continue
		}
		if i, seen := byID[is.GetID()]; seen {
			if !it.UpdatedAt.Before(out[i].UpdatedAt) {
				out[i] = *it
			}
			continue
		}
		byID[is.GetID()] = len(out)
		out = append(out, *it)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].UpdatedAt.Before(out[j].UpdatedAt) })
	return out
}

// findSkew widens FindByMarker's window for clock differences.
const findSkew = 5 * time.Minute

// FindByMarker walks the issue list newest-created first (a list endpoint,
// consistent right after a write, unlike search) and returns the oldest
// issue whose body carries marker. With hint.CreatedAfter it stops at
// issues created before that time (minus a skew allowance).
func (c *Connector) FindByMarker(ctx context.Context, marker string, hint connectors.FindHint) (*connectors.Item, error) {
	op := "github: find marker in " + c.full()
	if !connectors.ValidMarker(marker) {
		return nil, invalid(op, fmt.Errorf("marker %q is not a valid marker id", marker))
	}
	opts := &gh.IssueListByRepoOptions{State: "all", Sort: "created", Direction: "desc",
		ListOptions: gh.ListOptions{PerPage: c.perPage}}
	var floor time.Time
	if !hint.CreatedAfter.IsZero() {
		floor = hint.CreatedAfter.Add(-findSkew).UTC().Truncate(time.Second)
		opts.Since = floor // updated_at >= created_at >= floor
	}
	var found *gh.Issue
	for {
		list, resp, err := c.client.Issues.ListByRepo(c.ctx(ctx), c.owner, c.repo, opts)
		if err != nil {
			return nil, c.fail(op, err)
		}
		stop := false
		for _, is := range list {
			if !floor.IsZero() && is.GetCreatedAt().Time.Before(floor) {
				stop = true
				break
			}
			if !is.IsPullRequest() && connectors.HasMarker(is.GetBody(), marker) {
				found = is // newest first: the last hit is the oldest
			}
		}
		if stop || resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if found == nil {
		return nil, connectors.Errorf(connectors.CodeNotFound, op, fmt.Errorf("no issue carries marker %s", marker))
	}
	it, _ := toItem(found, c.labels, c.ref())
	return it, nil
}
