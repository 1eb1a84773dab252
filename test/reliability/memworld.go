package reliability

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/memory"
	"github.com/pmsync/pmsync/store"
	"github.com/pmsync/pmsync/sync/engine"
)

// Labels and secrets of every world.
const (
	ActionLabel   = "postmortem-action"
	InboundLabel  = "share-with-platform"
	CommentPrefix = "[customer]"
	// HookSecret authenticates webhook deliveries of every tracker; it is a
	// canary: it must never appear in a log, an error or a request body.
	HookSecret = "HOOKSECRET-CANARY-5e0c91"
	// MarkerKey is the HMAC key of marker ids.
	MarkerKey = "reliability-marker-key"
)

// Canary text planted in the trackers. InternalCanary sits in platform
// descriptions outside the customer summary and in platform comments
// without the share prefix: it must never reach a customer tracker.
// RestrictedCanary sits in restricted comments on every side: it must
// never leave the tracker it was written in.
const (
	InternalCanary   = "INTERNAL-CANARY-7d1e"
	RestrictedCanary = "RESTRICTED-CANARY-44b0"
)

// CustomerCanary is text that only customer id's own items carry: it may
// reach the platform but never another customer's tracker.
func CustomerCanary(id string) string { return "CUSTCANARY-" + strings.ToUpper(id) + "-x" }

// LogBuffer is an io.Writer safe for concurrent use that keeps everything
// written to it, for leak scans.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// MemWorld is a platform and customers on in-memory trackers, a bbolt store
// and an engine over them, all on one Clock.
type MemWorld struct {
	TB        testing.TB
	Clock     *Clock
	Platform  *memory.Tracker
	Customers map[string]*memory.Tracker
	IDs       []string
	Path      string // the store file
	DB        *store.DB
	Engine    *engine.Engine
	Logs      *LogBuffer
	// Tune, when set, adjusts the engine options before each engine is
	// built.
	Tune func(*engine.Options)
	// Wrap, when set, wraps each tracker's connector (tracker id given).
	Wrap func(id string, c connectors.Connector) connectors.Connector
	// StoreOptions are used for every Open of the store; Now is set to the
	// clock.
	StoreOptions store.Options
}

// NewMemWorld builds a world with customers ids, a fresh store in a
// temporary directory and an engine. The store is closed at cleanup.
func NewMemWorld(tb testing.TB, clock *Clock, ids ...string) *MemWorld {
	tb.Helper()
	w := &MemWorld{
		TB: tb, Clock: clock, Customers: map[string]*memory.Tracker{}, IDs: ids,
		Path: filepath.Join(tb.TempDir(), "pmsync.db"), Logs: &LogBuffer{},
		StoreOptions: store.Options{NoSync: true, BatchDelay: 100 * time.Microsecond},
	}
	w.Platform = memory.NewTracker(memory.Options{Name: "platform", KeyPrefix: "PLAT", Now: clock.Now, PageSize: 20})
	for _, id := range ids {
		w.Customers[id] = memory.NewTracker(memory.Options{Name: id, KeyPrefix: strings.ToUpper(id), Now: clock.Now, PageSize: 20})
	}
	w.Open()
	tb.Cleanup(func() {
		if w.DB != nil {
			_ = w.DB.Close()
		}
	})
	return w
}

// Tracker returns the tracker with id: engine.PlatformID or a customer id.
func (w *MemWorld) Tracker(id string) *memory.Tracker {
	if id == engine.PlatformID {
		return w.Platform
	}
	return w.Customers[id]
}

// Trackers returns every tracker id, the platform first.
func (w *MemWorld) Trackers() []string { return append([]string{engine.PlatformID}, w.IDs...) }

// Open opens the store (when closed) and builds a new engine on it, as a
// starting daemon does.
func (w *MemWorld) Open() {
	w.TB.Helper()
	if w.DB == nil {
		o := w.StoreOptions
		o.Now = w.Clock.Now
		o.Logger = NewLogger(w.Logs)
		db, err := store.Open(w.Path, o)
		if err != nil {
			w.TB.Fatalf("open store: %v", err)
		}
		w.DB = db
	}
	e, err := engine.New(w.Options())
	if err != nil {
		w.TB.Fatalf("engine.New: %v", err)
	}
	w.Engine = e
}

// Restart closes the store and opens it again with a new engine and new
// connectors, as a daemon restarted after a crash would.
func (w *MemWorld) Restart() {
	w.TB.Helper()
	if err := w.DB.Close(); err != nil {
		w.TB.Fatalf("close store: %v", err)
	}
	w.DB = nil
	w.Open()
}

// Conn builds a connector on tracker id.
func (w *MemWorld) Conn(id string) connectors.Connector {
	w.TB.Helper()
	c, err := memory.New(w.Tracker(id), connectors.Config{
		ID: id, WebhookSecret: HookSecret, Now: w.Clock.Now, URL: "https://" + id + ".tracker.example",
		Logger: NewLogger(w.Logs),
	})
	if err != nil {
		w.TB.Fatalf("memory connector %s: %v", id, err)
	}
	if w.Wrap != nil {
		return w.Wrap(id, c)
	}
	return c
}

// Options returns the engine options of the world.
func (w *MemWorld) Options() engine.Options {
	o := engine.Options{
		Store: w.DB,
		Platform: engine.Tracker{
			Name: "Example Cloud", Conn: w.Conn(engine.PlatformID), ActionItemLabel: ActionLabel,
			InternalURLs: []string{"https://platform.tracker.example", "wiki.example.internal"},
			KeyPattern:   engine.KeyPattern("jira", "PLAT"), RequestsPerSecond: -1, PollInterval: -1,
		},
		MarkerKey:      []byte(MarkerKey),
		Workers:        4,
		Clock:          w.Clock,
		ResyncInterval: -1,
		Logger:         NewLogger(w.Logs),
	}
	for _, id := range w.IDs {
		o.Customers = append(o.Customers, engine.Customer{
			ID: id, Name: strings.ToUpper(id[:1]) + id[1:] + "Corp",
			Tracker: engine.Tracker{Conn: w.Conn(id), RequestsPerSecond: -1, PollInterval: -1},
			Share:   engine.Share{CommentPrefix: CommentPrefix},
		})
	}
	if w.Tune != nil {
		w.Tune(&o)
	}
	return o
}

// Sync runs one SyncOnce.
func (w *MemWorld) Sync(ctx context.Context) (*engine.Plan, error) {
	return w.Engine.SyncOnce(ctx, false)
}

// Converge runs SyncOnce until a pass writes nothing and reports no
// failure, at most passes times.
func (w *MemWorld) Converge(ctx context.Context, passes int) error {
	var last *engine.Plan
	for i := 0; i < passes; i++ {
		p, err := w.Sync(ctx)
		if err != nil {
			return fmt.Errorf("pass %d: %w", i+1, err)
		}
		if len(p.Writes) == 0 && len(p.Failures) == 0 {
			return nil
		}
		last = p
	}
	return fmt.Errorf("no quiescence after %d passes; last pass: %d writes %v, failures %+v", passes, len(last.Writes), last.Writes, last.Failures)
}

// Writes counts write requests answered by every tracker.
func (w *MemWorld) Writes() int {
	n := w.Platform.Writes()
	for _, tr := range w.Customers {
		n += tr.Writes()
	}
	return n
}

// Requests counts requests answered by every tracker.
func (w *MemWorld) Requests() int {
	n := w.Platform.Requests()
	for _, tr := range w.Customers {
		n += tr.Requests()
	}
	return n
}

// NewLogger is a debug-level text logger writing to w.
func NewLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
