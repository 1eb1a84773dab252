package store

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pmsync/pmsync/connectors"
	bolt "go.etcd.io/bbolt"
)

// summaries returns the stored summaries of customer, in order.
func summaries(t *testing.T, db *DB, customer string) []LinkSummary {
	t.Helper()
	var out []LinkSummary
	if err := db.LinkSummaries(customer, func(s LinkSummary) error {
		out = append(out, s)
		return nil
	}); err != nil {
		t.Fatalf("LinkSummaries(%s): %v", customer, err)
	}
	return out
}

// summariesFromLinks returns the summaries of customer computed from its
// decoded links.
func summariesFromLinks(t *testing.T, db *DB, customer string) []LinkSummary {
	t.Helper()
	ls, err := db.Links(customer)
	if err != nil {
		t.Fatalf("Links(%s): %v", customer, err)
	}
	var out []LinkSummary
	for _, l := range ls {
		out = append(out, SummaryOf(l))
	}
	return out
}

// origins returns LinkOrigins(customer) as link id → origin ref; the
// links' platform side is on tracker "platform".
func origins(t *testing.T, db *DB, customer string) map[string]connectors.Ref {
	t.Helper()
	out := map[string]connectors.Ref{}
	if err := db.LinkOrigins(customer, "platform", func(id string, origin connectors.Ref) error {
		if prev, dup := out[id]; dup {
			t.Errorf("LinkOrigins(%s) named link %s twice: %s and %s", customer, id, prev, origin)
		}
		out[id] = origin
		return nil
	}); err != nil {
		t.Fatalf("LinkOrigins(%s): %v", customer, err)
	}
	return out
}

// originsFromLinks returns the origin refs of customer's decoded links.
func originsFromLinks(t *testing.T, db *DB, customer string) map[string]connectors.Ref {
	t.Helper()
	ls, err := db.Links(customer)
	if err != nil {
		t.Fatalf("Links(%s): %v", customer, err)
	}
	out := map[string]connectors.Ref{}
	for _, l := range ls {
		if l.Origin == connectors.OwnerCustomer {
			out[l.ID] = l.Remote.Ref
		} else {
			out[l.ID] = l.Platform.Ref
		}
	}
	return out
}

// wantSummariesInStep fails unless every customer's stored summaries equal
// those computed from its links, and Check agrees.
func wantSummariesInStep(t *testing.T, db *DB, step string, customers ...string) {
	t.Helper()
	for _, c := range customers {
		got, want := summaries(t, db, c), summariesFromLinks(t, db, c)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: LinkSummaries(%s) =\n %+v\nwant (from Links)\n %+v", step, c, got, want)
		}
		if got, want := origins(t, db, c), originsFromLinks(t, db, c); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: LinkOrigins(%s) = %v; want (from Links) %v", step, c, got, want)
		}
	}
	if err := db.Check(); err != nil {
		t.Errorf("%s: Check: %v", step, err)
	}
}

