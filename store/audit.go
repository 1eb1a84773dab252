package store

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Audit appends e to the audit log. It assigns e.Seq (increasing across the
// whole store) and sets e.Time to now when zero. Events of a customer are
// kept under that customer; events with no customer are platform-wide.
// Concurrent calls share transactions.
func (db *DB) Audit(e AuditEvent) error {
	if e.Action == "" {
		return fmt.Errorf("store: audit: %w: event Action is empty", ErrInvalid)
	}
	if e.Customer != "" {
		if err := checkID("event Customer", e.Customer); err != nil {
			return fmt.Errorf("store: audit %s: %w", e.Action, err)
		}
	}
	if e.Time.IsZero() {
		e.Time = db.now()
	}
	err := db.batch(func(w *wtx) error {
		top := w.top(bucketAudit)
		seq, err := w.sequence(top)
		if err != nil {
			return err
		}
		ev := e
		ev.Seq = seq
		v, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("encode event: %w", err)
		}
		b := top
		if e.Customer != "" {
			if b, err = w.writeSub(e.Customer, subAudit); err != nil {
				return err
			}
		}
		b.FillPercent = appendFill
		return w.put(b, auditKey(e.Time, seq), v)
	})
	if err != nil {
		return fmt.Errorf("store: audit %s: %w", e.Action, err)
	}
	return nil
}

// AuditLog returns the events of customer ("" = the platform-wide events,
// those of no customer) at or after since, oldest first, at most limit of
// them (limit <= 0: all). The events of other customers are never included.
func (db *DB) AuditLog(customer string, since time.Time, limit int) ([]AuditEvent, error) {
	if customer != "" {
		if err := checkID("customer", customer); err != nil {
			return nil, fmt.Errorf("store: audit log: %w", err)
		}
	}
	var out []AuditEvent
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAudit)
		if customer != "" {
			b = customerSub(tx, customer, subAudit)
		}
		var err error
		out, err = readAudit(b, since, limit, out)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: audit log of %q: %w", customer, err)
	}
	return out, nil
}

// AuditLogAll returns the events of every customer and the platform-wide
// ones at or after since, oldest first, at most limit (limit <= 0: all). It
// is for the operator's views, never for anything a customer receives.
func (db *DB) AuditLogAll(since time.Time, limit int) ([]AuditEvent, error) {
	var out []AuditEvent
	err := db.view(func(tx *bolt.Tx) error {
		var err error
		if out, err = readAudit(tx.Bucket(bucketAudit), since, limit, out); err != nil {
			return err
		}
		cs := tx.Bucket(bucketCustomers)
		return cs.ForEachBucket(func(name []byte) error {
			out, err = readAudit(cs.Bucket(name).Bucket(subAudit), since, limit, out)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: audit log of all customers: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return out[i].Seq < out[j].Seq
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// readAudit appends up to limit events of b (keyed by auditKey) from since.
func readAudit(b *bolt.Bucket, since time.Time, limit int, out []AuditEvent) ([]AuditEvent, error) {
	if b == nil {
		return out, nil
	}
	c := b.Cursor()
	n := 0
	for k, v := c.Seek(timeKey(since)); k != nil && (limit <= 0 || n < limit); k, v = c.Next() {
		if v == nil || len(k) != 16 { // a nested bucket or a foreign key
			continue
		}
		var e AuditEvent
		if err := json.Unmarshal(v, &e); err != nil {
			return out, fmt.Errorf("decode audit event %x: %w", k, err)
		}
		out = append(out, e)
		n++
	}
	return out, nil
}

// PruneAudit removes every event, of every customer and the platform, older
// than before, and returns how many it removed.
func (db *DB) PruneAudit(before time.Time) (int, error) {
	limit := timeKey(before)
	total := 0
	for {
		n := 0
		err := db.update(func(w *wtx) error {
			bs := []*bolt.Bucket{w.top(bucketAudit)}
			cs := w.top(bucketCustomers)
			_ = cs.ForEachBucket(func(name []byte) error {
				if b := w.sub(string(name), subAudit); b != nil {
					bs = append(bs, b)
				}
				return nil
			})
			for _, b := range bs {
				var old [][]byte
				c := b.Cursor()
				for k, v := c.First(); k != nil && n+len(old) < pruneChunk; k, v = c.Next() {
					if v == nil || len(k) != 16 {
						continue
					}
					if string(k[:8]) >= string(limit) {
						break
					}
					old = append(old, append([]byte(nil), k...))
				}
				for _, k := range old {
					if err := w.del(b, k); err != nil {
						return err
					}
				}
				n += len(old)
			}
			return nil
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("store: prune audit log: %w", err)
		}
		if n < pruneChunk {
			return total, nil
		}
	}
}
