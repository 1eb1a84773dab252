package jira

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

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
//  2. Cloud only: keys are sequential per project, so it reads the issues
//     around the highest key this connector has seen (after a restart: the
//     newest key the index knows) with bulk fetches, which read the
//     database like a get: up until probeMisses keys in a row do not exist,
//     down while issues are younger than the search can be trusted for
//     (the index lag before the search, or the hint's CreatedAfter when
//     that is later). One bulk fetch of bulkKeys keys usually covers both.
//
// The engine calls FindByMarker after a create whose answer was lost, on a
// network that may fail any request, so an answer is never concluded from
// a failed request (a failed read is not an absent issue), and what a call
// learned is kept (findState) until this connector sends a create with the
// marker again: a call that failed midway resumes where it stopped.
const (
	probeMisses  = 4
	bulkKeys     = 100 // keys per bulk fetch (Cloud's limit with the comment field)
	maxProbeUp   = 500
	maxProbeDown = 500
	// findStateTTL bounds how long what a find learned is reused.
	findStateTTL = 2 * time.Minute
	maxFindState = 1024
)

// errNoMarker is the cause of a find's ErrNotFound.
var errNoMarker = errors.New("no issue carries the marker")

// findState is what earlier calls of FindByMarker for one marker learned.
// It stays true while this connector sends no create with the marker.
type findState struct {
	started  time.Time // connector clock of the first call
	searched time.Time // when the label search found nothing (zero: not yet)
	scanned  bool      // the key scan found nothing...
	scanDown time.Time // ...among keys down to issues created before this
	match    string    // key of an issue found carrying the marker, not yet read in full
}

// findStateOf returns the state for marker, fresh or started now.
func (c *Connector) findStateOf(marker string) findState {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.finds[marker]
	if !ok || now.Sub(st.started) > findStateTTL || now.Before(st.started) {
		return findState{started: now}
	}
	return st
}

// saveFind records what a call learned.
func (c *Connector) saveFind(marker string, st findState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.finds) >= maxFindState {
		now := c.now()
		for m, s := range c.finds {
			if now.Sub(s.started) > findStateTTL {
				delete(c.finds, m)
			}
		}
		if len(c.finds) >= maxFindState {
			c.finds = map[string]findState{}
		}
	}
	c.finds[marker] = st
}

// forgetFind drops what finds learned about marker: a create with it is
// about to be sent, after which an issue may carry it.
func (c *Connector) forgetFind(marker string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.finds, marker)
}

// FindByMarker returns the issue carrying marker, or ErrNotFound.
func (c *Connector) FindByMarker(ctx context.Context, marker string, hint connectors.FindHint) (*connectors.Item, error) {
	op := c.op("find marker in %s", c.project)
	if !connectors.ValidMarker(marker) {
		return nil, invalid(op, "%q is not a valid marker id", marker)
	}
	st := c.findStateOf(marker)
	it, err := c.find(ctx, op, marker, hint, &st)
	if err != nil && !errors.Is(err, connectors.ErrNotFound) {
		c.saveFind(marker, st) // resume from here next time
		return nil, err
	}
	c.forgetFind(marker)
	return it, err
}

// find runs the steps st has not done yet, recording each in st.
func (c *Connector) find(ctx context.Context, op, marker string, hint connectors.FindHint, st *findState) (*connectors.Item, error) {
	if st.match != "" {
		return c.readMatch(ctx, op, marker, st)
	}
	if st.searched.IsZero() {
		at := c.now()
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
		st.searched = at
	}
	if c.flavor == FlavorDataCenter {
		// Data Center indexes an issue in the request that creates it, so
		// the JQL answer is authoritative: reading keys would only add
		// requests (and, on a failing network, chances to fail).
		return nil, connectors.Errorf(connectors.CodeNotFound, op, errNoMarker)
	}
	// An issue created before the search's time minus the index lag was
	// in the index: only younger ones need reading by key.
	down := st.searched.Add(-(c.indexLag + c.overlap))
	if hint.CreatedAfter.After(down) {
		down = hint.CreatedAfter
	}
	if !st.scanned || st.scanDown.After(down) {
		key, err := c.scanKeys(ctx, op, marker, down)
		if err != nil {
			return nil, err
		}
		if key != "" {
			st.match = key
			return c.readMatch(ctx, op, marker, st)
		}
		st.scanned, st.scanDown = true, down
	}
	return nil, connectors.Errorf(connectors.CodeNotFound, op, errNoMarker)
}

// readMatch reads in full the issue the key scan found carrying marker.
func (c *Connector) readMatch(ctx context.Context, op, marker string, st *findState) (*connectors.Item, error) {
	r, err := c.getRaw(ctx, op, st.match)
	if errors.Is(err, connectors.ErrNotFound) {
		// Deleted since the scan saw it: look again from the start.
		*st = findState{started: c.now()}
		return nil, connectors.Errorf(connectors.CodeTemporary, op, errors.New("the issue carrying the marker disappeared while it was being read"))
	}
	if err != nil {
		return nil, err
	}
	it, err := c.item(op, r)
	if err != nil {
		return nil, err
	}
	if it.Marker != marker {
		*st = findState{started: c.now()}
		return nil, connectors.Errorf(connectors.CodeTemporary, op, errors.New("the issue found by key no longer carries the marker"))
	}
	return it, nil
}

