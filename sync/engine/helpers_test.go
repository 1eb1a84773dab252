package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/memory"
	"github.com/pmsync/pmsync/internal/testclock"
	"github.com/pmsync/pmsync/store"
)

// fakeClock is the movable test clock: in auto mode every After returns at
// once, moving the clock forward by its duration (so backoffs cost no real
// time); otherwise timers fire only on Advance.
type fakeClock = testclock.Clock

func newFakeClock(auto bool) *fakeClock { return testclock.New(memory.Epoch, auto) }

// waitFor polls cond in real time until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("timed out waiting for %s\n%s", what, buf[:n])
		}
		<-time.After(2 * time.Millisecond)
	}
}

const (
	testSecret = "hook-secret-for-tests"
	actionL    = "postmortem-action"
)

// world is a platform and customers on memory trackers, a store and an
// engine over them.
type world struct {
	t     *testing.T
	clock *fakeClock
	plat  *memory.Tracker
	cust  map[string]*memory.Tracker
	ids   []string
	db    *store.DB
	eng   *Engine
	tune  func(*Options)
}

func newWorld(t *testing.T, customers ...string) *world {
	return newWorldClock(t, newFakeClock(true), nil, customers...)
}

func newWorldClock(t *testing.T, clock *fakeClock, tune func(*Options), customers ...string) *world {
	t.Helper()
	w := &world{t: t, clock: clock, cust: map[string]*memory.Tracker{}, ids: customers, tune: tune}
	w.plat = memory.NewTracker(memory.Options{Name: "platform", KeyPrefix: "PLAT", Now: clock.Now})
	for _, id := range customers {
		w.cust[id] = memory.NewTracker(memory.Options{Name: id, KeyPrefix: strings.ToUpper(id), Now: clock.Now})
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "pmsync.db"), store.Options{NoSync: true, Now: clock.Now, BatchDelay: time.Microsecond})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	w.db = db
	w.eng = w.newEngine()
	return w
}

func (w *world) conn(tr *memory.Tracker, id string) connectors.Connector {
	c, err := memory.New(tr, connectors.Config{ID: id, WebhookSecret: testSecret, Now: w.clock.Now,
		URL: "https://" + id + ".tracker.example"})
	if err != nil {
		w.t.Fatalf("memory connector %s: %v", id, err)
	}
	return c
}

// options builds the engine options of the world.
func (w *world) options() Options {
	o := Options{
		Store: w.db,
		Platform: Tracker{Name: "Example Cloud", Conn: w.conn(w.plat, PlatformID), ActionItemLabel: actionL,
			InternalURLs: []string{"https://platform.tracker.example", "wiki.example.internal"},
			KeyPattern:   KeyPattern("jira", "PLAT"), RequestsPerSecond: -1},
		MarkerKey: []byte("test-marker-key"),
		Workers:   4,
		Clock:     w.clock,
	}
	for _, id := range w.ids {
		o.Customers = append(o.Customers, Customer{
			ID: id, Name: strings.ToUpper(id[:1]) + id[1:] + "Corp",
			Tracker: Tracker{Conn: w.conn(w.cust[id], id), RequestsPerSecond: -1},
			Share:   Share{CommentPrefix: "[customer]"},
		})
	}
	if w.tune != nil {
		w.tune(&o)
	}
	return o
}

func (w *world) newEngine() *Engine {
	e, err := New(w.options())
	if err != nil {
		w.t.Fatalf("engine.New: %v", err)
	}
	return e
}

// restart replaces the engine, as a restarted daemon would be.
func (w *world) restart() { w.eng = w.newEngine() }

// sync runs one SyncOnce and fails the test on an error or a failed item.
func (w *world) sync() *Plan {
	w.t.Helper()
	p, err := w.eng.SyncOnce(context.Background(), false)
	if err != nil {
		w.t.Fatalf("SyncOnce: %v", err)
	}
	if len(p.Failures) > 0 {
		w.t.Fatalf("SyncOnce failures: %+v", p.Failures)
	}
	return p
}

// converge syncs until a pass writes nothing (at most 5 passes).
func (w *world) converge() {
	w.t.Helper()
	for i := 0; i < 5; i++ {
		if p := w.sync(); len(p.Writes) == 0 {
			return
		}
	}
	w.t.Fatalf("no convergence after 5 passes")
}

// writes counts write requests on every tracker.
func (w *world) writes() int {
	n := w.plat.Writes()
	for _, tr := range w.cust {
		n += tr.Writes()
	}
	return n
}

// links returns the links of customer id.
func (w *world) links(id string) []*store.Link {
	w.t.Helper()
	ls, err := w.db.Links(id)
	if err != nil {
		w.t.Fatalf("Links(%s): %v", id, err)
	}
	return ls
}

// linkOf returns the link of customer id whose platform or remote key is key.
func (w *world) linkOf(id, key string) *store.Link {
	w.t.Helper()
	for _, l := range w.links(id) {
		if l.Platform.Ref.Key == key || l.Remote.Ref.Key == key {
			return l
		}
	}
	w.t.Fatalf("no link of %s for %s", id, key)
	return nil
}

// issue returns an item as stored in tr.
func issue(t *testing.T, tr *memory.Tracker, key string) memory.Issue {
	t.Helper()
	is, ok := tr.Issue(key)
	if !ok {
		t.Fatalf("item %s does not exist", key)
	}
	return is
}

// notes returns the comments of an item, without system notes.
func notes(t *testing.T, tr *memory.Tracker, key string) []memory.Note {
	t.Helper()
	ns, ok := tr.Notes(key)
	if !ok {
		t.Fatalf("item %s does not exist", key)
	}
	var out []memory.Note
	for _, n := range ns {
		if !n.System {
			out = append(out, n)
		}
	}
	return out
}

// dump renders every item and comment of a tracker, for leak scans.
func dump(tr *memory.Tracker) string {
	var b strings.Builder
	keys := tr.Keys()
	sort.Strings(keys)
	for _, k := range keys {
		is, _ := tr.Issue(k)
		fmt.Fprintf(&b, "%s|%s|%s|%v|%s|%s\n", is.Key, is.Title, is.Body, is.Labels, is.Due, is.Assignee)
		ns, _ := tr.Notes(k)
		for _, n := range ns {
			fmt.Fprintf(&b, "  %s: %s\n", n.Author, n.Body)
		}
	}
	return b.String()
}
