package store

import (
	"encoding/json"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"
)

func validateIntent(in *Intent) error {
	if in == nil {
		return fmt.Errorf("%w: intent is nil", ErrInvalid)
	}
	if err := checkID("intent ID", in.ID); err != nil {
		return err
	}
	if err := checkID("intent Customer", in.Customer); err != nil {
		return err
	}
	if err := checkRef("intent Origin", in.Origin); err != nil {
		return err
	}
	if err := checkID("intent Target", in.Target); err != nil {
		return err
	}
	if in.Attempts < 0 {
		return fmt.Errorf("%w: intent Attempts %d is negative", ErrInvalid, in.Attempts)
	}
	return nil
}

// PutIntent records in durably (insert or replace); it returns once the
// intent is on disk, so the remote create may start. It sets in.CreatedAt
// when zero. An intent id already held by another customer is ErrConflict.
func (db *DB) PutIntent(in *Intent) error {
	if err := validateIntent(in); err != nil {
		return fmt.Errorf("store: put intent: %w", err)
	}
	if in.CreatedAt.IsZero() {
		in.CreatedAt = db.now()
	}
	v, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("store: put intent %s: encode: %w", in.ID, err)
	}
	err = db.batch(func(w *wtx) error {
		if owner, _ := findIntent(w.Tx, in.ID); owner != "" && owner != in.Customer {
			return fmt.Errorf("%w: intent id is held by another customer", ErrConflict)
		}
		b, err := w.writeSub(in.Customer, subIntents)
		if err != nil {
			return err
		}
		return w.put(b, []byte(in.ID), v)
	})
	if err != nil {
		return fmt.Errorf("store: put intent %s of customer %s: %w", in.ID, in.Customer, err)
	}
	return nil
}

// findIntent returns the customer holding intent id and its encoded value
// (valid in tx only), or "" when no customer does.
func findIntent(tx *bolt.Tx, id string) (customer string, v []byte) {
	cs := tx.Bucket(bucketCustomers)
	_ = cs.ForEachBucket(func(name []byte) error {
		ib := cs.Bucket(name).Bucket(subIntents)
		if ib == nil {
			return nil
		}
		if got := ib.Get([]byte(id)); got != nil {
			customer, v = string(name), got
			return errStop
		}
		return nil
	})
	return customer, v
}

// Intents lists every open intent of every customer, oldest first. The
// engine resolves each at start, before creating anything.
func (db *DB) Intents() ([]*Intent, error) {
	var out []*Intent
	err := db.view(func(tx *bolt.Tx) error {
		cs := tx.Bucket(bucketCustomers)
		return cs.ForEachBucket(func(name []byte) error {
			ib := cs.Bucket(name).Bucket(subIntents)
			if ib == nil {
				return nil
			}
			return ib.ForEach(func(_, v []byte) error {
				in, err := decodeIntent(v)
				if err != nil {
					return fmt.Errorf("customer %s: %w", name, err)
				}
				out = append(out, in)
				return nil
			})
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: list intents: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

// Intent returns the open intent id, or an error wrapping ErrNotFound.
func (db *DB) Intent(id string) (*Intent, error) {
	var in *Intent
	err := db.view(func(tx *bolt.Tx) error {
		_, v := findIntent(tx, id)
		if v == nil {
			return ErrNotFound
		}
		var err error
		in, err = decodeIntent(v)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: get intent %s: %w", id, err)
	}
	return in, nil
}

// CompleteIntent records l (as PutLink does) and drops the intent intentID in
// one transaction: after a crash either both happened or neither did. The
// intent must exist (else the error wraps ErrNotFound and l is not
// recorded: another worker completed or dropped it) and belong to
// l.Customer (else ErrConflict).
func (db *DB) CompleteIntent(intentID string, l *Link) error {
	if err := validateLink(l); err != nil {
		return fmt.Errorf("store: complete intent %s: %w", intentID, err)
	}
	now := db.now()
	err := db.batch(func(w *wtx) error {
		owner, v := findIntent(w.Tx, intentID)
		if v == nil {
			return ErrNotFound
		}
		if owner != l.Customer {
			return fmt.Errorf("%w: the intent belongs to another customer than link %s", ErrConflict, l.ID)
		}
		if err := w.putLink(l, now); err != nil {
			return err
		}
		return w.del(w.sub(owner, subIntents), []byte(intentID))
	})
	if err != nil {
		return fmt.Errorf("store: complete intent %s with link %s of customer %s: %w", intentID, l.ID, l.Customer, err)
	}
	return nil
}

// DropIntent removes the intent id (after its create was abandoned, or found
// to exist and recorded otherwise). A missing intent wraps ErrNotFound.
func (db *DB) DropIntent(id string) error {
	err := db.update(func(w *wtx) error {
		owner, v := findIntent(w.Tx, id)
		if v == nil {
			return ErrNotFound
		}
		return w.del(w.sub(owner, subIntents), []byte(id))
	})
	if err != nil {
		return fmt.Errorf("store: drop intent %s: %w", id, err)
	}
	return nil
}
