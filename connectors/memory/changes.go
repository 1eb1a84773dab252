package memory

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/conformance"
)

// The cursor is the tracker's time when the listing began, as decimal Unix
// nanoseconds: every item changed later has a later UpdatedAt (the same
// clock stamps both), so the next call misses nothing and repeats only what
// the overlap re-reads. It is plain data, so a new connector (after a
// restart) continues from it.

func encodeCursor(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) }

func decodeCursor(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("cursor %q is not a memory cursor (decimal Unix nanoseconds)", truncate(s, 40))
	}
	return time.Unix(0, n).UTC(), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Changes lists items updated since the cursor minus the overlap, oldest
// first, following every page (one request per page, keyset-paginated so
// an edit during the listing moves an item to the end instead of making
// another skip). When nothing changed it costs one request.
func (c *Connector) Changes(ctx context.Context, cursor string) (*connectors.Changes, error) {
	since, err := decodeCursor(cursor)
	if err != nil {
		return nil, invalid("memory: list changed items in "+c.id, err)
	}
	from := since
	if !since.IsZero() {
		from = since.Add(-c.overlap)
	}
	out := &connectors.Changes{}
	var start, posT time.Time
	var posSeq int64
	for {
		page, last, more, now, err := c.listPage(ctx, from, posT, posSeq)
		out.Requests++
		if err != nil {
			return nil, err
		}
		if start.IsZero() {
			start = now
		}
		out.Items = append(out.Items, page...)
		if last != nil {
			posT, posSeq = last.iss.UpdatedAt, last.seq
		}
		if !more {
			break
		}
	}
	if since.After(start) {
		start = since // a cursor from a clock that was ahead: never go back
	}
	out.Cursor = encodeCursor(start)
	return out, nil
}

// FindByMarker searches for the marker first; the search sees only items
// older than the tracker's SearchLag, so when it finds nothing the
// connector lists items newest first, back to hint.CreatedAfter, one page
// per request.
func (c *Connector) FindByMarker(ctx context.Context, marker string, hint connectors.FindHint) (*connectors.Item, error) {
	what := "memory: find item by marker in " + c.id
	if !connectors.ValidMarker(marker) {
		return nil, invalid(what, fmt.Errorf("marker %q is not a valid marker id", truncate(marker, 70)))
	}
	var found *connectors.Item
	err := c.do(ctx, request{op: conformance.OpList, what: what}, func(now time.Time) error {
		var hit *record // the oldest, should a person have copied the marker
		for _, r := range c.tr.items {
			if !r.iss.CreatedAt.After(now.Add(-c.tr.searchLag)) && connectors.HasMarker(r.iss.Body, marker) &&
				(hit == nil || r.num < hit.num) {
				hit = r
			}
		}
		if hit != nil {
			it := c.item(hit)
			found = &it
		}
		return nil
	})
	if err != nil || found != nil {
		return found, err
	}
	before := math.MaxInt
	for {
		done := false
		err := c.do(ctx, request{op: conformance.OpList, what: what}, func(time.Time) error {
			recs := slices.SortedFunc(maps.Values(c.tr.items), func(a, b *record) int { return b.num - a.num })
			n := 0
			for _, r := range recs {
				switch {
				case r.num >= before:
					continue
				case r.iss.CreatedAt.Before(hint.CreatedAfter):
					done = true
					return nil
				case n == c.tr.pageSize:
					return nil
				}
				n++
				before = r.num
				if connectors.HasMarker(r.iss.Body, marker) {
					it := c.item(r)
					found = &it
					return nil
				}
			}
			done = true
			return nil
		})
		if err != nil || found != nil {
			return found, err
		}
		if done {
			return nil, connectors.Errorf(connectors.CodeNotFound, what, fmt.Errorf("no item carries marker %s", marker))
		}
	}
}

// ListComments returns the item's comments oldest first, without system
// notes, one page per request.
func (c *Connector) ListComments(ctx context.Context, key string) ([]connectors.Comment, error) {
	rq := request{op: conformance.OpComment, what: "memory: list comments of " + key}
	var out []connectors.Comment
	for page := 0; ; page++ {
		more := false
		err := c.do(ctx, rq, func(time.Time) error {
			r, err := c.tr.lookupLocked(key)
			if err != nil {
				return err
			}
			var notes []Note
			for _, n := range r.notes {
				if !n.System {
					notes = append(notes, n)
				}
			}
			lo := min(page*c.tr.pageSize, len(notes))
			hi := min(lo+c.tr.pageSize, len(notes))
			for _, n := range notes[lo:hi] {
				out = append(out, c.comment(r.iss, n))
			}
			more = hi < len(notes)
			return nil
		})
		if err != nil {
			return nil, err
		}
		if !more {
			return out, nil
		}
	}
}

func (c *Connector) comment(is Issue, n Note) connectors.Comment {
	marker, body := connectors.ExtractMarker(n.Body)
	return connectors.Comment{
		ID: n.ID, Author: n.Author, Body: body, Marker: marker, Restricted: n.Restricted,
		URL: c.baseURL + "/items/" + is.Key + "#comment-" + n.ID, CreatedAt: n.CreatedAt, UpdatedAt: n.UpdatedAt,
	}
}

// AddComment adds a comment carrying marker, in one request.
func (c *Connector) AddComment(ctx context.Context, key, marker, body string) (*connectors.Comment, error) {
	what := "memory: add comment to " + key
	if marker != "" && !connectors.ValidMarker(marker) {
		return nil, invalid(what, fmt.Errorf("marker %q is not a valid marker id", truncate(marker, 70)))
	}
	if strings.TrimSpace(body) == "" {
		return nil, invalid(what, fmt.Errorf("comment body is empty"))
	}
	var out connectors.Comment
	err := c.do(ctx, request{op: conformance.OpComment, write: true, what: what}, func(time.Time) error {
		r, err := c.tr.lookupLocked(key)
		if err != nil {
			return err
		}
		n := c.tr.addNoteLocked(r, c.user, connectors.EmbedMarker(body, marker), false, false)
		out = c.comment(r.iss, n)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// EditComment replaces a comment's body, keeping its marker, in one request.
func (c *Connector) EditComment(ctx context.Context, key, commentID, body string) (*connectors.Comment, error) {
	what := "memory: edit comment " + commentID + " of " + key
	if strings.TrimSpace(body) == "" {
		return nil, invalid(what, fmt.Errorf("comment body is empty"))
	}
	var out connectors.Comment
	err := c.do(ctx, request{op: conformance.OpComment, write: true, what: what}, func(now time.Time) error {
		r, err := c.tr.lookupLocked(key)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(r.notes, func(n Note) bool { return n.ID == commentID && !n.System })
		if i < 0 {
			return refuse(404, "comment does not exist")
		}
		marker, _ := connectors.ExtractMarker(r.notes[i].Body)
		r.notes[i].Body = connectors.EmbedMarker(body, marker)
		r.notes[i].UpdatedAt = now
		c.tr.touchLocked(r)
		out = c.comment(r.iss, r.notes[i])
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