func TestSummariesFollowEveryWrite(t *testing.T) {
	db := openTest(t, Options{})
	put := func(l *Link) error { return db.PutLink(l) }
	edit := func(customer string, n int, f func(l *Link)) func() error {
		return func() error {
			l := testLink(customer, n)
			f(l)
			return put(l)
		}
	}
	steps := []struct {
		name    string
		do      func() error
		wantErr error
	}{
		{"put three links", func() error {
			for _, l := range []*Link{testLink("acme", 1), testLink("acme", 2), testLink("bolt", 1)} {
				if err := put(l); err != nil {
					return err
				}
			}
			return nil
		}, nil},
		{"owner side closed (platform)", edit("acme", 1, func(l *Link) { l.Platform.Base.Status = connectors.StatusDone }), nil},
		{"owner moves to the customer, whose side is open", edit("acme", 1, func(l *Link) {
			l.Platform.Base.Status = connectors.StatusDone
			l.Owner = connectors.OwnerCustomer
		}), nil},
		{"customer side won't do", edit("acme", 1, func(l *Link) {
			l.Owner = connectors.OwnerCustomer
			l.Remote.Base.Status = connectors.StatusWontDo
		}), nil},
		{"empty owner counts the platform side", edit("acme", 2, func(l *Link) {
			l.Owner = ""
			l.Remote.Base.Status = connectors.StatusDone
		}), nil},
		{"customer origin takes the remote priority", edit("acme", 2, func(l *Link) {
			l.Origin = connectors.OwnerCustomer
			l.Remote.Base.Priority = connectors.P0
			l.Platform.Base.Priority = connectors.P3
		}), nil},
		{"non-canonical priority", edit("bolt", 1, func(l *Link) { l.Platform.Base.Priority = "urgent-ish" }), nil},
		{"conflicts and an error", edit("bolt", 1, func(l *Link) {
			l.Conflicts = 7
			l.LastError = "jira: update PLAT-1: 503"
		}), nil},
		{"error cleared", edit("bolt", 1, func(l *Link) { l.Conflicts = 7 }), nil},
		{"unshared", edit("acme", 2, func(l *Link) { l.State = LinkUnshared }), nil},
		{"broken", edit("acme", 1, func(l *Link) {
			l.State = LinkBroken
			l.BrokenReason = "mirror deleted"
		}), nil},
		{"refused conflicting put changes nothing", edit("acme", 3, func(l *Link) {
			l.Platform.Ref = testLink("acme", 1).Platform.Ref
			l.Conflicts = 99
		}), ErrConflict},
		{"complete an intent", func() error {
			if err := db.PutIntent(testIntent("acme", 4)); err != nil {
				return err
			}
			l := testLink("acme", 4)
			l.ID = "m-acme-4"
			l.LastError = "first reconcile failed"
			return db.CompleteIntent(l.ID, l)
		}, nil},
		{"refused complete changes nothing", func() error {
			l := testLink("acme", 4)
			l.Conflicts = 5
			return db.CompleteIntent("m-acme-4", l) // already completed
		}, ErrNotFound},
		{"delete", func() error { return db.DeleteLink("acme", "m-acme-2") }, nil},
		{"delete a damaged link", func() error {
			err := db.bolt.Update(func(tx *bolt.Tx) error {
				return tx.Bucket(bucketCustomers).Bucket([]byte("bolt")).Bucket(subLinks).Put([]byte("m-bolt-1"), []byte("{damaged"))
			})
			if err != nil {
				return err
			}
			return db.DeleteLink("bolt", "m-bolt-1")
		}, nil},
		{"put again after delete", func() error { return put(testLink("acme", 2)) }, nil},
	}
	for _, s := range steps {
		err := s.do()
		if s.wantErr == nil && err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if s.wantErr != nil && !errors.Is(err, s.wantErr) {
			t.Fatalf("%s: error %v; want %v", s.name, err, s.wantErr)
		}
		wantSummariesInStep(t, db, s.name, "acme", "bolt")
	}
	// The final state, spelled out, so that a summary that merely agrees
	// with a wrong SummaryOf is caught too.
	want := []LinkSummary{
		{ID: "m-acme-1", State: LinkBroken, OriginPriority: connectors.P1},
		{ID: "m-acme-2", State: LinkActive, OriginPriority: connectors.P1},
		{ID: "m-acme-4", State: LinkActive, Errored: true, OriginPriority: connectors.P1},
	}
	if got := summaries(t, db, "acme"); !reflect.DeepEqual(got, want) {
		t.Errorf("final LinkSummaries(acme) =\n %+v\nwant\n %+v", got, want)
	}
	if got := summaries(t, db, "bolt"); len(got) != 0 {
		t.Errorf("final LinkSummaries(bolt) = %+v; want none", got)
	}
	if s := db.Stats(); s.Summaries != s.Links || s.Links != 3 {
		t.Errorf("Stats: %d summaries, %d links; want 3 of each", s.Summaries, s.Links)
	}
}

