package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/pmsync/pmsync/connectors"
	bolt "go.etcd.io/bbolt"
)

// LinkSummary is the part of a link that status counts need, kept in its
// own bucket next to the link (customers/<id>/summaries/<link id>) and
// written in the same transaction as every write or delete of the link. It
// lets a caller count a customer's links without decoding them: a summary
// is a few bytes of fixed binary, a link a deflated JSON document.
type LinkSummary struct {
	ID string
	// State is the link's state; "" when the stored link has an empty or
	// unknown state (PutLink never stores one).
	State LinkState
	// Errored reports whether the link's LastError is set.
	Errored bool
	// Conflicts is the link's Conflicts.
	Conflicts int
	// OwnerClosed reports whether the Base status of the owner's side is
	// closed (connectors.Status.Closed): the remote side when Owner is
	// connectors.OwnerCustomer, else the platform side.
	OwnerClosed bool
	// OriginPriority is the Base priority of the origin's side: the remote
	// side when Origin is connectors.OwnerCustomer, else the platform side.
	OriginPriority connectors.Priority
	// OriginCustomer reports whether the link's Origin is
	// connectors.OwnerCustomer (its origin is the remote side's item).
	OriginCustomer bool
}

// SummaryOf returns the summary that the store keeps for l.
func SummaryOf(l *Link) LinkSummary {
	return summarize(l.ID, l.State, l.LastError != "", l.Conflicts, l.Origin, l.Owner,
		[2]Fields{l.Platform.Base, l.Remote.Base})
}

// summarize builds a summary from the fields of a link it depends on; base
// holds the platform and the remote side's Base.
func summarize(id string, state LinkState, errored bool, conflicts int, origin, owner connectors.Owner, base [2]Fields) LinkSummary {
	side := func(o connectors.Owner) Fields {
		if o == connectors.OwnerCustomer {
			return base[1]
		}
		return base[0]
	}
	if !state.Valid() {
		state = ""
	}
	return LinkSummary{ID: id, State: state, Errored: errored, Conflicts: conflicts,
		OwnerClosed: side(owner).Status.Closed(), OriginPriority: side(origin).Priority,
		OriginCustomer: origin == connectors.OwnerCustomer}
}

// The summary value (the link id is its key):
//
//	[0]     summaryFormat
//	[1]     state: 0 unknown, 1 active, 2 unshared, 3 broken
//	[2]     flags: flagErrored | flagOwnerClosed | flagOriginCustomer
//	        (flagOriginCustomer since schema version 4)
//	[3:11]  Conflicts, int64 big endian
//	[11:]   OriginPriority: uvarint length, then its bytes
const (
	summaryFormat      = 1
	summaryFixed       = 11
	flagErrored        = 1 << 0
	flagOwnerClosed    = 1 << 1
	flagOriginCustomer = 1 << 2
	summaryKnownFlag   = flagErrored | flagOwnerClosed | flagOriginCustomer
)

var summaryStates = [...]LinkState{"", LinkActive, LinkUnshared, LinkBroken}

// encodeSummary returns the stored form of s (s.ID is the key, not stored).
func encodeSummary(s LinkSummary) []byte {
	v := make([]byte, summaryFixed, summaryFixed+binary.MaxVarintLen64+len(s.OriginPriority))
	v[0] = summaryFormat
	for i, st := range summaryStates {
		if st == s.State {
			v[1] = byte(i)
		}
	}
	if s.Errored {
		v[2] |= flagErrored
	}
	if s.OwnerClosed {
		v[2] |= flagOwnerClosed
	}
	if s.OriginCustomer {
		v[2] |= flagOriginCustomer
	}
	binary.BigEndian.PutUint64(v[3:], uint64(int64(s.Conflicts)))
	v = binary.AppendUvarint(v, uint64(len(s.OriginPriority)))
	return append(v, s.OriginPriority...)
}

// decodeSummary decodes the summary of link id from v, which may be memory
// of a bbolt transaction (nothing of it is kept).
func decodeSummary(id string, v []byte) (LinkSummary, error) {
	if len(v) < summaryFixed+1 {
		return LinkSummary{}, fmt.Errorf("decode summary: %d bytes, want at least %d", len(v), summaryFixed+1)
	}
	if v[0] != summaryFormat {
		return LinkSummary{}, fmt.Errorf("decode summary: format %d, want %d", v[0], summaryFormat)
	}
	if int(v[1]) >= len(summaryStates) {
		return LinkSummary{}, fmt.Errorf("decode summary: state code %d is unknown", v[1])
	}
	if v[2]&^summaryKnownFlag != 0 {
		return LinkSummary{}, fmt.Errorf("decode summary: flags %#x has unknown bits", v[2])
	}
	n, w := binary.Uvarint(v[summaryFixed:])
	if w <= 0 || uint64(len(v)-summaryFixed-w) != n {
		return LinkSummary{}, fmt.Errorf("decode summary: priority length does not match the %d bytes of the value", len(v))
	}
	return LinkSummary{
		ID:             id,
		State:          summaryStates[v[1]],
		Errored:        v[2]&flagErrored != 0,
		OwnerClosed:    v[2]&flagOwnerClosed != 0,
		OriginCustomer: v[2]&flagOriginCustomer != 0,
		Conflicts:      int(int64(binary.BigEndian.Uint64(v[3:]))),
		OriginPriority: priorityOf(v[summaryFixed+w:]),
	}, nil
}

