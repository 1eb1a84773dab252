package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pmsync/pmsync/connectors"
	bolt "go.etcd.io/bbolt"
)

// errStop ends a ForEach early; it never leaves the package.
var errStop = errors.New("stop")

// appendFill is the fill percent of buckets whose keys mostly arrive in
// order (audit events, delivery expiries): pages split full, not half full.
const appendFill = 0.9

// maxIDLen bounds customer, tracker, link, intent and send ids.
const maxIDLen = 512

// checkID returns an ErrInvalid error naming field when v is empty, too long
// or contains a NUL byte (NUL separates the parts of composite keys).
func checkID(field, v string) error {
	switch {
	case v == "":
		return fmt.Errorf("%w: %s is empty", ErrInvalid, field)
	case len(v) > maxIDLen:
		return fmt.Errorf("%w: %s is %d bytes long, over %d", ErrInvalid, field, len(v), maxIDLen)
	}
	for i := 0; i < len(v); i++ {
		if v[i] == 0 {
			return fmt.Errorf("%w: %s contains a NUL byte", ErrInvalid, field)
		}
	}
	return nil
}

// checkRef validates a ref whose tracker and key must both be set.
func checkRef(field string, r connectors.Ref) error {
	if err := checkID(field+".Tracker", r.Tracker); err != nil {
		return err
	}
	return checkID(field+".Key", r.Key)
}

// refKey is the index key of a ref: tracker NUL key.
type refKey []byte

// refOf returns the index key of r, nil for an empty ref.
func refOf(r connectors.Ref) refKey {
	if r.Tracker == "" && r.Key == "" {
		return nil
	}
	k := make([]byte, 0, len(r.Tracker)+1+len(r.Key))
	k = append(k, r.Tracker...)
	k = append(k, 0)
	return append(k, r.Key...)
}

// pairKey joins two ids with a NUL byte (tracker NUL delivery id).
func pairKey(a, b string) []byte {
	k := make([]byte, 0, len(a)+1+len(b))
	k = append(k, a...)
	k = append(k, 0)
	return append(k, b...)
}

// expiryKey is the key of the delivery-expiry index: expiry (8 bytes, big
// endian Unix nanoseconds) followed by the delivery key.
func expiryKey(exp int64, delivery []byte) []byte {
	k := make([]byte, 8, 8+len(delivery))
	binary.BigEndian.PutUint64(k, uint64(exp))
	return append(k, delivery...)
}

// auditKey orders audit events by time, then by sequence number.
func auditKey(t time.Time, seq uint64) []byte {
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k, uint64(max(t.UnixNano(), 0)))
	binary.BigEndian.PutUint64(k[8:], seq)
	return k
}

// timeKey is the 8-byte prefix of auditKey for t.
func timeKey(t time.Time) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, uint64(max(t.UnixNano(), 0)))
	return k
}

// customerBucket returns customers/<id>, nil when the customer has no data.
func customerBucket(tx *bolt.Tx, customer string) *bolt.Bucket {
	return tx.Bucket(bucketCustomers).Bucket([]byte(customer))
}

// customerSub returns customers/<id>/<sub>, nil when missing.
func customerSub(tx *bolt.Tx, customer string, sub []byte) *bolt.Bucket {
	cb := customerBucket(tx, customer)
	if cb == nil {
		return nil
	}
	return cb.Bucket(sub)
}

// writeSub returns customers/<id>/<sub>, creating both when missing.
func (w *wtx) writeSub(customer string, sub []byte) (*bolt.Bucket, error) {
	cb, err := w.bucket(w.top(bucketCustomers), string(bucketCustomers), []byte(customer))
	if err != nil {
		return nil, fmt.Errorf("create bucket of customer %s: %w", customer, err)
	}
	b, err := w.bucket(cb, string(bucketCustomers)+"/"+customer, sub)
	if err != nil {
		return nil, fmt.Errorf("create bucket %s of customer %s: %w", sub, customer, err)
	}
	return b, nil
}

// sub returns the existing bucket customers/<id>/<sub>, nil when missing.
func (w *wtx) sub(customer string, sub []byte) *bolt.Bucket {
	b := customerSub(w.Tx, customer, sub)
	if b != nil {
		w.use(b, string(bucketCustomers)+"/"+customer+"/"+string(sub))
	}
	return b
}

func decodeLink(v []byte) (*Link, error) {
	l := new(Link)
	if err := decodeValue(v, l); err != nil {
		return nil, fmt.Errorf("decode link: %w", err)
	}
	return l, nil
}

func decodeIntent(v []byte) (*Intent, error) {
	in := new(Intent)
	if err := json.Unmarshal(v, in); err != nil {
		return nil, fmt.Errorf("decode intent: %w", err)
	}
	return in, nil
}

func decodeSend(v []byte) (*SendRecord, error) {
	r := new(SendRecord)
	if err := json.Unmarshal(v, r); err != nil {
		return nil, fmt.Errorf("decode send record: %w", err)
	}
	return r, nil
}
