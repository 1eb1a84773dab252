package gitlab

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Cursor formats. Both are read; v2 is written.
//
//	v1:<RFC 3339 time>
//	v2:<RFC 3339 time>[|<iid>@<updated_at, Unix ms>,...]
//
// The time is where the next poll's window is measured from (it asks
// updated_after = time − overlap). The v2 pairs are the issues already
// returned whose updated_at lies in that window: a later poll that lists
// one of them with the same updated_at leaves it out, so polls within the
// overlap after a change do not hand the engine the same items again.
// GitLab's REST timestamps have milliseconds, so milliseconds tell two
// versions of an issue apart.
const (
	cursorV1 = "v1:"
	cursorV2 = "v2:"
	// maxSeen bounds the pairs a cursor carries (about 20 bytes each);
	// past it the oldest are dropped and may be returned again.
	maxSeen = 5000
)

// cursor is the state of Changes between calls.
type cursor struct {
	t    time.Time       // zero: list from the beginning
	seen map[int64]int64 // iid → updated_at (Unix ms) already returned
}

// parseCursor reads a v1 or v2 cursor; "" is the empty cursor.
func parseCursor(s string) (cursor, error) {
	cur := cursor{seen: map[int64]int64{}}
	if s == "" {
		return cur, nil
	}
	bad := func(why string) (cursor, error) {
		return cursor{}, fmt.Errorf("cursor %q is not a GitLab cursor (%s<RFC 3339 time>[|iid@ms,...]): %s", clip(s), cursorV2, why)
	}
	rest, pairs := "", ""
	switch {
	case strings.HasPrefix(s, cursorV1):
		rest = s[len(cursorV1):]
	case strings.HasPrefix(s, cursorV2):
		rest, pairs, _ = strings.Cut(s[len(cursorV2):], "|")
	default:
		return bad("unknown version")
	}
	t, err := time.Parse(time.RFC3339Nano, rest)
	if err != nil {
		return bad("bad time")
	}
	cur.t = t.UTC()
	if pairs == "" {
		return cur, nil
	}
	for p := range strings.SplitSeq(pairs, ",") {
		i, m, ok := strings.Cut(p, "@")
		iid, err1 := strconv.ParseInt(i, 10, 64)
		ms, err2 := strconv.ParseInt(m, 10, 64)
		if !ok || err1 != nil || err2 != nil || iid <= 0 {
			return bad(fmt.Sprintf("pair %q is not iid@ms", clip(p)))
		}
		cur.seen[iid] = ms
	}
	return cur, nil
}

// clip shortens a bad cursor for an error message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// format writes the cursor as v2, its pairs sorted by iid.
func (c cursor) format() string {
	var b strings.Builder
	b.WriteString(cursorV2)
	b.WriteString(c.t.UTC().Format(time.RFC3339Nano))
	iids := make([]int64, 0, len(c.seen))
	for iid := range c.seen {
		iids = append(iids, iid)
	}
	slices.Sort(iids)
	for i, iid := range iids {
		if i == 0 {
			b.WriteByte('|')
		} else {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(iid, 10))
		b.WriteByte('@')
		b.WriteString(strconv.FormatInt(c.seen[iid], 10))
	}
	return b.String()
}

// returned reports whether the issue iid updated at u was returned before.
func (c cursor) returned(iid int64, u time.Time) bool {
	ms, ok := c.seen[iid]
	return ok && ms == u.UnixMilli()
}

// prune keeps the pairs a poll from c.t can list again (updated at or
// after c.t − overlap), at most maxSeen of them, the newest.
func (c *cursor) prune(overlap time.Duration) {
	floor := c.t.Add(-overlap).UnixMilli()
	for iid, ms := range c.seen {
		if ms < floor {
			delete(c.seen, iid)
		}
	}
	if len(c.seen) <= maxSeen {
		return
	}
	type pair struct{ iid, ms int64 }
	ps := make([]pair, 0, len(c.seen))
	for iid, ms := range c.seen {
		ps = append(ps, pair{iid, ms})
	}
	slices.SortFunc(ps, func(a, b pair) int {
		if a.ms != b.ms {
			return cmp.Compare(b.ms, a.ms)
		}
		return cmp.Compare(a.iid, b.iid)
	})
	for _, p := range ps[maxSeen:] {
		delete(c.seen, p.iid)
	}
}
