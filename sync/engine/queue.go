package engine

import (
	"container/heap"
	"context"
	"sync"
	"time"

	"github.com/pmsync/pmsync/connectors"
)

// workKey names one unit of work: the link between an origin item and its
// mirror for one customer. Every ref event is turned into work keys, so one
// link is reconciled by at most one worker at a time.
type workKey struct {
	Origin   connectors.Ref
	Customer string
}

// batch counts the work keys of one poll (or one SyncOnce pass) until each
// has been reconciled, so that the poll's watermark advances only then.
type batch struct {
	mu      sync.Mutex
	n       int
	sealed  bool
	failed  int // keys that ended with an error
	gaveUp  int // of which with a retryable error (the items are not done)
	done    chan struct{}
	errored []error
}

func newBatch() *batch { return &batch{done: make(chan struct{})} }

func (b *batch) add() {
	b.mu.Lock()
	b.n++
	b.mu.Unlock()
}

// seal says no key will be added any more.
func (b *batch) seal() {
	b.mu.Lock()
	b.sealed = true
	b.closeIfDoneLocked()
	b.mu.Unlock()
}

func (b *batch) complete(err error, retryable bool) {
	b.mu.Lock()
	b.n--
	if err != nil {
		b.failed++
		if len(b.errored) < 20 {
			b.errored = append(b.errored, err)
		}
		if retryable {
			b.gaveUp++
		}
	}
	b.closeIfDoneLocked()
	b.mu.Unlock()
}

func (b *batch) closeIfDoneLocked() {
	if b.sealed && b.n == 0 {
		select {
		case <-b.done:
		default:
			close(b.done)
		}
	}
}

// isDone reports whether every key of a sealed batch is reconciled.
func (b *batch) isDone() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// covered reports whether the batch's items need no further attempt: all
// reconciled, or failed for good (recorded on their links).
func (b *batch) covered() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.gaveUp == 0
}

// hint is what the events that queued a key say about its reconcile.
type hint struct {
	// need is, per side, the event sequence number (Engine.seq, from 1)
	// of the latest event about that side's item: a read of the item made
	// before it may be stale. 0: no event named that side, so the
	// reconcile reads it afresh.
	need [2]uint64
	// full says comments may have changed without changing the items'
	// comment counts (an edit): list them whatever the counts say.
	full bool
}

func (h *hint) merge(o hint) {
	for i := range h.need {
		h.need[i] = max(h.need[i], o.need[i])
	}
	h.full = h.full || o.full
}

// task is a key handed to a worker, with what is known about it.
type task struct {
	k        workKey
	h        hint
	attempts int // failed attempts so far
}

// entry is a key waiting in the queue or being processed.
type entry struct {
	h         hint
	waiters   []*batch
	attempts  int // failed attempts so far
	notBefore time.Time
	inReady   bool
}

// queue is a de-duplicating work queue with delayed retries, in the manner
// of client-go's workqueue: a key is handed to one worker at a time; a key
// added while it is processed is processed again afterwards.
type queue struct {
	clock Clock
	wake  chan struct{}

	mu         sync.Mutex
	ready      []workKey
	pending    map[workKey]*entry // waiting (ready, delayed, or behind processing)
	processing map[workKey]*entry
	delayed    delayHeap
}

func newQueue(c Clock) *queue {
	return &queue{clock: c, wake: make(chan struct{}, 1),
		pending: map[workKey]*entry{}, processing: map[workKey]*entry{}}
}

// add queues k; the batches (nil ones are skipped) learn when a
// processing that starts after this call has finished.
func (q *queue) add(k workKey, bs ...*batch) { q.addHint(k, hint{}, bs...) }

// addHint queues k like add, merging h into what the key's waiting entry
// knows.
func (q *queue) addHint(k workKey, h hint, bs ...*batch) {
	for _, b := range bs {
		if b != nil {
			b.add()
		}
	}
	q.mu.Lock()
	e := q.pending[k]
	if e == nil {
		e = &entry{}
		q.pending[k] = e
	}
	e.h.merge(h)
	for _, b := range bs {
		if b != nil {
			e.waiters = append(e.waiters, b)
		}
	}
	if q.processing[k] == nil {
		q.scheduleLocked(k, e)
	}
	q.mu.Unlock()
}

