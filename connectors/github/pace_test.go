package github

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/internal/testclock"
)

var paceStart = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// armClock is a manual test clock that reports every timer the pacer
// arms, so a test knows a waiter waits, and for how long, without sleeping.
type armClock struct {
	*testclock.Clock
	armed chan time.Duration
}

func newArmClock() armClock {
	return armClock{Clock: testclock.New(paceStart, false), armed: make(chan time.Duration, 64)}
}

func (c armClock) After(d time.Duration) <-chan time.Time {
	ch := c.Clock.After(d)
	c.armed <- d
	return ch
}

// guard bounds how long a test waits for something that must happen at
// once, so that a broken pacer fails the test instead of hanging it.
const guard = 5 * time.Second

// nextArmed returns the next timer the pacer arms.
func (c armClock) nextArmed(t *testing.T) time.Duration {
	t.Helper()
	select {
	case d := <-c.armed:
		return d
	case <-time.After(guard):
		t.Fatalf("no timer armed within %v, want a waiter", guard)
		return 0
	}
}

// noneArmed fails the test when a timer was armed.
func (c armClock) noneArmed(t *testing.T, when string) {
	t.Helper()
	select {
	case d := <-c.armed:
		t.Fatalf("%s: a timer of %v was armed, want none", when, d)
	default:
	}
}

type acquired struct {
	release func()
	err     error
}

// acquireAsync starts an acquire and returns where its result arrives.
func acquireAsync(ctx context.Context, p *pacer) <-chan acquired {
	out := make(chan acquired, 1)
	go func() {
		r, err := p.acquire(ctx, "test create")
		out <- acquired{r, err}
	}()
	return out
}

// result returns what an acquire started by acquireAsync returned.
func result(t *testing.T, ch <-chan acquired) acquired {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(guard):
		t.Fatalf("acquire still waiting after %v, want it to return", guard)
		return acquired{}
	}
}

func pending(t *testing.T, ch <-chan acquired, when string) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("%s: acquire returned (err %v), want it still waiting", when, r.err)
	default:
	}
}

func mustAcquire(t *testing.T, p *pacer) func() {
	t.Helper()
	r, err := p.acquire(context.Background(), "test create")
	if err != nil {
		t.Fatalf("acquire: %v", err)
	}
	return r
}

// TestPacerBurstThenWindow: n creates go at once; the next waits until
// the n-th most recent completion is a window plus the margin old.
func TestPacerBurstThenWindow(t *testing.T) {
	clk := newArmClock()
	p := newPacer(clk, time.Second, paceLimit{n: 3, window: time.Minute})
	for i := range 3 { // completions at +0s, +2s, +4s
		mustAcquire(t, p)()
		if i < 2 {
			clk.Advance(2 * time.Second)
		}
	}
	clk.noneArmed(t, "burst of 3")
	res := acquireAsync(context.Background(), p)
	if d := clk.nextArmed(t); d != 57*time.Second {
		t.Fatalf("4th create: waits %v, want 57s (until +61s: the 3rd most recent completion, +0s, plus 60s and 1s)", d)
	}
	clk.Advance(57*time.Second - time.Millisecond)
	pending(t, res, "1 ms before the window ends")
	clk.Advance(time.Millisecond)
	r := result(t, res)
	if r.err != nil {
		t.Fatalf("4th create: %v", r.err)
	}
	r.release() // at +61s
	res = acquireAsync(context.Background(), p)
	if d := clk.nextArmed(t); d != 2*time.Second {
		t.Fatalf("5th create: waits %v, want 2s (the completion at +2s leaves the window at +63s)", d)
	}
	clk.Advance(2 * time.Second)
	if r := result(t, res); r.err != nil {
		t.Fatalf("5th create: %v", r.err)
	}
}