func TestSummaryOf(t *testing.T) {
	tests := []struct {
		name string
		edit func(l *Link)
		want LinkSummary
	}{
		{"platform owner and origin", func(l *Link) {}, LinkSummary{State: LinkActive, OriginPriority: connectors.P1}},
		{"owner platform closed", func(l *Link) { l.Platform.Base.Status = connectors.StatusDone },
			LinkSummary{State: LinkActive, OwnerClosed: true, OriginPriority: connectors.P1}},
		{"owner platform, customer side closed", func(l *Link) { l.Remote.Base.Status = connectors.StatusDone },
			LinkSummary{State: LinkActive, OriginPriority: connectors.P1}},
		{"owner customer closed", func(l *Link) {
			l.Owner = connectors.OwnerCustomer
			l.Remote.Base.Status = connectors.StatusWontDo
		}, LinkSummary{State: LinkActive, OwnerClosed: true, OriginPriority: connectors.P1}},
		{"empty owner: the platform side, open", func(l *Link) {
			l.Owner = ""
			l.Remote.Base.Status = connectors.StatusDone
		}, LinkSummary{State: LinkActive, OriginPriority: connectors.P1}},
		{"empty owner: the platform side, closed", func(l *Link) {
			l.Owner = ""
			l.Platform.Base.Status = connectors.StatusDone
		}, LinkSummary{State: LinkActive, OwnerClosed: true, OriginPriority: connectors.P1}},
		{"in progress is open", func(l *Link) { l.Platform.Base.Status = connectors.StatusInProgress },
			LinkSummary{State: LinkActive, OriginPriority: connectors.P1}},
		{"origin customer", func(l *Link) {
			l.Origin = connectors.OwnerCustomer
			l.Remote.Base.Priority = connectors.P4
		}, LinkSummary{State: LinkActive, OriginPriority: connectors.P4, OriginCustomer: true}},
		{"no priority", func(l *Link) { l.Platform.Base.Priority = "" }, LinkSummary{State: LinkActive}},
		{"unknown state", func(l *Link) { l.State = "weird" }, LinkSummary{OriginPriority: connectors.P1}},
		{"counts", func(l *Link) {
			l.Conflicts, l.LastError, l.State = 3, "x", LinkUnshared
		}, LinkSummary{State: LinkUnshared, Errored: true, Conflicts: 3, OriginPriority: connectors.P1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := testLink("acme", 1)
			l.State = LinkActive
			tt.edit(l)
			tt.want.ID = l.ID
			got := SummaryOf(l)
			if got != tt.want {
				t.Errorf("SummaryOf = %+v; want %+v", got, tt.want)
			}
			back, err := decodeSummary(l.ID, encodeSummary(got))
			if err != nil || back != got {
				t.Errorf("decode(encode(%+v)) = %+v, %v; want it back", got, back, err)
			}
		})
	}
}

