package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/pmsync/pmsync/connectors"
)

// ErrBusy is returned by Run and SyncOnce while the other one runs.
var ErrBusy = errors.New("engine: already running (Run and SyncOnce cannot overlap)")

// PollInfo is what the engine knows of a tracker's polling.
type PollInfo struct {
	LastPoll    time.Time // start of the latest poll, successful or not
	LastSuccess time.Time // start of the latest successful poll
	LastError   string    // "" after a successful poll
	Requests    int       // requests the latest poll made
}

func (e *Engine) notePoll(id string, start time.Time, requests int, err error) {
	e.pollMu.Lock()
	pi := e.polls[id]
	if pi == nil {
		pi = &PollInfo{}
		e.polls[id] = pi
	}
	pi.LastPoll, pi.Requests = start, requests
	if err == nil {
		pi.LastSuccess, pi.LastError = start, ""
	} else {
		pi.LastError = describe(err)
	}
	e.pollMu.Unlock()
	e.metrics.Polled(id, requests, err)
}

// trackerList returns the platform's tracker and then the customers'.
func (e *Engine) trackerList() []*trk {
	out := []*trk{e.platform}
	for _, c := range e.custs {
		out = append(out, c.tr)
	}
	return out
}

// Run polls every tracker, resolves open intents and reconciles what
// changes (also what Enqueue and the webhook handler report) until ctx
// ends; it then lets the reconciles in flight finish and returns nil.
func (e *Engine) Run(ctx context.Context) error {
	if !e.busy.CompareAndSwap(false, true) {
		return ErrBusy
	}
	defer e.busy.Store(false)
	p := &pass{e: e}
	var wg sync.WaitGroup
	for _, c := range e.custs {
		p.work(ctx, c, &wg)
	}
	if keys, err := e.intentKeys(); err != nil {
		e.log.Warn("cannot list open intents", "err", err)
	} else {
		e.enqueue(tasks(keys, hint{}))
	}
	for _, t := range e.trackerList() {
		if t.PollInterval > 0 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e.pollLoop(ctx, t)
			}()
		}
	}
	if e.o.ResyncInterval > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.resyncLoop(ctx)
		}()
	}
	e.log.Info("engine started", "customers", len(e.custs), "workers", e.o.Workers)
	<-ctx.Done()
	wg.Wait()
	e.log.Info("engine stopped")
	return nil
}

// intentKeys returns the key of every open intent, so that each is
// resolved (by a look for its marker) before anything else is created for
// its item.
func (e *Engine) intentKeys() ([]workKey, error) {
	intents, err := e.st.Intents()
	if err != nil {
		return nil, err
	}
	var keys []workKey
	for _, in := range intents {
		if e.byID[in.Customer] != nil {
			keys = append(keys, workKey{Origin: in.Origin, Customer: in.Customer})
		}
	}
	return keys, nil
}

