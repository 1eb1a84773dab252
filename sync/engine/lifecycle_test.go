package engine

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/conformance"
	"github.com/pmsync/pmsync/connectors/memory"
	"github.com/pmsync/pmsync/store"
)

func TestCommentsBothWays(t *testing.T) {
	w := newWorld(t, "jane")
	pk := w.plat.Open("Item", "", actionL, "customer:jane")
	_ = w.plat.AddComment(pk, "Bob", "[customer] Fix is rolling out, see PLAT-9", false)
	_ = w.plat.AddComment(pk, "Bob", "internal: INTERNAL-CANARY blame the cache team", false)
	_ = w.plat.AddComment(pk, "Eve", "[customer] restricted INTERNAL-CANARY", true)
	w.converge()
	jk := w.linkOf("jane", pk).Remote.Ref.Key
	jn := notes(t, w.cust["jane"], jk)
	if len(jn) != 1 {
		t.Fatalf("jane mirror has %d comments, want 1: %+v", len(jn), jn)
	}
	if _, body := connectors.ExtractMarker(jn[0].Body); body != "Bob (Example Cloud) wrote:\n\nFix is rolling out, see [internal reference]" {
		t.Errorf("mirrored platform comment = %q", body)
	}
	_ = w.cust["jane"].AddComment(jk, "Alice", "Thanks, we will verify", false)
	_ = w.cust["jane"].AddComment(jk, "Carol", "internal note", true)
	w.converge()
	pn := notes(t, w.plat, pk)
	if len(pn) != 4 {
		t.Fatalf("platform item has %d comments, want 4 (3 own + 1 from jane): %+v", len(pn), pn)
	}
	if _, body := connectors.ExtractMarker(pn[3].Body); body != "Alice (JaneCorp) wrote:\n\nThanks, we will verify" {
		t.Errorf("mirrored customer comment = %q", body)
	}
	if n := len(notes(t, w.cust["jane"], jk)); n != 3 {
		t.Errorf("jane mirror has %d comments after the round trip, want 3 (no echo)", n)
	}

	// An edit of a shared comment is carried over; removing the prefix
	// withdraws the mirror.
	edit := func(tr *memory.Tracker, key, id, body string) {
		t.Helper()
		c := w.conn(tr, "editor")
		if _, err := c.EditComment(context.Background(), key, id, body); err != nil {
			t.Fatal(err)
		}
	}
	edit(w.cust["jane"], jk, notes(t, w.cust["jane"], jk)[1].ID, "Thanks, verified")
	edit(w.plat, pk, pn[0].ID, "oops, internal INTERNAL-CANARY")
	w.converge()
	if _, body := connectors.ExtractMarker(notes(t, w.plat, pk)[3].Body); !strings.HasSuffix(body, "Thanks, verified") {
		t.Errorf("edited customer comment not carried over: %q", body)
	}
	if _, body := connectors.ExtractMarker(notes(t, w.cust["jane"], jk)[0].Body); body != "Bob (Example Cloud) withdrew this comment." {
		t.Errorf("withdrawn comment reads %q", body)
	}
	if d := dump(w.cust["jane"]); strings.Contains(d, "INTERNAL-CANARY") {
		t.Errorf("internal text reached the customer:\n%s", d)
	}
}

func TestLostCreateResponseMakesOneMirror(t *testing.T) {
	w := newWorld(t, "jane")
	pk := w.plat.Open("Item", "", actionL, "customer:jane")
	w.cust["jane"].Inject(conformance.Fault{Op: conformance.OpCreate, Status: http.StatusBadGateway, AfterCommit: true})
	w.converge()
	if n := w.cust["jane"].Count(); n != 1 {
		t.Fatalf("jane has %d items after a lost create response, want exactly 1", n)
	}
	if in, err := w.db.Intents(); err != nil || len(in) != 0 {
		t.Fatalf("open intents = %v (err %v), want none", in, err)
	}
	l := w.linkOf("jane", pk)
	if l.Remote.Ref.Key != w.cust["jane"].Keys()[0] {
		t.Errorf("link points at %s, want the one mirror", l.Remote.Ref.Key)
	}
}