// scannedIssue is what a bulk fetch says of one key.
type scannedIssue struct {
	marker  string
	created time.Time
}

// scanKeys reads the issues around the newest key known by bulk fetches
// (see FindByMarker) and returns the key of the one carrying marker, ""
// when none does. down is the creation time below which the walk down
// stops.
func (c *Connector) scanKeys(ctx context.Context, op, marker string, down time.Time) (string, error) {
	c.mu.Lock()
	top := c.highest
	c.mu.Unlock()
	if top == 0 {
		var err error
		if top, err = c.newestIndexed(ctx, op); err != nil {
			return "", err
		}
	}
	seen := map[int]scannedIssue{}
	lo, hi := max(1, top-bulkKeys/2+1), top+bulkKeys/2 // keys read so far: [lo, hi]
	next := [2]int{lo, hi}
	for {
		got, err := c.bulkFetch(ctx, op, next[0], next[1])
		if err != nil {
			return "", err
		}
		for n, s := range got {
			if s.marker == marker {
				return c.project + "-" + strconv.Itoa(n), nil
			}
			seen[n] = s
		}
		// Up: stop once the last probeMisses keys read do not exist.
		newest := top
		for n := range seen {
			newest = max(newest, n)
		}
		if hi-newest < probeMisses && hi-top < maxProbeUp {
			next = [2]int{hi + 1, hi + bulkKeys}
			hi = next[1]
			continue
		}
		// Down: stop at an issue older than down (keys grow with
		// creation), or at the first key.
		reached := lo == 1
		for n, s := range seen {
			if n <= top && s.created.Before(down) {
				reached = true
			}
		}
		if !reached && top-lo < maxProbeDown {
			next = [2]int{max(1, lo-bulkKeys), lo - 1}
			lo = next[0]
			continue
		}
		if !reached {
			c.log.Warn("find by marker: stopped reading keys down at the limit", "keys", maxProbeDown)
		}
		return "", nil
	}
}

// bulkFetch reads the issues PROJECT-lo … PROJECT-hi with Cloud's bulk
// fetch (version 3: version 2 does not document it; only labels, created
// and the marker property are read, which are the same in both). Keys
// that do not exist are absent from the answer. An issue moved to another
// project answers with its new key and is left out.
func (c *Connector) bulkFetch(ctx context.Context, op string, lo, hi int) (map[int]scannedIssue, error) {
	keys := make([]string, 0, hi-lo+1)
	for n := lo; n <= hi; n++ {
		keys = append(keys, c.project+"-"+strconv.Itoa(n))
	}
	body := map[string]any{"issueIdsOrKeys": keys, "fields": []string{"labels", "created"}, "properties": []string{markerProperty}}
	var out struct {
		Issues []struct {
			ID     string `json:"id"`
			Key    string `json:"key"`
			Fields struct {
				Labels  []string  `json:"labels"`
				Created jira.Time `json:"created"`
			} `json:"fields"`
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"issues"`
		IssueErrors []json.RawMessage `json:"issueErrors"`
	}
	if _, err := c.call(ctx, op, http.MethodPost, "rest/api/3/issue/bulkfetch", body, &out); err != nil {
		if errors.Is(err, connectors.ErrNotFound) {
			// The endpoint itself answered 404: that says nothing of
			// the issues, so it must not read as "absent".
			return nil, connectors.Errorf(connectors.CodeTemporary, op, errors.New("the bulk fetch endpoint answered 404"))
		}
		return nil, err
	}
	if len(out.IssueErrors) > 0 {
		return nil, connectors.Errorf(connectors.CodeTemporary, op, errors.New("the bulk fetch could not read some issues"))
	}
	got := make(map[int]scannedIssue, len(out.Issues))
	for _, is := range out.Issues {
		n := keyNumber(c.project, is.Key)
		if n == 0 {
			continue
		}
		c.noteKey(is.ID, is.Key)
		got[n] = scannedIssue{marker: markerOf(is.Fields.Labels, is.Properties), created: time.Time(is.Fields.Created)}
	}
	return got, nil
}

// markerOf is the marker an issue carries: the entity property, else the
// first marker label.
func markerOf(labels []string, props map[string]json.RawMessage) string {
	if id := propertyMarker(props); id != "" {
		return id
	}
	for _, l := range labels {
		if id, ok := strings.CutPrefix(l, markerLabelPrefix); ok && connectors.ValidMarker(id) {
			return id
		}
	}
	return ""
}

// newestIndexed returns the number of the newest issue Cloud's search
// index knows, 0 for an empty project.
func (c *Connector) newestIndexed(ctx context.Context, op string) (int, error) {
	var out struct {
		Issues []struct {
			Key string `json:"key"`
		} `json:"issues"`
	}
	body := map[string]any{"jql": "project = " + c.project + " ORDER BY key DESC", "fields": []string{"created"}, "maxResults": 1}
	if _, err := c.call(ctx, op, http.MethodPost, "rest/api/2/search/jql", body, &out); err != nil {
		return 0, err
	}
	if len(out.Issues) == 0 {
		return 0, nil
	}
	c.noteKey("", out.Issues[0].Key)
	return keyNumber(c.project, out.Issues[0].Key), nil
}
