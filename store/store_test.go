package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	bolt "go.etcd.io/bbolt"
)

func TestReopenKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pmsync.db")
	clk := newClock()
	db := openAt(t, path, Options{Now: clk.Now})
	want := testLink("janecorp", 1)
	want.Comments = []CommentLink{{Source: "platform", SourceID: "c1", MirrorID: "c9", Hash: "h"}}
	if err := db.PutLink(want); err != nil {
		t.Fatalf("PutLink: %v", err)
	}
	in := &Intent{ID: "m-next", Customer: "janecorp", Origin: connectors.Ref{Tracker: "platform", Key: "PLAT-2"}, Target: "janecorp"}
	steps := []struct {
		name string
		err  error
	}{
		{"PutIntent", db.PutIntent(in)},
		{"SetWatermark", db.SetWatermark("platform", "cursor-7")},
		{"PutState", db.PutState("remind/last", []byte("x"))},
		{"Audit", db.Audit(AuditEvent{Customer: "janecorp", Link: want.ID, Action: "create"})},
	}
	for _, s := range steps {
		if s.err != nil {
			t.Fatalf("%s: %v", s.name, s.err)
		}
	}
	if _, _, err := db.BeginSend("weekly/2026-W10/janecorp", "janecorp"); err != nil {
		t.Fatalf("BeginSend: %v", err)
	}
	if fresh, err := db.RecordDelivery("platform", "d1", time.Hour); err != nil || !fresh {
		t.Fatalf("RecordDelivery = %v, %v; want true, nil", fresh, err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	db = openAt(t, path, Options{Now: clk.Now})
	defer db.Close()
	got, err := db.Link("janecorp", want.ID)
	if err != nil {
		t.Fatalf("Link after reopen: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Link after reopen:\n got %+v\nwant %+v", got, want)
	}
	if gi, err := db.Intent("m-next"); err != nil || gi.Target != "janecorp" || !gi.CreatedAt.Equal(clk.Now()) {
		t.Errorf("Intent after reopen = %+v, %v; want target janecorp created %v", gi, err, clk.Now())
	}
	if c, err := db.Watermark("platform"); err != nil || c != "cursor-7" {
		t.Errorf("Watermark = %q, %v; want cursor-7", c, err)
	}
	if v, err := db.GetState("remind/last"); err != nil || string(v) != "x" {
		t.Errorf("GetState = %q, %v; want x", v, err)
	}
	if ev, err := db.AuditLog("janecorp", time.Time{}, 0); err != nil || len(ev) != 1 || ev[0].Action != "create" {
		t.Errorf("AuditLog = %+v, %v; want one create event", ev, err)
	}
	if r, err := db.Send("weekly/2026-W10/janecorp"); err != nil || r.State != SendPending {
		t.Errorf("Send = %+v, %v; want pending", r, err)
	}
	if fresh, err := db.RecordDelivery("platform", "d1", time.Hour); err != nil || fresh {
		t.Errorf("RecordDelivery of a seen delivery after reopen = %v, %v; want false, nil", fresh, err)
	}
	if err := db.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
}

func TestSecondOpenFailsWithinTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pmsync.db")
	first := openAt(t, path, Options{})
	const timeout = 500 * time.Millisecond
	start := time.Now()
	second, err := Open(path, Options{Timeout: timeout, Logger: quietLogger()})
	elapsed := time.Since(start)
	if err == nil {
		second.Close()
		t.Fatalf("second Open succeeded; want ErrLocked")
	}
	if !errors.Is(err, ErrLocked) {
		t.Errorf("second Open error = %v; want ErrLocked", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "another pmsync is using") || !strings.Contains(msg, path) {
		t.Errorf("second Open error = %q; want it to say another pmsync is using %s", msg, path)
	}
	if elapsed >= 2*timeout {
		t.Errorf("second Open returned after %v; want under %v", elapsed, 2*timeout)
	}
	// The first opener is unaffected and, once it closes, the file opens.
	if err := first.PutLink(testLink("a", 1)); err != nil {
		t.Errorf("PutLink on the first store: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	third := openAt(t, path, Options{Timeout: timeout})
	third.Close()
}

// writeV1 writes a store file in the layout of schema version 1: links with
// no ref index, deliveries with no expiry index.
func writeV1(t *testing.T, path string, links []*Link, deliveries map[string]time.Time) {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatalf("bolt.Open: %v", err)
	}
	defer bdb.Close()
	err = bdb.Update(func(tx *bolt.Tx) error {
		for _, name := range []string{"meta", "customers", "audit", "watermarks", "deliveries", "sends", "state"} {
			if _, err := tx.CreateBucket([]byte(name)); err != nil {
				return err
			}
		}
		if err := tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte("1")); err != nil {
			return err
		}
		for _, l := range links {
			cb, err := tx.Bucket([]byte("customers")).CreateBucketIfNotExists([]byte(l.Customer))
			if err != nil {
				return err
			}
			lb, err := cb.CreateBucketIfNotExists([]byte("links"))
			if err != nil {
				return err
			}
			v, _ := json.Marshal(l)
			if err := lb.Put([]byte(l.ID), v); err != nil {
				return err
			}
		}
		for k, exp := range deliveries {
			tracker, id, _ := strings.Cut(k, "/")
			v := make([]byte, 8)
			putUint64(v, uint64(exp.UnixNano()))
			if err := tx.Bucket([]byte("deliveries")).Put(pairKey(tracker, id), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("write v1 file: %v", err)
	}
}

func putUint64(b []byte, v uint64) {
	for i := 7; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
}

func TestOpenMigratesVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	clk := newClock()
	a1, a2, b1 := testLink("acme", 1), testLink("acme", 2), testLink("bolt", 1)
	writeV1(t, path, []*Link{a1, a2, b1}, map[string]time.Time{
		"platform/old": clk.Now().Add(-time.Minute),
		"acme/new":     clk.Now().Add(time.Hour),
	})

	db := openAt(t, path, Options{Now: clk.Now})
	defer db.Close()
	if s := db.Stats(); s.Schema != SchemaVersion || s.Refs != 6 || s.Links != 3 || s.Summaries != 3 {
		t.Errorf("Stats after migration: schema %d, refs %d, links %d, summaries %d; want %d, 6, 3, 3", s.Schema, s.Refs, s.Links, s.Summaries, SchemaVersion)
	}
	got, err := db.LinksByRef(connectors.Ref{Tracker: "platform", Key: "PLAT-1"})
	if err != nil {
		t.Fatalf("LinksByRef: %v", err)
	}
	if ids, want := linkIDs(got), []string{"acme/m-acme-1", "bolt/m-bolt-1"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("LinksByRef(PLAT-1) after migration = %v; want %v", ids, want)
	}
	if err := db.Check(); err != nil {
		t.Errorf("Check after migration: %v", err)
	}
	if n, err := db.PruneDeliveries(); err != nil || n != 1 {
		t.Errorf("PruneDeliveries after migration = %d, %v; want 1, nil", n, err)
	}
	if fresh, err := db.RecordDelivery("acme", "new", time.Hour); err != nil || fresh {
		t.Errorf("RecordDelivery of a migrated delivery = %v, %v; want false, nil", fresh, err)
	}
}

func TestOpenRefusesForeignFiles(t *testing.T) {
	tests := []struct {
		name   string
		schema string // "" writes no meta bucket
		want   string
	}{
		{"newer version", strconv.Itoa(SchemaVersion + 1), "newer than this pmsync knows"},
		{"garbage version", "two", "not a positive number"},
		{"no schema", "", "not a pmsync store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.db")
			bdb, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatalf("bolt.Open: %v", err)
			}
			err = bdb.Update(func(tx *bolt.Tx) error {
				if tt.schema == "" {
					_, err := tx.CreateBucket([]byte("other-app"))
					return err
				}
				b, err := tx.CreateBucket([]byte("meta"))
				if err != nil {
					return err
				}
				return b.Put([]byte("schema"), []byte(tt.schema))
			})
			bdb.Close()
			if err != nil {
				t.Fatalf("write file: %v", err)
			}
			db, err := Open(path, Options{Logger: quietLogger()})
			if err == nil {
				db.Close()
				t.Fatalf("Open succeeded; want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("Open error = %q; want it to contain %q and the path", err, tt.want)
			}
		})
	}
}

func TestBackupRoundTrip(t *testing.T) {
	db := openTest(t, Options{})
	for _, c := range []string{"acme", "bolt"} {
		for i := 1; i <= 20; i++ {
			if err := db.PutLink(testLink(c, i)); err != nil {
				t.Fatalf("PutLink: %v", err)
			}
		}
	}
	if err := db.SetWatermark("acme", "c-1"); err != nil {
		t.Fatalf("SetWatermark: %v", err)
	}
	var buf bytes.Buffer
	n, err := db.Backup(&buf)
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	if n != int64(buf.Len()) || n == 0 {
		t.Errorf("Backup wrote %d bytes, reported %d", buf.Len(), n)
	}
	// A write after the backup is not in it.
	if err := db.PutLink(testLink("acme", 99)); err != nil {
		t.Fatalf("PutLink: %v", err)
	}
	copyPath := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(copyPath, buf.Bytes(), 0o600); err != nil {
		t.Fatalf("write copy: %v", err)
	}
	cp := openAt(t, copyPath, Options{})
	defer cp.Close()
	if err := cp.Check(); err != nil {
		t.Errorf("Check of the copy: %v", err)
	}
	for _, c := range []string{"acme", "bolt"} {
		want, err := db.Links(c)
		if err != nil {
			t.Fatalf("Links(%s): %v", c, err)
		}
		if c == "acme" {
			want = removeLink(want, "m-acme-99")
		}
		got, err := cp.Links(c)
		if err != nil {
			t.Fatalf("Links(%s) of the copy: %v", c, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Links(%s) of the copy = %v; want %v", c, linkIDs(got), linkIDs(want))
		}
	}
	if c, _ := cp.Watermark("acme"); c != "c-1" {
		t.Errorf("Watermark of the copy = %q; want c-1", c)
	}
}

func removeLink(ls []*Link, id string) []*Link {
	var out []*Link
	for _, l := range ls {
		if l.ID != id {
			out = append(out, l)
		}
	}
	return out
}

func TestOpenOfCurrentFileWritesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pmsync.db")
	db := openAt(t, path, Options{})
	if err := db.PutLink(testLink("acme", 1)); err != nil {
		t.Fatalf("PutLink: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	db = openAt(t, path, Options{})
	if _, err := db.Link("acme", "m-acme-1"); err != nil {
		t.Errorf("Link after reopen: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("opening a current file changed it (a write transaction ran at open)")
	}
}
