package engine

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/memory"
)

// stallingConn answers its first Get only when release is closed, and
// then with a 429 asking for retryAfter; it counts the Gets that reached
// it.
type stallingConn struct {
	connectors.Connector
	retryAfter time.Duration
	entered    chan struct{}
	release    chan struct{}
	gets       atomic.Int64
}

func (s *stallingConn) Get(ctx context.Context, key string) (*connectors.Item, error) {
	if s.gets.Add(1) == 1 {
		close(s.entered)
		<-s.release
		return nil, &connectors.Error{Code: connectors.CodeRateLimited, Op: "stall: get " + key, Status: 429, RetryAfter: s.retryAfter}
	}
	return s.Connector.Get(ctx, key)
}

func memConn(t *testing.T, clock *fakeClock) connectors.Connector {
	t.Helper()
	tr := memory.NewTracker(memory.Options{Name: "jane", KeyPrefix: "JANE", Now: clock.Now})
	tr.Open("an item", "")
	c, err := memory.New(tr, connectors.Config{ID: "jane", Now: clock.Now})
	if err != nil {
		t.Fatalf("memory connector: %v", err)
	}
	return c
}

// TestGateRecheckedAfterWaitingForASlot: with one request slot, a request
// waiting for the slot while the request holding it is answered 429 must
// not be sent when the slot frees; it is refused until the Retry-After.
func TestGateRecheckedAfterWaitingForASlot(t *testing.T) {
	clock := newFakeClock(false)
	conn := &stallingConn{Connector: memConn(t, clock), retryAfter: 10 * time.Second,
		entered: make(chan struct{}), release: make(chan struct{})}
	g := newGuarded(Tracker{ID: "jane", Conn: conn, Workers: 1, RequestsPerSecond: -1}, 4, clock)

	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, errs[0] = g.Get(context.Background(), "JANE-1")
	}()
	<-conn.entered
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, errs[1] = g.Get(context.Background(), "JANE-1")
	}()
	// Let the second request pass the first look at the gate and wait for
	// the slot.
	<-time.After(50 * time.Millisecond)
	close(conn.release)
	wg.Wait()

	if n := conn.gets.Load(); n != 1 {
		t.Errorf("%d Gets reached the tracker, want 1 (the second was sent after the 429)", n)
	}
	if ra, ok := retryAfter(errs[0]); !ok || ra != 10*time.Second {
		t.Errorf("first Get: err %v, want the tracker's 429 with 10s", errs[0])
	}
	if !errors.Is(errs[1], errGateClosed) {
		t.Errorf("second Get: err %v, want held back by the gate", errs[1])
	}
	if ra, _ := retryAfter(errs[1]); ra != 10*time.Second {
		t.Errorf("second Get: retry after %v, want 10s", ra)
	}
}

// TestGateRecheckedAfterWaitingForAToken: a request that waited for the
// token bucket while the gate closed is refused, not sent.
func TestGateRecheckedAfterWaitingForAToken(t *testing.T) {
	clock := newFakeClock(false)
	conn := &stallingConn{Connector: memConn(t, clock)}
	conn.gets.Store(1) // no stall
	g := newGuarded(Tracker{ID: "jane", Conn: conn, RequestsPerSecond: 1}, 4, clock)
	if _, err := g.Get(context.Background(), "JANE-1"); err != nil {
		t.Fatalf("first Get: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := g.Get(context.Background(), "JANE-1")
		done <- err
	}()
	waitFor(t, "the second Get to wait for a token", func() bool { return clock.Timers() == 1 })
	g.block(clock.Now().Add(20*time.Second), 0)
	clock.Advance(time.Second)
	err := <-done
	if !errors.Is(err, errGateClosed) {
		t.Errorf("second Get: err %v, want held back by the gate", err)
	}
	if n := conn.gets.Load(); n != 2 {
		t.Errorf("%d Gets reached the tracker, want 1", n-1)
	}
}
