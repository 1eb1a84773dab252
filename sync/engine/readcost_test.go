package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/pmsync/pmsync/connectors"
)

// runEngine runs w's engine (no polling) until the test ends.
func runEngine(t *testing.T, w *world) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.eng.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// newQuietWorld is a world whose engine, when run, neither polls nor
// resyncs: only Enqueue queues work (the auto clock would otherwise run
// the resync loop without pause).
func newQuietWorld(t *testing.T, customers ...string) *world {
	return newWorldClock(t, newFakeClock(true), func(o *Options) {
		o.ResyncInterval = -1
		o.Platform.PollInterval = -1
		for i := range o.Customers {
			o.Customers[i].Tracker.PollInterval = -1
		}
	}, customers...)
}

// idle waits until no customer has work queued or in progress.
func (w *world) idle() {
	w.t.Helper()
	waitFor(w.t, "the queues to drain", func() bool {
		for _, c := range w.eng.custs {
			if c.q.depth() != 0 {
				return false
			}
		}
		return true
	})
}

// requests returns every tracker's request count, by tracker id.
func (w *world) requests() map[string]int {
	out := map[string]int{PlatformID: w.plat.Requests()}
	for id, tr := range w.cust {
		out[id] = tr.Requests()
	}
	return out
}

// TestFieldChangeCostsOneReadPerSide: a title changed on a platform item
// shared with one of three customers is mirrored with one read of the
// platform item (for the three customers' reconciles that the change
// queues), and one read plus one write of the mirror; the comments are not
// listed (their counts did not change), and the other customers' trackers
// see no request.
func TestFieldChangeCostsOneReadPerSide(t *testing.T) {
	w := newQuietWorld(t, "jane", "beta", "gamma")
	pk := w.plat.Open("Disk alerts", "", actionL, "customer:jane")
	w.converge()
	runEngine(t, w)
	before := w.requests()
	writes := w.cust["jane"].Writes()

	if err := w.plat.EditTitle(pk, "Disk alerts at 80%"); err != nil {
		t.Fatal(err)
	}
	w.eng.Enqueue(connectors.Ref{Tracker: PlatformID, Key: pk})
	mk := w.linkOf("jane", pk).Remote.Ref.Key
	waitFor(t, "the mirror's new title", func() bool {
		is, _ := w.cust["jane"].Issue(mk)
		return is.Title == "Disk alerts at 80%"
	})
	w.idle()
	after := w.requests()
	want := map[string]int{PlatformID: 1, "jane": 2, "beta": 0, "gamma": 0}
	for id, n := range want {
		if got := after[id] - before[id]; got != n {
			t.Errorf("%s: %d requests for the change, want %d", id, got, n)
		}
	}
	if got := w.cust["jane"].Writes() - writes; got != 1 {
		t.Errorf("jane: %d writes, want 1", got)
	}
}

// TestNewCommentFoundByItsCount: a comment added to a linked item changes
// its comment count, so it is mirrored by a reconcile that no comment
// event asked for; a change with the count unchanged lists no comments.
func TestNewCommentFoundByItsCount(t *testing.T) {
	w := newQuietWorld(t, "jane")
	pk := w.plat.Open("Disk alerts", "", actionL, "customer:jane")
	w.converge()
	runEngine(t, w)
	if err := w.plat.AddComment(pk, "alice", "[customer] rolled out to eu-west", false); err != nil {
		t.Fatal(err)
	}
	w.eng.Enqueue(connectors.Ref{Tracker: PlatformID, Key: pk})
	mk := w.linkOf("jane", pk).Remote.Ref.Key
	waitFor(t, "the mirrored comment", func() bool {
		ns, _ := w.cust["jane"].Notes(mk)
		return len(ns) == 1 && strings.Contains(ns[0].Body, "rolled out to eu-west")
	})
	w.idle()
	if l := w.linkOf("jane", pk); l.Platform.Comments != 1 || l.Remote.Comments != 1 {
		t.Errorf("link comment counts platform %d remote %d, want 1 and 1", l.Platform.Comments, l.Remote.Comments)
	}
	// Nothing changed: the reconcile reads both items and lists nothing.
	before := w.requests()
	w.eng.Enqueue(connectors.Ref{Tracker: PlatformID, Key: pk})
	w.idle()
	after := w.requests()
	if got := after[PlatformID] - before[PlatformID] + after["jane"] - before["jane"]; got != 2 {
		t.Errorf("reconcile of an unchanged link: %d requests, want 2 (the two items)", got)
	}
}

