package engine

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/memory"
	"github.com/pmsync/pmsync/store"
)

const internalDesc = `Root cause: INTERNAL-CANARY cache tier saturation, see https://wiki.example.internal/rca/42 and PLAT-7.

## Customer summary
We will add uncached-read latency tests to the storage frontend.

## Timeline
INTERNAL-CANARY timeline`

func TestFanOutAndSelection(t *testing.T) {
	w := newWorld(t, "jane", "beta")
	both := w.plat.Open("Add uncached-read latency tests", internalDesc, actionL, "customer:jane", "customer:beta", "P1", "type:prevent", "incident:INC-7")
	_ = w.plat.Modify(both, func(is *memory.Issue) { is.Due = "2026-03-01"; is.Assignee = "alice.internal" })
	janeOnly := w.plat.Open("Page on regional latency SLO", "", actionL, "customer:jane")
	w.plat.Open("Not an action item", "", "customer:jane")
	w.plat.Open("Not shared", "", actionL)
	w.converge()

	if got, want := w.cust["jane"].Count(), 2; got != want {
		t.Fatalf("jane has %d items, want %d", got, want)
	}
	if got, want := w.cust["beta"].Count(), 1; got != want {
		t.Fatalf("beta has %d items, want %d", got, want)
	}
	l := w.linkOf("jane", both)
	m := issue(t, w.cust["jane"], l.Remote.Ref.Key)
	if m.Title != "Add uncached-read latency tests" {
		t.Errorf("mirror title = %q", m.Title)
	}
	marker, body := connectors.ExtractMarker(m.Body)
	if marker != l.ID {
		t.Errorf("mirror marker = %q, want the link id %q", marker, l.ID)
	}
	if want := "We will add uncached-read latency tests to the storage frontend."; body != want {
		t.Errorf("mirror body = %q, want only the customer summary %q", body, want)
	}
	wantLabels := []string{"P1", "incident:INC-7", "owner:platform", "type:prevent"}
	got := slices.Clone(m.Labels)
	slices.Sort(got)
	if !slices.Equal(got, wantLabels) {
		t.Errorf("mirror labels = %v, want %v (no raw label may cross)", got, wantLabels)
	}
	if m.Due != "2026-03-01" || m.Assignee != "" {
		t.Errorf("mirror due %q assignee %q, want due 2026-03-01 and no assignee", m.Due, m.Assignee)
	}
	if l.Origin != connectors.OwnerPlatform || l.Owner != connectors.OwnerPlatform || l.State != store.LinkActive {
		t.Errorf("link origin %s owner %s state %s", l.Origin, l.Owner, l.State)
	}
	if w.linkOf("jane", janeOnly) == nil {
		t.Errorf("no link for the jane-only item")
	}
	for id, tr := range w.cust {
		d := dump(tr)
		for _, leak := range []string{"INTERNAL-CANARY", "wiki.example.internal", "PLAT-", "customer:", "alice.internal"} {
			if strings.Contains(d, leak) {
				t.Errorf("customer %s tracker holds %q:\n%s", id, leak, d)
			}
		}
	}
}

func TestInboundAndMirrorNeverOrigin(t *testing.T) {
	w := newWorld(t, "jane", "beta")
	ck := w.cust["jane"].Open("Dashboard for platform storage latency", "JANE-CANARY details", "share-with-platform", "P1")
	w.cust["jane"].Open("Private to jane", "x")
	w.converge()
	if got := w.plat.Count(); got != 1 {
		t.Fatalf("platform has %d items, want 1", got)
	}
	l := w.linkOf("jane", ck)
	if l.Origin != connectors.OwnerCustomer || l.Owner != connectors.OwnerCustomer {
		t.Errorf("link origin %s owner %s, want customer and customer", l.Origin, l.Owner)
	}
	pm := issue(t, w.plat, l.Platform.Ref.Key)
	if _, body := connectors.ExtractMarker(pm.Body); body != "JANE-CANARY details" {
		t.Errorf("platform mirror body = %q, want the full customer description", body)
	}
	if !slices.Contains(pm.Labels, actionL) {
		t.Errorf("platform mirror labels %v lack the action-item label", pm.Labels)
	}
	// Someone labels the platform mirror for beta: a mirror is never an origin.
	if err := w.plat.AddLabel(pm.Key, "customer:beta"); err != nil {
		t.Fatal(err)
	}
	w.converge()
	if n := w.cust["beta"].Count(); n != 0 {
		t.Fatalf("beta got %d items from jane's mirror, want 0:\n%s", n, dump(w.cust["beta"]))
	}
	if strings.Contains(dump(w.cust["beta"]), "JANE-CANARY") {
		t.Fatalf("jane's text reached beta")
	}
}

