package store

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// BeginSend claims the delivery of key (schedule, period and recipient, as
// built by the caller) for customer ("" = a platform-team send). In one
// transaction it creates a pending record when there is none, or turns a
// failed one back to pending for a retry; in both cases started is true and
// the caller must deliver, then call FinishSend. When the record is pending
// (another caller is delivering, or a crash interrupted a delivery that may
// have happened) or sent, started is false and the caller must not deliver.
// rec is the record after the call. A key recorded for another customer is
// ErrConflict.
func (db *DB) BeginSend(key, customer string) (rec *SendRecord, started bool, err error) {
	if err := checkID("send key", key); err != nil {
		return nil, false, fmt.Errorf("store: begin send: %w", err)
	}
	if customer != "" {
		if err := checkID("send customer", customer); err != nil {
			return nil, false, fmt.Errorf("store: begin send %s: %w", key, err)
		}
	}
	now := db.now()
	err = db.update(func(w *wtx) error {
		started, rec = false, nil
		b := w.top(bucketSends)
		r := &SendRecord{Key: key, Customer: customer}
		if v := b.Get([]byte(key)); v != nil {
			var err error
			if r, err = decodeSend(v); err != nil {
				return err
			}
			if r.Customer != customer {
				return fmt.Errorf("%w: the key is recorded for another recipient group", ErrConflict)
			}
			if r.State != SendFailed {
				rec = r
				return nil
			}
		}
		r.State, r.Attempts, r.UpdatedAt = SendPending, r.Attempts+1, now
		v, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("encode send record: %w", err)
		}
		if err := w.put(b, []byte(key), v); err != nil {
			return err
		}
		rec, started = r, true
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("store: begin send %s: %w", key, err)
	}
	return rec, started, nil
}

// FinishSend records the outcome of the delivery of key: SendSent, or
// SendFailed with errText (which must hold no secret). The record must
// exist (else the error wraps ErrNotFound); a sent record stays sent
// (ErrConflict for any other outcome).
func (db *DB) FinishSend(key string, state SendState, errText string) error {
	if state != SendSent && state != SendFailed {
		return fmt.Errorf("store: finish send %s: %w: state %q is not sent or failed", key, ErrInvalid, state)
	}
	now := db.now()
	err := db.update(func(w *wtx) error {
		b := w.top(bucketSends)
		v := b.Get([]byte(key))
		if v == nil {
			return ErrNotFound
		}
		r, err := decodeSend(v)
		if err != nil {
			return err
		}
		if r.State == SendSent {
			if state == SendSent {
				return nil
			}
			return fmt.Errorf("%w: already sent", ErrConflict)
		}
		r.State, r.UpdatedAt, r.LastError = state, now, ""
		if state == SendFailed {
			r.LastError = errText
		}
		nv, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("encode send record: %w", err)
		}
		return w.put(b, []byte(key), nv)
	})
	if err != nil {
		return fmt.Errorf("store: finish send %s: %w", key, err)
	}
	return nil
}

// Send returns the record of key, or an error wrapping ErrNotFound.
func (db *DB) Send(key string) (*SendRecord, error) {
	var r *SendRecord
	err := db.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketSends).Get([]byte(key))
		if v == nil {
			return ErrNotFound
		}
		var err error
		r, err = decodeSend(v)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: get send %s: %w", key, err)
	}
	return r, nil
}

// Sends lists, ordered by key, the records of customer ("" = the
// platform-team sends). Records of other customers are never included.
func (db *DB) Sends(customer string) ([]*SendRecord, error) {
	var out []*SendRecord
	err := db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSends).ForEach(func(_, v []byte) error {
			r, err := decodeSend(v)
			if err != nil {
				return err
			}
			if r.Customer == customer {
				out = append(out, r)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: list sends of %q: %w", customer, err)
	}
	return out, nil
}

// GetState returns the state blob a component stored under name, or an
// error wrapping ErrNotFound.
func (db *DB) GetState(name string) ([]byte, error) {
	if err := checkID("state name", name); err != nil {
		return nil, fmt.Errorf("store: get state: %w", err)
	}
	var out []byte
	err := db.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketState).Get([]byte(name))
		if v == nil {
			return ErrNotFound
		}
		out = append([]byte{}, v...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: get state %s: %w", name, err)
	}
	return out, nil
}

// PutState stores a small state blob of a component under name (e.g.
// "remind/last-digest/janecorp"); nil v removes it.
func (db *DB) PutState(name string, v []byte) error {
	if err := checkID("state name", name); err != nil {
		return fmt.Errorf("store: put state: %w", err)
	}
	err := db.update(func(w *wtx) error {
		b := w.top(bucketState)
		if v == nil {
			return w.del(b, []byte(name))
		}
		return w.put(b, []byte(name), v)
	})
	if err != nil {
		return fmt.Errorf("store: put state %s: %w", name, err)
	}
	return nil
}