// TestSharedReadCheckedBeforeWrite: a reconcile whose platform item came
// from an earlier read (another customer's reconcile) must write to the
// platform only after reading it again; here the platform item changed in
// between, so the reconcile starts over with fresh reads and mirrors that
// change too.
func TestSharedReadCheckedBeforeWrite(t *testing.T) {
	w := newWorld(t, "jane")
	pk := w.plat.Open("Disk alerts", "", actionL, "customer:jane", "owner:customer")
	w.converge()
	e := w.eng
	ref := connectors.Ref{Tracker: PlatformID, Key: pk}
	need := e.seq.Add(1)
	old, err := e.platform.g.Get(context.Background(), pk)
	if err != nil {
		t.Fatal(err)
	}
	e.snaps.put(old, e.seq.Add(1), w.clock.Now()) // read after the event

	w.clock.Advance(1)
	if err := w.plat.EditTitle(pk, "Disk alerts, renamed"); err != nil {
		t.Fatal(err)
	}
	mk := w.linkOf("jane", pk).Remote.Ref.Key
	if err := w.cust["jane"].Close(mk, "completed"); err != nil { // the owner closes: flows to the platform
		t.Fatal(err)
	}
	h := hint{}
	h.need[PlatformSide] = need
	p := &pass{e: e}
	if err := p.reconcile(context.Background(), e.byID["jane"], task{k: workKey{Origin: ref, Customer: "jane"}, h: h}); err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	is, _ := w.plat.Issue(pk)
	if is.State != "closed" {
		t.Errorf("platform item state %q, want closed (the owner's change)", is.State)
	}
	mirror, _ := w.cust["jane"].Issue(mk)
	if mirror.Title != "Disk alerts, renamed" {
		t.Errorf("mirror title %q, want the platform's new title (the stale read was redone)", mirror.Title)
	}
}

// TestPollSkipsWhatTheLinkHasSeen: a poll lists again what pmsync wrote
// and what it listed within its overlap; an item that shows nothing the
// link has not seen queues no work, but the same UpdatedAt with another
// value (timestamps in whole seconds) does.
func TestPollSkipsWhatTheLinkHasSeen(t *testing.T) {
	w := newWorld(t, "jane")
	pk := w.plat.Open("Disk alerts", "", actionL, "customer:jane")
	w.converge()
	e := w.eng
	var items []connectors.Item
	for _, g := range []*guarded{e.platform.g, e.byID["jane"].tr.g} {
		ch, err := g.Changes(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, ch.Items...)
	}
	if len(items) != 2 {
		t.Fatalf("polls listed %d items, want the item and its mirror", len(items))
	}
	ts, err := e.changeKeys(items, e.seq.Add(1))
	if err != nil || len(ts) != 0 {
		t.Fatalf("changeKeys of unchanged items: %d tasks (%v), want 0", len(ts), err)
	}
	for i := range items {
		it := items[i]
		it.Title += " (edited in the same second)"
		if ts, _ := e.changeKeys([]connectors.Item{it}, e.seq.Add(1)); len(ts) != 1 {
			t.Errorf("changeKeys of %s with a new title and the same UpdatedAt: %d tasks, want 1", it.Ref, len(ts))
		}
		it = items[i]
		it.CommentCount++
		if ts, _ := e.changeKeys([]connectors.Item{it}, e.seq.Add(1)); len(ts) != 1 {
			t.Errorf("changeKeys of %s with one more comment: %d tasks, want 1", it.Ref, len(ts))
		}
	}
	unshared := items[0]
	unshared.Labels = []string{actionL}
	if ts, _ := e.changeKeys([]connectors.Item{unshared}, e.seq.Add(1)); len(ts) != 1 {
		t.Errorf("changeKeys of %s no longer shared: %d tasks, want 1", pk, len(ts))
	}
}

func TestCommentEvent(t *testing.T) {
	for event, want := range map[string]bool{
		"issue_comment": true, "Note Hook": true, "note": true, "comment_updated": true, "comment_created": true,
		"issues": false, "Issue Hook": false, "jira:issue_updated": false, "item.updated": false, "": false,
	} {
		if got := commentEvent(event); got != want {
			t.Errorf("commentEvent(%q) = %v, want %v", event, got, want)
		}
	}
}
