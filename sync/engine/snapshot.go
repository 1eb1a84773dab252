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
// items it lists.
const snapMaxAge = 30 * time.Second

// snapCap bounds the items kept; past it, expired ones are dropped, and
// new ones are not kept until there is room.
const snapCap = 50_000

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

// snaps holds the latest read of recently read items.
type snaps struct {
	mu sync.Mutex
	m  map[connectors.Ref]snap
}

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
	if old, ok := s.m[it.Ref]; ok && old.seq > seq {
		return
	}
	if len(s.m) >= snapCap {
		for ref, sn := range s.m {
			if now.Sub(sn.at) > snapMaxAge {
				delete(s.m, ref)
			}
		}
		if len(s.m) >= snapCap {
			return
		}
	}
	s.m[it.Ref] = snap{it: cloneItem(it), seq: seq, at: now}
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
	t := r.side[s]
	now := r.e.clock.Now()
	if need := r.h.need[s]; need != 0 && !r.fresh {
		it := r.e.snaps.get(connectors.Ref{Tracker: t.ID, Key: key}, need, now)
		if it != nil && (r.link == nil || !it.UpdatedAt.Before(linkSide(r.link, s).UpdatedAt)) {
			r.shared[s] = true
			return it, nil
		}
	}
	return r.readFresh(ctx, s, key)
}

// readFresh reads the item of side s at key from its tracker and keeps
// the read for other reconciles.
func (r *rec) readFresh(ctx context.Context, s Side, key string) (*connectors.Item, error) {
	seq := r.e.seq.Add(1)
	it, err := r.side[s].g.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	r.shared[s] = false
	r.e.snaps.put(it, seq, r.e.clock.Now())
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