func TestStatusFlowsFromOwnerAndConflicts(t *testing.T) {
	w := newWorld(t, "jane")
	platOwned := w.plat.Open("Platform owned", "", actionL, "customer:jane", "P1")
	custOwned := w.plat.Open("Customer owned", "", actionL, "customer:jane", "owner:customer", "P2")
	w.converge()
	jp := w.linkOf("jane", platOwned).Remote.Ref.Key
	jc := w.linkOf("jane", custOwned).Remote.Ref.Key
	if got := w.linkOf("jane", custOwned).Owner; got != connectors.OwnerCustomer {
		t.Fatalf("owner label ignored: link owner = %s", got)
	}

	// The owner changes status: it flows to the other side.
	_ = w.plat.AddLabel(platOwned, "status:in-progress")
	_ = w.cust["jane"].Close(jc, memory.ReasonCompleted)
	w.converge()
	if got := issue(t, w.cust["jane"], jp); got.State != memory.StateOpen || !slices.Contains(got.Labels, "status:in-progress") {
		t.Errorf("jane mirror of platform-owned item: state %s labels %v, want open and in progress", got.State, got.Labels)
	}
	if got := issue(t, w.plat, custOwned); got.State != memory.StateClosed || got.Reason != memory.ReasonCompleted {
		t.Errorf("platform item owned by jane: state %s/%s, want closed/completed", got.State, got.Reason)
	}
	if n := w.linkOf("jane", platOwned).Conflicts + w.linkOf("jane", custOwned).Conflicts; n != 0 {
		t.Errorf("conflicts = %d, want 0", n)
	}

	// The non-owner changes status or a one-way field: reverted and recorded.
	_ = w.cust["jane"].Close(jp, memory.ReasonCompleted)
	_ = w.cust["jane"].EditTitle(jp, "Customer renamed it")
	w.converge()
	got := issue(t, w.cust["jane"], jp)
	if got.State != memory.StateOpen || got.Title != "Platform owned" {
		t.Errorf("non-owner edits not reverted: state %s title %q", got.State, got.Title)
	}
	if p := issue(t, w.plat, platOwned); p.State != memory.StateOpen || p.Title != "Platform owned" {
		t.Errorf("platform item changed by the non-owner: state %s title %q", p.State, p.Title)
	}
	l := w.linkOf("jane", platOwned)
	if l.Conflicts != 2 || l.LastConflictAt.IsZero() {
		t.Errorf("link conflicts = %d (last %v), want 2", l.Conflicts, l.LastConflictAt)
	}
	evs, err := w.db.AuditLog("jane", memory.Epoch.AddDate(-1, 0, 0), 0)
	if err != nil {
		t.Fatal(err)
	}
	var fields []string
	for _, ev := range evs {
		if ev.Action == ActionConflict {
			fields = append(fields, ev.Fields...)
			if strings.Contains(ev.Detail, "Customer renamed") {
				t.Errorf("audit detail holds a value: %q", ev.Detail)
			}
		}
	}
	slices.Sort(fields)
	if !slices.Equal(fields, []string{"status", "title"}) {
		t.Errorf("conflict audit fields = %v, want [status title]", fields)
	}
}

func TestEchoSuppression(t *testing.T) {
	w := newWorld(t, "jane", "beta")
	a := w.plat.Open("A", internalDesc, actionL, "customer:jane", "customer:beta", "P1")
	w.cust["jane"].Open("Inbound", "body", "share-with-platform", "P2")
	_ = w.plat.AddComment(a, "Bob", "[customer] We are on it", false)
	w.converge()
	// Changes on both sides, then convergence, then silence.
	_ = w.plat.EditTitle(a, "A, renamed")
	jm := w.linkOf("jane", a).Remote.Ref.Key
	_ = w.cust["jane"].AddComment(jm, "Alice", "Thanks", false)
	w.converge()
	before := w.writes()
	for i := 0; i < 3; i++ {
		w.clock.Advance(time.Minute)
		w.sync()
	}
	if got := w.writes() - before; got != 0 {
		t.Fatalf("3 cycles after convergence made %d write requests, want 0", got)
	}
}
