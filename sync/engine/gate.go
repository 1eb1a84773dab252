package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/pmsync/pmsync/connectors"
)

// maxInlineWait is the longest a worker waits in place for a tracker's gate
// or token bucket; a longer wait gives the work back to the queue with a
// retry time, so a blocked tracker holds no worker.
const maxInlineWait = time.Second

// rateCooldown is how long after a rate-limit answer calls of several
// requests run alone on their tracker.
const rateCooldown = time.Minute

// defaultRateWait is how long a tracker is blocked after a rate-limit error
// that did not say for how long.
const defaultRateWait = 30 * time.Second

// errGateClosed marks the error returned when the gate refused to send a
// request: no request reached the tracker.
var errGateClosed = errors.New("request held back until the tracker's rate-limit wait passes")

// notSent reports whether err says that the call's request never left:
// held back by the engine's gate, or by the connector's transport (which
// knew of a Retry-After the gate had not seen yet).
func notSent(err error) bool {
	return errors.Is(err, errGateClosed) || errors.Is(err, connectors.ErrNotSent)
}

// refused reports whether the tracker answered a write with a rate-limit
// status (429, or GitHub's 403): the write was not made. (Connectors strip
// the status from errors of a follow-up request after a write was made:
// connectors.Sent.)
func refused(err error) bool {
	var ce *connectors.Error
	return errors.As(err, &ce) && ce.Code == connectors.CodeRateLimited && !errors.Is(err, errCut) &&
		(ce.Status == http.StatusTooManyRequests || ce.Status == http.StatusForbidden)
}

// errCut marks a call cut short because the tracker asked, in the answer to
// another call, to wait: its next request was not sent, but earlier ones
// may have reached the tracker.
var errCut = errors.New("call cut short: the tracker asked to wait")

// guarded wraps a tracker's connector with the engine's request discipline:
// a gate that holds every request until the tracker's Retry-After (or
// rate-limit reset) has passed, a token bucket for the credential, and a
// bound on requests in flight. Reads are retried in place a few times
// (retry.go); writes never are, except when the gate held them back before
// anything was sent.
type guarded struct {
	inner connectors.Connector
	id    string
	clock Clock
	lim   *rate.Limiter // nil: no limit
	sem   chan struct{}

	// excl is held shared by every call, and alone by a call of several
	// requests while the tracker is rate limiting (see call).
	excl sync.RWMutex

	mu        sync.Mutex
	blocked   time.Time                          // no request before this instant
	limitedAt time.Time                          // the latest rate-limit answer
	inflight  map[uint64]context.CancelCauseFunc // calls under way, by id
	nextCall  uint64

	requests, writes atomic.Int64
}

func newGuarded(t Tracker, workers int, clock Clock) *guarded {
	g := &guarded{inner: t.Conn, id: t.ID, clock: clock}
	if t.RequestsPerSecond > 0 {
		burst := max(1, int(t.RequestsPerSecond))
		g.lim = rate.NewLimiter(rate.Limit(t.RequestsPerSecond), burst)
	}
	if t.Workers > 0 {
		workers = t.Workers
	}
	g.sem = make(chan struct{}, workers)
	return g
}

// BlockedUntil returns the instant before which no request is sent.
func (g *guarded) BlockedUntil() time.Time {
	g.mu.Lock()
	b := g.blocked
	g.mu.Unlock()
	if rb := g.inner.RateLimit().BlockedUntil; rb.After(b) {
		b = rb
	}
	return b
}

// block holds requests until t, and cuts short every call under way but
// self (0: none): a call of several requests (a search over pages, a look
// for a marker that reads item after item, an update with workflow
// transitions) must not send its next request before t either. The
// connectors check their context before each request.
func (g *guarded) block(t time.Time, self uint64) {
	now := g.clock.Now()
	g.mu.Lock()
	if t.After(g.blocked) {
		g.blocked = t
	}
	g.limitedAt = now
	var cut []context.CancelCauseFunc
	if t.After(now) {
		for id, cancel := range g.inflight {
			if id != self {
				cut = append(cut, cancel)
			}
		}
	}
	g.mu.Unlock()
	for _, cancel := range cut {
		cancel(errCut)
	}
}

// limiting reports whether the tracker answered a rate limit within the
// last rateCooldown.
func (g *guarded) limiting() bool {
	g.mu.Lock()
	at := g.limitedAt
	g.mu.Unlock()
	return !at.IsZero() && g.clock.Now().Sub(at) < rateCooldown
}

