package remind

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The storage-frontend latency incident: the platform (Jira) and JaneCorp
// (GitHub) share INC-2041; a second customer, Globex (GitLab), shares one
// platform item and has items of its own carrying canary strings that must
// never reach JaneCorp.
var (
	scenarioNow   = time.Date(2025, 3, 24, 13, 0, 0, 0, time.UTC) // Monday 09:00 New York
	scenarioSince = time.Date(2025, 3, 17, 13, 0, 0, 0, time.UTC)
)

// canaries are strings that JaneCorp's digests and reports must never hold:
// the platform tracker's keys and host, internal text, and anything of
// Globex.
var janeCanaries = []string{"PLAT-", "jira.example.com", "INTERNAL-CANARY", "alice.sre", "GLOBEX", "Globex", "globex", "gitlab"}

func day0(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC) }

type itemSpec struct {
	id, customer     string
	origin, owner    connectors.Owner
	state            store.LinkState
	broken           string
	platKey, remKey  string
	title, incident  string
	prio             connectors.Priority
	status           connectors.Status
	due              string
	created, updated time.Time
	closed           time.Time
	conflictAt       time.Time
}

func scenarioItems() []itemSpec {
	inc := "INC-2041"
	return []itemSpec{
		{id: "a1b2c3d4e5f6a7b8c9d0e1f1", customer: "janecorp", origin: "platform", owner: "platform",
			platKey: "PLAT-101", remKey: "janecorp/reliability#41", title: "add uncached-read latency tests", incident: inc,
			prio: "P1", status: "in_progress", created: day0(2025, 2, 12), updated: day0(2025, 3, 18), conflictAt: day0(2025, 3, 18)},
		{id: "a1b2c3d4e5f6a7b8c9d0e1f2", customer: "janecorp", origin: "platform", owner: "platform",
			platKey: "PLAT-102", remKey: "janecorp/reliability#42", title: "page on regional latency SLO", incident: inc,
			prio: "P1", status: "open", due: "2025-04-15", created: day0(2025, 2, 12), updated: day0(2025, 3, 1)},
		{id: "a1b2c3d4e5f6a7b8c9d0e1f3", customer: "janecorp", origin: "platform", owner: "platform",
			platKey: "PLAT-103", remKey: "janecorp/reliability#43", title: "document cache tiers", incident: inc,
			prio: "P3", status: "done", created: day0(2025, 2, 12), updated: day0(2025, 3, 19), closed: day0(2025, 3, 19)},
		{id: "a1b2c3d4e5f6a7b8c9d0e1f4", customer: "janecorp", origin: "customer", owner: "customer",
			platKey: "PLAT-110", remKey: "janecorp/reliability#7", title: "dashboard for platform storage latency", incident: inc,
			prio: "P1", status: "in_progress", due: "2025-03-31", created: day0(2025, 2, 14), updated: day0(2025, 3, 21)},
		{id: "a1b2c3d4e5f6a7b8c9d0e1f5", customer: "janecorp", origin: "customer", owner: "customer",
			platKey: "PLAT-111", remKey: "janecorp/reliability#8", title: "quarterly regional failover drill", incident: inc,
			prio: "P2", status: "open", due: "2025-06-30", created: day0(2025, 2, 14), updated: day0(2025, 3, 10)},
		{id: "b1b2c3d4e5f6a7b8c9d0e1f1", customer: "globex", origin: "platform", owner: "platform",
			platKey: "PLAT-101", remKey: "globex/sre#5", title: "add uncached-read latency tests", incident: inc,
			prio: "P1", status: "in_progress", created: day0(2025, 2, 12), updated: day0(2025, 3, 18)},
		{id: "b1b2c3d4e5f6a7b8c9d0e1f2", customer: "globex", origin: "customer", owner: "customer",
			platKey: "PLAT-120", remKey: "globex/sre#9", title: "GLOBEX-CANARY rotate edge certificates", incident: "INC-1990",
			prio: "P0", status: "open", due: "2025-03-01", created: day0(2025, 1, 20), updated: day0(2025, 3, 20)},
		{id: "b1b2c3d4e5f6a7b8c9d0e1f3", customer: "globex", origin: "platform", owner: "platform", state: store.LinkBroken,
			broken:  "customer item globex/sre#11 was deleted",
			platKey: "PLAT-121", remKey: "globex/sre#11", title: "GLOBEX-CANARY-BROKEN failover runbook", incident: "INC-1990",
			prio: "P1", status: "open", created: day0(2025, 1, 22), updated: day0(2025, 3, 2)},
		{id: "b1b2c3d4e5f6a7b8c9d0e1f4", customer: "globex", origin: "platform", owner: "platform", state: store.LinkUnshared,
			platKey: "PLAT-122", remKey: "globex/sre#12", title: "GLOBEX-CANARY-UNSHARED never shown", incident: "INC-1990",
			prio: "P0", status: "open", created: day0(2025, 1, 22), updated: day0(2025, 3, 2)},
	}
}

