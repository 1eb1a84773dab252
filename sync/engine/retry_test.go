package engine

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/conformance"
	"github.com/pmsync/pmsync/store"
)

// TestReadsRetriedInPlace: reads that fail a few times (5xx, a 429 with a
// Retry-After) succeed within one reconcile attempt; the write that failed
// is not sent again by that attempt.
func TestReadsRetriedInPlace(t *testing.T) {
	tests := []struct {
		name   string
		faults []conformance.Fault
	}{
		{"get fails 3 times", []conformance.Fault{{Op: conformance.OpGet, Status: http.StatusBadGateway, Times: 3}}},
		{"search fails 4 times", []conformance.Fault{{Op: conformance.OpList, Status: http.StatusServiceUnavailable, Times: 4}}},
		{"comments fail twice", []conformance.Fault{{Op: conformance.OpComment, Status: http.StatusInternalServerError, Times: 2}}},
		{"429 then 5xx", []conformance.Fault{
			{Op: conformance.OpAny, Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"3"}}},
			{Op: conformance.OpGet, Status: http.StatusGatewayTimeout, Times: 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorldClock(t, newFakeClock(true), func(o *Options) { o.MaxAttempts = 1 }, "jane")
			w.plat.Open("Item", "", actionL, "customer:jane")
			w.sync() // the poll, a first create and its link
			for _, f := range tt.faults {
				w.cust["jane"].Inject(f)
				w.plat.Inject(f)
			}
			w.plat.Open("Second", "", actionL, "customer:jane")
			p, err := w.eng.SyncOnce(context.Background(), false)
			if err != nil {
				t.Fatalf("SyncOnce: %v", err)
			}
			if len(p.Failures) > 0 {
				t.Fatalf("with one attempt per item: failures %+v, want none (reads retried in place)", p.Failures)
			}
			if n := w.cust["jane"].Count(); n != 2 {
				t.Errorf("jane has %d items, want 2", n)
			}
		})
	}
}

func TestWriteNotRetriedInPlace(t *testing.T) {
	w := newWorldClock(t, newFakeClock(true), func(o *Options) { o.MaxAttempts = 1 }, "jane")
	w.plat.Open("Item", "", actionL, "customer:jane")
	w.cust["jane"].Inject(conformance.Fault{Op: conformance.OpCreate, Status: http.StatusBadGateway})
	before := w.cust["jane"].Writes()
	p, err := w.eng.SyncOnce(context.Background(), false)
	if err != nil {
		t.Fatalf("SyncOnce: %v", err)
	}
	if len(p.Failures) != 1 {
		t.Fatalf("failures %+v, want the one item whose create failed", p.Failures)
	}
	if n := w.cust["jane"].Writes() - before; n != 1 {
		t.Errorf("%d creates sent, want 1 (a failed write is not sent again by the same attempt)", n)
	}
	w.clock.Advance(DefaultCreateSettle)
	w.converge()
	if n := w.cust["jane"].Count(); n != 1 {
		t.Errorf("jane has %d items, want 1", n)
	}
}

// twoStepConn's FindByMarker makes two requests, and between them waits
// until proceed is closed; like the connectors, it checks its context
// before each request.
type twoStepConn struct {
	connectors.Connector
	between, proceed chan struct{}
	finds, steps     atomic.Int64
	limitGet         atomic.Bool // the next Get is answered 429
	gets             atomic.Int64
}

func (c *twoStepConn) FindByMarker(ctx context.Context, marker string, h connectors.FindHint) (*connectors.Item, error) {
	first := c.finds.Add(1) == 1
	for step := 0; step < 2; step++ {
		if err := ctx.Err(); err != nil {
			return nil, connectors.Errorf(connectors.CodeTemporary, "two-step: find", err)
		}
		c.steps.Add(1)
		if step == 0 && first {
			close(c.between)
			<-c.proceed
		}
	}
	return nil, connectors.Errorf(connectors.CodeNotFound, "two-step: find", errors.New("no item carries the marker"))
}

func (c *twoStepConn) Get(ctx context.Context, key string) (*connectors.Item, error) {
	c.gets.Add(1)
	if c.limitGet.CompareAndSwap(true, false) {
		return nil, &connectors.Error{Code: connectors.CodeRateLimited, Op: "two-step: get", Status: 429, RetryAfter: 10 * time.Second}
	}
	return c.Connector.Get(ctx, key)
}

func newTwoStep(t *testing.T, clock *fakeClock) (*twoStepConn, *guarded) {
	t.Helper()
	c := &twoStepConn{Connector: memConn(t, clock), between: make(chan struct{}), proceed: make(chan struct{})}
	return c, newGuarded(Tracker{ID: "jane", Conn: c, RequestsPerSecond: -1}, 4, clock)
}

