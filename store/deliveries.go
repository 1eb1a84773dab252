package store

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Watermark returns the cursor stored for tracker, "" when none.
func (db *DB) Watermark(tracker string) (string, error) {
	if err := checkID("tracker", tracker); err != nil {
		return "", fmt.Errorf("store: get watermark: %w", err)
	}
	var c string
	err := db.view(func(tx *bolt.Tx) error {
		c = string(tx.Bucket(bucketWater).Get([]byte(tracker)))
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("store: get watermark of %s: %w", tracker, err)
	}
	return c, nil
}

// SetWatermark stores the opaque connector cursor of tracker. The engine
// calls it only after the items the cursor covers are reconciled. An empty
// cursor removes the watermark (the next poll starts from the beginning).
func (db *DB) SetWatermark(tracker, cursor string) error {
	if err := checkID("tracker", tracker); err != nil {
		return fmt.Errorf("store: set watermark: %w", err)
	}
	err := db.update(func(w *wtx) error {
		b := w.top(bucketWater)
		if cursor == "" {
			return w.del(b, []byte(tracker))
		}
		return w.put(b, []byte(tracker), []byte(cursor))
	})
	if err != nil {
		return fmt.Errorf("store: set watermark of %s: %w", tracker, err)
	}
	return nil
}

// RecordDelivery records webhook delivery deliveryID of tracker for ttl.
// fresh is true when the delivery was not seen before, or its record had
// expired; false for a redelivery or replay within ttl. The record is on
// disk when RecordDelivery returns, so a webhook may be acknowledged then.
func (db *DB) RecordDelivery(tracker, deliveryID string, ttl time.Duration) (fresh bool, err error) {
	if err := checkID("tracker", tracker); err != nil {
		return false, fmt.Errorf("store: record delivery: %w", err)
	}
	if err := checkID("delivery id", deliveryID); err != nil {
		return false, fmt.Errorf("store: record delivery of %s: %w", tracker, err)
	}
	if ttl <= 0 {
		return false, fmt.Errorf("store: record delivery of %s: %w: ttl %s is not positive", tracker, ErrInvalid, ttl)
	}
	now := db.now()
	key := pairKey(tracker, deliveryID)
	err = db.batch(func(w *wtx) error {
		fresh = false
		d, x := w.top(bucketDeliv), w.top(bucketDelivExp)
		x.FillPercent = appendFill
		if old := d.Get(key); len(old) == 8 {
			exp := int64(binary.BigEndian.Uint64(old))
			if now.UnixNano() < exp {
				return nil
			}
			if err := w.del(x, expiryKey(exp, key)); err != nil {
				return err
			}
		}
		exp := now.Add(ttl).UnixNano()
		v := make([]byte, 8)
		binary.BigEndian.PutUint64(v, uint64(exp))
		if err := w.put(d, key, v); err != nil {
			return err
		}
		if err := w.put(x, expiryKey(exp, key), nil); err != nil {
			return err
		}
		fresh = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: record delivery of %s: %w", tracker, err)
	}
	return fresh, nil
}

// pruneChunk bounds the deletions of one pruning transaction, so pruning a
// large backlog never holds the writer lock for long. Tests lower it.
var pruneChunk = 5000

// PruneDeliveries removes the delivery records that have expired and returns
// how many it removed.
func (db *DB) PruneDeliveries() (int, error) {
	limit := timeKey(db.now())
	total := 0
	for {
		n := 0
		err := db.update(func(w *wtx) error {
			d, x := w.top(bucketDeliv), w.top(bucketDelivExp)
			var expired [][]byte
			c := x.Cursor()
			for k, _ := c.First(); k != nil && len(expired) < pruneChunk; k, _ = c.Next() {
				if len(k) < 8 || string(k[:8]) > string(limit) {
					break
				}
				expired = append(expired, append([]byte(nil), k...))
			}
			for _, k := range expired {
				if string(d.Get(k[8:])) == string(k[:8]) { // not re-recorded since
					if err := w.del(d, k[8:]); err != nil {
						return err
					}
				}
				if err := w.del(x, k); err != nil {
					return err
				}
			}
			n = len(expired)
			return nil
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("store: prune deliveries: %w", err)
		}
		if n < pruneChunk {
			return total, nil
		}
	}
}
