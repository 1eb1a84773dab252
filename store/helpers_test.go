package store

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
)

// clock is an injected clock that tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// openAt opens the store at path with test defaults filled in.
func openAt(t testing.TB, path string, o Options) *DB {
	t.Helper()
	if o.Logger == nil {
		o.Logger = quietLogger()
	}
	db, err := Open(path, o)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return db
}

// openTest opens a fresh store in a temporary folder, closed at cleanup.
func openTest(t testing.TB, o Options) *DB {
	t.Helper()
	db := openAt(t, filepath.Join(t.TempDir(), "pmsync.db"), o)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// testLink builds a link of customer mirroring platform item PLAT-<n> to the
// customer's item <customer>/repo#<n>.
func testLink(customer string, n int) *Link {
	return &Link{
		ID:       fmt.Sprintf("m-%s-%d", customer, n),
		Customer: customer,
		Origin:   connectors.OwnerPlatform,
		Owner:    connectors.OwnerPlatform,
		Platform: Side{
			Ref:  connectors.Ref{Tracker: "platform", Key: fmt.Sprintf("PLAT-%d", n)},
			ID:   fmt.Sprint(10000 + n),
			URL:  fmt.Sprintf("https://jira.example/browse/PLAT-%d", n),
			Base: Fields{Title: "Add uncached-read latency tests", Status: connectors.StatusOpen, Priority: connectors.P1, Kind: connectors.KindDetect, Incident: "INC-42"},
		},
		Remote: Side{
			Ref:  connectors.Ref{Tracker: customer, Key: fmt.Sprintf("%s/repo#%d", customer, n)},
			ID:   fmt.Sprint(900000 + n),
			Base: Fields{Title: "Add uncached-read latency tests", Status: connectors.StatusOpen, Priority: connectors.P1},
		},
	}
}

// linkIDs returns the ids of ls in order.
func linkIDs(ls []*Link) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Customer + "/" + l.ID
	}
	return out
}

func backupToFile(db *DB, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := db.Backup(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
