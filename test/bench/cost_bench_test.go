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
// and reports, per tracker, the requests per poll cycle (bar: 1; GitHub's
// must be a 304) and the writes made meanwhile (bar: 0). It measures twice:
// "recent", right after convergence, while the mirrors' last writes are
// still inside the connectors' poll overlap (2 minutes), and "steady",
// after the simulators' clocks moved 5 minutes on.
func BenchmarkIdlePoll(b *testing.B) {
	const items = 20
	w := newWorld(b, reliability.SimOptions{}, nil, func(o *engine.Options) {
		o.Platform.PollInterval = 50 * time.Millisecond
		for i := range o.Customers {
			o.Customers[i].Tracker.PollInterval = 50 * time.Millisecond
		}
	})
	w.seed(b, items, w.sims.IDs...)
	w.converge(b, context.Background(), items, 4)
	idlePhase(b, w, "recent")
	for _, id := range trackers {
		switch st := w.sims.Trackers[id]; {
		case st.Jira != nil:
			st.Jira.Advance(5 * time.Minute)
		case st.GitLab != nil:
			st.GitLab.Advance(5 * time.Minute)
		case st.GitHub != nil:
			st.GitHub.Advance(5 * time.Minute)
		}
	}
	idlePhase(b, w, "steady")
}

// idlePhase runs the engine until every tracker polled warm+cycles more
// times and reports the last cycles polls.
func idlePhase(b *testing.B, w *world, phase string) {
	const warm, cycles = 4, 20
	base := map[string]int{}
	for _, id := range trackers {
		base[id] = len(w.m.pollMarks(id))
	}
	before := w.traffic()
	stop := w.run(b)
	// Warm up: the first polls of a new connector read everything once (no
	// ETag yet) and see the engine's own mirror writes.
	if !waitFor(30*time.Second, func() bool {
		for _, id := range trackers {
			if len(w.m.pollMarks(id)) < base[id]+warm+cycles+1 {
				return false
			}
		}
		return true
	}) {
		stop()
		b.Fatalf("%s: trackers did not poll %d times in 30 s", phase, warm+cycles+1)
	}
	stop()
	writes := 0
	for _, id := range trackers {
		marks := w.m.pollMarks(id)[base[id]:]
		first, last := marks[warm], marks[warm+cycles]
		reported := 0
		for _, pm := range marks[warm+1 : warm+cycles+1] {
			if pm.err != nil {
				b.Fatalf("%s: %s: poll failed: %v", phase, id, pm.err)
			}
			reported += pm.reported
		}
		metrics := map[string]float64{
			// Every request the simulator saw per cycle: the poll and any
			// reconcile the poll (or another tracker's poll) queued.
			"requests/cycle": float64(last.requests-first.requests) / cycles,
			// The requests of the poll itself, as the connector counts them.
			"requests/poll": float64(reported) / cycles,
		}
		if id == reliability.JaneCorp {
			metrics["304s/poll"] = float64(last.notModified-first.notModified) / cycles
		}
		d := w.traffic().since(before)[id]
		writes += d[1]
		report(b, phase+"/"+kindOf[id], metrics)
	}
	report(b, phase+"/all-trackers", map[string]float64{"writes/phase": float64(writes)})
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
			before, n, from := w.traffic(), w.m.reconciles(c), w.lens()
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
			calls := w.calls(from)
			b.Logf("%s %s: platform %q; %s %q", kindOf[c], s.name, calls[engine.PlatformID], c, calls[c])
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
