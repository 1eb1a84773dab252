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

// cursor is what Changes hands back: the newest updated_at seen and the
// ETag of the first page, kept only when the next poll's first request
// will be the same request.
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

// Changes lists issues updated since the cursor's watermark (minus the
// overlap), following every page, and returns them oldest first.
//
// The walk is sorted by updated_at newest first. An issue updated during
// the walk jumps to the top, so the rows after it move down a place and
// may be read twice, but none is skipped (oldest first, every row after it
// would move up and one would fall between two pages). The jumped issue is
// newer than the watermark this walk sets, so the next poll reads it. For
// the same reason the first page is a complete change detector: any update
// or new issue changes it, so its ETag, sent as If-None-Match, turns an
// idle poll into one request answered 304, which GitHub does not charge.
func (c *Connector) Changes(ctx context.Context, cur string) (*connectors.Changes, error) {
	op := "github: list changes in " + c.full()
	cs, err := decodeCursor(cur)
	if err != nil {
		return nil, invalid(op, err)
	}
	param := c.sinceParam(cs.Since)
	out := &connectors.Changes{Cursor: cs.String()}
	next := cursor{Since: cs.Since}
	var rows []*gh.Issue
	for page := 1; page != 0; {
		q := url.Values{"state": {"all"}, "sort": {"updated"}, "direction": {"desc"}, "per_page": {strconv.Itoa(c.perPage)}}
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
			next.ETag = resp.Header.Get("ETag")
		}
		for _, is := range list {
			if u := is.GetUpdatedAt().Time; u.After(next.Since) {
				next.Since = u
			}
		}
		c.cache.put(list...)
		rows = append(rows, list...)
		page = resp.NextPage
	}
	if !c.sinceParam(next.Since).Equal(param) {
		next.ETag = "" // the next poll asks another question
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
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].UpdatedAt.Equal(out[j].UpdatedAt) {
			return out[i].UpdatedAt.Before(out[j].UpdatedAt)
		}
		return out[i].CreatedAt.Before(out[j].CreatedAt)
	})
	return out
}
