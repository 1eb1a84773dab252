package store

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/pmsync/pmsync/connectors"
	bolt "go.etcd.io/bbolt"
)

func TestRefIndexAcrossCustomers(t *testing.T) {
	db := openTest(t, Options{})
	// PLAT-1 goes to three customers; PLAT-2 only to acme.
	for _, l := range []*Link{testLink("acme", 1), testLink("bolt", 1), testLink("cogs", 1), testLink("acme", 2)} {
		if err := db.PutLink(l); err != nil {
			t.Fatalf("PutLink(%s/%s): %v", l.Customer, l.ID, err)
		}
	}
	tests := []struct {
		ref  connectors.Ref
		want []string
	}{
		{connectors.Ref{Tracker: "platform", Key: "PLAT-1"}, []string{"acme/m-acme-1", "bolt/m-bolt-1", "cogs/m-cogs-1"}},
		{connectors.Ref{Tracker: "platform", Key: "PLAT-2"}, []string{"acme/m-acme-2"}},
		{connectors.Ref{Tracker: "bolt", Key: "bolt/repo#1"}, []string{"bolt/m-bolt-1"}},
		{connectors.Ref{Tracker: "bolt", Key: "bolt/repo#2"}, []string{}},
		{connectors.Ref{Tracker: "platform", Key: "PLAT-1x"}, []string{}}, // a prefix is no match
	}
	for _, tt := range tests {
		got, err := db.LinksByRef(tt.ref)
		if err != nil {
			t.Fatalf("LinksByRef(%s): %v", tt.ref, err)
		}
		if ids := linkIDs(got); !reflect.DeepEqual(ids, tt.want) {
			t.Errorf("LinksByRef(%s) = %v; want %v", tt.ref, ids, tt.want)
		}
	}
	if err := db.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
}

func TestRefIndexFollowsChangesAndDeletes(t *testing.T) {
	db := openTest(t, Options{})
	l := testLink("acme", 1)
	if err := db.PutLink(l); err != nil {
		t.Fatalf("PutLink: %v", err)
	}
	created := l.CreatedAt
	// The mirror moved (e.g. transferred to another repo): the old ref goes.
	moved := testLink("acme", 1)
	moved.Remote.Ref.Key = "acme/other#7"
	if err := db.PutLink(moved); err != nil {
		t.Fatalf("PutLink(moved): %v", err)
	}
	if !moved.CreatedAt.Equal(created) {
		t.Errorf("CreatedAt after update = %v; want the first put's %v", moved.CreatedAt, created)
	}
	old, _ := db.LinksByRef(l.Remote.Ref)
	now, _ := db.LinksByRef(moved.Remote.Ref)
	if len(old) != 0 || len(now) != 1 {
		t.Errorf("LinksByRef old/new remote ref = %d/%d links; want 0/1", len(old), len(now))
	}
	// A second link of the same customer may not take a linked ref.
	dup := testLink("acme", 2)
	dup.Platform.Ref = l.Platform.Ref
	if err := db.PutLink(dup); !errors.Is(err, ErrConflict) {
		t.Errorf("PutLink of a second link for PLAT-1 = %v; want ErrConflict", err)
	}
	if _, err := db.Link("acme", dup.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Link of the refused link = %v; want ErrNotFound", err)
	}
	if err := db.DeleteLink("acme", l.ID); err != nil {
		t.Fatalf("DeleteLink: %v", err)
	}
	if err := db.DeleteLink("acme", l.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeleteLink = %v; want ErrNotFound", err)
	}
	for _, r := range []connectors.Ref{moved.Platform.Ref, moved.Remote.Ref} {
		if got, _ := db.LinksByRef(r); len(got) != 0 {
			t.Errorf("LinksByRef(%s) after delete = %v; want none", r, linkIDs(got))
		}
	}
	if s := db.Stats(); s.Refs != 0 || s.Links != 0 {
		t.Errorf("Stats after delete: %d refs, %d links; want 0, 0", s.Refs, s.Links)
	}
	if err := db.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
}

