package bench

import (
	"context"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/github"
	"github.com/pmsync/pmsync/sync/engine"
	"github.com/pmsync/pmsync/test/reliability"
)

// apiLatency is the simulated latency of every API answer in the fan-out
// benchmarks; with 8 requests in flight it bounds each tracker at
// 8 / 20 ms = 400 requests/s.
const (
	apiLatency = 20 * time.Millisecond
	inFlight   = 8
	boundRPS   = float64(inFlight) / (float64(apiLatency) / float64(time.Second))
)

// fanout seeds n platform items shared with all three customers and times
// SyncOnce passes until every customer holds n mirrors (each pass is
// counted in the time). It returns the time and the requests and writes
// each tracker received.
func fanout(b *testing.B, w *world, n int) (time.Duration, map[string][2]int, int) {
	w.seed(b, n, w.sims.IDs...)
	before, from := w.traffic(), w.lens()
	w.span.reset()
	ctx := context.Background()
	start := time.Now()
	passes := 0
	for passes < 5 && !w.mirrored(n) {
		passes++
		plan, err := w.e.SyncOnce(ctx, false)
		if err != nil {
			b.Fatalf("SyncOnce pass %d: %v", passes, err)
		}
		if len(plan.Failures) > 0 {
			b.Logf("pass %d: %d failures, first: %+v", passes, len(plan.Failures), plan.Failures[0])
		}
	}
	took := time.Since(start)
	if !w.mirrored(n) {
		b.Fatalf("not converged after %d passes: counts %v, want %d mirrors each", passes, w.counts(), n)
	}
	calls := w.calls(from)
	for _, id := range trackers {
		b.Logf("%s: requests by shape: %q", kindOf[id], shapes(calls[id]))
	}
	return took, w.traffic().since(before), passes
}

// BenchmarkFanout mirrors PMSYNC_BENCH_ITEMS (default 1,000) new platform
// items to three customers with 20 ms latency on every API answer and 8
// requests in flight per tracker, GitHub's creation limit off. Per tracker
// it reports requests/s and its ratio to the concurrency bound (bar: at
// least 75% of 400 requests/s), and mirrors (items) per second.
func BenchmarkFanout(b *testing.B) {
	n := reliability.EnvInt(b, "PMSYNC_BENCH_ITEMS", 1000)
	w := newWorld(b, reliability.SimOptions{Latency: apiLatency}, nil, func(o *engine.Options) {
		o.Workers = inFlight
	})
	took, d, passes := fanout(b, w, n)
	b.Logf("%d items to 3 customers in %v (%d passes)", n, took.Round(time.Millisecond), passes)
	for _, id := range trackers {
		// Each tracker's rate over the time it was busy (from its first
		// request to its last), not over the whole run.
		reqs, busy := float64(d[id][0]+d[id][1]), w.span.active(id)
		rps := reqs / busy.Seconds()
		m := map[string]float64{
			"req/s": rps, "bound-%": 100 * rps / boundRPS,
			"requests/item": reqs / float64(n), "s-busy": busy.Seconds(),
		}
		if id != engine.PlatformID {
			m["items/s"] = float64(n) / busy.Seconds()
		}
		report(b, kindOf[id], m)
	}
}

// defaultLimitScale is how much faster than the wall clock the
// simulators' clocks run in BenchmarkFanoutCreationLimit (unless
// PMSYNC_BENCH_LIMIT_SCALE says otherwise; 1 is the wall clock), so that
// GitHub's limit of 80 creations per simulated minute is reached in a fifth
// of the wall time. A Retry-After the simulator sends is in simulated
// seconds but waited in wall seconds, so a violation costs scale times
// more than it would for real.
const defaultLimitScale = 5

// BenchmarkFanoutCreationLimit mirrors PMSYNC_BENCH_LIMIT_ITEMS (default
// 200) new platform items to the three customers with GitHub's secondary
// limit on: the simulator refuses a 81st creation within a rolling
// simulated minute. Every simulator's clock runs 5x the wall clock, and
// the GitHub connector paces creations at 80 per simulated minute (its
// pacer runs on the simulators' clock). It reports the time until the
// GitHub customer holds every mirror (its first to last request) and until
// all three customers do, in simulated seconds; the floor n / 80 per
// minute and the window floor, the least time the rolling minute allows
// (bursts of 80: (ceil(n/80) − 1) minutes), and the ratios to them (bar:
// at most 1.10); and the limit refusals the simulator counted (bar: 0).
func BenchmarkFanoutCreationLimit(b *testing.B) {
	n := reliability.EnvInt(b, "PMSYNC_BENCH_LIMIT_ITEMS", 200)
	limitScale := time.Duration(max(1, reliability.EnvInt(b, "PMSYNC_BENCH_LIMIT_SCALE", defaultLimitScale)))
	wallStart := time.Now()
	simStart := wallStart.UTC()
	now := func() time.Time { return simStart.Add(limitScale * time.Since(wallStart)) }
	so := reliability.SimOptions{Latency: apiLatency, GitHubCreatesPerMinute: 80, Now: now}
	w := newWorld(b, so, func(w *world, id string) connectors.Connector {
		if id != reliability.JaneCorp {
			return nil
		}
		cfg := w.sims.Trackers[id].Config(w.client(), reliability.Discard)
		c, err := github.New(cfg, github.Options{CreatesPerMinute: 80, Clock: scaledClock{now: now, scale: limitScale}})
		if err != nil {
			b.Fatalf("github.New: %v", err)
		}
		return c
	}, func(o *engine.Options) { o.Workers = inFlight })
	gh := w.sims.Trackers[reliability.JaneCorp].GitHub
	before := gh.Stats()
	took, _, passes := fanout(b, w, n)
	st := gh.Stats()
	sim := took * limitScale
	floor := time.Duration(float64(n) / 80 * float64(time.Minute))
	window := time.Duration((n+79)/80-1) * time.Minute
	b.Logf("%d items in %v wall, %v simulated (%d passes); floor %v; %d creations, %d refused",
		n, took.Round(time.Millisecond), sim.Round(time.Millisecond), passes, floor, st.ContentCreates-before.ContentCreates, st.SecondaryLimited-before.SecondaryLimited)
	ghSim := w.span.active(reliability.JaneCorp) * limitScale
	gm := map[string]float64{
		"sim-s": ghSim.Seconds(), "floor-s": floor.Seconds(), "x-floor": ghSim.Seconds() / floor.Seconds(),
		"violations": float64(st.SecondaryLimited - before.SecondaryLimited),
	}
	if window > 0 {
		gm["window-floor-s"], gm["x-window-floor"] = window.Seconds(), ghSim.Seconds()/window.Seconds()
	}
	report(b, "github", gm)
	report(b, "all-customers", map[string]float64{
		"sim-s": sim.Seconds(), "floor-s": floor.Seconds(), "x-floor": sim.Seconds() / floor.Seconds(),
	})
}

// scaledClock is the simulated clock for the connector's creation pacer:
// its time is the simulators', and its waits pass scale times faster than
// the wall clock's.
type scaledClock struct {
	now   func() time.Time
	scale time.Duration
}

func (c scaledClock) Now() time.Time                         { return c.now() }
func (c scaledClock) After(d time.Duration) <-chan time.Time { return time.After(d / c.scale) }