// linkKeys returns the key of every link of every customer, read from the
// links' summaries: no link is decoded, so a resync of a large store does
// not hold every link in memory (or touch the pages of every link).
func (e *Engine) linkKeys() ([]workKey, error) {
	var keys []workKey
	for _, c := range e.custs {
		err := e.st.LinkOrigins(c.ID, PlatformID, func(_ string, origin connectors.Ref) error {
			keys = append(keys, workKey{Origin: origin, Customer: c.ID})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// changeKeys returns the keys of the items of one poll, read at event
// seq: the poll's reads of the items are kept for their reconciles, which
// need read them again only when something happened to them after the
// poll.
func (e *Engine) changeKeys(items []connectors.Item, seq uint64) ([]task, error) {
	var out []task
	now := e.clock.Now()
	for i := range items {
		it := &items[i]
		ks, err := e.keysForRef(it.Ref, it)
		if err != nil {
			return nil, err
		}
		if len(ks) == 0 {
			continue
		}
		e.snaps.put(it, seq, now)
		var h hint
		h.need[sideOfRef(it.Ref)] = seq
		for _, k := range ks {
			out = append(out, task{k: k, h: h})
		}
	}
	return out, nil
}

// tasks makes tasks of keys, with hint h.
func tasks(keys []workKey, h hint) []task {
	out := make([]task, len(keys))
	for i, k := range keys {
		out[i] = task{k: k, h: h}
	}
	return out
}

// enqueue queues tasks, each key once, for the batches.
func (e *Engine) enqueue(ts []task, bs ...*batch) {
	hints := make(map[workKey]hint, len(ts))
	var order []workKey
	for _, t := range ts {
		h, ok := hints[t.k]
		if !ok {
			order = append(order, t.k)
		}
		h.merge(t.h)
		hints[t.k] = h
	}
	for _, k := range order {
		e.byID[k.Customer].q.addHint(k, hints[k], bs...)
	}
}

// outstanding is a poll whose items are not all reconciled yet.
type outstanding struct {
	b      *batch
	cursor string
}

// pollLoop polls tracker t every interval. Each poll reads from where the
// previous one ended; the stored watermark advances to a poll's cursor only
// once that poll and every earlier one are reconciled (it is committed as
// soon as that happens), so a crash re-reads whatever was not.
func (e *Engine) pollLoop(ctx context.Context, t *trk) {
	log := e.log.With("tracker", t.ID)
	cursor, err := e.st.Watermark(t.ID)
	if err != nil {
		log.Warn("cannot read the watermark; polling from the beginning", "err", err)
	}
	var queue []outstanding
	next := make(chan time.Time, 1)
	next <- e.clock.Now() // the first poll starts at once
	var tick <-chan time.Time = next
	for {
		queue = e.commitPolls(t, queue, log)
		var front <-chan struct{}
		if len(queue) > 0 {
			front = queue[0].b.done
		}
		select {
		case <-ctx.Done():
			return
		case <-front:
			continue
		case <-tick:
		}
		wait := t.PollInterval
		var b *outstanding
		b, cursor, wait = e.pollStep(ctx, t, cursor, wait, log)
		if ctx.Err() != nil {
			return
		}
		if b != nil {
			queue = append(queue, *b)
		}
		tick = e.clock.After(wait)
	}
}

// commitPolls stores the watermark of the oldest polls that are fully
// reconciled and returns the polls still outstanding.
func (e *Engine) commitPolls(t *trk, queue []outstanding, log *slog.Logger) []outstanding {
	for len(queue) > 0 && queue[0].b.isDone() {
		if queue[0].b.covered() {
			if err := e.st.SetWatermark(t.ID, queue[0].cursor); err != nil {
				log.Warn("cannot store the watermark", "err", err)
				return queue
			}
		}
		queue = queue[1:]
	}
	return queue
}

// pollStep makes one poll and queues what changed. It returns the poll to
// wait for (nil when it failed), the cursor of the next poll and the time
// to wait before it.
func (e *Engine) pollStep(ctx context.Context, t *trk, cursor string, wait time.Duration, log *slog.Logger) (*outstanding, string, time.Duration) {
	start := e.clock.Now()
	seq := e.seq.Add(1)
	ch, err := t.g.Changes(ctx, cursor)
	if ctx.Err() != nil {
		return nil, cursor, wait
	}
	requests := 0
	if ch != nil {
		requests = ch.Requests
	}
	e.notePoll(t.ID, start, requests, err)
	if err != nil {
		log.Warn("poll failed", "err", describe(err))
		if ra, ok := connectors.RetryAfterOf(err); ok && ra > wait {
			wait = ra
		}
		return nil, cursor, wait
	}
	b := newBatch()
	keys, err := e.changeKeys(ch.Items, seq)
	e.enqueue(keys, b)
	b.seal()
	if err != nil {
		log.Warn("cannot queue the changed items; the next poll reads them again", "err", err)
		return nil, cursor, wait
	}
	if len(ch.Items) > 0 {
		log.Debug("polled", "items", len(ch.Items), "requests", ch.Requests)
	}
	return &outstanding{b: b, cursor: ch.Cursor}, ch.Cursor, wait
}

// resyncLoop re-reads every link now and then: a deleted item shows up in
// no poll.
func (e *Engine) resyncLoop(ctx context.Context) {
	for {
		if sleep(ctx, e.clock, e.o.ResyncInterval) != nil {
			return
		}
		keys, err := e.linkKeys()
		if err != nil {
			e.log.Warn("cannot queue links for the periodic resync", "err", err)
		}
		e.enqueue(tasks(keys, hint{full: true})) // comment edits no poll saw
	}
}

// pollOnce reads the changes of t since cursor (the read is retried in
// place, see retry.go).
func (e *Engine) pollOnce(ctx context.Context, t *trk, cursor string) (*connectors.Changes, uint64, error) {
	start := e.clock.Now()
	seq := e.seq.Add(1)
	ch, err := t.g.Changes(ctx, cursor)
	n := 0
	if ch != nil {
		n = ch.Requests
	}
	e.notePoll(t.ID, start, n, err)
	return ch, seq, err
}

// SyncOnce runs one full pass: open intents, every link, and everything
// each tracker reports changed since its watermark. With dryRun it only
// reads and returns the writes it would make, writing nothing anywhere (no
// intent, no link, no watermark). Items that still fail after
// Options.MaxAttempts are listed in the plan's Failures; the watermark of a
// tracker advances only when all of its items were reconciled.
func (e *Engine) SyncOnce(ctx context.Context, dryRun bool) (*Plan, error) {
	if !e.busy.CompareAndSwap(false, true) {
		return nil, ErrBusy
	}
	defer e.busy.Store(false)
	plan := &Plan{DryRun: dryRun}
	p := &pass{e: e, dry: dryRun, plan: plan, maxAttempts: e.o.MaxAttempts}

	// Read every tracker's changes first, so that each key is queued once.
	type polled struct {
		t      *trk
		ch     *connectors.Changes
		seq    uint64
		b      *batch
		failed bool
	}
	var polls []*polled
	for _, t := range e.trackerList() {
		cursor, err := e.st.Watermark(t.ID)
		if err != nil {
			return nil, err
		}
		ch, seq, err := e.pollOnce(ctx, t, cursor)
		if err != nil {
			plan.fail(Failure{Customer: t.ID, Origin: connectors.Ref{Tracker: t.ID}, Error: "poll: " + describe(err)})
			continue
		}
		polls = append(polls, &polled{t: t, ch: ch, seq: seq, b: newBatch()})
	}

	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, c := range e.custs {
		p.work(wctx, c, &wg)
	}
	// Every key once: a key processed twice in a dry run would be planned
	// twice.
	all := newBatch()
	perKey := map[workKey][]*batch{}
	hints := map[workKey]hint{}
	var order []workKey
	collect := func(ts []task, b *batch) {
		for _, t := range ts {
			k := t.k
			if _, ok := perKey[k]; !ok {
				order = append(order, k)
				perKey[k] = []*batch{all}
			}
			if b != nil && !slices.Contains(perKey[k], b) {
				perKey[k] = append(perKey[k], b)
			}
			h := hints[k]
			h.merge(t.h)
			hints[k] = h
		}
	}
	keys, err := e.intentKeys()
	collect(tasks(keys, hint{}), nil)
	if err == nil {
		keys, err = e.linkKeys()
		collect(tasks(keys, hint{full: true}), nil) // a full pass: comment edits too
	}
	for _, pl := range polls {
		if err == nil {
			var ts []task
			ts, err = e.changeKeys(pl.ch.Items, pl.seq)
			collect(ts, pl.b)
		}
	}
	for _, k := range order {
		e.byID[k.Customer].q.addHint(k, hints[k], perKey[k]...)
	}
	for _, pl := range polls {
		pl.b.seal()
	}
	all.seal()
	if err == nil {
		select {
		case <-all.done:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	stop()
	wg.Wait()
	for _, c := range e.custs {
		c.q.drop(context.Canceled)
	}
	if err != nil {
		return plan, fmt.Errorf("engine: sync: %w", err)
	}
	if !dryRun {
		for _, pl := range polls {
			if pl.b.isDone() && pl.b.covered() {
				if err := e.st.SetWatermark(pl.t.ID, pl.ch.Cursor); err != nil {
					return plan, fmt.Errorf("engine: sync: %w", err)
				}
			}
		}
	}
	plan.sortWrites()
	return plan, nil
}
