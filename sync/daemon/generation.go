package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/pmsync/pmsync/config"
	"github.com/pmsync/pmsync/connectors"
	_ "github.com/pmsync/pmsync/connectors/all" // every tracker kind pmsync ships
	"github.com/pmsync/pmsync/sync/engine"
	"github.com/pmsync/pmsync/sync/remind"
)

// generation is everything built from one configuration: the connectors,
// the engine and the reminder service. A reload builds a new generation,
// stops the old one (letting its work in flight finish) and starts the new
// one; the store, the listener and the metrics outlive generations.
type generation struct {
	cfg      *config.Config
	eng      *engine.Engine
	rem      *remind.Service
	hooks    http.Handler // the engine's webhook handler
	comments *commenter   // reminder comments

	cancel context.CancelFunc
	done   chan struct{} // closed once the engine and reminders returned
}

// build makes a generation for cfg on the daemon's store without starting
// anything; it makes no request to any tracker. Each connector gets an
// HTTP client that counts its requests and reads its rate-limit headers.
func (d *Daemon) build(cfg *config.Config) (*generation, error) {
	client := func(id string) *http.Client { return d.metrics.instrument(id, d.opts.Transport, d.cutCtx) }
	eng, err := engine.FromConfigWith(cfg, d.db, engine.ConfigOptions{
		Logger: d.log, HTTPClient: client, Now: d.now, Metrics: d.metrics,
	})
	if err != nil {
		return nil, err
	}
	g := &generation{cfg: cfg, eng: eng, hooks: eng.WebhookHandler(),
		comments: &commenter{cfg: cfg, client: client, log: d.log, now: d.now, conns: map[string]connectors.Connector{}}}
	g.rem, err = remind.Setup(cfg, d.db, remind.SetupOptions{
		Clock: d.opts.RemindClock, Logger: d.log, Metrics: d.metrics.sent, Commenter: g.comments,
	})
	if err != nil {
		g.close()
		return nil, err
	}
	d.metrics.prepare(cfg)
	return g, nil
}

// start runs the engine and the reminder service until stop.
func (g *generation) start(d *Daemon) {
	ctx, cancel := context.WithCancel(context.Background())
	g.cancel, g.done = cancel, make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := g.eng.Run(ctx); err != nil {
			d.log.Error("engine stopped with an error", "err", err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := g.rem.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			d.log.Error("reminder schedules stopped with an error", "err", err)
		}
	}()
	go func() {
		wg.Wait()
		close(g.done)
	}()
}

// stop cancels the generation and waits for its work in flight to finish.
func (g *generation) stop() {
	if g.cancel == nil {
		return
	}
	g.cancel()
	<-g.done
}

// close releases the connectors.
func (g *generation) close() {
	_ = g.eng.Close()
	g.comments.close()
}

// has reports whether id is one of the generation's trackers.
func (g *generation) has(id string) bool {
	_, ok := g.cfg.Tracker(id)
	return ok
}

// commenter posts reminder comments. Its connectors are built on first use
// (reminder comments are rare) with the same counted HTTP clients as the
// engine's.
type commenter struct {
	cfg    *config.Config
	client func(id string) *http.Client
	log    *slog.Logger
	now    func() time.Time

	mu    sync.Mutex
	conns map[string]connectors.Connector
}

// AddComment implements remind.Commenter.
func (c *commenter) AddComment(ctx context.Context, trackerID, key, marker, body string) error {
	conn, err := c.conn(trackerID)
	if err != nil {
		return err
	}
	_, err = conn.AddComment(ctx, key, marker, body)
	return err
}

func (c *commenter) conn(id string) (connectors.Connector, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if conn := c.conns[id]; conn != nil {
		return conn, nil
	}
	cc, err := c.cfg.Connector(id)
	if err != nil {
		return nil, fmt.Errorf("reminder comment: %w", err)
	}
	cc.HTTPClient, cc.Logger, cc.Now = c.client(id), c.log, c.now
	conn, err := connectors.New(cc)
	if err != nil {
		return nil, fmt.Errorf("reminder comment: tracker %s: %w", id, err)
	}
	c.conns[id] = conn
	return conn, nil
}

func (c *commenter) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		_ = conn.Close()
	}
	c.conns = map[string]connectors.Connector{}
}