// TestPacerCountsInFlight: creates in flight hold their place; the next
// one waits for a completion, then for the window from that completion.
func TestPacerCountsInFlight(t *testing.T) {
	clk := newArmClock()
	p := newPacer(clk, time.Second, paceLimit{n: 2, window: time.Minute})
	relA := mustAcquire(t, p)
	mustAcquire(t, p) // in flight throughout
	res := acquireAsync(context.Background(), p)
	clk.Advance(5 * time.Second)
	pending(t, res, "two creates in flight")
	clk.noneArmed(t, "two creates in flight")
	relA() // answer at +5s
	if d := clk.nextArmed(t); d != 61*time.Second {
		t.Fatalf("3rd create: waits %v, want 61s after the completion", d)
	}
	relA() // a second release is ignored
	if inFlight, done := p.state(); inFlight != 1 || done != 1 {
		t.Fatalf("state: got %d in flight and %d completions, want 1 and 1", inFlight, done)
	}
	clk.Advance(61 * time.Second)
	if r := result(t, res); r.err != nil {
		t.Fatalf("3rd create: %v", r.err)
	}
}

// TestPacerHourLimit: the hourly cap holds a create the minute cap allows.
func TestPacerHourLimit(t *testing.T) {
	clk := newArmClock()
	p := newPacer(clk, time.Second, paceLimit{n: 80, window: time.Minute}, paceLimit{n: 3, window: time.Hour})
	for range 3 { // completions at 09:00, 09:10, 09:20
		mustAcquire(t, p)()
		clk.Advance(10 * time.Minute)
	}
	res := acquireAsync(context.Background(), p)
	if d := clk.nextArmed(t); d != 30*time.Minute+time.Second {
		t.Fatalf("4th create at 09:30: waits %v, want 30m1s (until 10:00:01)", d)
	}
	clk.Advance(30*time.Minute + time.Second)
	if r := result(t, res); r.err != nil {
		t.Fatalf("4th create: %v", r.err)
	}
}

// TestPacerDeadline: a wait that would outlast the context's deadline
// fails at once, without arming a timer or taking a place; a cancel while
// waiting returns at once too.
func TestPacerDeadline(t *testing.T) {
	clk := newArmClock()
	p := newPacer(clk, time.Second, paceLimit{n: 1, window: time.Minute})
	mustAcquire(t, p)()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := p.acquire(ctx, "github: create issue in acme/widgets")
	if !errors.Is(err, connectors.ErrTemporary) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("acquire with a 1s deadline and a 61s wait: got %v, want ErrTemporary wrapping DeadlineExceeded", err)
	}
	clk.noneArmed(t, "deadline too close")

	ctx2, cancel2 := context.WithCancel(context.Background())
	res := acquireAsync(ctx2, p)
	clk.nextArmed(t)
	cancel2()
	r := result(t, res)
	if !errors.Is(r.err, connectors.ErrTemporary) || !errors.Is(r.err, context.Canceled) {
		t.Fatalf("acquire cancelled while waiting: got %v, want ErrTemporary wrapping Canceled", r.err)
	}
	if inFlight, _ := p.state(); inFlight != 0 {
		t.Errorf("in flight after refused acquires: got %d, want 0", inFlight)
	}
}

// TestPacerFloor: 200 creates answered at once, one after the other, at
// 80 a minute: 80 go at 09:00, 80 at 09:01:01, 40 at 09:02:02 — under
// the floor of 200/80 minutes, never over the cap. The 501st create of
// a run waits for the hour cap: until the first completion plus 1h1s.
func TestPacerFloor(t *testing.T) {
	clk := testclock.New(paceStart, true) // every wait passes at once
	p := newPacer(clk, time.Second, paceLimit{n: 80, window: time.Minute}, paceLimit{n: 500, window: time.Hour})
	var sends []time.Time
	for range 501 {
		rel := mustAcquire(t, p)
		sends = append(sends, clk.Now())
		rel()
	}
	for _, tc := range []struct {
		i    int
		want time.Duration
	}{{0, 0}, {79, 0}, {80, 61 * time.Second}, {159, 61 * time.Second}, {160, 122 * time.Second}, {199, 122 * time.Second},
		{500, time.Hour + time.Second}} {
		if got := sends[tc.i].Sub(paceStart); got != tc.want {
			t.Errorf("create %d sent at +%v, want +%v", tc.i+1, got, tc.want)
		}
	}
	if _, done := p.state(); done > 500 {
		t.Errorf("completions remembered: got %d, want at most 500 (the largest cap)", done)
	}
}

