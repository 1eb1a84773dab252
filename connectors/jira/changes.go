package jira

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pmsync/pmsync/connectors"
)

// Incremental listing. JQL "updated >=" takes a date with minute precision
// and reads it in the API user's time zone (their profile setting). So the
// connector reads that zone once from /myself, formats the cursor in it and
// floors it to the minute. When the zone is unknown the cursor is formatted
// at UTC-12, the earliest zone, which re-reads more but never misses.
//
// The next poll starts at min(latest updated seen, previous poll's start −
// index lag) − Config.Overlap (default 2 m, for clock skew). The index lag
// is 0 on Data Center and cloudIndexLag on Cloud, whose search index lags
// writes by seconds to minutes while reconcileIssues shows pmsync's own
// writes at once: an issue a person changed just before pmsync's own write
// may become searchable after the poll that saw pmsync's, and must still be
// inside the next poll's window. Rows already returned are dropped by
// (id, updated), which the cursor carries for the re-read window.

const (
	cursorPrefix = "jira1."
	jqlDate      = "2006/01/02 15:04"
	pageSize     = 100
	maxPages     = 10000
	// dcPageOverlap is how many rows each Data Center page re-reads of the
	// previous one: an issue updated while paging moves to the end and
	// shifts the rows after it one place left.
	dcPageOverlap = 5
	// maxSeen bounds the (id, updated) pairs a cursor carries.
	maxSeen = 5000
	// cloudIndexLag is how long Cloud's search index may lag a write.
	cloudIndexLag = 10 * time.Minute
	// recentWindow is how long a written issue id is passed to Cloud's
	// reconcileIssues (read-after-write), at most 50 of them.
	recentWindow = 10 * time.Minute
	maxReconcile = 50
)

// cursor is the state of Changes between calls.
type cursor struct {
	Max    time.Time `json:"t"`           // the latest updated time seen
	Polled time.Time `json:"p,omitempty"` // when the previous poll started (connector clock)
	Seen   []string  `json:"s,omitempty"` // "id@unixmilli" of rows in the re-read window
}

// from is where the next poll starts; zero means from the beginning.
func (c cursor) from(lag, overlap time.Duration) time.Time {
	if c.Max.IsZero() {
		return time.Time{}
	}
	bound := c.Max
	if !c.Polled.IsZero() && c.Polled.Add(-lag).Before(bound) {
		bound = c.Polled.Add(-lag)
	}
	return bound.Add(-overlap)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	if s == "" {
		return c, nil
	}
	rest, ok := strings.CutPrefix(s, cursorPrefix)
	if !ok {
		return c, errors.New("cursor was not made by the jira connector")
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return c, errors.New("cursor is not valid base64")
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, errors.New("cursor is not valid JSON")
	}
	return c, nil
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return cursorPrefix + base64.RawURLEncoding.EncodeToString(b)
}

func seenKey(it *connectors.Item) string {
	return it.ID + "@" + strconv.FormatInt(it.UpdatedAt.UnixMilli(), 10)
}

// changesJQL is the query for issues updated at or after from.
func (c *Connector) changesJQL(from time.Time, loc *time.Location) string {
	q := "project = " + c.project
	if !from.IsZero() {
		q += ` AND updated >= "` + from.In(loc).Format(jqlDate) + `"`
	}
	return q + " ORDER BY updated ASC, key ASC"
}

// Changes lists issues updated since the cursor, oldest first.
func (c *Connector) Changes(ctx context.Context, cur string) (*connectors.Changes, error) {
	op := c.op("list changes in %s", c.project)
	state, err := decodeCursor(cur)
	if err != nil {
		return nil, invalid(op, "%v", err)
	}
	var n atomic.Int64
	ctx = withCounter(ctx, &n)
	loc, err := c.zone(ctx, op)
	if err != nil {
		return nil, err
	}
	polled := c.now()
	from := state.from(c.indexLag, c.overlap)
	raws, err := c.search(ctx, op, c.changesJQL(from, loc))
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(state.Seen))
	for _, k := range state.Seen {
		seen[k] = true
	}
	var items []connectors.Item
	for i := range raws {
		it, err := c.item(op, &raws[i])
		if err != nil {
			return nil, err
		}
		c.noteKey(it.ID, it.Ref.Key)
		c.cache.dropOlder(it.Ref.Key, it.UpdatedAt)
		k := seenKey(it)
		if seen[k] {
			continue
		}
		seen[k] = true
		items = append(items, *it)
		state.Max = later(state.Max, it.UpdatedAt)
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].UpdatedAt.Before(items[j].UpdatedAt) })
	state.Polled = polled
	state.Seen = keepSeen(seen, state.from(c.indexLag, c.overlap).Add(-time.Minute))
	return &connectors.Changes{Items: items, Cursor: state.encode(), Requests: int(n.Load())}, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// keepSeen returns the pairs updated at or after floor, newest kept when
