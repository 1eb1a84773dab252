package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/store"
)

// Engine mirrors action items between the platform and its customers. It
// is safe for concurrent use; Run and SyncOnce must not run at the same
// time.
type Engine struct {
	o        Options
	st       *store.DB
	log      *slog.Logger
	clock    Clock
	metrics  Metrics
	platform *trk
	custs    []*cust
	byID     map[string]*cust
	trackers map[string]*trk

	busy  atomic.Bool            // Run, SyncOnce or Rebuild in progress
	owned []connectors.Connector // built by FromConfig, closed by Close

	pollMu sync.Mutex
	polls  map[string]*PollInfo

	linkGen atomic.Uint64 // counts link writes, for the status cache
	stats   statusCache

	seq   atomic.Uint64 // orders events and item reads (see hint, snaps)
	snaps snaps         // recent item reads, shared between reconciles
}

// trk is a tracker with the engine's request discipline around it.
type trk struct {
	Tracker
	g *guarded
}

// cust is a customer with its tracker, work queue and scrubber.
type cust struct {
	Customer
	tr    *trk
	q     *queue
	scrub *Scrubber
}

// New validates opts and builds an engine. It makes no request.
func New(opts Options) (*Engine, error) {
	o, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	e := &Engine{
		o: o, st: o.Store, log: o.Logger, clock: o.Clock, metrics: o.Metrics,
		byID: map[string]*cust{}, trackers: map[string]*trk{}, polls: map[string]*PollInfo{},
	}
	if e.metrics == nil {
		e.metrics = noMetrics{}
	}
	e.platform = &trk{Tracker: o.Platform, g: newGuarded(o.Platform, o.Workers, o.Clock)}
	e.trackers[PlatformID] = e.platform
	for _, c := range o.Customers {
		cu := &cust{Customer: c, tr: &trk{Tracker: c.Tracker, g: newGuarded(c.Tracker, o.Workers, o.Clock)}, q: newQueue(o.Clock)}
		cu.scrub = e.scrubberFor(c)
		e.custs = append(e.custs, cu)
		e.byID[c.ID] = cu
		e.trackers[c.ID] = cu.tr
	}
	return e, nil
}

// scrubberFor builds the scrubber of text crossing to customer c: internal
// addresses and keys of the platform, and every other customer's name and id.
func (e *Engine) scrubberFor(c Customer) *Scrubber {
	var terms []string
	for _, other := range e.o.Customers {
		if other.ID != c.ID {
			terms = append(terms, other.Name, other.ID)
		}
	}
	var keys []*regexp.Regexp
	if e.o.Platform.KeyPattern != nil {
		keys = append(keys, e.o.Platform.KeyPattern)
	}
	return NewScrubber(e.o.Platform.InternalURLs, keys, terms)
}

type noMetrics struct{}

func (noMetrics) Write(string, string)                    {}
func (noMetrics) Conflict(string, Field)                  {}
func (noMetrics) Reconciled(string, time.Duration, error) {}
func (noMetrics) Polled(string, int, error)               {}

// tracker returns the tracker with id, or nil.
func (e *Engine) tracker(id string) *trk { return e.trackers[id] }

// sideTracker returns the tracker of side s for customer c.
func (e *Engine) sideTracker(c *cust, s Side) *trk {
	if s == PlatformSide {
		return e.platform
	}
	return c.tr
}

// Enqueue says that the item at ref may have changed; the links it concerns
// are reconciled by Run's workers. An unknown tracker is ignored.
func (e *Engine) Enqueue(ref connectors.Ref) { e.enqueueEvent(ref, false) }

// enqueueEvent queues the links of ref for an event saying the item
// changed; comments says the event was about its comments.
func (e *Engine) enqueueEvent(ref connectors.Ref, comments bool) {
	keys, err := e.keysForRef(ref, nil)
	if err != nil {
		e.log.Warn("cannot look up links of a changed item", "tracker", ref.Tracker, "err", err)
		return
	}
	h := hint{full: comments}
	h.need[sideOfRef(ref)] = e.seq.Add(1)
	for _, k := range keys {
		e.byID[k.Customer].q.addHint(k, h)
	}
}

// sideOfRef is the side of every link on which the item at ref is.
func sideOfRef(ref connectors.Ref) Side {
	if ref.Tracker == PlatformID {
		return PlatformSide
	}
	return CustomerSide
}

// keysForRef turns a ref into the work keys it concerns: the links that
// hold it, and, when it is no mirror, the customers it could be shared with.
// With a snapshot of the item (from a poll), customers whose selector it
// does not match are skipped; webhooks give none and fan out to all.
func (e *Engine) keysForRef(ref connectors.Ref, snap *connectors.Item) ([]workKey, error) {
	if e.trackers[ref.Tracker] == nil || ref.Key == "" {
		return nil, nil
	}
	links, err := e.st.LinksByRef(ref)
	if err != nil {
		return nil, err
	}
	var keys []workKey
	linked := map[string]bool{}
	mirror := false
	for _, l := range links {
		if e.byID[l.Customer] == nil {
			continue // a customer no longer configured
		}
		linked[l.Customer] = true
		o := originRef(l)
		if o != ref {
			mirror = true
		}
		if snap != nil && e.unchanged(l, snap) {
			continue
		}
		keys = append(keys, workKey{Origin: o, Customer: l.Customer})
	}
	if mirror || (snap != nil && snap.Marker != "") {
		return keys, nil
	}
	if ref.Tracker == PlatformID {
		for _, c := range e.custs {
			if linked[c.ID] {
				continue
			}
			if snap != nil && !e.shares(c, PlatformSide, snap) {
				continue
			}
			keys = append(keys, workKey{Origin: ref, Customer: c.ID})
		}
		return keys, nil
	}
	c := e.byID[ref.Tracker]
	if !linked[c.ID] && (snap == nil || snap.HasLabel(c.Share.InboundLabel)) {
		keys = append(keys, workKey{Origin: ref, Customer: c.ID})
	}
	return keys, nil
}

