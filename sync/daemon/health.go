package daemon

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pmsync/pmsync/connectors"
)

// ReadyPolls is how many poll intervals may pass without a successful poll
// of a tracker before the daemon is not ready.
const ReadyPolls = 3

// trackerBook remembers the polls of each tracker, across reloads.
type trackerBook struct {
	mu  sync.Mutex
	now func() time.Time
	t   map[string]*pollRecord
}

// pollRecord is what the book knows of one tracker.
type pollRecord struct {
	LastPoll    time.Time
	LastSuccess time.Time
	LastError   string // "" after a success; never holds a secret
	Polls       int
	Failures    int
}

func newTrackerBook(now func() time.Time) *trackerBook {
	return &trackerBook{now: now, t: map[string]*pollRecord{}}
}

// polled records one poll; it returns the time of a successful one.
func (b *trackerBook) polled(id string, err error) (time.Time, bool) {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.t[id]
	if r == nil {
		r = &pollRecord{}
		b.t[id] = r
	}
	r.LastPoll = now
	r.Polls++
	if err != nil {
		r.Failures++
		r.LastError = describe(err)
		return time.Time{}, false
	}
	r.LastSuccess, r.LastError = now, ""
	return now, true
}

// get returns the record of tracker id (zero when it never polled).
func (b *trackerBook) get(id string) pollRecord {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r := b.t[id]; r != nil {
		return *r
	}
	return pollRecord{}
}

// describe renders a poll error for the dashboard and /readyz: what was
// being done and how it failed, never a request or response body.
func describe(err error) string {
	var ce *connectors.Error
	if errors.As(err, &ce) {
		s := fmt.Sprintf("%s: %s", ce.Op, ce.Code)
		if ce.Status != 0 {
			s += fmt.Sprintf(" (HTTP %d)", ce.Status)
		}
		if ce.RetryAfter > 0 {
			s += fmt.Sprintf(", retry after %s", ce.RetryAfter.Round(time.Second))
		}
		return s
	}
	s := err.Error()
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// trackerReadiness is one tracker's line in /readyz.
type trackerReadiness struct {
	ID     string
	Ready  bool
	Reason string
}

// readiness says whether the daemon is ready: the store is open and every
// configured tracker was polled successfully within ReadyPolls intervals.
type readiness struct {
	StoreErr error
	Trackers []trackerReadiness
}

// Ready reports whether everything is ready.
func (r readiness) Ready() bool {
	if r.StoreErr != nil {
		return false
	}
	for _, t := range r.Trackers {
		if !t.Ready {
			return false
		}
	}
	return true
}

// check builds the readiness of trackers ids polled every interval.
func (b *trackerBook) check(ids []string, interval time.Duration, storeErr error) readiness {
	now := b.now()
	limit := ReadyPolls * interval
	out := readiness{StoreErr: storeErr}
	for _, id := range ids {
		r := b.get(id)
		tr := trackerReadiness{ID: id}
		switch {
		case r.LastSuccess.IsZero() && r.LastError != "":
			tr.Reason = "never polled successfully; last error: " + r.LastError
		case r.LastSuccess.IsZero():
			tr.Reason = "not polled yet"
		case now.Sub(r.LastSuccess) > limit:
			tr.Reason = fmt.Sprintf("no successful poll for %s (limit %s)", now.Sub(r.LastSuccess).Round(time.Second), limit)
			if r.LastError != "" {
				tr.Reason += "; last error: " + r.LastError
			}
		default:
			tr.Ready = true
			tr.Reason = fmt.Sprintf("polled %s ago", now.Sub(r.LastSuccess).Round(time.Second))
		}
		out.Trackers = append(out.Trackers, tr)
	}
	return out
}

// write renders the readiness as the /readyz body: a first line "ready" or
// "not ready", then one line for the store and one per tracker.
func (r readiness) write(w http.ResponseWriter) {
	var b strings.Builder
	code := http.StatusOK
	if r.Ready() {
		b.WriteString("ready\n")
	} else {
		code = http.StatusServiceUnavailable
		b.WriteString("not ready\n")
	}
	if r.StoreErr != nil {
		fmt.Fprintf(&b, "store: not ready: %v\n", r.StoreErr)
	} else {
		b.WriteString("store: ok\n")
	}
	for _, t := range r.Trackers {
		state := "ok"
		if !t.Ready {
			state = "not ready"
		}
		fmt.Fprintf(&b, "tracker %s: %s: %s\n", t.ID, state, t.Reason)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(b.String()))
}
