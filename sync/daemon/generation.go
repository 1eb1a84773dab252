package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pmsync/pmsync/config"
	"github.com/pmsync/pmsync/connectors"
	_ "github.com/pmsync/pmsync/connectors/all" // every tracker kind pmsync ships
	"github.com/pmsync/pmsync/store"
	"github.com/pmsync/pmsync/sync/engine"
	"github.com/pmsync/pmsync/sync/remind"
)

// generation is everything built from one configuration: the connectors,
// the engine and the reminder service. A reload builds a new generation,
// stops the old one (letting its work in flight finish) and starts the new
// one; the store, the listener and the metrics outlive generations.
type generation struct {
	cfg   *config.Config
	conns map[string]connectors.Connector // by tracker id
	eng   *engine.Engine
	rem   *remind.Service
	hooks http.Handler // the engine's webhook handler

	cancel context.CancelFunc
	done   chan struct{} // closed once the engine and reminders returned
}

// build makes a generation for cfg on db without starting anything; it
// makes no request to any tracker.
func (d *Daemon) build(cfg *config.Config) (*generation, error) {
	g := &generation{cfg: cfg, conns: map[string]connectors.Connector{}}
	for _, id := range cfg.TrackerIDs() {
		cc, err := cfg.Connector(id)
		if err != nil {
			g.close()
			return nil, err
		}
		cc.HTTPClient = d.metrics.instrument(id, d.opts.Transport)
		cc.Logger = d.log
		cc.Now = d.now
		c, err := connectors.New(cc)
		if err != nil {
			g.close()
			return nil, fmt.Errorf("tracker %s: %w", id, err)
		}
		g.conns[id] = c
	}
	eng, err := engine.New(EngineOptions(cfg, d.db, g.conns, d.log, d.metrics, d.now))
	if err != nil {
		g.close()
		return nil, err
	}
	g.eng, g.hooks = eng, eng.WebhookHandler()
	g.rem, err = remind.Setup(cfg, d.db, remind.SetupOptions{
		Clock: d.opts.RemindClock, Logger: d.log, Metrics: d.metrics.sent,
		Commenter: commenter(g.conns),
	})
	if err != nil {
		g.close()
		return nil, err
	}
	return g, nil
}

// EngineOptions maps a configuration to the engine's options, with the
// connectors built for each tracker id ("platform" and the customer ids).
// It is exported so that every command drives the engine the same way.
func EngineOptions(cfg *config.Config, db *store.DB, conns map[string]connectors.Connector, log *slog.Logger, m engine.Metrics, now func() time.Time) engine.Options {
	tracker := func(id string, t *config.Tracker) engine.Tracker {
		return engine.Tracker{
			Conn: conns[id], PollInterval: cfg.Sync.PollInterval,
			RequestsPerSecond: t.RequestsPerSecond, Workers: t.Workers,
		}
	}
	pt := &cfg.Platform.Tracker
	platform := tracker(config.PlatformID, pt)
	platform.Name = cfg.Platform.Name
	platform.ActionItemLabel = cfg.Platform.ActionItemLabel
	platform.KeyPattern = engine.KeyPattern(pt.Kind, pt.Project)
	if site := webSite(pt); site != "" {
		platform.InternalURLs = []string{site}
	}
	o := engine.Options{
		Store: db, Platform: platform, MarkerKey: []byte(cfg.Sync.MarkerKey.Value()),
		Workers: cfg.Sync.WorkersPerTracker, Critical: cfg.Reminders.Critical,
		DeliveryTTL: cfg.Webhooks.DeliveryTTL, Logger: log, Now: now, Metrics: m,
	}
	for i := range cfg.Customers {
		c := &cfg.Customers[i]
		ct := tracker(c.ID, &c.Tracker)
		ct.Name = c.Name
		o.Customers = append(o.Customers, engine.Customer{
			ID: c.ID, Name: c.Name, Tracker: ct,
			Share: engine.Share{
				SelectLabel: c.Share.SelectLabel, InboundLabel: c.Share.InboundLabel,
				Description: engine.DescriptionMode(c.Share.Description), CommentPrefix: c.Share.CommentPrefix,
			},
		})
	}
	return o
}

// webSite is the address prefix of the platform tracker's web pages, which
// must not cross to customers: the whole Jira site, or the repository or
// project page on GitHub and GitLab (whose hosts customers may share).
func webSite(t *config.Tracker) string {
	u := strings.TrimRight(t.URL, "/")
	switch t.Kind {
	case "jira":
		return u
	case "github":
		if u == "" || strings.EqualFold(u, "https://api.github.com") {
			u = "https://github.com"
		}
		u = strings.TrimSuffix(u, "/api/v3")
	case "gitlab":
		if u == "" {
			u = "https://gitlab.com"
		}
	default:
		return ""
	}
	return u + "/" + strings.Trim(t.Project, "/")
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

// close releases the connectors' idle connections.
func (g *generation) close() {
	for _, c := range g.conns {
		_ = c.Close()
	}
}

// commenter posts reminder comments through the generation's connectors.
type commenter map[string]connectors.Connector

// AddComment implements remind.Commenter.
func (c commenter) AddComment(ctx context.Context, trackerID, key, marker, body string) error {
	conn := c[trackerID]
	if conn == nil {
		return fmt.Errorf("reminder comment: no tracker %q", trackerID)
	}
	_, err := conn.AddComment(ctx, key, marker, body)
	return err
}
