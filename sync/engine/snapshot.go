package engine

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/pmsync/pmsync/connectors"
)

// snapMaxAge is how long a read of an item may stand in for another read
// of it: one platform item shared with several customers is read once for
// all of their reconciles, and a poll's answer spares the reads of the
// items it lists. Age does not make a read wrong (an event after it makes
// it unusable, and writes are preceded by a fresh read); it only bounds
// what is kept: a first sync of thousands of items works through a poll's
// answer for minutes.
const snapMaxAge = 10 * time.Minute

// snapCap and snapBytes bound the reads kept: past either, expired ones
// are dropped, and new ones are not kept until there is room.
const (
	snapCap   = 50_000
	snapBytes = 32 << 20
)

// errStaleRead asks a reconcile to run again with fresh reads: it was
// about to write to a side whose item it had from another read, and the
// item has changed since.
var errStaleRead = errors.New("a shared read of the item is out of date")

// snap is one read of an item: seq orders it among the events of the
// engine (Engine.seq), at the instant it was read.
type snap struct {
	it  *connectors.Item
	seq uint64
	at  time.Time
}

// snaps holds the latest read of recently read items, and the reads under
// way, so that reconciles needing the same item at the same time (one
// platform item queued for every customer) share one read.
type snaps struct {
	mu           sync.Mutex
	m            map[connectors.Ref]snap
	bytes        int       // approximate size of the items in m
	pruned       time.Time // when expired reads were last dropped
	inflight     map[connectors.Ref]*pending
	echoes       map[connectors.Ref]time.Time // see noteEcho
	echoesPruned time.Time
}

// pending is a read under way: done is closed when it and err are set.
type pending struct {
	seq  uint64
	done chan struct{}
	it   *connectors.Item
	err  error
}

// echoMaxAge is how long a write whose resulting UpdatedAt the tracker did
// not tell is remembered (see noteEcho).
const echoMaxAge = 10 * time.Minute

// put keeps it as read at seq, unless a later read is kept.
func (s *snaps) put(it *connectors.Item, seq uint64, now time.Time) {
	if it == nil || it.Ref.Key == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[connectors.Ref]snap{}
	}
	old, ok := s.m[it.Ref]
	if ok && old.seq > seq {
		return
	}
	if ok {
		s.bytes -= itemSize(old.it)
		delete(s.m, it.Ref)
	}
	size := itemSize(it)
	full := len(s.m) >= snapCap || s.bytes+size > snapBytes
	if full || now.Sub(s.pruned) > snapMaxAge {
		s.pruneLocked(now)
		if len(s.m) >= snapCap || s.bytes+size > snapBytes {
			return
		}
	}
	s.m[it.Ref] = snap{it: cloneItem(it), seq: seq, at: now}
	s.bytes += size
}

// pruneLocked drops the reads older than snapMaxAge.
func (s *snaps) pruneLocked(now time.Time) {
	s.pruned = now
	for ref, sn := range s.m {
		if now.Sub(sn.at) > snapMaxAge {
			s.bytes -= itemSize(sn.it)
			delete(s.m, ref)
		}
	}
}

// itemSize approximates the memory an item holds.
func itemSize(it *connectors.Item) int {
	n := 256 + len(it.Title) + len(it.Description) + len(it.URL) + len(it.Ref.Key) + len(it.ID)
	for _, l := range it.Labels {
		n += 16 + len(l)
	}
	return n
}

// get returns a copy of the item at ref if it was read at or after event
// need (sequence numbers are never reused: a read at need is the read
// that reported the event) and less than snapMaxAge ago.
func (s *snaps) get(ref connectors.Ref, need uint64, now time.Time) *connectors.Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn, ok := s.m[ref]
	if !ok || sn.seq < need || now.Sub(sn.at) > snapMaxAge {
		return nil
	}
	return cloneItem(sn.it)
}

