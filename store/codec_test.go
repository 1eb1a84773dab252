package store

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestValueCodec(t *testing.T) {
	big := benchLink("acme", 1)
	big.CreatedAt = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	small := testIntent("acme", 1)
	plain, _ := json.Marshal(big)
	tests := []struct {
		name     string
		in       any
		deflated bool
	}{
		{"large link is deflated", big, true},
		{"small intent stays JSON", small, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := encodeValue(tt.in)
			if err != nil {
				t.Fatalf("encodeValue: %v", err)
			}
			if got := len(v) > 0 && v[0] == tagDeflate; got != tt.deflated {
				t.Errorf("deflated = %v (%d bytes); want %v", got, len(v), tt.deflated)
			}
			out := reflect.New(reflect.TypeOf(tt.in).Elem())
			if err := decodeValue(v, out.Interface()); err != nil {
				t.Fatalf("decodeValue: %v", err)
			}
			if !reflect.DeepEqual(out.Interface(), tt.in) {
				t.Errorf("round trip:\n got %+v\nwant %+v", out.Interface(), tt.in)
			}
		})
	}
	// A value stored as plain JSON (an older file) still reads.
	var l Link
	if err := decodeValue(plain, &l); err != nil || l.ID != big.ID {
		t.Errorf("decode plain JSON = %q, %v; want %q", l.ID, err, big.ID)
	}
	// A damaged deflated value is an error, not a panic.
	if err := decodeValue([]byte{tagDeflate, 0xff, 0x00, 0x13}, &l); err == nil {
		t.Errorf("decode of a damaged value succeeded; want an error")
	}
}

// Links stored before compression (plain JSON) are read, indexed and
// checked like new ones.
func TestPlainLinkValuesStillRead(t *testing.T) {
	db := openTest(t, Options{Now: newClock().Now})
	l := benchLink("acme", 1)
	if err := db.PutLink(l); err != nil {
		t.Fatalf("PutLink: %v", err)
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCustomers).Bucket([]byte("acme")).Bucket(subLinks)
		if v := b.Get([]byte(l.ID)); len(v) == 0 || v[0] != tagDeflate {
			t.Errorf("stored link is not deflated")
		}
		plain, _ := json.Marshal(l)
		return b.Put([]byte(l.ID), plain)
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.Link("acme", l.ID)
	if err != nil || !reflect.DeepEqual(got, l) {
		t.Errorf("Link of a plain value = %+v, %v; want %+v", got, err, l)
	}
	if err := db.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
}
