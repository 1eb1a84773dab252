package store

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// seedForCheck writes two customers' links, an intent and a delivery.
func seedForCheck(t *testing.T, path string) {
	t.Helper()
	db := openAt(t, path, Options{})
	defer db.Close()
	for _, l := range []*Link{testLink("acme", 1), testLink("acme", 2), testLink("bolt", 1)} {
		if err := db.PutLink(l); err != nil {
			t.Fatalf("PutLink: %v", err)
		}
	}
	if err := db.PutIntent(testIntent("acme", 3)); err != nil {
		t.Fatalf("PutIntent: %v", err)
	}
	if _, err := db.RecordDelivery("platform", "d1", time.Hour); err != nil {
		t.Fatalf("RecordDelivery: %v", err)
	}
	if err := db.Check(); err != nil {
		t.Fatalf("Check of the intact store: %v", err)
	}
}

func TestCheckFindsCorruption(t *testing.T) {
	sub := func(tx *bolt.Tx, customer, name string) *bolt.Bucket {
		return tx.Bucket(bucketCustomers).Bucket([]byte(customer)).Bucket([]byte(name))
	}
	tests := []struct {
		name    string
		corrupt func(tx *bolt.Tx) error
		want    string
	}{
		{"index entry to a missing link", func(tx *bolt.Tx) error {
			return sub(tx, "acme", "refs").Put(pairKey("platform", "PLAT-77"), []byte("m-gone"))
		}, "points at missing link m-gone"},
		{"index entry to a link without that ref", func(tx *bolt.Tx) error {
			return sub(tx, "acme", "refs").Put(pairKey("platform", "PLAT-2"), []byte("m-acme-1"))
		}, "which does not have it"},
		{"link missing from the index", func(tx *bolt.Tx) error {
			return sub(tx, "bolt", "refs").Delete(pairKey("bolt", "bolt/repo#1"))
		}, "is not indexed to it"},
		{"link under another customer", func(tx *bolt.Tx) error {
			v := sub(tx, "acme", "links").Get([]byte("m-acme-2"))
			return sub(tx, "bolt", "links").Put([]byte("m-acme-2"), append([]byte(nil), v...))
		}, "is stored as customer acme"},
		{"undecodable link", func(tx *bolt.Tx) error {
			return sub(tx, "acme", "links").Put([]byte("m-acme-1"), []byte("{not json"))
		}, "decode link"},
		{"summary disagrees with its link", func(tx *bolt.Tx) error {
			return sub(tx, "acme", "summaries").Put([]byte("m-acme-2"),
				encodeSummary(LinkSummary{State: LinkBroken, OriginPriority: "P1"}))
		}, "link m-acme-2: summary {ID:m-acme-2 State:broken"},
		{"summary names the wrong origin", func(tx *bolt.Tx) error {
			return sub(tx, "acme", "summaries").Put([]byte("m-acme-1"),
				encodeSummary(LinkSummary{State: LinkActive, OriginPriority: "P1", OriginCustomer: true}))
		}, "disagrees with the link"},
		{"summary with a wrong count", func(tx *bolt.Tx) error {
			return sub(tx, "acme", "summaries").Put([]byte("m-acme-1"),
				encodeSummary(LinkSummary{State: LinkActive, Conflicts: 1, OriginPriority: "P1"}))
		}, "disagrees with the link"},
		{"link without a summary", func(tx *bolt.Tx) error {
			return sub(tx, "bolt", "summaries").Delete([]byte("m-bolt-1"))
		}, "link m-bolt-1 has no summary"},
		{"summary without a link", func(tx *bolt.Tx) error {
			return sub(tx, "bolt", "summaries").Put([]byte("m-gone"), encodeSummary(LinkSummary{State: LinkActive}))
		}, "summary m-gone has no link"},
		{"undecodable summary", func(tx *bolt.Tx) error {
			return sub(tx, "acme", "summaries").Put([]byte("m-acme-1"), []byte{1, 2})
		}, "link m-acme-1: decode summary"},
		{"intent under another customer", func(tx *bolt.Tx) error {
			v := sub(tx, "acme", "intents").Get([]byte("m-acme-3"))
			cb, err := tx.Bucket(bucketCustomers).Bucket([]byte("bolt")).CreateBucketIfNotExists(subIntents)
			if err != nil {
				return err
			}
			return cb.Put([]byte("m-acme-3"), append([]byte(nil), v...))
		}, "intent m-acme-3 is stored as customer acme"},
		{"delivery not in the expiry index", func(tx *bolt.Tx) error {
			if err := tx.DeleteBucket(bucketDelivExp); err != nil {
				return err
			}
			_, err := tx.CreateBucket(bucketDelivExp)
			return err
		}, "not in the expiry index"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "pmsync.db")
			seedForCheck(t, path)
			bdb, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatalf("bolt.Open: %v", err)
			}
			err = bdb.Update(tt.corrupt)
			bdb.Close()
			if err != nil {
				t.Fatalf("corrupt: %v", err)
			}
			db := openAt(t, path, Options{})
			defer db.Close()
			err = db.Check()
			if err == nil {
				t.Fatalf("Check found nothing; want a problem containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check = %q; want it to contain %q", err, tt.want)
			}
		})
	}
}
