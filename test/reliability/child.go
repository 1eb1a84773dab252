package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/store"
	"github.com/pmsync/pmsync/sync/engine"
)

// ChildEnv names the environment variable that turns a test binary into a
// pmsync daemon child: its value is the path of a ChildConfig file.
const ChildEnv = "PMSYNC_RELIABILITY_CHILD"

// ChildConfig is what a daemon child needs to run: where the simulators
// of its parent listen, its store file and its tuning.
type ChildConfig struct {
	Store        string         `json:"store"`
	Trackers     []ChildTracker `json:"trackers"` // the platform first
	PollInterval time.Duration  `json:"poll_interval"`
	Workers      int            `json:"workers"`
	NoSync       bool           `json:"no_sync"`
	Lifetime     time.Duration  `json:"lifetime"` // the child exits by itself after this long
	Share        engine.Share   `json:"share"`
}

// ChildTracker is one simulator as the child reaches it.
type ChildTracker struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	URL     string `json:"url"`
	Project string `json:"project"`
}

// ChildTrackers describes the simulators of s for a child.
func (s *Sims) ChildTrackers() []ChildTracker {
	var out []ChildTracker
	for _, id := range append([]string{engine.PlatformID}, s.IDs...) {
		t := s.Trackers[id]
		out = append(out, ChildTracker{ID: id, Kind: t.Kind, URL: t.URL, Project: t.Project()})
	}
	return out
}

// RunChild runs the engine as a daemon would, until SIGTERM or SIGINT, the
// configured lifetime, or death by SIGKILL. It logs to stderr and returns
// the process exit code.
func RunChild(path string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	fail := func(format string, a ...any) int {
		log.Error(fmt.Sprintf(format, a...))
		return 2
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return fail("read child config: %v", err)
	}
	var cfg ChildConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return fail("decode child config: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if cfg.Lifetime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Lifetime)
		defer cancel()
	}
	db, err := store.Open(cfg.Store, store.Options{NoSync: cfg.NoSync, Logger: log, Timeout: 5 * time.Second})
	if err != nil {
		return fail("open store: %v", err)
	}
	defer db.Close()
	conns := map[string]connectors.Connector{}
	for _, ct := range cfg.Trackers {
		t := &SimTracker{ID: ct.ID, Kind: ct.Kind, URL: ct.URL, project: ct.Project, now: time.Now}
		c, err := t.NewConn(&http.Client{Timeout: 10 * time.Second}, log)
		if err != nil {
			return fail("connector %s: %v", ct.ID, err)
		}
		defer c.Close()
		conns[ct.ID] = c
	}
	s := &Sims{Trackers: map[string]*SimTracker{}}
	for i, ct := range cfg.Trackers {
		s.Trackers[ct.ID] = &SimTracker{ID: ct.ID, Kind: ct.Kind, URL: ct.URL, project: ct.Project}
		if i > 0 {
			s.IDs = append(s.IDs, ct.ID)
		}
	}
	o := s.EngineOptions(conns)
	o.Store, o.Logger, o.Workers = db, log, cfg.Workers
	o.Platform.PollInterval = cfg.PollInterval
	for i := range o.Customers {
		o.Customers[i].Tracker.PollInterval = cfg.PollInterval
		o.Customers[i].Share = cfg.Share
	}
	e, err := engine.New(o)
	if err != nil {
		return fail("engine: %v", err)
	}
	log.Info("child running", "pid", os.Getpid())
	if err := e.Run(ctx); err != nil {
		return fail("run: %v", err)
	}
	return 0
}