// start registers a call about to send its first request; done must be
// called when it returns.
func (g *guarded) start(ctx context.Context) (cctx context.Context, id uint64, done func()) {
	cctx, cancel := context.WithCancelCause(ctx)
	g.mu.Lock()
	if g.inflight == nil {
		g.inflight = map[uint64]context.CancelCauseFunc{}
	}
	g.nextCall++
	id = g.nextCall
	g.inflight[id] = cancel
	g.mu.Unlock()
	return cctx, id, func() {
		g.mu.Lock()
		delete(g.inflight, id)
		g.mu.Unlock()
		cancel(nil)
	}
}

// sleep waits d on the engine clock or until ctx ends.
func sleep(ctx context.Context, c Clock, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-c.After(d):
		return nil
	}
}

// heldBack is the error for a request the gate did not send.
func (g *guarded) heldBack(op string, wait time.Duration) error {
	return &connectors.Error{Code: connectors.CodeRateLimited, Op: g.id + ": " + op, RetryAfter: wait, Err: errGateClosed}
}

// acquire waits for a request slot, the gate and the token bucket. It
// returns a rate-limited error, without sending anything, when the wait
// would exceed maxInlineWait.
//
// The gate is checked last, once the slot and the token are held: a
// request that waited for either may have waited while another request's
// answer closed the gate, and must then not go out. Nothing that can wait
// comes between the last check and the request.
func (g *guarded) acquire(ctx context.Context, op string) (release func(), err error) {
	// A closed gate refuses at once, without waiting for a slot.
	if wait := g.BlockedUntil().Sub(g.clock.Now()); wait > maxInlineWait {
		return nil, g.heldBack(op, wait)
	}
	select {
	case g.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	release = func() { <-g.sem }
	token := g.lim == nil
	for {
		now := g.clock.Now()
		if wait := g.BlockedUntil().Sub(now); wait > 0 {
			if wait > maxInlineWait {
				release()
				return nil, g.heldBack(op, wait)
			}
			if err := sleep(ctx, g.clock, wait); err != nil {
				release()
				return nil, err
			}
			continue // the gate may have closed again meanwhile
		}
		if token {
			return release, nil
		}
		r := g.lim.ReserveN(now, 1)
		if !r.OK() {
			release()
			return nil, g.heldBack(op, maxInlineWait)
		}
		d := r.DelayFrom(now)
		if d > maxInlineWait {
			r.CancelAt(now)
			release()
			return nil, g.heldBack(op, d)
		}
		token = true
		if err := sleep(ctx, g.clock, d); err != nil {
			r.CancelAt(g.clock.Now())
			release()
			return nil, err
		}
		// Look at the gate again: it may have closed during the wait.
	}
}

// observe records what an answer of call self said about the tracker's
// limits: the gate closes until the later of the error's Retry-After and
// the connector's BlockedUntil (see BlockedUntil).
func (g *guarded) observe(err error, self uint64) {
	if err == nil {
		return
	}
	ra, has := connectors.RetryAfterOf(err)
	switch code := connectors.CodeOf(err); {
	case errors.Is(err, errGateClosed), errors.Is(err, errCut):
	case errors.Is(err, connectors.ErrNotSent): // the transport knew of a wait: so does the gate now
		g.block(g.clock.Now().Add(ra), self)
	case has && (code == connectors.CodeRateLimited || code == connectors.CodeTemporary):
		g.block(g.clock.Now().Add(ra), self)
	case code == connectors.CodeRateLimited:
		g.block(g.clock.Now().Add(defaultRateWait), self)
	}
}

// call makes one connector call under the discipline, once: the gate, the
// token bucket and a slot first; a call cut short because another call's
// answer closed the gate ends with a rate-limited error wrapping errCut.
//
// A call of several requests by nature (alone: a look for a marker, a
// listing of changes) runs alone on its tracker while the tracker is rate
// limiting: the engine cannot hold the requests a connector makes inside
// one call, so otherwise a Retry-After answered to another call would cut
// it short between two of its requests, nearly every time under a
// tracker that rate limits often, and it would never complete.
func (g *guarded) call(ctx context.Context, op string, write, alone bool, f func(context.Context) error) error {
	if alone && g.limiting() {
		g.excl.Lock()
		defer g.excl.Unlock()
	} else {
		g.excl.RLock()
		defer g.excl.RUnlock()
	}
	release, err := g.acquire(ctx, op)
	if err != nil {
		return err
	}
	defer release()
	cctx, id, done := g.start(ctx)
	defer done()
	g.requests.Add(1)
	if write {
		g.writes.Add(1)
	}
	err = f(cctx)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(cctx), errCut) {
		wait := max(g.BlockedUntil().Sub(g.clock.Now()), 0)
		err = &connectors.Error{Code: connectors.CodeRateLimited, Op: g.id + ": " + op, RetryAfter: wait, Err: errCut}
	}
	g.observe(err, id)
	return err
}

