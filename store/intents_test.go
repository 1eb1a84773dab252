package store

import (
	"errors"
	"testing"

	"github.com/pmsync/pmsync/connectors"
)

func testIntent(customer string, n int) *Intent {
	l := testLink(customer, n)
	return &Intent{ID: l.ID, Customer: customer, Origin: l.Platform.Ref, Target: customer}
}

func TestCompleteIntentIsAtomic(t *testing.T) {
	tests := []struct {
		name     string
		prepare  func(t *testing.T, db *DB) // before CompleteIntent
		link     func() *Link
		wantErr  error
		recorded bool // link recorded and intent dropped; else neither
	}{
		{
			name:     "completes",
			link:     func() *Link { return testLink("acme", 1) },
			recorded: true,
		},
		{
			name: "ref already linked: neither",
			prepare: func(t *testing.T, db *DB) {
				other := testLink("acme", 5)
				other.Remote.Ref = testLink("acme", 1).Remote.Ref
				if err := db.PutLink(other); err != nil {
					t.Fatalf("PutLink: %v", err)
				}
			},
			link:    func() *Link { return testLink("acme", 1) },
			wantErr: ErrConflict,
		},
		{
			name: "intent of another customer: neither",
			link: func() *Link {
				l := testLink("bolt", 1)
				l.ID = "m-acme-1"
				return l
			},
			wantErr: ErrConflict,
		},
		{
			name: "intent already gone: no link",
			prepare: func(t *testing.T, db *DB) {
				if err := db.DropIntent("m-acme-1"); err != nil {
					t.Fatalf("DropIntent: %v", err)
				}
			},
			link:    func() *Link { return testLink("acme", 1) },
			wantErr: ErrNotFound,
		},
		{
			name:    "size limit reached: neither",
			prepare: func(t *testing.T, db *DB) { db.SetMaxSize(1) },
			link:    func() *Link { return testLink("acme", 1) },
			wantErr: ErrNoSpace,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openTest(t, Options{})
			in := testIntent("acme", 1)
			if err := db.PutIntent(in); err != nil {
				t.Fatalf("PutIntent: %v", err)
			}
			intentExisted := true
			if tt.prepare != nil {
				tt.prepare(t, db)
				_, err := db.Intent(in.ID)
				intentExisted = err == nil
			}
			l := tt.link()
			err := db.CompleteIntent(in.ID, l)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("CompleteIntent = %v; want %v", err, tt.wantErr)
			}
			db.SetMaxSize(0)
			_, linkErr := db.Link(l.Customer, l.ID)
			_, intentErr := db.Intent(in.ID)
			if tt.recorded {
				if linkErr != nil || !errors.Is(intentErr, ErrNotFound) {
					t.Errorf("after CompleteIntent: link err %v, intent err %v; want link, no intent", linkErr, intentErr)
				}
			} else {
				if !errors.Is(linkErr, ErrNotFound) {
					t.Errorf("after failed CompleteIntent: link err %v; want ErrNotFound", linkErr)
				}
				if intentExisted && intentErr != nil {
					t.Errorf("after failed CompleteIntent: intent err %v; want the intent kept", intentErr)
				}
			}
			if err := db.Check(); err != nil {
				t.Errorf("Check: %v", err)
			}
		})
	}
}

func TestIntents(t *testing.T) {
	clk := newClock()
	db := openTest(t, Options{Now: clk.Now})
	for _, in := range []*Intent{testIntent("bolt", 1), testIntent("acme", 2), testIntent("acme", 1)} {
		if err := db.PutIntent(in); err != nil {
			t.Fatalf("PutIntent: %v", err)
		}
		clk.Advance(1)
	}
	all, err := db.Intents()
	if err != nil {
		t.Fatalf("Intents: %v", err)
	}
	var ids []string
	for _, in := range all {
		ids = append(ids, in.ID)
	}
	if want := []string{"m-bolt-1", "m-acme-2", "m-acme-1"}; len(ids) != 3 || ids[0] != want[0] || ids[1] != want[1] || ids[2] != want[2] {
		t.Errorf("Intents = %v; want %v (oldest first)", ids, want)
	}
	// Attempts are kept across a replace.
	in := testIntent("bolt", 1)
	in.Attempts = 3
	if err := db.PutIntent(in); err != nil {
		t.Fatalf("PutIntent: %v", err)
	}
	if got, err := db.Intent("m-bolt-1"); err != nil || got.Attempts != 3 {
		t.Errorf("Intent = %+v, %v; want 3 attempts", got, err)
	}
	taken := testIntent("acme", 1)
	taken.ID = "m-bolt-1"
	if err := db.PutIntent(taken); !errors.Is(err, ErrConflict) {
		t.Errorf("PutIntent of bolt's intent id for acme = %v; want ErrConflict", err)
	}
	bad := []*Intent{
		{Customer: "acme", Origin: connectors.Ref{Tracker: "p", Key: "k"}, Target: "acme"},
		{ID: "x", Origin: connectors.Ref{Tracker: "p", Key: "k"}, Target: "acme"},
		{ID: "x", Customer: "acme", Target: "acme"},
		{ID: "x", Customer: "acme", Origin: connectors.Ref{Tracker: "p", Key: "k"}},
	}
	for i, b := range bad {
		if err := db.PutIntent(b); !errors.Is(err, ErrInvalid) {
			t.Errorf("PutIntent(bad %d) = %v; want ErrInvalid", i, err)
		}
	}
	if err := db.DropIntent("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("DropIntent(nope) = %v; want ErrNotFound", err)
	}
}
