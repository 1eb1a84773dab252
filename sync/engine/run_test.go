package engine

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors/conformance"
)

// TestRateLimitGate runs the daemon on a manual clock: a 429 with
// Retry-After 30 s on one customer's tracker holds every request to it
// until the 30 s have passed, while the other customer carries on.
func TestRateLimitGate(t *testing.T) {
	clock := newFakeClock(false)
	w := newWorldClock(t, clock, func(o *Options) {
		o.Platform.PollInterval = time.Minute
		for i := range o.Customers {
			o.Customers[i].Tracker.PollInterval = time.Minute
		}
	}, "jane", "beta")
	w.plat.Open("A", "", actionL, "customer:jane", "customer:beta")
	w.cust["jane"].Inject(conformance.Fault{Op: conformance.OpCreate, Status: http.StatusTooManyRequests,
		Header: http.Header{"Retry-After": []string{"30"}}})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.eng.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	waitFor(t, "beta's mirror while jane is rate limited", func() bool { return w.cust["beta"].Count() == 1 })
	jane := w.eng.byID["jane"]
	waitFor(t, "jane's gate to close", func() bool { return jane.tr.g.BlockedUntil().After(clock.Now()) })
	waitFor(t, "the retry to be scheduled", func() bool { return jane.q.delayedKeys() == 1 })
	requests := w.cust["jane"].Requests()

	clock.Advance(29 * time.Second)
	<-time.After(50 * time.Millisecond) // give a wrongly woken worker time to send
	if got := w.cust["jane"].Requests(); got != requests {
		t.Fatalf("%d requests reached jane before Retry-After expired, want 0", got-requests)
	}
	if w.cust["jane"].Count() != 0 {
		t.Fatalf("jane's mirror was created before Retry-After expired")
	}
	clock.Advance(2 * time.Second)
	waitFor(t, "jane's mirror after Retry-After", func() bool { return w.cust["jane"].Count() == 1 })
	if n := w.cust["beta"].Count(); n != 1 {
		t.Errorf("beta has %d items, want 1", n)
	}
	// The next poll stores the watermark of the first, now reconciled.
	clock.Advance(time.Minute)
	waitFor(t, "the platform watermark", func() bool {
		wm, err := w.db.Watermark(PlatformID)
		return err == nil && wm != ""
	})
}

func TestGateRefusesWithoutRequest(t *testing.T) {
	clock := newFakeClock(false)
	w := newWorldClock(t, clock, nil, "jane")
	g := w.eng.byID["jane"].tr.g
	g.block(clock.Now().Add(10*time.Second), 0)
	before := w.cust["jane"].Requests()
	_, err := g.Get(context.Background(), "JANE-1")
	ra, ok := retryAfter(err)
	if !ok || ra != 10*time.Second {
		t.Fatalf("blocked Get: err %v, retry after %v; want rate limited for 10s", err, ra)
	}
	if w.cust["jane"].Requests() != before {
		t.Errorf("a request was sent through a closed gate")
	}
	if d := backoff(1, err, 0); d < 10*time.Second {
		t.Errorf("backoff after a 10 s Retry-After = %v, want at least 10s", d)
	}
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	prev := time.Duration(0)
	for n := 1; n <= 12; n++ {
		d := backoff(n, nil, 0)
		hi := backoffBase << (n - 1)
		if hi > backoffMax {
			hi = backoffMax
		}
		if d < hi/2 || d > hi {
			t.Errorf("backoff(%d) = %v, want within [%v, %v]", n, d, hi/2, hi)
		}
		if n > 2 && d < prev/4 {
			t.Errorf("backoff(%d) = %v fell below a quarter of backoff(%d) = %v", n, d, n-1, prev)
		}
		prev = d
	}
	if d := backoff(3, nil, time.Hour); d != time.Hour {
		t.Errorf("backoff with a 1 h gate wait = %v, want 1h", d)
	}
}

func TestSyncOnceAndRunExclusive(t *testing.T) {
	w := newWorld(t, "jane")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.eng.Run(ctx) }()
	waitFor(t, "Run to start", func() bool { return w.eng.busy.Load() })
	if _, err := w.eng.SyncOnce(context.Background(), true); err != ErrBusy {
		t.Errorf("SyncOnce during Run: err %v, want ErrBusy", err)
	}
	cancel()
	<-done
}

// delayedKeys counts the keys waiting for a retry time (not the ones being
// processed): once a failed key is there, its retry time is fixed.
func (q *queue) delayedKeys() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for k, e := range q.pending {
		if q.processing[k] == nil && !e.notBefore.IsZero() && !e.inReady {
			n++
		}
	}
	return n
}
