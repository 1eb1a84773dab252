package store

import (
	"fmt"
	"time"

	"github.com/pmsync/pmsync/connectors"
	bolt "go.etcd.io/bbolt"
)

// validateLink checks l and fills its defaults (State).
func validateLink(l *Link) error {
	if l == nil {
		return fmt.Errorf("%w: link is nil", ErrInvalid)
	}
	if err := checkID("link Customer", l.Customer); err != nil {
		return err
	}
	if err := checkID("link ID", l.ID); err != nil {
		return err
	}
	if err := checkRef("link Platform.Ref", l.Platform.Ref); err != nil {
		return err
	}
	if err := checkRef("link Remote.Ref", l.Remote.Ref); err != nil {
		return err
	}
	if l.Platform.Ref == l.Remote.Ref {
		return fmt.Errorf("%w: link %s has the same ref %s on both sides", ErrInvalid, l.ID, l.Platform.Ref)
	}
	if l.Origin != connectors.OwnerPlatform && l.Origin != connectors.OwnerCustomer {
		return fmt.Errorf("%w: link Origin %q is not %q or %q", ErrInvalid, l.Origin, connectors.OwnerPlatform, connectors.OwnerCustomer)
	}
	if l.Owner != "" && l.Owner != connectors.OwnerPlatform && l.Owner != connectors.OwnerCustomer {
		return fmt.Errorf("%w: link Owner %q is not empty, %q or %q", ErrInvalid, l.Owner, connectors.OwnerPlatform, connectors.OwnerCustomer)
	}
	if l.State == "" {
		l.State = LinkActive
	}
	if !l.State.Valid() {
		return fmt.Errorf("%w: link State %q is not active, unshared or broken", ErrInvalid, l.State)
	}
	return nil
}

// PutLink records l, replacing the link with the same Customer and ID, and
// keeps the customer's ref index in step for both sides (refs that the old
// version had and l has not are dropped). A ref that another link of the
// same customer already holds is ErrConflict: one item has at most one link
// per customer. The link's summary (see LinkSummaries) is written with it.
// PutLink sets l.UpdatedAt, and l.CreatedAt when it is zero
// (to the stored link's, or now). Concurrent calls share transactions.
func (db *DB) PutLink(l *Link) error {
	if err := validateLink(l); err != nil {
		return fmt.Errorf("store: put link: %w", err)
	}
	now := db.now()
	err := db.batch(func(w *wtx) error { return w.putLink(l, now) })
	if err != nil {
		return fmt.Errorf("store: put link %s of customer %s: %w", l.ID, l.Customer, err)
	}
	return nil
}

// putLink writes a validated link and its index entries.
func (w *wtx) putLink(l *Link, now time.Time) error {
	links, err := w.writeSub(l.Customer, subLinks)
	if err != nil {
		return err
	}
	refs, err := w.writeSub(l.Customer, subRefs)
	if err != nil {
		return err
	}
	id := []byte(l.ID)
	newRefs := []refKey{refOf(l.Platform.Ref), refOf(l.Remote.Ref)}
	for i, r := range newRefs {
		if got := refs.Get(r); got != nil && string(got) != l.ID {
			side := [...]string{"platform", "remote"}[i]
			return fmt.Errorf("%w: %s ref %s is already linked by %s", ErrConflict, side, []connectors.Ref{l.Platform.Ref, l.Remote.Ref}[i], got)
		}
	}
	created := l.CreatedAt
	if old := links.Get(id); old != nil {
		prev, err := decodeLink(old)
		if err != nil {
			return err
		}
		if created.IsZero() {
			created = prev.CreatedAt
		}
		for _, r := range []refKey{refOf(prev.Platform.Ref), refOf(prev.Remote.Ref)} {
			if r == nil || string(r) == string(newRefs[0]) || string(r) == string(newRefs[1]) {
				continue
			}
			if string(refs.Get(r)) == l.ID {
				if err := w.del(refs, r); err != nil {
					return err
				}
			}
		}
	}
	if created.IsZero() {
		created = now
	}
	l.CreatedAt, l.UpdatedAt = created, now
	for _, r := range newRefs {
		if err := w.put(refs, r, id); err != nil {
			return err
		}
	}
	v, err := encodeValue(l)
	if err != nil {
		return fmt.Errorf("encode link: %w", err)
	}
	if err := w.put(links, id, v); err != nil {
		return err
	}
	return w.putSummary(l)
}