func (g *guarded) Get(ctx context.Context, key string) (it *connectors.Item, err error) {
	err = g.read(ctx, "get "+key, false, func(ctx context.Context) error { it, err = g.inner.Get(ctx, key); return err })
	return it, err
}

func (g *guarded) Changes(ctx context.Context, cursor string) (ch *connectors.Changes, err error) {
	err = g.read(ctx, "list changes", true, func(ctx context.Context) error { ch, err = g.inner.Changes(ctx, cursor); return err })
	return ch, err
}

func (g *guarded) Create(ctx context.Context, marker string, it *connectors.Item) (out *connectors.Item, err error) {
	err = g.write(ctx, "create item", func(ctx context.Context) error { out, err = g.inner.Create(ctx, marker, it); return err })
	return out, err
}

func (g *guarded) Update(ctx context.Context, key string, p connectors.Patch) (out *connectors.Item, err error) {
	err = g.write(ctx, "update "+key, func(ctx context.Context) error { out, err = g.inner.Update(ctx, key, p); return err })
	return out, err
}

func (g *guarded) FindByMarker(ctx context.Context, marker string, h connectors.FindHint) (out *connectors.Item, err error) {
	err = g.read(ctx, "find by marker", true, func(ctx context.Context) error { out, err = g.inner.FindByMarker(ctx, marker, h); return err })
	return out, err
}

func (g *guarded) ListComments(ctx context.Context, key string) (out []connectors.Comment, err error) {
	err = g.read(ctx, "list comments of "+key, false, func(ctx context.Context) error { out, err = g.inner.ListComments(ctx, key); return err })
	return out, err
}

func (g *guarded) AddComment(ctx context.Context, key, marker, body string) (out *connectors.Comment, err error) {
	err = g.write(ctx, "comment on "+key, func(ctx context.Context) error { out, err = g.inner.AddComment(ctx, key, marker, body); return err })
	return out, err
}

func (g *guarded) EditComment(ctx context.Context, key, id, body string) (out *connectors.Comment, err error) {
	err = g.write(ctx, "edit comment on "+key, func(ctx context.Context) error { out, err = g.inner.EditComment(ctx, key, id, body); return err })
	return out, err
}

// ParseWebhook makes no request; it is not gated.
func (g *guarded) ParseWebhook(r *http.Request, body []byte) (*connectors.WebhookEvent, error) {
	return g.inner.ParseWebhook(r, body)
}

// Backoff policy of the work queue.
const (
	backoffBase = time.Second
	backoffMax  = 5 * time.Minute
)

// backoff returns the wait before attempt n+1 after n failed attempts:
// exponential with jitter (half to all of base·2ⁿ⁻¹, capped), and never
// less than the Retry-After the tracker gave or the gate's remaining wait.
func backoff(n int, err error, gateWait time.Duration) time.Duration {
	if n < 1 {
		n = 1
	}
	d := backoffBase << min(n-1, 20)
	if d > backoffMax || d <= 0 {
		d = backoffMax
	}
	d = d/2 + rand.N(d/2+1)
	if ra, ok := connectors.RetryAfterOf(err); ok && ra > d {
		d = ra
	}
	if gateWait > d {
		d = gateWait
	}
	return d
}

// describe renders err for a link's LastError and logs: the classified
// message, which never holds a secret or item text.
func describe(err error) string {
	if err == nil {
		return ""
	}
	var ce *connectors.Error
	if errors.As(err, &ce) {
		return fmt.Sprintf("%s: %s", ce.Op, ce.Code)
	}
	s := err.Error()
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

// Kind returns the wrapped connector's kind.
func (g *guarded) Kind() string { return g.inner.Kind() }

// RateLimit returns the wrapped connector's rate-limit state, with the
// gate's own block.
func (g *guarded) RateLimit() connectors.RateState {
	rs := g.inner.RateLimit()
	rs.BlockedUntil = g.BlockedUntil()
	return rs
}

// Close does nothing: the connector belongs to whoever built it.
func (g *guarded) Close() error { return nil }

var _ connectors.Connector = (*guarded)(nil)

// retryAfter returns the wait a rate-limit error asks for.
func retryAfter(err error) (time.Duration, bool) { return connectors.RetryAfterOf(err) }
