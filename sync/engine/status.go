package engine

import (
	"errors"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/store"
)

// Status is a snapshot of the engine for `pmsync status` and the dashboard.
type Status struct {
	Customers  []CustomerStatus `json:"customers"`
	Trackers   []TrackerStatus  `json:"trackers"`
	QueueDepth int              `json:"queue_depth"`
	Intents    int              `json:"open_intents"`
	// Error is set when the store could not be read; the rest is partial.
	Error string `json:"error,omitempty"`
}

// CustomerStatus sums up one customer's links.
type CustomerStatus struct {
	ID           string       `json:"id"`
	Name         string       `json:"name"`
	Links        int          `json:"links"`
	Active       int          `json:"active"`
	Unshared     int          `json:"unshared"`
	Broken       int          `json:"broken"`
	OpenCritical int          `json:"open_critical"`
	Conflicts    int          `json:"conflicts"` // resolved, over the links' lives
	Errors       int          `json:"errors"`    // links whose last reconcile failed
	QueueDepth   int          `json:"queue_depth"`
	BrokenLinks  []BrokenLink `json:"broken_links,omitempty"`
}

// BrokenLink is a link reported broken.
type BrokenLink struct {
	Link     string         `json:"link"`
	Platform connectors.Ref `json:"platform"`
	Remote   connectors.Ref `json:"remote"`
	Reason   string         `json:"reason"`
}

// TrackerStatus is one tracker's polling and rate-limit state.
type TrackerStatus struct {
	ID           string    `json:"id"`
	Kind         string    `json:"kind"`
	LastPoll     time.Time `json:"last_poll"`
	LastSuccess  time.Time `json:"last_success"`
	LastError    string    `json:"last_error,omitempty"`
	Watermark    bool      `json:"watermark"` // a watermark is stored
	BlockedUntil time.Time `json:"blocked_until"`
	Requests     int64     `json:"requests"` // requests made by this process
	Writes       int64     `json:"writes"`
}

// Status returns the engine's state: per customer its links by state, open
// critical items (on the owner's side), conflicts and broken links; per
// tracker the last poll; the work queue depth.
func (e *Engine) Status() Status {
	var st Status
	custs, err := e.linkCounts()
	if err != nil {
		st.Error = err.Error()
	}
	for i, c := range e.custs {
		cs := custs[i]
		cs.QueueDepth = c.q.depth()
		st.QueueDepth += cs.QueueDepth
		st.Customers = append(st.Customers, cs)
	}
	if in, err := e.st.Intents(); err == nil {
		st.Intents = len(in)
	} else {
		st.Error = err.Error()
	}
	e.pollMu.Lock()
	polls := map[string]PollInfo{}
	for id, pi := range e.polls {
		polls[id] = *pi
	}
	e.pollMu.Unlock()
	for _, t := range e.trackerList() {
		pi := polls[t.ID]
		ts := TrackerStatus{ID: t.ID, Kind: t.g.Kind(), LastPoll: pi.LastPoll, LastSuccess: pi.LastSuccess,
			LastError: pi.LastError, BlockedUntil: t.g.BlockedUntil(),
			Requests: t.g.requests.Load(), Writes: t.g.writes.Load()}
		if wm, err := e.st.Watermark(t.ID); err == nil {
			ts.Watermark = wm != ""
		}
		st.Trackers = append(st.Trackers, ts)
	}
	return st
}

// statusMaxAge is how long link counts are reused while links change; with
// no change they are reused until one happens. Reading every link costs
// time with many of them, and the dashboard and /metrics ask often.
const statusMaxAge = time.Second

// statusCache holds the last link counts.
type statusCache struct {
	mu    sync.Mutex
	gen   uint64
	at    time.Time
	custs []CustomerStatus
	err   error
}

// linkCounts returns the per-customer link counts, from the cache when no
// link changed since (or they are less than statusMaxAge old). Counting
// reads the store's link summaries, a few bytes per link, not the links;
// only broken links are read, for their refs and reason.
func (e *Engine) linkCounts() ([]CustomerStatus, error) {
	e.stats.mu.Lock()
	defer e.stats.mu.Unlock()
	gen, now := e.linkGen.Load(), e.clock.Now()
	if e.stats.custs != nil && (e.stats.gen == gen || now.Sub(e.stats.at) < statusMaxAge) {
		return slices.Clone(e.stats.custs), e.stats.err
	}
	var custs []CustomerStatus
	var firstErr error
	for _, c := range e.custs {
		cs, err := e.customerCounts(c)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		custs = append(custs, cs)
	}
	e.stats.gen, e.stats.at, e.stats.custs, e.stats.err = gen, now, custs, firstErr
	return slices.Clone(custs), firstErr
}

// customerCounts counts the links of customer c from their summaries, then
// reads its broken links.
func (e *Engine) customerCounts(c *cust) (CustomerStatus, error) {
	cs := CustomerStatus{ID: c.ID, Name: c.Name}
	var broken []string
	err := e.st.LinkSummaries(c.ID, func(s store.LinkSummary) error {
		if e.countLink(&cs, s) {
			broken = append(broken, s.ID)
		}
		return nil
	})
	for _, id := range broken {
		l, lerr := e.st.Link(c.ID, id)
		switch {
		case errors.Is(lerr, store.ErrNotFound):
			// Deleted since the count; the next count will not see it.
			continue
		case lerr != nil:
			if err == nil {
				err = lerr
			}
			cs.BrokenLinks = append(cs.BrokenLinks, BrokenLink{Link: id})
			continue
		}
		cs.BrokenLinks = append(cs.BrokenLinks, BrokenLink{Link: l.ID, Platform: l.Platform.Ref, Remote: l.Remote.Ref, Reason: l.BrokenReason})
	}
	sort.Slice(cs.BrokenLinks, func(i, j int) bool { return cs.BrokenLinks[i].Link < cs.BrokenLinks[j].Link })
	return cs, err
}

// countLink adds the link summarised by s to cs and reports whether it is
// broken (its refs and reason are then to be read). A link counts as open
// critical when it is active, its owner's side is not closed and the
// priority on its origin's side is one of Options.Critical.
func (e *Engine) countLink(cs *CustomerStatus, s store.LinkSummary) (broken bool) {
	cs.Links++
	cs.Conflicts += s.Conflicts
	if s.Errored {
		cs.Errors++
	}
	switch s.State {
	case store.LinkUnshared:
		cs.Unshared++
		return false
	case store.LinkBroken:
		cs.Broken++
		return true
	}
	cs.Active++
	if !s.OwnerClosed && slices.Contains(e.o.Critical, s.OriginPriority) {
		cs.OpenCritical++
	}
	return false
}
