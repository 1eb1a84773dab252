package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/sync/engine"
	"github.com/pmsync/pmsync/test/reliability"
)

// BenchmarkIdlePoll converges 20 platform items to the three customers,
// then lets the engine poll every tracker every 50 ms with nothing changed
// and reports, per tracker, the simulator-counted requests per poll cycle
// (bar: 1; GitHub's must be a 304) and the writes made meanwhile (bar: 0).
func BenchmarkIdlePoll(b *testing.B) {
	const items, warm, cycles = 20, 4, 20
	w := newWorld(b, reliability.SimOptions{}, nil, func(o *engine.Options) {
		o.Platform.PollInterval = 50 * time.Millisecond
		for i := range o.Customers {
			o.Customers[i].Tracker.PollInterval = 50 * time.Millisecond
		}
	})
	w.seed(b, items, w.sims.IDs...)
	ctx := context.Background()
	w.converge(b, ctx, items, 4)

	stop := w.run(b)
	// Warm up: the first polls of a new connector read everything once (no
	// ETag yet) and see the engine's own mirror writes.
	if !waitFor(30*time.Second, func() bool {
		for _, id := range trackers {
			if len(w.m.pollMarks(id)) < warm+cycles+1 {
				return false
			}
		}
		return true
	}) {
		stop()
		b.Fatalf("trackers did not poll %d times in 30 s", warm+cycles+1)
	}
	stop()
	before := w.traffic()
	_ = before
	for _, id := range trackers {
		marks := w.m.pollMarks(id)
		first, last := marks[warm], marks[warm+cycles]
		for _, pm := range marks[warm+1 : warm+cycles+1] {
			if pm.err != nil {
				b.Fatalf("%s: poll failed: %v", id, pm.err)
			}
		}
		metrics := map[string]float64{
			"requests/poll": float64(last.requests-first.requests) / cycles,
		}
		if id == reliability.JaneCorp {
			metrics["304s/poll"] = float64(last.notModified-first.notModified) / cycles
		}
		report(b, kindOf[id], metrics)
	}
	// Writes across the whole idle phase (after convergence): bar 0.
	idleWrites := 0
	w.m.mu.Lock()
	for _, n := range w.m.writes {
		idleWrites += n
	}
	w.m.mu.Unlock()
	report(b, "all-trackers", map[string]float64{"writes/poll": float64(idleWrites) / cycles})
}

// BenchmarkWriteCost mirrors one field change (a title edit), one status
// change and one no-op of a platform item shared with a single customer,
// for each customer in turn, through the engine's queue (polling off, so
// only the reconcile's own requests are counted), and reports the reads and
// writes on the platform's side and on the customer's side per change.
// Bar: 1 read + 1 write per item on the changed side, 1 read on the other;
// Jira status adds the transition calls; the no-op writes nothing.
func BenchmarkWriteCost(b *testing.B) {
	w := newWorld(b, reliability.SimOptions{}, nil, nil)
	keys := map[string]string{}
	for _, c := range w.sims.IDs {
		keys[c] = w.seed(b, 1, c)[0]
	}
	ctx := context.Background()
	w.converge(b, ctx, 1, 4)
	stop := w.run(b)
	defer stop()
	plat := w.sims.Trackers[engine.PlatformID].Jira

	type step struct {
		name   string
		change func(key string) error
	}
	steps := []step{
		{"field", func(key string) error { return plat.EditTitle(key, "retitled "+key) }},
		{"status", func(key string) error { return plat.Transition(key, "In Progress", "") }},
		{"nochange", func(string) error { return nil }},
	}
	for _, c := range w.sims.IDs {
		for _, s := range steps {
			key := keys[c]
			before, n := w.traffic(), w.m.reconciles(c)
			if err := s.change(key); err != nil {
				b.Fatalf("%s %s: %v", c, s.name, err)
			}
			w.e.Enqueue(connectors.Ref{Tracker: engine.PlatformID, Key: key})
			if !waitFor(10*time.Second, func() bool {
				return w.m.reconciles(c) > n && w.e.Status().QueueDepth == 0
			}) {
				b.Fatalf("%s %s: not reconciled within 10 s", c, s.name)
			}
			d := w.traffic().since(before)
			for _, other := range w.sims.IDs {
				if other != c && (d[other][0] != 0 || d[other][1] != 0) {
					b.Fatalf("%s %s: %s saw %d reads, %d writes; want none", c, s.name, other, d[other][0], d[other][1])
				}
			}
			report(b, fmt.Sprintf("%s/%s", kindOf[c], s.name), map[string]float64{
				"plat-reads": float64(d[engine.PlatformID][0]), "plat-writes": float64(d[engine.PlatformID][1]),
				"cust-reads": float64(d[c][0]), "cust-writes": float64(d[c][1]),
			})
		}
	}
}