func (q *queue) scheduleLocked(k workKey, e *entry) {
	if e.inReady {
		return
	}
	if e.notBefore.After(q.clock.Now()) {
		heap.Push(&q.delayed, delayed{at: e.notBefore, key: k})
	} else {
		e.inReady = true
		q.ready = append(q.ready, k)
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// get blocks until a key is ready or ctx ends. Once ctx has ended it
// hands out nothing, even keys that are ready: a stopping engine finishes
// the reconciles in flight and takes no new work (the keys left are found
// again at the next start, from the watermarks and open intents).
func (q *queue) get(ctx context.Context) (task, bool) {
	for {
		q.mu.Lock()
		if ctx.Err() != nil {
			q.mu.Unlock()
			return task{}, false
		}
		now := q.clock.Now()
		for q.delayed.Len() > 0 && !q.delayed[0].at.After(now) {
			d := heap.Pop(&q.delayed).(delayed)
			if e := q.pending[d.key]; e != nil && q.processing[d.key] == nil && !e.inReady && !e.notBefore.After(now) {
				e.inReady = true
				q.ready = append(q.ready, d.key)
			}
		}
		if len(q.ready) > 0 {
			k := q.ready[0]
			q.ready = q.ready[1:]
			e := q.pending[k]
			delete(q.pending, k)
			e.inReady = false
			q.processing[k] = e
			more := len(q.ready) > 0
			q.mu.Unlock()
			if more { // let another worker pick the next key
				select {
				case q.wake <- struct{}{}:
				default:
				}
			}
			return task{k: k, h: e.h, attempts: e.attempts}, true
		}
		var timer <-chan time.Time
		if q.delayed.Len() > 0 {
			timer = q.clock.After(q.delayed[0].at.Sub(now))
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return task{}, false
		case <-q.wake:
		case <-timer:
		}
	}
}

// done ends the processing of k. With retryAt non-zero the key is queued
// again for then, keeping its waiters; otherwise its waiters complete with
// err.
func (q *queue) done(k workKey, err error, retryable bool, retryAt time.Time) {
	q.mu.Lock()
	e := q.processing[k]
	delete(q.processing, k)
	if e == nil {
		q.mu.Unlock()
		return
	}
	if !retryAt.IsZero() {
		if p := q.pending[k]; p != nil {
			p.waiters = append(e.waiters, p.waiters...)
			p.h.merge(e.h)
			p.attempts, p.notBefore = e.attempts+1, retryAt
			p.inReady = false
			q.removeReadyLocked(k)
			q.scheduleLocked(k, p)
		} else {
			e.attempts++
			e.notBefore = retryAt
			q.pending[k] = e
			q.scheduleLocked(k, e)
		}
		q.mu.Unlock()
		return
	}
	if p := q.pending[k]; p != nil {
		q.scheduleLocked(k, p)
	}
	q.mu.Unlock()
	for _, b := range e.waiters {
		b.complete(err, retryable)
	}
}

// forward hands the work of k, being processed, to key to: to is queued,
// and the batches waiting for k wait for to instead (k then completes none
// when it is done). Used when a reconcile finds that its key names the
// link by another name than its own key.
func (q *queue) forward(k, to workKey) {
	if k == to {
		return
	}
	q.mu.Lock()
	var ws []*batch
	var h hint
	if e := q.processing[k]; e != nil {
		ws, e.waiters = e.waiters, nil
		h = e.h
	}
	e := q.pending[to]
	if e == nil {
		e = &entry{}
		q.pending[to] = e
	}
	e.h.merge(h)
	e.waiters = append(e.waiters, ws...)
	if q.processing[to] == nil {
		q.scheduleLocked(to, e)
	}
	q.mu.Unlock()
}

func (q *queue) removeReadyLocked(k workKey) {
	for i, r := range q.ready {
		if r == k {
			q.ready = append(q.ready[:i], q.ready[i+1:]...)
			return
		}
	}
}

// depth is the number of keys waiting or being processed.
func (q *queue) depth() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := len(q.pending)
	for k := range q.processing {
		if q.pending[k] == nil {
			n++
		}
	}
	return n
}

// drop forgets every waiting key, completing their waiters with err (used
// when SyncOnce gives up on a cancelled context).
func (q *queue) drop(err error) {
	q.mu.Lock()
	var ws []*batch
	for k, e := range q.pending {
		ws = append(ws, e.waiters...)
		delete(q.pending, k)
	}
	q.ready, q.delayed = nil, nil
	q.mu.Unlock()
	for _, b := range ws {
		b.complete(err, true)
	}
}

type delayed struct {
	at  time.Time
	key workKey
}

type delayHeap []delayed

func (h delayHeap) Len() int           { return len(h) }
func (h delayHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h delayHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *delayHeap) Push(x any)        { *h = append(*h, x.(delayed)) }
func (h *delayHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
