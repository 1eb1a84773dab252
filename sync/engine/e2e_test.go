package engine_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/store"
	"github.com/pmsync/pmsync/sync/engine"
	sc "github.com/pmsync/pmsync/sync/engine/scenario"
)

// e2e is the storage-latency incident run by the engine against the three
// simulators, with the real client libraries.
type e2e struct {
	t    *testing.T
	ctx  context.Context
	sims *sc.Sims
	sd   *sc.Seeded
	db   *store.DB
	eng  *engine.Engine
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	ctx := context.Background()
	sims, err := sc.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sims.Close)
	sd, err := sc.Seed(ctx, sims)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "pmsync.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	opts, err := sims.EngineOptions(db)
	if err != nil {
		t.Fatal(err)
	}
	// No client-side rate limit: the simulators impose none, and the
	// test's time is better spent elsewhere.
	opts.Platform.RequestsPerSecond = -1
	for i := range opts.Customers {
		opts.Customers[i].Tracker.RequestsPerSecond = -1
	}
	eng, err := engine.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &e2e{t: t, ctx: ctx, sims: sims, sd: sd, db: db, eng: eng}
}

// converge runs passes until one writes nothing.
func (x *e2e) converge() {
	x.t.Helper()
	for i := 0; i < 6; i++ {
		p, err := x.eng.SyncOnce(x.ctx, false)
		if err != nil {
			x.t.Fatalf("SyncOnce: %v", err)
		}
		if len(p.Failures) > 0 {
			x.t.Fatalf("SyncOnce failures: %+v", p.Failures)
		}
		if len(p.Writes) == 0 {
			return
		}
	}
	x.t.Fatalf("no convergence after 6 passes")
}

// mirror returns the link of customer for the item at key.
func (x *e2e) link(customer, key string) *store.Link {
	x.t.Helper()
	ls, err := x.db.Links(customer)
	if err != nil {
		x.t.Fatal(err)
	}
	for _, l := range ls {
		if l.Platform.Ref.Key == key || l.Remote.Ref.Key == key {
			return l
		}
	}
	x.t.Fatalf("no %s link for %s", customer, key)
	return nil
}

func (x *e2e) get(tracker, key string) *connectors.Item {
	x.t.Helper()
	it, err := x.sims.Get(x.ctx, tracker, key)
	if err != nil {
		x.t.Fatalf("get %s %s: %v", tracker, key, err)
	}
	return it
}

func (x *e2e) comments(tracker, key string) []string {
	x.t.Helper()
	cs, err := x.sims.Comments(x.ctx, tracker, key)
	if err != nil {
		x.t.Fatalf("comments of %s %s: %v", tracker, key, err)
	}
	var out []string
	for _, c := range cs {
		out = append(out, c.Body)
	}
	return out
}

func hasComment(cs []string, parts ...string) bool {
	return slices.ContainsFunc(cs, func(c string) bool {
		for _, p := range parts {
			if !strings.Contains(c, p) {
				return false
			}
		}
		return true
	})
}

