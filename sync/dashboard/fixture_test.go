package dashboard

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/store"
	"github.com/pmsync/pmsync/sync/remind"
)

// now is the fixed moment the fixture is rendered at.
var now = time.Date(2026, time.March, 16, 10, 0, 0, 0, time.UTC)

// side builds one side of a fixture link.
func side(tracker, key, url string, f store.Fields, created time.Time) store.Side {
	return store.Side{Ref: connectors.Ref{Tracker: tracker, Key: key}, URL: url, Base: f, CreatedAt: created, UpdatedAt: created.Add(time.Hour)}
}

// fixtureLinks is the storage-latency incident as the store holds it after
// a sync: three platform items (two shared with JaneCorp on GitHub, one
// with Acme Analytics on GitLab) and two customer items.
func fixtureLinks() []*store.Link {
	const inc = "INC-2041"
	jira := "https://jira.example.test/browse/"
	gh := "https://github.example.test/janecorp/reliability/issues/"
	gl := "https://gitlab.example.test/acme/ops/-/issues/"
	day := 24 * time.Hour
	t0 := now.Add(-40 * day)
	f := func(title string, st connectors.Status, p connectors.Priority, due string) store.Fields {
		return store.Fields{Title: title, Status: st, Priority: p, Due: due, Incident: inc, Kind: connectors.KindDetect}
	}
	return []*store.Link{
		{ID: "m-tests", Customer: "janecorp", Origin: connectors.OwnerPlatform, Owner: connectors.OwnerPlatform,
			Platform: side("platform", "PLAT-1", jira+"PLAT-1", f("Add uncached-read latency tests", connectors.StatusInProgress, connectors.P1, "2026-03-10"), t0),
			Remote:   side("janecorp", "janecorp/reliability#7", gh+"7", f("Add uncached-read latency tests", connectors.StatusInProgress, connectors.P1, "2026-03-10"), t0)},
		{ID: "m-page", Customer: "janecorp", Origin: connectors.OwnerPlatform, Owner: connectors.OwnerPlatform,
			Platform:  side("platform", "PLAT-2", jira+"PLAT-2", f("Page on regional latency SLO", connectors.StatusDone, connectors.P1, ""), t0),
			Remote:    side("janecorp", "janecorp/reliability#8", gh+"8", f("Page on regional latency SLO", connectors.StatusOpen, connectors.P1, ""), t0),
			Conflicts: 1, LastConflictAt: now.Add(-time.Hour)},
		{ID: "m-dash", Customer: "janecorp", Origin: connectors.OwnerCustomer, Owner: connectors.OwnerCustomer,
			Platform: side("platform", "PLAT-4", jira+"PLAT-4", f("Dashboard for platform storage latency", connectors.StatusOpen, connectors.P1, ""), t0),
			Remote:   side("janecorp", "janecorp/reliability#3", gh+"3", f("Dashboard for platform storage latency", connectors.StatusOpen, connectors.P1, ""), t0)},
		{ID: "m-docs", Customer: "acme-analytics", Origin: connectors.OwnerPlatform, Owner: connectors.OwnerPlatform,
			Platform: side("platform", "PLAT-3", jira+"PLAT-3", f("Document cache tiers", connectors.StatusOpen, connectors.P3, ""), t0),
			Remote:   side("acme-analytics", "acme/ops#2", gl+"2", f("Document cache tiers", connectors.StatusOpen, connectors.P3, ""), t0)},
		{ID: "m-drill", Customer: "acme-analytics", Origin: connectors.OwnerCustomer, Owner: connectors.OwnerCustomer,
			State: store.LinkBroken, BrokenReason: "the customer's item was deleted",
			Platform: side("platform", "PLAT-5", jira+"PLAT-5", f("Quarterly regional failover drill", connectors.StatusOpen, connectors.P2, ""), t0),
			Remote:   side("acme-analytics", "acme/ops#1", gl+"1", f("Quarterly regional failover drill", connectors.StatusOpen, connectors.P2, ""), t0)},
	}
}

// fixtureStore opens a store in a temporary directory holding links.
func fixtureStore(t testing.TB, links []*store.Link) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "pmsync.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	for _, l := range links {
		if err := db.PutLink(l); err != nil {
			t.Fatalf("put link %s: %v", l.ID, err)
		}
	}
	return db
}

// fixtureInput is the configuration and tracker states of the fixture.
func fixtureInput() Input {
	return Input{
		Title: "pmsync", PlatformName: "Example Cloud",
		Customers: []Customer{{ID: "janecorp", Name: "JaneCorp", Kind: "github"}, {ID: "acme-analytics", Name: "Acme Analytics", Kind: "gitlab"}},
		Policy:    remind.DefaultPolicy(),
		Trackers: []Tracker{
			{ID: "platform", Kind: "jira", LastPoll: now.Add(-5 * time.Second), LastSuccess: now.Add(-5 * time.Second), RateRemaining: -1, Ready: true},
			{ID: "janecorp", Kind: "github", LastPoll: now.Add(-3 * time.Second), LastSuccess: now.Add(-3 * time.Second), RateRemaining: 4990, Ready: true},
			{ID: "acme-analytics", Kind: "gitlab", LastPoll: now.Add(-2 * time.Second), LastSuccess: now.Add(-10 * time.Minute),
				LastError: "gitlab: list changes: temporary failure (HTTP 502)", RateRemaining: -1},
		},
		QueueDepth: 2,
		Now:        now,
	}
}