// unchanged reports whether snap, a poll's read of one side of link l,
// shows nothing the link has not seen: not updated since, the same synced
// values and comment count, and still shared as the link is. Polls list
// again what they listed within their overlap, and the items pmsync just
// wrote (also when the tracker did not tell pmsync the UpdatedAt of its
// write); those need no reconcile.
func (e *Engine) unchanged(l *store.Link, snap *connectors.Item) bool {
	s := sideOfRef(snap.Ref)
	sd := linkSide(l, s)
	c := e.byID[l.Customer]
	newer := snap.UpdatedAt.After(sd.UpdatedAt) && !e.snaps.echo(snap.Ref, e.clock.Now())
	if sd.Ref != snap.Ref || sd.UpdatedAt.IsZero() || newer ||
		snap.CommentCount < 0 || snap.CommentCount != sd.Comments || l.State == store.LinkBroken {
		return false
	}
	origin := sideOf(l.Origin)
	if s == origin && (l.State == store.LinkActive) != e.shares(c, s, snap) {
		return false
	}
	return maps.Equal(values(c, snap, s, origin), toValues(sd.Base))
}

// shares reports whether origin item it, on side s, is shared with
// customer c: a platform item with the action-item label and the
// customer's select label, or a customer item with the inbound label.
func (e *Engine) shares(c *cust, s Side, it *connectors.Item) bool {
	if s == PlatformSide {
		return it.HasLabel(e.platform.ActionItemLabel) && it.HasLabel(c.Share.SelectLabel)
	}
	return it.HasLabel(c.Share.InboundLabel)
}

// originRef returns the ref of a link's origin item.
func originRef(l *store.Link) connectors.Ref {
	if l.Origin == connectors.OwnerCustomer {
		return l.Remote.Ref
	}
	return l.Platform.Ref
}

// pass is one way of running reconciles: live (Run, SyncOnce) or planning
// (a dry run). It records every write in plan.
type pass struct {
	e           *Engine
	dry         bool
	plan        *Plan
	maxAttempts int // 0: retry without bound
}

// work runs one customer's workers until ctx ends.
func (p *pass) work(ctx context.Context, c *cust, wg *sync.WaitGroup) {
	for i := 0; i < ReconcilesPerWorker*p.e.o.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				t, ok := c.q.get(ctx)
				if !ok {
					return
				}
				p.process(ctx, c, t)
			}
		}()
	}
}

// reconcileTimeout bounds one reconcile, also while draining at shutdown.
const reconcileTimeout = 5 * time.Minute

// process reconciles one key and decides about retries.
func (p *pass) process(ctx context.Context, c *cust, t task) {
	k, attempts := t.k, t.attempts
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reconcileTimeout)
	rctx = withStop(rctx, ctx.Done()) // no waiting out a Retry-After at shutdown
	start := p.e.clock.Now()
	err := p.reconcile(rctx, c, t)
	cancel()
	p.e.metrics.Reconciled(c.ID, p.e.clock.Now().Sub(start), err)
	p.plan.reconciled()
	if err == nil {
		c.q.done(k, nil, false, time.Time{})
		return
	}
	retryable := retryable(err)
	log := p.e.log.With("customer", c.ID, "tracker", k.Origin.Tracker)
	if retryable && ctx.Err() == nil && (p.maxAttempts == 0 || attempts+1 < p.maxAttempts) {
		wait := backoff(attempts+1, err, p.gateWait(c))
		log.Info("reconcile failed, will retry", "attempt", attempts+1, "in", wait.Round(time.Millisecond), "err", describe(err))
		c.q.done(k, err, true, p.e.clock.Now().Add(wait))
		return
	}
	log.Warn("reconcile failed", "attempts", attempts+1, "err", describe(err))
	p.plan.fail(Failure{Customer: c.ID, Origin: k.Origin, Error: describe(err)})
	if !p.dry && ctx.Err() == nil {
		// Recorded, so that the poll covering it may move on (the link,
		// if there is one, also holds the error).
		ev := store.AuditEvent{Time: p.e.clock.Now(), Customer: c.ID, Tracker: k.Origin.Tracker, Action: ActionError, Detail: describe(err)}
		if aerr := p.e.st.Audit(ev); aerr != nil {
			log.Warn("cannot append to the audit log", "err", aerr)
		}
	}
	c.q.done(k, err, retryable, time.Time{})
}

// gateWait is how long the trackers of c stay blocked.
func (p *pass) gateWait(c *cust) time.Duration {
	now := p.e.clock.Now()
	w := p.e.platform.g.BlockedUntil().Sub(now)
	if cw := c.tr.g.BlockedUntil().Sub(now); cw > w {
		w = cw
	}
	return w
}

// retryable reports whether a failed reconcile may succeed later: tracker
// rate limits and temporary failures, and store failures (a full disk).
func retryable(err error) bool {
	if err == nil {
		return false
	}
	var ce *connectors.Error
	if errors.As(err, &ce) {
		return connectors.Retryable(err)
	}
	return !errors.Is(err, store.ErrInvalid) && !errors.Is(err, store.ErrConflict) && !errors.Is(err, errPermanent)
}

// errPermanent marks engine errors that no retry can fix.
var errPermanent = errors.New("permanent")

func permanentf(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errPermanent}, a...)...)
}