// join returns a read of ref under way that started at or after event
// need, or registers a new read at seq and returns nil with finish, which
// the caller must call with the read's outcome.
func (s *snaps) join(ref connectors.Ref, need, seq uint64) (p *pending, finish func(*connectors.Item, error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.inflight[ref]; p != nil && need != 0 && p.seq >= need {
		return p, nil
	}
	if s.inflight == nil {
		s.inflight = map[connectors.Ref]*pending{}
	}
	own := &pending{seq: seq, done: make(chan struct{})}
	s.inflight[ref] = own
	return nil, func(it *connectors.Item, err error) {
		s.mu.Lock()
		if s.inflight[ref] == own {
			delete(s.inflight, ref)
		}
		s.mu.Unlock()
		own.it, own.err = it, err
		close(own.done)
	}
}

// noteEcho remembers that pmsync wrote the item at ref and the tracker's
// answer did not say when (Jira answers an edit with 204): the item's
// next UpdatedAt is pmsync's own write, not a change to look into.
func (s *snaps) noteEcho(ref connectors.Ref, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.echoes == nil {
		s.echoes = map[connectors.Ref]time.Time{}
	}
	if now.Sub(s.echoesPruned) > echoMaxAge { // not on every write: the map may be large
		s.echoesPruned = now
		for r, at := range s.echoes {
			if now.Sub(at) > echoMaxAge {
				delete(s.echoes, r)
			}
		}
	}
	s.echoes[ref] = now
}

// echo reports whether pmsync wrote the item at ref within echoMaxAge
// without learning its new UpdatedAt.
func (s *snaps) echo(ref connectors.Ref, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.echoes[ref]
	return ok && now.Sub(at) <= echoMaxAge
}

func cloneItem(it *connectors.Item) *connectors.Item {
	c := *it
	c.Labels = slices.Clone(it.Labels)
	return &c
}

// read returns the item of side s at key: a read of it made after the
// latest event about that side (by another reconcile, or the poll that
// reported the change) when there is one, else a fresh Get. A read that
// is older than what the link last saw of the side is never used. Writes
// to a side whose item came from another read are preceded by a fresh
// read (see checkFresh).
func (r *rec) read(ctx context.Context, s Side, key string) (*connectors.Item, error) {
	need := r.h.need[s]
	if need == 0 || r.fresh {
		return r.readFresh(ctx, s, key)
	}
	ref := connectors.Ref{Tracker: r.side[s].ID, Key: key}
	usable := func(it *connectors.Item) bool {
		return it != nil && (r.link == nil || !it.UpdatedAt.Before(linkSide(r.link, s).UpdatedAt))
	}
	if it := r.e.snaps.get(ref, need, r.e.clock.Now()); usable(it) {
		r.shared[s] = true
		return it, nil
	}
	seq := r.e.seq.Add(1)
	p, finish := r.e.snaps.join(ref, need, seq)
	if p != nil { // another reconcile is reading it: wait for its answer
		select {
		case <-p.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if p.err == nil && usable(p.it) {
			r.shared[s] = true
			return cloneItem(p.it), nil
		}
		return r.readFresh(ctx, s, key)
	}
	it, err := r.get(ctx, s, key, seq)
	if err != nil {
		finish(nil, err)
		return nil, err
	}
	finish(cloneItem(it), nil) // the waiters' copy: this reconcile keeps it
	return it, nil
}

// readFresh reads the item of side s at key from its tracker and keeps
// the read for other reconciles.
func (r *rec) readFresh(ctx context.Context, s Side, key string) (*connectors.Item, error) {
	return r.get(ctx, s, key, r.e.seq.Add(1))
}

// get reads the item of side s at key, a read at event seq, and keeps it.
func (r *rec) get(ctx context.Context, s Side, key string, seq uint64) (*connectors.Item, error) {
	it, err := r.side[s].g.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	r.shared[s] = false
	r.e.snaps.put(it, seq, r.e.clock.Now()) // keeps a copy
	return it, nil
}

// checkFresh makes sure a write to side s is based on this reconcile's
// own read of it: when the item came from another read, it is read again,
// and if anything changed the reconcile starts over with fresh reads.
func (r *rec) checkFresh(ctx context.Context, s Side) error {
	if !r.shared[s] {
		return nil
	}
	old := r.item[s]
	it, err := r.readFresh(ctx, s, old.Ref.Key)
	if err != nil {
		return err
	}
	if !sameItem(it, old) {
		return errStaleRead
	}
	r.item[s] = it
	return nil
}

// sameItem reports whether two reads of an item show the same item.
func sameItem(a, b *connectors.Item) bool {
	return a.Ref == b.Ref && a.Title == b.Title && a.Description == b.Description && a.Status == b.Status &&
		a.Priority == b.Priority && a.Kind == b.Kind && a.Owner == b.Owner && a.Assignee == b.Assignee &&
		a.Due == b.Due && a.Incident == b.Incident && a.Marker == b.Marker && slices.Equal(a.Labels, b.Labels) &&
		a.CommentCount == b.CommentCount && a.UpdatedAt.Equal(b.UpdatedAt)
}