// priorityOf returns b as a Priority, without allocating for the canonical
// ones.
func priorityOf(b []byte) connectors.Priority {
	if len(b) == 0 {
		return ""
	}
	for _, p := range connectors.Priorities {
		if string(b) == string(p) {
			return p
		}
	}
	return connectors.Priority(b)
}

// putSummary writes the summary of l (validated, in putLink's transaction).
func (w *wtx) putSummary(l *Link) error {
	b, err := w.writeSub(l.Customer, subSummaries)
	if err != nil {
		return err
	}
	return w.put(b, []byte(l.ID), encodeSummary(SummaryOf(l)))
}

// LinkSummaries calls fn with the summary of every link of customer, in link
// id order, from one consistent read, without decoding any link. fn runs
// inside a read transaction: it must not call other methods of db (keep
// what it needs and read it after). An error of fn ends the walk and is
// returned as is; a customer with no links is not an error.
func (db *DB) LinkSummaries(customer string, fn func(LinkSummary) error) error {
	if err := checkID("customer", customer); err != nil {
		return fmt.Errorf("store: link summaries: %w", err)
	}
	return db.viewWalk("link summaries", customer, func(tx *bolt.Tx) error {
		b := customerSub(tx, customer, subSummaries)
		if b == nil {
			return nil
		}
		return forEachSummary(b, func(s LinkSummary) error { return callerErr(fn(s)) })
	})
}

// LinkOrigins calls fn with the id and the origin's ref of every link of
// customer, in ref order, from one consistent read, without decoding any
// link: it walks the customer's summaries to find the links whose origin
// is the customer's item, then the ref index (both refs of every link),
// keeping the ref of each link's origin side.
// platformTracker is the tracker of the links' platform side. fn runs
// inside a read transaction, as LinkSummaries' does; an error of fn ends
// the walk and is returned as is.
func (db *DB) LinkOrigins(customer, platformTracker string, fn func(id string, origin connectors.Ref) error) error {
	if err := checkID("customer", customer); err != nil {
		return fmt.Errorf("store: link origins: %w", err)
	}
	if err := checkID("platform tracker", platformTracker); err != nil {
		return fmt.Errorf("store: link origins: %w", err)
	}
	return db.viewWalk("link origins", customer, func(tx *bolt.Tx) error {
		refs, sums := customerSub(tx, customer, subRefs), customerSub(tx, customer, subSummaries)
		if refs == nil || sums == nil {
			return nil
		}
		// Two sequential walks: the summaries for the links whose origin
		// is the customer's item (usually few), then the ref index.
		inbound := map[string]bool{}
		if err := forEachSummary(sums, func(s LinkSummary) error {
			if s.OriginCustomer {
				inbound[s.ID] = true
			}
			return nil
		}); err != nil {
			return err
		}
		names := map[string]string{} // one string per tracker name
		return refs.ForEach(func(k, id []byte) error {
			tracker, key, ok := bytes.Cut(k, []byte{0})
			if !ok {
				return fmt.Errorf("ref index key %q is not tracker NUL key", k)
			}
			if inbound[string(id)] == (string(tracker) == platformTracker) {
				return nil // the other side's ref
			}
			name, ok := names[string(tracker)]
			if !ok {
				name = string(tracker)
				names[name] = name
			}
			return callerErr(fn(string(id), connectors.Ref{Tracker: name, Key: string(key)}))
		})
	})
}

// forEachSummary decodes every summary of bucket b, in link id order, and
// calls fn with it.
func forEachSummary(b *bolt.Bucket, fn func(LinkSummary) error) error {
	return b.ForEach(func(k, v []byte) error {
		s, err := decodeSummary(string(k), v)
		if err != nil {
			return fmt.Errorf("link %s: %w", k, err)
		}
		return fn(s)
	})
}

// callerError carries the error of a caller's function out of a walk, so
// that viewWalk returns it as it is.
type callerError struct{ err error }

func (e callerError) Error() string { return e.err.Error() }

// callerErr marks err (nil stays nil) as the caller's own.
func callerErr(err error) error {
	if err == nil {
		return nil
	}
	return callerError{err}
}

// viewWalk runs walk in a read transaction. An error of the caller's
// function (callerErr) is returned as is; any other is wrapped with what
// was read and whose.
func (db *DB) viewWalk(what, customer string, walk func(tx *bolt.Tx) error) error {
	err := db.view(walk)
	if ce, ok := errors.AsType[callerError](err); ok {
		return ce.err
	}
	if err != nil {
		return fmt.Errorf("store: %s of customer %s: %w", what, customer, err)
	}
	return nil
}

// migrate2to3 writes the summary of every link of every customer (also
// the migration to 4, which added flagOriginCustomer).
func migrate2to3(tx *bolt.Tx) error {
	cs := tx.Bucket(bucketCustomers)
	if cs == nil {
		return nil
	}
	return cs.ForEachBucket(func(name []byte) error {
		cb := cs.Bucket(name)
		links := cb.Bucket(subLinks)
		if links == nil {
			return nil
		}
		sums, err := cb.CreateBucketIfNotExists(subSummaries)
		if err != nil {
			return err
		}
		return links.ForEach(func(k, v []byte) error {
			var l linkDigest // only what the summary needs
			if err := decodeValue(v, &l); err != nil {
				return fmt.Errorf("customer %s link %s: decode link: %w", name, k, err)
			}
			return sums.Put(k, encodeSummary(l.summary()))
		})
	})
}
