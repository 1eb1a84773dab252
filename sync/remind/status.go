package remind

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pmsync/pmsync/store"
)

// MetricsHook receives one call per finished send, for the daemon's
// Prometheus counters (digests sent/failed). kind is "digest" or
// "reminder"; channel is "email", "chat" or "comment". It must not block.
type MetricsHook func(kind, channel string, outcome Outcome)

// SendStatus is the latest outcome of one send key.
type SendStatus struct {
	Key       string
	Customer  string // "" for the platform team
	Recipient string // Recipient.ID
	Channel   string
	Outcome   Outcome
	Attempts  int
	LastError string
	At        time.Time
}

// JobStatus is the state of one digest schedule.
type JobStatus struct {
	ID         string
	Schedule   string
	LastPeriod time.Time // the last period handled (sent, skipped or failed)
	Next       time.Time // the next firing
}

// Status is what `pmsync status` and the dashboard show about reminders.
type Status struct {
	Jobs []JobStatus
	// Problems are sends that failed or whose outcome is unknown, newest
	// first, including pending records left by an earlier run.
	Problems []SendStatus
	// Counts per "channel/outcome" since the process started.
	Counts map[string]int
}

// statusBook collects outcomes in memory.
type statusBook struct {
	mu     sync.Mutex
	now    func() time.Time
	latest map[string]SendStatus
	counts map[string]int
	hook   MetricsHook
	jobs   map[string]JobStatus
}

func newStatusBook(now func() time.Time, hook MetricsHook) *statusBook {
	return &statusBook{now: now, latest: map[string]SendStatus{}, counts: map[string]int{}, hook: hook, jobs: map[string]JobStatus{}}
}

func (b *statusBook) record(key, customer string, r Recipient, o Outcome, errText string, attempts int) {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.latest[key] = SendStatus{Key: key, Customer: customer, Recipient: r.ID, Channel: r.Channel, Outcome: o,
		Attempts: attempts, LastError: errText, At: b.now()}
	b.counts[r.Channel+"/"+string(o)]++
	hook := b.hook
	b.mu.Unlock()
	if hook != nil {
		hook(sendKind(key), r.Channel, o)
	}
}

func (b *statusBook) setJob(j JobStatus) {
	b.mu.Lock()
	b.jobs[j.ID] = j
	b.mu.Unlock()
}

// sendKind reads the kind from a send key ("digest/…", "reminder/…").
func sendKind(key string) string {
	k, _, _ := strings.Cut(key, "/")
	return k
}

// snapshot merges the in-memory outcomes with the pending and failed
// records in the store (left by earlier runs) for the given customers.
func (b *statusBook) snapshot(db SendStore, customers []string) (Status, error) {
	b.mu.Lock()
	st := Status{Counts: map[string]int{}}
	for k, v := range b.counts {
		st.Counts[k] = v
	}
	seen := map[string]bool{}
	for _, s := range b.latest {
		seen[s.Key] = true
		if s.Outcome == OutcomeFailed || s.Outcome == OutcomeUnknown {
			st.Problems = append(st.Problems, s)
		}
	}
	for _, j := range b.jobs {
		st.Jobs = append(st.Jobs, j)
	}
	b.mu.Unlock()
	for _, c := range append([]string{""}, customers...) {
		recs, err := db.Sends(c)
		if err != nil {
			return st, fmt.Errorf("remind: status: %w", err)
		}
		for _, r := range recs {
			if seen[r.Key] {
				continue
			}
			switch r.State {
			case store.SendPending:
				st.Problems = append(st.Problems, SendStatus{Key: r.Key, Customer: r.Customer, Outcome: OutcomeUnknown,
					Attempts: r.Attempts, LastError: "interrupted; not repeated (at most once)", At: r.UpdatedAt})
			case store.SendFailed:
				st.Problems = append(st.Problems, SendStatus{Key: r.Key, Customer: r.Customer, Outcome: OutcomeFailed,
					Attempts: r.Attempts, LastError: r.LastError, At: r.UpdatedAt})
			}
		}
	}
	slices.SortFunc(st.Problems, func(x, y SendStatus) int {
		if c := y.At.Compare(x.At); c != 0 {
			return c
		}
		return strings.Compare(x.Key, y.Key)
	})
	slices.SortFunc(st.Jobs, func(x, y JobStatus) int { return strings.Compare(x.ID, y.ID) })
	return st, nil
}