// there are too many.
func keepSeen(seen map[string]bool, floor time.Time) []string {
	type pair struct {
		k  string
		ms int64
	}
	var ps []pair
	for k := range seen {
		_, ms, _ := strings.Cut(k, "@")
		v, err := strconv.ParseInt(ms, 10, 64)
		if err != nil || v < floor.UnixMilli() {
			continue
		}
		ps = append(ps, pair{k, v})
	}
	slices.SortFunc(ps, func(a, b pair) int {
		if a.ms != b.ms {
			return int(b.ms - a.ms)
		}
		return strings.Compare(a.k, b.k)
	})
	if len(ps) > maxSeen {
		ps = ps[:maxSeen]
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.k
	}
	slices.Sort(out)
	return out
}

// earliestZone is used when the user's zone is unknown: a cursor formatted
// there is never later than the same instant in any real zone.
var earliestZone = time.FixedZone("UTC-12", -12*3600)

// zone returns the API user's time zone, read once from /myself.
func (c *Connector) zone(ctx context.Context, op string) (*time.Location, error) {
	c.mu.Lock()
	loc := c.loc
	c.mu.Unlock()
	if loc != nil {
		return loc, nil
	}
	u, resp, err := c.client.User.GetSelfWithContext(ctx)
	if err := c.check(ctx, op+": read the API user's time zone", resp, err); err != nil {
		return nil, err
	}
	loc, lerr := time.LoadLocation(u.TimeZone)
	if u.TimeZone == "" || lerr != nil {
		c.log.Warn("the API user's time zone is unknown; reading changes from the earliest zone", "zone", u.TimeZone)
		loc = earliestZone
	}
	c.mu.Lock()
	c.loc = loc
	c.mu.Unlock()
	return loc, nil
}

// search runs a JQL query over every page.
func (c *Connector) search(ctx context.Context, op, jql string) ([]rawIssue, error) {
	if c.flavor == FlavorCloud {
		return c.searchCloud(ctx, op, jql, c.recentIDs())
	}
	return c.searchDC(ctx, op, jql)
}

// searchCloud pages Cloud's /search/jql with nextPageToken (go-jira only
// knows the removed /search). Fields must be asked for explicitly.
func (c *Connector) searchCloud(ctx context.Context, op, jql string, reconcile []int64) ([]rawIssue, error) {
	var all []rawIssue
	token := ""
	for range maxPages {
		body := map[string]any{"jql": jql, "fields": issueFields, "properties": []string{markerProperty}, "maxResults": pageSize}
		if token != "" {
			body["nextPageToken"] = token
		}
		if len(reconcile) > 0 {
			body["reconcileIssues"] = reconcile
		}
		var out struct {
			Issues        []rawIssue `json:"issues"`
			NextPageToken string     `json:"nextPageToken"`
			IsLast        bool       `json:"isLast"`
		}
		if _, err := c.call(ctx, op, http.MethodPost, "rest/api/2/search/jql", body, &out); err != nil {
			return nil, err
		}
		all = append(all, out.Issues...)
		if out.IsLast || out.NextPageToken == "" {
			return all, nil
		}
		if out.NextPageToken == token {
			return nil, connectors.Errorf(connectors.CodeTemporary, op, errors.New("Jira repeated the page token"))
		}
		token = out.NextPageToken
	}
	return nil, connectors.Errorf(connectors.CodeTemporary, op, errors.New("too many result pages"))
}

// searchDC pages Data Center's /search with startAt and total, each page
// re-reading a few rows of the previous one (see dcPageOverlap). It is
// called directly rather than through go-jira, whose Issue drops the
// entity properties and the comment total.
func (c *Connector) searchDC(ctx context.Context, op, jql string) ([]rawIssue, error) {
	var all []rawIssue
	start := 0
	for range maxPages {
		q := url.Values{
			"jql": {jql}, "startAt": {strconv.Itoa(start)}, "maxResults": {strconv.Itoa(pageSize)},
			"fields": {strings.Join(issueFields, ",")}, "properties": {markerProperty},
		}
		var out struct {
			StartAt int        `json:"startAt"`
			Total   int        `json:"total"`
			Issues  []rawIssue `json:"issues"`
		}
		if _, err := c.call(ctx, op, http.MethodGet, "rest/api/2/search?"+q.Encode(), nil, &out); err != nil {
			return nil, err
		}
		all = append(all, out.Issues...)
		got := len(out.Issues)
		if got == 0 || out.StartAt+got >= out.Total {
			return all, nil
		}
		start = out.StartAt + got - min(dcPageOverlap, got-1)
	}
	return nil, connectors.Errorf(connectors.CodeTemporary, op, errors.New("too many result pages"))
}

// recentIDs returns the ids this connector wrote in the last recentWindow,
// newest first, at most maxReconcile.
func (c *Connector) recentIDs() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	type rec struct {
		id int64
		at time.Time
	}
	var rs []rec
	for id, at := range c.recent {
		if now.Sub(at) > recentWindow {
			delete(c.recent, id)
			continue
		}
		if n, err := strconv.ParseInt(id, 10, 64); err == nil {
			rs = append(rs, rec{n, at})
		}
	}
	slices.SortFunc(rs, func(a, b rec) int { return b.at.Compare(a.at) })
	out := make([]int64, 0, min(len(rs), maxReconcile))
	for i := 0; i < len(rs) && i < maxReconcile; i++ {
		out = append(out, rs[i].id)
	}
	return out
}
