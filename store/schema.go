package store

import (
	"encoding/binary"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// SchemaVersion is the layout version this package writes. Open migrates
// files of older versions up to it and refuses files of newer versions.
//
// History:
//
//	1  links, intents and audit per customer; watermarks, deliveries,
//	   sends, state; LinksByRef scanned links.
//	2  a ref index per customer (customers/<id>/refs), and deliveries
//	   indexed by expiry (delivery-expiry) so pruning reads only what expired.
//	3  a summary of every link per customer (customers/<id>/summaries), so
//	   status counts read a few bytes per link instead of decoding it.
const SchemaVersion = 4

// Top-level bucket names; doc.go describes the layout.
var (
	bucketMeta      = []byte("meta")
	bucketCustomers = []byte("customers")
	bucketAudit     = []byte("audit")
	bucketWater     = []byte("watermarks")
	bucketDeliv     = []byte("deliveries")
	bucketDelivExp  = []byte("delivery-expiry")
	bucketSends     = []byte("sends")
	bucketState     = []byte("state")

	topBuckets = [][]byte{bucketMeta, bucketCustomers, bucketAudit, bucketWater,
		bucketDeliv, bucketDelivExp, bucketSends, bucketState}

	keySchema = []byte("schema")
)

// Per-customer bucket names, nested in customers/<id>.
var (
	subLinks     = []byte("links")
	subRefs      = []byte("refs")
	subSummaries = []byte("summaries")
	subIntents   = []byte("intents")
	subAudit     = []byte("audit")
)

// A migration turns a file of version from into one of version from+1,
// inside the single transaction that Open runs.
type migration struct {
	from int
	what string
	run  func(tx *bolt.Tx) error
}

var migrations = []migration{
	{1, "index refs per customer and deliveries by expiry", migrate1to2},
	{2, "summarise every link per customer", migrate2to3},
	{3, "note in every link summary which side is the origin", migrate2to3},
}

// init creates the buckets of a new file or migrates an existing one, in one
// transaction, and returns the schema version the file had. A file that is
// current is only read: no write transaction (and fsync) at every start.
func (db *DB) init() (from int, err error) {
	if db.current() {
		return SchemaVersion, nil
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			if err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
				return fmt.Errorf("not a pmsync store: it has bucket %q but no schema version", name)
			}); err != nil {
				return err
			}
			from = SchemaVersion
		} else {
			v, err := strconv.Atoi(string(meta.Get(keySchema)))
			if err != nil || v < 1 {
				return fmt.Errorf("schema version %q is not a positive number", meta.Get(keySchema))
			}
			if v > SchemaVersion {
				return fmt.Errorf("schema version %d is newer than this pmsync knows (%d): upgrade pmsync or restore a backup", v, SchemaVersion)
			}
			from = v
		}
		for _, m := range migrations {
			if m.from < from {
				continue
			}
			if err := m.run(tx); err != nil {
				return fmt.Errorf("migrate schema %d to %d (%s): %w", m.from, m.from+1, m.what, err)
			}
			db.log.Info("store migration applied", "from", m.from, "to", m.from+1, "what", m.what)
		}
		for _, name := range topBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return tx.Bucket(bucketMeta).Put(keySchema, []byte(strconv.Itoa(SchemaVersion)))
	})
	return from, err
}

// current reports whether the file has every top-level bucket and the
// schema version this package writes.
func (db *DB) current() bool {
	ok := false
	_ = db.bolt.View(func(tx *bolt.Tx) error {
		for _, name := range topBuckets {
			if tx.Bucket(name) == nil {
				return nil
			}
		}
		ok = string(tx.Bucket(bucketMeta).Get(keySchema)) == strconv.Itoa(SchemaVersion)
		return nil
	})
	return ok
}

// migrate1to2 builds the ref index of every customer from its links and the
// expiry index of the deliveries.
func migrate1to2(tx *bolt.Tx) error {
	cs := tx.Bucket(bucketCustomers)
	if cs != nil {
		err := cs.ForEachBucket(func(name []byte) error {
			cb := cs.Bucket(name)
			refs, err := cb.CreateBucketIfNotExists(subRefs)
			if err != nil {
				return err
			}
			links := cb.Bucket(subLinks)
			if links == nil {
				return nil
			}
			return links.ForEach(func(k, v []byte) error {
				l, err := decodeLink(v)
				if err != nil {
					return fmt.Errorf("customer %s link %s: %w", name, k, err)
				}
				for _, r := range []refKey{refOf(l.Platform.Ref), refOf(l.Remote.Ref)} {
					if r != nil {
						if err := refs.Put(r, k); err != nil {
							return err
						}
					}
				}
				return nil
			})
		})
		if err != nil {
			return err
		}
	}
	deliv := tx.Bucket(bucketDeliv)
	if deliv == nil {
		return nil
	}
	exp, err := tx.CreateBucketIfNotExists(bucketDelivExp)
	if err != nil {
		return err
	}
	return deliv.ForEach(func(k, v []byte) error {
		if len(v) != 8 {
			return fmt.Errorf("delivery %q: expiry has %d bytes, want 8", k, len(v))
		}
		return exp.Put(expiryKey(int64(binary.BigEndian.Uint64(v)), k), nil)
	})
}