func urlOf(tracker, key string) string {
	switch {
	case tracker == "platform":
		return "https://jira.example.com/browse/" + key
	case strings.HasPrefix(key, "globex/"):
		repo, n, _ := strings.Cut(key, "#")
		return "https://gitlab.com/" + repo + "/-/issues/" + n
	default:
		repo, n, _ := strings.Cut(key, "#")
		return "https://github.com/" + repo + "/issues/" + n
	}
}

// toLink builds the store link of one scenario item. The platform side
// carries internal text (a draft summary, an internal assignee) that must
// never reach the customer.
func (s itemSpec) toLink() *store.Link {
	fields := store.Fields{Title: s.title, Status: s.status, Priority: s.prio, Kind: connectors.KindDetect,
		Owner: s.owner, Due: s.due, Incident: s.incident}
	plat, rem := fields, fields
	plat.Summary = "INTERNAL-CANARY root cause draft: cache eviction storm"
	plat.Assignee = "alice.sre"
	rem.Summary = "Latency tests for the storage frontend."
	platCreated, remCreated := s.created, s.created.Add(time.Hour)
	if s.origin == connectors.OwnerCustomer {
		platCreated, remCreated = remCreated, platCreated
		rem.Assignee = "jane-dev"
	}
	l := &store.Link{
		ID: s.id, Customer: s.customer, Origin: s.origin, Owner: s.owner, State: s.state, BrokenReason: s.broken,
		Platform: store.Side{Ref: connectors.Ref{Tracker: "platform", Key: s.platKey}, URL: urlOf("platform", s.platKey),
			Base: plat, UpdatedAt: s.updated, CreatedAt: platCreated, ClosedAt: s.closed},
		Remote: store.Side{Ref: connectors.Ref{Tracker: s.customer, Key: s.remKey}, URL: urlOf(s.customer, s.remKey),
			Base: rem, UpdatedAt: s.updated, CreatedAt: remCreated, ClosedAt: s.closed},
		LastConflictAt: s.conflictAt,
	}
	if !s.conflictAt.IsZero() {
		l.Conflicts = 1
	}
	return l
}

// openScenario opens a store in a temp dir holding the scenario, and a
// Builder over it.
func openScenario(t *testing.T) (*store.DB, *Builder) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "pmsync.db"), store.Options{NoSync: true, Now: func() time.Time { return scenarioNow }})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	for _, s := range scenarioItems() {
		if err := db.PutLink(s.toLink()); err != nil {
			t.Fatalf("put link %s: %v", s.id, err)
		}
	}
	events := []store.AuditEvent{
		{Time: day0(2025, 3, 18), Customer: "janecorp", Link: "a1b2c3d4e5f6a7b8c9d0e1f1", Tracker: "janecorp", Action: "conflict",
			Fields: []string{"due"}, Detail: "INTERNAL-CANARY losing value 2025-03-30"},
		{Time: day0(2025, 3, 18), Customer: "janecorp", Link: "a1b2c3d4e5f6a7b8c9d0e1f1", Tracker: "janecorp", Action: "update", Fields: []string{"status"}},
		{Time: day0(2025, 3, 19), Customer: "globex", Link: "b1b2c3d4e5f6a7b8c9d0e1f2", Tracker: "platform", Action: "conflict",
			Fields: []string{"title"}, Detail: "GLOBEX-CANARY old title"},
		{Time: day0(2025, 3, 1), Customer: "janecorp", Link: "a1b2c3d4e5f6a7b8c9d0e1f2", Tracker: "janecorp", Action: "conflict",
			Fields: []string{"priority"}},
	}
	for _, e := range events {
		if err := db.Audit(e); err != nil {
			t.Fatalf("audit: %v", err)
		}
	}
	return db, scenarioBuilder(db)
}

func scenarioBuilder(src Source) *Builder {
	return &Builder{
		Source: src, Policy: DefaultPolicy(), PlatformName: "Example Cloud",
		Customers: []Customer{{ID: "janecorp", Name: "JaneCorp"}, {ID: "globex", Name: "Globex"}},
	}
}

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v (run go test -update to create it)", path, err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file (run go test -update after checking):\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

// assertNoCanary fails when text holds any of canaries.
func assertNoCanary(t *testing.T, what, text string, canaries []string) {
	t.Helper()
	for _, c := range canaries {
		if strings.Contains(text, c) {
			t.Errorf("%s contains %q, which must never reach this audience", what, c)
		}
	}
}
