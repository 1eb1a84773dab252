package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/memory"
	"github.com/pmsync/pmsync/store"
)

// byIDConn reads items by their stable numeric id too, as Jira does
// (GET /issue/10001 answers PLAT-1), and by former keys (GET /issue/OLD-1
// answers an issue moved since): the item it returns has its own key.
type byIDConn struct {
	connectors.Connector
	tr      *memory.Tracker
	aliases map[string]string // former key → key
}

func (c *byIDConn) Get(ctx context.Context, key string) (*connectors.Item, error) {
	if k, ok := c.aliases[key]; ok {
		key = k
	} else if strings.Trim(key, "0123456789") == "" {
		for _, k := range c.tr.Keys() {
			if is, ok := c.tr.Issue(k); ok && is.ID == key {
				key = k
				break
			}
		}
	}
	return c.Connector.Get(ctx, key)
}

// runUntil runs the engine until every reconcile of the queue is done and
// at least n reconciles have finished, then stops it.
func runUntil(t *testing.T, e *Engine, m *countingMetrics, n int64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	waitFor(t, "the queued reconciles", func() bool { return m.reconciled.Load() >= n && e.Status().QueueDepth == 0 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestItemNamedByIDKeepsItsLink enqueues a linked platform item under its
// numeric id (what an old Jira Data Center comment webhook names): the
// engine must reconcile the existing link (its comments kept, no mirror
// adopted again) and, once the mirror is deleted, never recreate it.
func TestItemNamedByIDKeepsItsLink(t *testing.T) {
	m := &countingMetrics{}
	w := newWorldClock(t, newFakeClock(true), func(o *Options) {
		o.Platform.Conn = &byIDConn{Connector: o.Platform.Conn, tr: o.Platform.Conn.(*memory.Connector).Tracker()}
		o.Platform.PollInterval = -1
		for i := range o.Customers {
			o.Customers[i].Tracker.PollInterval = -1
		}
		o.ResyncInterval = -1
		o.Metrics = m
	}, "jane")
	pk := w.plat.Open("Item", "", actionL, "customer:jane")
	if err := w.plat.AddComment(pk, "alice", "[customer] a shared note", false); err != nil {
		t.Fatal(err)
	}
	w.converge()
	before := w.linkOf("jane", pk)
	if len(before.Comments) != 1 {
		t.Fatalf("link has %d comment links, want 1", len(before.Comments))
	}
	id := issue(t, w.plat, pk).ID
	jk := before.Remote.Ref.Key

	// A change, then an event naming the item by its id.
	if err := w.plat.EditTitle(pk, "Renamed"); err != nil {
		t.Fatal(err)
	}
	w.eng.Enqueue(connectors.Ref{Tracker: PlatformID, Key: id})
	runUntil(t, w.eng, m, m.reconciled.Load()+1)
	after := w.linkOf("jane", pk)
	if len(after.Comments) != 1 || !after.CreatedAt.Equal(before.CreatedAt) {
		t.Errorf("the link was replaced: comment links %d → %d, created %v → %v",
			len(before.Comments), len(after.Comments), before.CreatedAt, after.CreatedAt)
	}
	if got := issue(t, w.cust["jane"], jk).Title; got != "Renamed" {
		t.Errorf("mirror title = %q, want %q (the event was not reconciled)", got, "Renamed")
	}
	evs, err := w.db.AuditLog("jane", time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Action == ActionAdopt {
			t.Errorf("audit log records an adoption of the already linked mirror: %+v", ev)
		}
	}

	// The mirror is deleted: the link breaks, and an event naming the
	// origin by its id must not recreate the mirror.
	if err := w.cust["jane"].Delete(jk); err != nil {
		t.Fatal(err)
	}
	w.converge()
	if l := w.linkOf("jane", pk); l.State != store.LinkBroken {
		t.Fatalf("after deleting the mirror the link is %s, want broken", l.State)
	}
	w.eng.Enqueue(connectors.Ref{Tracker: PlatformID, Key: id})
	runUntil(t, w.eng, m, m.reconciled.Load()+1)
	if n := w.cust["jane"].Count(); n != 0 {
		t.Errorf("jane holds %d items after an event naming the origin by id, want 0: the deleted mirror was recreated", n)
	}
	if ls := w.links("jane"); len(ls) != 1 || ls[0].State != store.LinkBroken {
		t.Errorf("links after the event: %d, want the one broken link", len(ls))
	}
}

// TestMovedOriginFindsItsLinkByID: an origin whose key changed (moved to
// another project; the tracker answers its former key with the item under
// its new one) is found by its stable id: the link follows the new key,
// and once its mirror is deleted nothing recreates it.
func TestMovedOriginFindsItsLinkByID(t *testing.T) {
	var conn *byIDConn
	w := newWorldClock(t, newFakeClock(true), func(o *Options) {
		conn = &byIDConn{Connector: o.Platform.Conn, tr: o.Platform.Conn.(*memory.Connector).Tracker(),
			aliases: map[string]string{}}
		o.Platform.Conn = conn
	}, "jane")
	pk := w.plat.Open("Item", "", actionL, "customer:jane")
	w.converge()
	l := w.linkOf("jane", pk)

	// The link holds the item's former key.
	conn.aliases["OLD-1"] = pk
	moved := *l
	moved.Platform.Ref.Key = "OLD-1"
	if err := w.db.PutLink(&moved); err != nil {
		t.Fatal(err)
	}
	w.converge()
	ls := w.links("jane")
	if len(ls) != 1 || ls[0].Platform.Ref.Key != pk || ls[0].ID != l.ID || ls[0].State != store.LinkActive {
		t.Fatalf("links after the move: %d, first %+v; want the one active link, now holding %s", len(ls), ls[0], pk)
	}

	// Moved again, and the mirror deleted: the link breaks, no new mirror.
	conn.aliases["OLD-1"] = pk
	moved = *ls[0]
	moved.Platform.Ref.Key = "OLD-1"
	if err := w.db.PutLink(&moved); err != nil {
		t.Fatal(err)
	}
	if err := w.cust["jane"].Delete(l.Remote.Ref.Key); err != nil {
		t.Fatal(err)
	}
	w.converge()
	if n := w.cust["jane"].Count(); n != 0 {
		t.Errorf("jane holds %d items, want 0: the deleted mirror was recreated", n)
	}
	if ls := w.links("jane"); len(ls) != 1 || ls[0].State != store.LinkBroken || ls[0].Platform.Ref.Key != pk {
		t.Errorf("links: %d, want the one broken link, holding %s", len(ls), pk)
	}
}