func TestDecodeSummaryRefusesDamage(t *testing.T) {
	good := encodeSummary(LinkSummary{State: LinkActive, Conflicts: 2, OriginPriority: connectors.P0})
	if len(good) != summaryFixed+1+2 {
		t.Fatalf("summary of P0 is %d bytes; want %d", len(good), summaryFixed+3)
	}
	with := func(i int, b byte) []byte {
		v := append([]byte(nil), good...)
		v[i] = b
		return v
	}
	tests := []struct {
		name string
		v    []byte
		want string
	}{
		{"empty", nil, "0 bytes"},
		{"short", good[:summaryFixed], "at least"},
		{"other format", with(0, 9), "format 9"},
		{"unknown state", with(1, 4), "state code 4"},
		{"unknown flag", with(2, 0x80), "unknown bits"},
		{"priority cut short", good[:len(good)-1], "priority length"},
		{"trailing byte", append(append([]byte(nil), good...), 'x'), "priority length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeSummary("m", tt.v)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("decodeSummary = %v; want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestLinkSummariesCalls(t *testing.T) {
	db := openTest(t, Options{})
	for i := 1; i <= 3; i++ {
		if err := db.PutLink(testLink("acme", i)); err != nil {
			t.Fatalf("PutLink: %v", err)
		}
	}
	stop := errors.New("enough")
	n := 0
	err := db.LinkSummaries("acme", func(LinkSummary) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if err != stop || n != 2 {
		t.Errorf("LinkSummaries with fn failing on the 2nd = %v after %d calls; want fn's error after 2", err, n)
	}
	if got := summaries(t, db, "nobody"); len(got) != 0 {
		t.Errorf("LinkSummaries of an unknown customer = %+v; want none", got)
	}
	if err := db.LinkSummaries("", func(LinkSummary) error { return nil }); !errors.Is(err, ErrInvalid) {
		t.Errorf("LinkSummaries(\"\") = %v; want ErrInvalid", err)
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCustomers).Bucket([]byte("acme")).Bucket(subSummaries).Put([]byte("m-acme-2"), []byte{9})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.LinkSummaries("acme", func(LinkSummary) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "link m-acme-2") {
		t.Errorf("LinkSummaries over a damaged summary = %v; want an error naming link m-acme-2", err)
	}
}

// writeV2 writes a store file in the layout of schema version 2: the
// current layout without link summaries.
func writeV2(t *testing.T, path string, links []*Link) {
	t.Helper()
	db := openAt(t, path, Options{})
	for _, l := range links {
		if err := db.PutLink(l); err != nil {
			t.Fatalf("PutLink: %v", err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatalf("bolt.Open: %v", err)
	}
	defer bdb.Close()
	err = bdb.Update(func(tx *bolt.Tx) error {
		cs := tx.Bucket(bucketCustomers)
		if err := cs.ForEachBucket(func(name []byte) error {
			return cs.Bucket(name).DeleteBucket(subSummaries)
		}); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keySchema, []byte("2"))
	})
	if err != nil {
		t.Fatalf("write v2 file: %v", err)
	}
}

func TestOpenMigratesVersion2(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	closed, critical, broken := testLink("acme", 1), testLink("acme", 2), testLink("bolt", 1)
	closed.Platform.Base.Status = connectors.StatusDone
	critical.Origin, critical.Remote.Base.Priority, critical.Conflicts = connectors.OwnerCustomer, connectors.P0, 2
	broken.State, broken.LastError = LinkBroken, "gone"
	writeV2(t, path, []*Link{closed, critical, broken})

	db := openAt(t, path, Options{})
	defer db.Close()
	if s := db.Stats(); s.Schema != SchemaVersion || s.Summaries != 3 || s.Links != 3 {
		t.Errorf("Stats after migration: schema %d, summaries %d, links %d; want %d, 3, 3", s.Schema, s.Summaries, s.Links, SchemaVersion)
	}
	want := map[string][]LinkSummary{
		"acme": {
			{ID: "m-acme-1", State: LinkActive, OwnerClosed: true, OriginPriority: connectors.P1},
			{ID: "m-acme-2", State: LinkActive, Conflicts: 2, OriginPriority: connectors.P0, OriginCustomer: true},
		},
		"bolt": {{ID: "m-bolt-1", State: LinkBroken, Errored: true, OriginPriority: connectors.P1}},
	}
	for c, w := range want {
		if got := summaries(t, db, c); !reflect.DeepEqual(got, w) {
			t.Errorf("LinkSummaries(%s) after migration =\n %+v\nwant\n %+v", c, got, w)
		}
	}
	if err := db.Check(); err != nil {
		t.Errorf("Check after migration: %v", err)
	}
	// Writes after the migration keep the summaries in step.
	closed.Platform.Base.Status = connectors.StatusOpen
	if err := db.PutLink(closed); err != nil {
		t.Fatalf("PutLink: %v", err)
	}
	wantSummariesInStep(t, db, "put after migration", "acme", "bolt")
}

func TestMigrationRefusesDamagedLink(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	writeV2(t, path, []*Link{testLink("acme", 1)})
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatalf("bolt.Open: %v", err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCustomers).Bucket([]byte("acme")).Bucket(subLinks).Put([]byte("m-acme-1"), []byte("{damaged"))
	})
	bdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, Options{Logger: quietLogger()})
	if err == nil {
		db.Close()
		t.Fatalf("Open of a v2 file with a damaged link succeeded; want a migration error")
	}
	if msg := err.Error(); !strings.Contains(msg, "migrate schema 2 to 3") || !strings.Contains(msg, "link m-acme-1") {
		t.Errorf("Open error = %q; want it to name the migration and link m-acme-1", msg)
	}
	// Nothing was changed: the file is still version 2.
	bdb, err = bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("bolt.Open: %v", err)
	}
	defer bdb.Close()
	_ = bdb.View(func(tx *bolt.Tx) error {
		if v := string(tx.Bucket(bucketMeta).Get(keySchema)); v != "2" {
			t.Errorf("schema after a failed migration = %q; want 2", v)
		}
		return nil
	})
}

func TestOpenMigratesVersion3(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v3.db")
	inbound, plain := testLink("acme", 1), testLink("acme", 2)
	inbound.Origin, inbound.Remote.Base.Priority = connectors.OwnerCustomer, connectors.P0
	db := openAt(t, path, Options{})
	for _, l := range []*Link{inbound, plain} {
		if err := db.PutLink(l); err != nil {
			t.Fatalf("PutLink: %v", err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Version 3 had no origin flag in the summaries.
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatalf("bolt.Open: %v", err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		sums := tx.Bucket(bucketCustomers).Bucket([]byte("acme")).Bucket(subSummaries)
		for _, l := range []*Link{inbound, plain} {
			s := SummaryOf(l)
			s.OriginCustomer = false
			if err := sums.Put([]byte(l.ID), encodeSummary(s)); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keySchema, []byte("3"))
	})
	bdb.Close()
	if err != nil {
		t.Fatalf("write v3 file: %v", err)
	}

	db = openAt(t, path, Options{})
	defer db.Close()
	if s := db.Stats(); s.Schema != SchemaVersion {
		t.Errorf("schema after migration = %d; want %d", s.Schema, SchemaVersion)
	}
	want := map[string]connectors.Ref{
		inbound.ID: {Tracker: "acme", Key: "acme/repo#1"},
		plain.ID:   {Tracker: "platform", Key: "PLAT-2"},
	}
	if got := origins(t, db, "acme"); !reflect.DeepEqual(got, want) {
		t.Errorf("LinkOrigins after migration = %v; want %v", got, want)
	}
	wantSummariesInStep(t, db, "after migrating version 3", "acme")
}

func TestLinkOriginsStopsOnError(t *testing.T) {
	db := openTest(t, Options{})
	for i := 1; i <= 3; i++ {
		if err := db.PutLink(testLink("acme", i)); err != nil {
			t.Fatalf("PutLink: %v", err)
		}
	}
	stop := errors.New("enough")
	calls := 0
	err := db.LinkOrigins("acme", "platform", func(string, connectors.Ref) error {
		calls++
		return stop
	})
	if err != stop || calls != 1 {
		t.Errorf("LinkOrigins with a failing fn: %v after %d calls; want the fn's error after 1", err, calls)
	}
	for _, args := range [][2]string{{"", "platform"}, {"acme", ""}} {
		if err := db.LinkOrigins(args[0], args[1], func(string, connectors.Ref) error { return nil }); err == nil || !strings.Contains(err.Error(), "is empty") {
			t.Errorf("LinkOrigins(%q, %q) = %v; want an error naming the empty argument", args[0], args[1], err)
		}
	}
	if got := origins(t, db, "nobody"); len(got) != 0 {
		t.Errorf("LinkOrigins(nobody) = %v; want none", got)
	}
}