// TestPacerNeverOverfills runs creates from several workers with random
// latencies and checks what GitHub could count: GitHub counts a create
// somewhere between its send and its answer, so a cap of n in window w is
// broken if n+1 creates exist whose latest send is at most w after their
// earliest answer.
func TestPacerNeverOverfills(t *testing.T) {
	limits := []paceLimit{{n: 5, window: time.Minute}, {n: 12, window: time.Hour}}
	clk := testclock.New(paceStart, true)
	p := newPacer(clk, time.Second, limits...)
	type span struct{ send, answer time.Time }
	var (
		mu    sync.Mutex
		spans []span
		wg    sync.WaitGroup
	)
	for w := range 6 {
		rng := rand.New(rand.NewPCG(uint64(w), 7))
		wg.Go(func() {
			for range 10 {
				rel, err := p.acquire(context.Background(), "test create")
				if err != nil {
					t.Errorf("acquire: %v", err)
					return
				}
				send := clk.Now()
				<-clk.After(time.Duration(rng.IntN(3000)) * time.Millisecond)
				answer := clk.Now()
				rel()
				mu.Lock()
				spans = append(spans, span{send, answer})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(spans) != 60 {
		t.Fatalf("creates: got %d, want 60", len(spans))
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].send.Before(spans[j].send) })
	for _, l := range limits {
		for i, last := range spans {
			n := 0
			for _, s := range spans[:i+1] {
				if !s.answer.Before(last.send.Add(-l.window)) {
					n++
				}
			}
			if n > l.n {
				t.Fatalf("%d creates fit in %v ending at create %d's send (cap %d)", n, l.window, i+1, l.n)
			}
		}
	}
	if inFlight, _ := p.state(); inFlight != 0 {
		t.Errorf("in flight at the end: got %d, want 0", inFlight)
	}
}

// TestCreateCaps checks the Options defaults and refusals.
func TestCreateCaps(t *testing.T) {
	tests := []struct {
		name         string
		o            Options
		minute, hour int
		err          string
	}{
		{"defaults", Options{}, 80, 500, ""},
		{"lower minute keeps the hour", Options{CreatesPerMinute: 40}, 40, 500, ""},
		{"higher minute scales the hour", Options{CreatesPerMinute: 800}, 800, 5000, ""},
		{"both set", Options{CreatesPerMinute: 10, CreatesPerHour: 100}, 10, 100, ""},
		{"test values", Options{CreatesPerMinute: 1e9}, 1e9, 6_250_000_000, ""},
		{"fraction", Options{CreatesPerMinute: 0.5}, 0, 0, "creates per minute 0.5"},
		{"negative minute", Options{CreatesPerMinute: -1}, 0, 0, "creates per minute -1"},
		{"negative hour", Options{CreatesPerHour: -1}, 0, 0, "creates per hour -1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, h, err := createCaps(tc.o)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("createCaps: got %d, %d, %v; want an error naming %q", m, h, err, tc.err)
				}
				return
			}
			if err != nil || m != tc.minute || h != tc.hour {
				t.Errorf("createCaps: got %d, %d, %v; want %d, %d", m, h, err, tc.minute, tc.hour)
			}
		})
	}
}

// TestFactoryTakesCreationLimits checks that the registry's factory paces
// to the limits of the tracker's configuration (creates_per_minute and
// creates_per_hour), and to GitHub.com's without them.
func TestFactoryTakesCreationLimits(t *testing.T) {
	for _, tc := range []struct {
		name              string
		minute, hour      int
		wantMin, wantHour int
	}{
		{"configured", 300, 10_000, 300, 10_000},
		{"unset", 0, 0, DefaultCreatesPerMinute, DefaultCreatesPerHour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := Factory(connectors.Config{ID: "ghes", Kind: Kind, Project: "o/r", Token: "t",
				GitHubCreatesPerMinute: tc.minute, GitHubCreatesPerHour: tc.hour})
			if err != nil {
				t.Fatal(err)
			}
			got := conn.(*Connector).pace.limits
			want := []paceLimit{{n: tc.wantMin, window: time.Minute}, {n: tc.wantHour, window: time.Hour}}
			if !slices.Equal(got, want) {
				t.Errorf("limits: got %+v, want %+v", got, want)
			}
		})
	}
}
