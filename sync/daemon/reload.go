package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pmsync/pmsync/config"
)

// ErrNotRunning is returned by Reload before Start or after shutdown.
var ErrNotRunning = errors.New("daemon: not running")

// Reload reads the configuration again (Options.Load) and, if it is valid
// and can be applied without a restart, replaces the running engine and
// reminder schedules with ones built from it: the old ones stop taking new
// work and finish what is in flight, then the new ones start. The store,
// the listener and the metrics stay. A configuration that fails to load or
// validate, or that changes store.path, http.listen or http.token, is
// refused: it is logged, counted in pmsync_config_reloads_total, and the
// running configuration stays in force.
func (d *Daemon) Reload() error {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	err := d.reload()
	if err != nil {
		d.metrics.reloads.WithLabelValues("refused").Inc()
		d.log.Error("configuration reload refused; the running configuration stays in force", "err", err)
		return err
	}
	d.metrics.reloads.WithLabelValues("ok").Inc()
	return nil
}

func (d *Daemon) reload() error {
	old := d.cur.Load()
	if old == nil || d.isDone() {
		return ErrNotRunning
	}
	if d.opts.Load == nil {
		return errors.New("daemon: reload: no way to read the configuration again")
	}
	start := time.Now()
	cfg, err := d.opts.Load()
	if err != nil {
		return err
	}
	if err := applicable(old.cfg, cfg); err != nil {
		return err
	}
	g, err := d.build(cfg)
	if err != nil {
		return fmt.Errorf("reload %s: %w", cfg.File, err)
	}
	old.stop()
	old.close()
	d.cur.Store(g)
	g.start(d)
	if d.opts.LevelVar != nil {
		d.opts.LevelVar.Set(cfg.Log.SlogLevel())
	}
	d.log.Info("configuration reloaded", "file", cfg.File, "customers", len(cfg.Customers),
		"took", time.Since(start).Round(time.Millisecond))
	return nil
}

// applicable refuses changes that need a restart.
func applicable(old, cfg *config.Config) error {
	switch {
	case old.Store.Path != cfg.Store.Path:
		return fmt.Errorf("reload: store.path changed (%s → %s); restart pmsync to use another store", old.Store.Path, cfg.Store.Path)
	case old.HTTP.Listen != cfg.HTTP.Listen:
		return fmt.Errorf("reload: http.listen changed (%s → %s); restart pmsync to listen elsewhere", old.HTTP.Listen, cfg.HTTP.Listen)
	case old.HTTP.Token.Value() != cfg.HTTP.Token.Value():
		return errors.New("reload: http.token changed; restart pmsync to use the new token")
	case old.Log.Format != cfg.Log.Format:
		return fmt.Errorf("reload: log.format changed (%s → %s); restart pmsync to change the log format", old.Log.Format, cfg.Log.Format)
	}
	return nil
}

func (d *Daemon) isDone() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// progress logs how a long sync advances: while links wait in the queue
// for longer than one ProgressEvery, it logs every ProgressEvery how many
// were reconciled since the queue last was empty, out of how many, and
// once more when the queue is empty again. While nothing is reconciled it
// does not even look at the queue (the engine's status reads every link).
func (d *Daemon) progress(ctx context.Context) {
	t := time.NewTicker(d.opts.ProgressEvery)
	defer t.Stop()
	var busy bool
	var base, last float64
	var started time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		g := d.cur.Load()
		done := d.metrics.reconciled()
		if g == nil || (!busy && done == last) {
			continue
		}
		last = done
		depth := d.status(g).QueueDepth
		switch {
		case depth > 0 && !busy:
			busy, base, started = true, done, time.Now()
		case depth > 0:
			n := int(done - base)
			d.log.Info("sync in progress", "done", n, "total", n+depth, "elapsed", time.Since(started).Round(time.Second))
		case busy:
			busy = false
			if n := int(done - base); n > 0 {
				d.log.Info("sync caught up", "done", n, "took", time.Since(started).Round(time.Second))
			}
		}
	}
}