// Link returns the link id of customer, or an error wrapping ErrNotFound.
func (db *DB) Link(customer, id string) (*Link, error) {
	if err := checkID("customer", customer); err != nil {
		return nil, fmt.Errorf("store: get link: %w", err)
	}
	var l *Link
	err := db.view(func(tx *bolt.Tx) error {
		b := customerSub(tx, customer, subLinks)
		if b == nil {
			return ErrNotFound
		}
		v := b.Get([]byte(id))
		if v == nil {
			return ErrNotFound
		}
		var err error
		l, err = decodeLink(v)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: get link %s of customer %s: %w", id, customer, err)
	}
	return l, nil
}

// LinksByRef returns the links that have ref on either side, one at most per
// customer, ordered by customer. A platform ref can be linked to several
// customers; a customer's ref only to that customer. No link is not an error.
func (db *DB) LinksByRef(ref connectors.Ref) ([]*Link, error) {
	if err := checkRef("ref", ref); err != nil {
		return nil, fmt.Errorf("store: links by ref: %w", err)
	}
	rk := refOf(ref)
	var out []*Link
	err := db.view(func(tx *bolt.Tx) error {
		cs := tx.Bucket(bucketCustomers)
		return cs.ForEachBucket(func(name []byte) error {
			cb := cs.Bucket(name)
			refs, links := cb.Bucket(subRefs), cb.Bucket(subLinks)
			if refs == nil || links == nil {
				return nil
			}
			id := refs.Get(rk)
			if id == nil {
				return nil
			}
			v := links.Get(id)
			if v == nil {
				return fmt.Errorf("index of customer %s: ref %s points at missing link %s", name, ref, id)
			}
			l, err := decodeLink(v)
			if err != nil {
				return err
			}
			out = append(out, l)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: links by ref %s: %w", ref, err)
	}
	return out, nil
}

// Links returns every link of customer, ordered by id. customer must be set:
// there is no call that lists the links of all customers at once.
func (db *DB) Links(customer string) ([]*Link, error) {
	if err := checkID("customer", customer); err != nil {
		return nil, fmt.Errorf("store: list links: %w", err)
	}
	var out []*Link
	err := db.view(func(tx *bolt.Tx) error {
		b := customerSub(tx, customer, subLinks)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			l, err := decodeLink(v)
			if err != nil {
				return err
			}
			out = append(out, l)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: list links of customer %s: %w", customer, err)
	}
	return out, nil
}

// Customers lists, in order, the customers that have anything stored.
func (db *DB) Customers() ([]string, error) {
	var out []string
	err := db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCustomers).ForEachBucket(func(name []byte) error {
			out = append(out, string(name))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: list customers: %w", err)
	}
	return out, nil
}

// DeleteLink removes the link id of customer, its ref index entries and its
// summary. A missing link is an error wrapping ErrNotFound.
func (db *DB) DeleteLink(customer, id string) error {
	if err := checkID("customer", customer); err != nil {
		return fmt.Errorf("store: delete link: %w", err)
	}
	err := db.update(func(w *wtx) error {
		links, refs := w.sub(customer, subLinks), w.sub(customer, subRefs)
		if links == nil {
			return ErrNotFound
		}
		v := links.Get([]byte(id))
		if v == nil {
			return ErrNotFound
		}
		if refs != nil {
			for _, r := range indexedRefs(refs, v, id) {
				if err := w.del(refs, r); err != nil {
					return err
				}
			}
		}
		if sums := w.sub(customer, subSummaries); sums != nil {
			if err := w.del(sums, []byte(id)); err != nil {
				return err
			}
		}
		return w.del(links, []byte(id))
	})
	if err != nil {
		return fmt.Errorf("store: delete link %s of customer %s: %w", id, customer, err)
	}
	return nil
}

// indexedRefs returns the ref index keys that point at link id, whose stored
// value is v: its two refs, or, when v does not decode, every index entry
// that names id (so a damaged link can still be deleted).
func indexedRefs(refs *bolt.Bucket, v []byte, id string) []refKey {
	var out []refKey
	if l, err := decodeLink(v); err == nil {
		for _, r := range []refKey{refOf(l.Platform.Ref), refOf(l.Remote.Ref)} {
			if r != nil && string(refs.Get(r)) == id {
				out = append(out, r)
			}
		}
		return out
	}
	_ = refs.ForEach(func(k, got []byte) error {
		if string(got) == id {
			out = append(out, append(refKey(nil), k...))
		}
		return nil
	})
	return out
}