// TestGateCutsCallsOfSeveralRequests: a 429 answered to one call stops
// the next request of a call under way (a look for a marker that reads
// page after page), which ends rate limited, its next request unsent.
func TestGateCutsCallsOfSeveralRequests(t *testing.T) {
	clock := newFakeClock(false)
	c, g := newTwoStep(t, clock)
	done := make(chan error, 1)
	go func() {
		_, err := g.FindByMarker(context.Background(), "0123456789abcdef01234567", connectors.FindHint{})
		done <- err
	}()
	<-c.between
	c.limitGet.Store(true)
	if _, err := g.Get(context.Background(), "JANE-1"); connectors.CodeOf(err) != connectors.CodeRateLimited {
		t.Fatalf("Get: err %v, want the 429", err)
	}
	close(c.proceed)
	err := <-done
	if !errors.Is(err, errCut) {
		t.Errorf("the look: err %v, want cut short by the gate", err)
	}
	if ra, _ := retryAfter(err); ra != 10*time.Second {
		t.Errorf("the look: retry after %v, want the gate's 10s", ra)
	}
	if n := c.steps.Load(); n != 1 {
		t.Errorf("the look made %d requests, want 1: its second went out after the 429", n)
	}
}

// TestCallsOfSeveralRequestsRunAloneWhileLimited: once the tracker has
// rate limited, a look for a marker runs alone: no other call starts until
// it is done, so no 429 can cut it short.
func TestCallsOfSeveralRequestsRunAloneWhileLimited(t *testing.T) {
	clock := newFakeClock(false)
	c, g := newTwoStep(t, clock)
	g.block(clock.Now().Add(time.Millisecond), 0) // a rate limit, over at once
	clock.Advance(time.Millisecond)
	if !g.limiting() {
		t.Fatalf("the tracker is not seen as rate limiting after a 429")
	}
	done := make(chan error, 1)
	go func() {
		_, err := g.FindByMarker(context.Background(), "0123456789abcdef01234567", connectors.FindHint{})
		done <- err
	}()
	<-c.between
	got := make(chan struct{})
	go func() {
		_, _ = g.Get(context.Background(), "JANE-1")
		close(got)
	}()
	<-time.After(50 * time.Millisecond)
	if n := c.gets.Load(); n != 0 {
		t.Errorf("a Get reached the tracker while a look for a marker was under way after a 429")
	}
	close(c.proceed)
	if err := <-done; !errors.Is(err, connectors.ErrNotFound) {
		t.Errorf("the look: err %v, want not found", err)
	}
	<-got
	if n := c.steps.Load(); n != 2 {
		t.Errorf("the look made %d requests, want 2", n)
	}
	// A minute later the tracker is no longer seen as rate limiting.
	clock.Advance(rateCooldown)
	if g.limiting() {
		t.Errorf("still rate limiting %v after the last 429", rateCooldown)
	}
}

// hintConn records the hints of FindByMarker.
type hintConn struct {
	connectors.Connector
	hints []connectors.FindHint
	fail  int // the next fail looks answer 502
}

func (c *hintConn) FindByMarker(ctx context.Context, marker string, h connectors.FindHint) (*connectors.Item, error) {
	c.hints = append(c.hints, h)
	if c.fail > 0 {
		c.fail--
		return nil, &connectors.Error{Code: connectors.CodeTemporary, Op: "hint: find", Status: 502}
	}
	return c.Connector.FindByMarker(ctx, marker, h)
}

// TestLookWindowFollowsCreatesSent: while no create was sent for an
// intent there is nothing to look for, so the first create is sent without
// a look (the intent is stored with that create counted); once a create
// was sent, every later attempt looks first, from the intent's time minus
// the clock skew, so that a mirror created by a create whose answer was
// lost is found.
func TestLookWindowFollowsCreatesSent(t *testing.T) {
	var conn *hintConn
	w := newWorldClock(t, newFakeClock(true), func(o *Options) {
		conn = &hintConn{Connector: o.Customers[0].Tracker.Conn}
		o.Customers[0].Tracker.Conn = conn
		o.MaxAttempts = 1
	}, "jane")
	w.plat.Open("Item", "", actionL, "customer:jane")
	w.cust["jane"].Inject(conformance.Fault{Op: conformance.OpCreate, Status: http.StatusBadGateway})
	if p, _ := w.eng.SyncOnce(context.Background(), false); len(p.Failures) != 1 {
		t.Fatalf("failures %+v, want the item whose create failed", p.Failures)
	}
	if len(conn.hints) != 0 {
		t.Fatalf("looks before the first create: %+v, want none", conn.hints)
	}
	intents, err := w.db.Intents()
	if err != nil || len(intents) != 1 || intents[0].Attempts != 1 {
		t.Fatalf("intents %+v (%v), want one with 1 create sent", intents, err)
	}
	in := intents[0]

	// Second attempt, an hour later: a create was sent, the look reaches
	// back to the intent.
	w.clock.Advance(time.Hour)
	w.converge()
	if len(conn.hints) == 0 || !conn.hints[0].CreatedAfter.Equal(in.CreatedAt.Add(-findSkew)) {
		t.Errorf("look hints %+v, want the first from %v (the intent minus the skew)", conn.hints, in.CreatedAt.Add(-findSkew))
	}
	if n := w.cust["jane"].Count(); n != 1 {
		t.Errorf("jane has %d items, want 1", n)
	}
}