func TestCustomerScoping(t *testing.T) {
	db := openTest(t, Options{})
	for i := 1; i <= 3; i++ {
		for _, c := range []string{"a", "b", "ab"} {
			if err := db.PutLink(testLink(c, i)); err != nil {
				t.Fatalf("PutLink: %v", err)
			}
		}
	}
	for _, c := range []string{"a", "b", "ab"} {
		ls, err := db.Links(c)
		if err != nil {
			t.Fatalf("Links(%s): %v", c, err)
		}
		if len(ls) != 3 {
			t.Errorf("Links(%s) = %d links; want 3", c, len(ls))
		}
		for _, l := range ls {
			if l.Customer != c {
				t.Errorf("Links(%s) returned %s's link %s", c, l.Customer, l.ID)
			}
		}
	}
	// b's link id asked for under a is not found, even though it exists.
	if _, err := db.Link("a", "m-b-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf(`Link("a", "m-b-1") = %v; want ErrNotFound`, err)
	}
	if err := db.DeleteLink("a", "m-b-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf(`DeleteLink("a", "m-b-1") = %v; want ErrNotFound`, err)
	}
	if _, err := db.Link("b", "m-b-1"); err != nil {
		t.Errorf(`Link("b", "m-b-1") after a's delete attempt: %v`, err)
	}
	if _, err := db.Links(""); !errors.Is(err, ErrInvalid) {
		t.Errorf(`Links("") = %v; want ErrInvalid`, err)
	}
	if got, err := db.Links("zed"); err != nil || len(got) != 0 {
		t.Errorf(`Links("zed") = %v, %v; want none`, got, err)
	}
	cs, err := db.Customers()
	if want := []string{"a", "ab", "b"}; err != nil || !reflect.DeepEqual(cs, want) {
		t.Errorf("Customers = %v, %v; want %v", cs, err, want)
	}
}

func TestPutLinkValidation(t *testing.T) {
	db := openTest(t, Options{})
	tests := []struct {
		name  string
		edit  func(l *Link)
		field string
	}{
		{"no customer", func(l *Link) { l.Customer = "" }, "Customer"},
		{"no id", func(l *Link) { l.ID = "" }, "ID"},
		{"NUL in customer", func(l *Link) { l.Customer = "a\x00b" }, "Customer"},
		{"no platform key", func(l *Link) { l.Platform.Ref.Key = "" }, "Platform.Ref.Key"},
		{"no remote tracker", func(l *Link) { l.Remote.Ref.Tracker = "" }, "Remote.Ref.Tracker"},
		{"same ref twice", func(l *Link) { l.Remote.Ref = l.Platform.Ref }, "same ref"},
		{"bad origin", func(l *Link) { l.Origin = "vendor" }, "Origin"},
		{"bad owner", func(l *Link) { l.Owner = "both" }, "Owner"},
		{"bad state", func(l *Link) { l.State = "gone" }, "State"},
		{"long id", func(l *Link) { l.ID = strings.Repeat("x", maxIDLen+1) }, "ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := testLink("acme", 1)
			tt.edit(l)
			err := db.PutLink(l)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("PutLink = %v; want ErrInvalid naming %q", err, tt.field)
			}
		})
	}
	if s := db.Stats(); s.Links != 0 || s.Customers != 0 {
		t.Errorf("Stats after refused puts: %d links, %d customers; want 0, 0", s.Links, s.Customers)
	}
	l := testLink("acme", 1)
	if err := db.PutLink(l); err != nil || l.State != LinkActive {
		t.Errorf("PutLink of a valid link = %v, state %q; want nil, active", err, l.State)
	}
}

func TestDeleteDamagedLink(t *testing.T) {
	db := openTest(t, Options{})
	l := testLink("acme", 1)
	if err := db.PutLink(l); err != nil {
		t.Fatalf("PutLink: %v", err)
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCustomers).Bucket([]byte("acme")).Bucket(subLinks).Put([]byte(l.ID), []byte("{damaged"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Link("acme", l.ID); err == nil {
		t.Fatalf("Link of a damaged value succeeded; want a decode error")
	}
	if err := db.DeleteLink("acme", l.ID); err != nil {
		t.Fatalf("DeleteLink of a damaged link: %v", err)
	}
	if s := db.Stats(); s.Refs != 0 || s.Links != 0 {
		t.Errorf("after delete: %d refs, %d links; want 0, 0", s.Refs, s.Links)
	}
	if err := db.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
}