func TestCrashAfterCreateBeforeLinkAdoptsMirror(t *testing.T) {
	// A crash after the remote create and before the link was recorded
	// leaves an intent and a mirror; after a restart the mirror is found by
	// its marker and adopted.
	w := newWorld(t, "jane")
	pk := w.plat.Open("Item", "", actionL, "customer:jane")
	it, _ := w.eng.platform.g.Get(context.Background(), pk)
	marker := connectors.MarkerID([]byte("test-marker-key"), PlatformID, it.ID, "jane")
	if err := w.db.PutIntent(&store.Intent{ID: marker, Customer: "jane", Origin: it.Ref, Target: "jane", CreatedAt: w.clock.Now(), Attempts: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.conn(w.cust["jane"], "jane").Create(context.Background(), marker, &connectors.Item{Title: "Item", Status: connectors.StatusOpen}); err != nil {
		t.Fatal(err)
	}
	w.restart()
	w.converge()
	if n := w.cust["jane"].Count(); n != 1 {
		t.Fatalf("jane has %d items, want 1 (adopted, not recreated)", n)
	}
	if l := w.linkOf("jane", pk); l.ID != marker {
		t.Errorf("link id = %s, want the marker %s", l.ID, marker)
	}
}

func TestTemporaryFailuresRetried(t *testing.T) {
	w := newWorld(t, "jane")
	w.plat.Open("Item", "", actionL, "customer:jane")
	w.cust["jane"].Inject(conformance.Fault{Op: conformance.OpCreate, Status: http.StatusInternalServerError, Times: 2})
	w.cust["jane"].Inject(conformance.Fault{Op: conformance.OpAny, Status: http.StatusTooManyRequests,
		Header: http.Header{"Retry-After": []string{"3"}}})
	w.converge()
	if n := w.cust["jane"].Count(); n != 1 {
		t.Fatalf("jane has %d items, want 1", n)
	}
}

func TestUnshareAndReshare(t *testing.T) {
	w := newWorld(t, "jane")
	pk := w.plat.Open("Item", "", actionL, "customer:jane", "status:in-progress")
	w.converge()
	jk := w.linkOf("jane", pk).Remote.Ref.Key

	_ = w.plat.RemoveLabel(pk, "customer:jane")
	w.converge()
	l := w.linkOf("jane", pk)
	if l.State != store.LinkUnshared {
		t.Fatalf("link state = %s, want unshared", l.State)
	}
	m := issue(t, w.cust["jane"], jk)
	if m.State != memory.StateClosed || m.Reason != memory.ReasonNotPlanned {
		t.Errorf("unshared mirror is %s/%s, want closed as not planned", m.State, m.Reason)
	}
	ns := notes(t, w.cust["jane"], jk)
	if len(ns) != 1 || !strings.Contains(ns[0].Body, "no longer shares this item with you") {
		t.Fatalf("unshare notice missing: %+v", ns)
	}
	// Unshared: further edits do not flow.
	_ = w.plat.EditTitle(pk, "Renamed while unshared")
	w.converge()
	if got := issue(t, w.cust["jane"], jk).Title; got != "Item" {
		t.Errorf("title flowed while unshared: %q", got)
	}

	_ = w.plat.AddLabel(pk, "customer:jane")
	w.converge()
	if n := w.cust["jane"].Count(); n != 1 {
		t.Fatalf("reshare made %d mirrors, want the same one", n)
	}
	m = issue(t, w.cust["jane"], jk)
	if m.State != memory.StateOpen || m.Title != "Renamed while unshared" {
		t.Errorf("reshared mirror: state %s title %q, want open and renamed", m.State, m.Title)
	}
	if l := w.linkOf("jane", pk); l.State != store.LinkActive {
		t.Errorf("link state = %s, want active", l.State)
	}
	// The notice is not mirrored back to the platform.
	if n := len(notes(t, w.plat, pk)); n != 0 {
		t.Errorf("platform got %d comments, want 0", n)
	}
	// Unshared a second time: a second notice.
	_ = w.plat.RemoveLabel(pk, "customer:jane")
	w.converge()
	if n := len(notes(t, w.cust["jane"], jk)); n != 2 {
		t.Errorf("second unshare: %d notices, want 2", n)
	}
}

func TestDeletedItemBreaksLink(t *testing.T) {
	w := newWorld(t, "jane")
	a := w.plat.Open("A", "", actionL, "customer:jane")
	b := w.plat.Open("B", "", actionL, "customer:jane")
	w.converge()
	_ = w.plat.Delete(a)
	_ = w.cust["jane"].Delete(w.linkOf("jane", b).Remote.Ref.Key)
	w.converge()
	for _, k := range []string{a, b} {
		l := w.linkOf("jane", k)
		if l.State != store.LinkBroken || l.BrokenReason == "" {
			t.Errorf("link of %s: state %s reason %q, want broken with a reason", k, l.State, l.BrokenReason)
		}
	}
	if n := w.cust["jane"].Count(); n != 1 {
		t.Errorf("jane has %d items, want 1 (nothing recreated)", n)
	}
	st := w.eng.Status()
	if st.Customers[0].Broken != 2 || len(st.Customers[0].BrokenLinks) != 2 {
		t.Errorf("status broken = %d (%v), want 2", st.Customers[0].Broken, st.Customers[0].BrokenLinks)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	w := newWorld(t, "jane", "beta")
	pk := w.plat.Open("A", "", actionL, "customer:jane", "customer:beta")
	_ = w.plat.AddComment(pk, "Bob", "[customer] hello", false)
	w.cust["beta"].Open("Inbound", "", "share-with-platform")
	p, err := w.eng.SyncOnce(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	if n := w.writes(); n != 0 {
		t.Fatalf("dry run made %d write requests, want 0", n)
	}
	if in, _ := w.db.Intents(); len(in) != 0 {
		t.Errorf("dry run recorded %d intents", len(in))
	}
	for _, id := range []string{"jane", "beta"} {
		if ls := w.links(id); len(ls) != 0 {
			t.Errorf("dry run recorded %d links for %s", len(ls), id)
		}
	}
	if wm, _ := w.db.Watermark(PlatformID); wm != "" {
		t.Errorf("dry run stored a watermark")
	}
	creates := map[string]int{}
	comments := 0
	for _, x := range p.Writes {
		switch x.Action {
		case ActionCreate:
			creates[x.Tracker]++
		case ActionComment:
			comments++
		}
	}
	if creates["jane"] != 1 || creates["beta"] != 1 || creates[PlatformID] != 1 || comments != 2 {
		t.Errorf("plan creates %v comments %d, want one create per tracker and 2 comments\n%+v", creates, comments, p.Writes)
	}
	var sb strings.Builder
	if err := p.Format(&sb); err != nil || !strings.Contains(sb.String(), "would write 5 changes") {
		t.Errorf("plan text:\n%s (err %v)", sb.String(), err)
	}
	// The real pass then makes what was planned; a dry run after
	// convergence plans nothing.
	w.converge()
	p, err = w.eng.SyncOnce(context.Background(), true)
	if err != nil || len(p.Writes) != 0 {
		t.Errorf("dry run after convergence plans %+v (err %v), want nothing", p.Writes, err)
	}
}

func TestPermanentFailureRecorded(t *testing.T) {
	w := newWorld(t, "jane")
	w.plat.Open("A", "", actionL, "customer:jane")
	w.cust["jane"].Inject(conformance.Fault{Op: conformance.OpCreate, Status: http.StatusUnprocessableEntity})
	p, err := w.eng.SyncOnce(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Failures) != 1 || w.cust["jane"].Count() != 0 {
		t.Fatalf("failures %+v, jane items %d; want one failure and no item", p.Failures, w.cust["jane"].Count())
	}
	evs, err := w.db.AuditLog("jane", memory.Epoch.AddDate(-1, 0, 0), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 || evs[len(evs)-1].Action != ActionError {
		t.Errorf("audit = %+v, want an error event", evs)
	}
	// The watermark moved on: the failure is recorded, not lost.
	if wm, _ := w.db.Watermark(PlatformID); wm == "" {
		t.Errorf("watermark not stored after a permanent failure")
	}
	w.converge() // the next pass creates it (the fault is gone)
	if n := w.cust["jane"].Count(); n != 1 {
		t.Errorf("jane has %d items after the fault passed, want 1", n)
	}
}