// TestWrittenSideKeptWhenTheOtherWriteFails: a reconcile reverts a status
// the platform changed without being the owner (a conflict), then fails to
// write the customer's side. The revert and its conflict are kept: the
// next attempt writes only the customer's side, and the conflict is
// counted once.
func TestWrittenSideKeptWhenTheOtherWriteFails(t *testing.T) {
	w := newWorldClock(t, newFakeClock(true), func(o *Options) { o.MaxAttempts = 1 }, "jane")
	pk := w.plat.Open("Item", "", actionL, "customer:jane", "owner:customer")
	w.converge()
	if err := w.plat.Close(pk, "completed"); err != nil { // not the owner: reverted
		t.Fatal(err)
	}
	if err := w.plat.EditTitle(pk, "Renamed"); err != nil {
		t.Fatal(err)
	}
	w.cust["jane"].Inject(conformance.Fault{Op: conformance.OpUpdate, Status: http.StatusBadGateway})
	platWrites := w.plat.Writes()
	if p, _ := w.eng.SyncOnce(context.Background(), false); len(p.Failures) != 1 {
		t.Fatalf("failures %+v, want the item whose customer write failed", p.Failures)
	}
	if l := w.linkOf("jane", pk); l.Conflicts != 1 {
		t.Errorf("after the failed attempt the link counts %d conflicts, want 1 (the revert that was written)", l.Conflicts)
	}
	w.converge()
	l := w.linkOf("jane", pk)
	if l.Conflicts != 1 {
		t.Errorf("link counts %d conflicts, want 1", l.Conflicts)
	}
	if n := w.plat.Writes() - platWrites; n != 1 {
		t.Errorf("%d writes to the platform, want 1 (the revert, once)", n)
	}
	if got := issue(t, w.cust["jane"], l.Remote.Ref.Key).Title; got != "Renamed" {
		t.Errorf("mirror title %q, want %q", got, "Renamed")
	}
	if st := issue(t, w.plat, pk).State; st != "open" {
		t.Errorf("platform item is %s, want open (the owner's status)", st)
	}
	if l.State != store.LinkActive {
		t.Errorf("link is %s, want active", l.State)
	}
}

// TestLostCreateSettlesBeforeCreatingAgain: after a create whose answer
// was lost, a look that misses the mirror within Options.CreateSettle is
// not proof (the tracker may still be making it): no second create is
// sent until the settle time has passed.
func TestLostCreateSettlesBeforeCreatingAgain(t *testing.T) {
	w := newWorldClock(t, newFakeClock(true), func(o *Options) {
		o.MaxAttempts = 1
		o.CreateSettle = time.Minute
	}, "jane")
	w.plat.Open("Item", "", actionL, "customer:jane")
	w.cust["jane"].Inject(conformance.Fault{Op: conformance.OpCreate, Status: http.StatusBadGateway})
	if p, _ := w.eng.SyncOnce(context.Background(), false); len(p.Failures) != 1 {
		t.Fatalf("failures %+v, want the item whose create failed", p.Failures)
	}
	in, err := w.db.Intents()
	if err != nil || len(in) != 1 || in[0].Attempts != 1 || !in[0].SentAt.Equal(in[0].CreatedAt) {
		t.Fatalf("intents %+v (%v), want one with 1 create sent at its creation", in, err)
	}
	writes := w.cust["jane"].Writes()
	w.clock.Advance(30 * time.Second)
	p, _ := w.eng.SyncOnce(context.Background(), false)
	if len(p.Failures) != 1 || !strings.Contains(p.Failures[0].Error, "create mirror in jane") {
		t.Fatalf("within the settle time: failures %+v, want the create held back", p.Failures)
	}
	if got := w.cust["jane"].Writes() - writes; got != 0 {
		t.Fatalf("within the settle time %d writes reached jane, want 0", got)
	}
	w.clock.Advance(31 * time.Second)
	w.converge()
	if n := w.cust["jane"].Count(); n != 1 {
		t.Errorf("jane has %d items, want 1", n)
	}
}