func TestStorageLatencyIncidentEndToEnd(t *testing.T) {
	x := newE2E(t)
	sd := x.sd
	x.converge()

	// Fan-out: JaneCorp gets all three platform items, Acme two; each
	// customer's own item reaches the platform.
	if n := x.sims.GitHub.Count(); n != 4 {
		t.Errorf("JaneCorp's tracker has %d items, want 4", n)
	}
	if n := x.sims.GitLab.Count(); n != 3 {
		t.Errorf("Acme's tracker has %d items, want 3", n)
	}
	if n := x.sims.Jira.Count(); n != 5 {
		t.Errorf("the platform's tracker has %d items, want 5", n)
	}
	janeTests := x.link(sc.Jane, sd.Tests).Remote.Ref.Key
	acmeTests := x.link(sc.Acme, sd.Tests).Remote.Ref.Key
	m := x.get(sc.Jane, janeTests)
	if m.Title != sc.TitleTests || m.Priority != connectors.P1 || m.Kind != connectors.KindPrevent || m.Incident != sc.Incident {
		t.Errorf("JaneCorp's mirror: %q %s %s %q", m.Title, m.Priority, m.Kind, m.Incident)
	}
	if strings.TrimSpace(m.Description) != sc.SummaryTests {
		t.Errorf("JaneCorp's mirror description = %q, want only the summary", m.Description)
	}
	if d := x.get(sc.Acme, x.link(sc.Acme, sd.Docs).Remote.Ref.Key); d.Priority != connectors.P3 {
		t.Errorf("Acme's mirror of the docs item has priority %q, want P3", d.Priority)
	}
	dash := x.get(sc.Platform, x.link(sc.Jane, sd.Dashboard).Platform.Ref.Key)
	if dash.Title != sc.TitleDashboard || !strings.Contains(dash.Description, sc.JaneCanary) || dash.Owner != connectors.OwnerCustomer {
		t.Errorf("platform mirror of JaneCorp's item: %q owner %s desc %q", dash.Title, dash.Owner, dash.Description)
	}

	// The story: statuses on both sides, comments both ways, an item
	// unshared from Acme, a mirror deleted by JaneCorp.
	if err := sc.Story(x.sims, sd, x.db); err != nil {
		t.Fatal(err)
	}
	x.converge()

	// Status from the owner's side.
	if st := x.get(sc.Jane, janeTests).Status; st != connectors.StatusInProgress {
		t.Errorf("JaneCorp's mirror of the tests item is %s, want in_progress", st)
	}
	if st := x.get(sc.Acme, acmeTests).Status; st != connectors.StatusInProgress {
		t.Errorf("Acme's mirror of the tests item is %s, want in_progress", st)
	}
	if st := x.get(sc.Jane, x.link(sc.Jane, sd.Paging).Remote.Ref.Key).Status; st != connectors.StatusDone {
		t.Errorf("JaneCorp's mirror of the paging item is %s, want done", st)
	}
	if st := x.get(sc.Platform, dash.Ref.Key).Status; st != connectors.StatusDone {
		t.Errorf("platform mirror of JaneCorp's dashboard item is %s, want done", st)
	}

	// Comments: attribution, prefix, restriction, no echo, no cross-tenant.
	jc := x.comments(sc.Jane, janeTests)
	if len(jc) != 2 || !hasComment(jc, "(Example Cloud) wrote:", sc.CommentPlatformShared) {
		t.Errorf("JaneCorp's mirror comments = %q, want its own and the shared platform one", jc)
	}
	if hasComment(jc, sc.CommentPrefix) {
		t.Errorf("the share prefix crossed: %q", jc)
	}
	pc := x.comments(sc.Platform, sd.Tests)
	if len(pc) != 4 || !hasComment(pc, "alice (JaneCorp) wrote:", sc.CommentJane) {
		t.Errorf("platform comments = %q, want 3 own and JaneCorp's", pc)
	}
	ac := x.comments(sc.Acme, acmeTests)
	if len(ac) != 1 || hasComment(ac, "JaneCorp") {
		t.Errorf("Acme's mirror comments = %q, want only the shared platform one", ac)
	}
	if pd := x.comments(sc.Platform, x.link(sc.Acme, sd.Drill).Platform.Ref.Key); !hasComment(pd, "(Acme Analytics) wrote:", sc.CommentAcme) {
		t.Errorf("platform mirror of Acme's drill comments = %q", pd)
	}

	// Unshared and deleted.
	al := x.link(sc.Acme, sd.Docs)
	if al.State != store.LinkUnshared {
		t.Errorf("Acme's docs link is %s, want unshared", al.State)
	}
	if st := x.get(sc.Acme, al.Remote.Ref.Key).Status; st != connectors.StatusWontDo {
		t.Errorf("Acme's unshared mirror is %s, want wont_do", st)
	}
	if !hasComment(x.comments(sc.Acme, al.Remote.Ref.Key), "no longer shares this item with you") {
		t.Errorf("Acme's unshared mirror has no notice")
	}
	if jl := x.link(sc.Jane, sd.Docs); jl.State != store.LinkBroken {
		t.Errorf("JaneCorp's deleted docs mirror: link %s, want broken", jl.State)
	}
	if n := x.sims.GitHub.Count(); n != 3 {
		t.Errorf("JaneCorp's tracker has %d items, want 3 (nothing recreated)", n)
	}

	// Echo: after convergence, three more cycles write nothing.
	before := x.sims.Writes()
	for i := 0; i < 3; i++ {
		if _, err := x.eng.SyncOnce(x.ctx, false); err != nil {
			t.Fatal(err)
		}
	}
	if n := x.sims.Writes() - before; n != 0 {
		t.Errorf("3 cycles after convergence made %d write requests, want 0", n)
	}

	// Isolation: nothing of JaneCorp's and nothing internal ever reached
	// Acme; nothing internal reached any customer in a write.
	for _, r := range x.sims.Rec[sc.Acme].Requests() {
		text := strings.ToLower(r.Path + "?" + r.Query + " " + r.Body)
		for _, bad := range []string{sc.JaneCanary, sc.InternalCanary, "janecorp", "wiki.example.internal"} {
			if strings.Contains(text, strings.ToLower(bad)) {
				t.Errorf("a request to Acme holds %q: %s %s", bad, r.Method, r.Path)
			}
		}
	}
	platHost := strings.TrimPrefix(x.sims.URL[sc.Platform], "http://")
	for _, id := range []string{sc.Jane, sc.Acme} {
		for _, r := range x.sims.Rec[id].Requests() {
			if !r.Write() {
				continue
			}
			for _, bad := range []string{sc.InternalCanary, "wiki.example.internal", platHost, sc.PlatformProject + "-", "customer:"} {
				if strings.Contains(r.Body, bad) || strings.Contains(r.Query, bad) {
					t.Errorf("a write to %s holds %q: %s %s", id, bad, r.Method, r.Path)
				}
			}
		}
	}
}
