package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pmsync/pmsync/config"
	"github.com/pmsync/pmsync/store"
	"github.com/pmsync/pmsync/sync/engine"
	"github.com/pmsync/pmsync/sync/remind"
)

// DefaultShutdownTimeout bounds how long the HTTP server waits for
// requests in flight at shutdown.
const DefaultShutdownTimeout = 10 * time.Second

// DefaultDrainTimeout bounds how long shutdown waits for the reconciles and
// deliveries in flight before it closes the store anyway. It is below
// Kubernetes' default grace period of 30 s, so the store is closed by pmsync
// rather than the process killed.
const DefaultDrainTimeout = 20 * time.Second

// Options configure a Daemon. Config is required.
type Options struct {
	// Config is the validated configuration to start with.
	Config *config.Config
	// Load reads the configuration again for Reload (SIGHUP); nil makes
	// Reload fail.
	Load func() (*config.Config, error)
	// Logger receives every log line; LevelVar, when set, is the level of
	// its handler and follows log.level on reload.
	Logger   *slog.Logger
	LevelVar *slog.LevelVar
	// Listener, when set, is used instead of listening on http.listen
	// (tests and the demo pass a listener on a free port).
	Listener net.Listener
	// Transport is the HTTP transport under every connector's client; nil
	// means a clone of http.DefaultTransport per tracker.
	Transport http.RoundTripper
	// Store configures opening the bbolt file (Logger and Now are filled
	// in from these options when unset).
	Store store.Options
	// Now is the clock; nil means time.Now. RemindClock is the reminder
	// scheduler's clock; nil means the system clock.
	Now         func() time.Time
	RemindClock remind.Clock
	// Version and Commit label pmsync_build_info.
	Version, Commit string
	// DashboardRefresh is how often the dashboard reloads itself, in
	// seconds; 0 means 30, negative means never.
	DashboardRefresh int
	// ShutdownTimeout bounds the wait for HTTP requests in flight at
	// shutdown; default DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// DrainTimeout bounds the wait for the engine's and the reminders'
	// work in flight at shutdown; default DefaultDrainTimeout. Work not
	// finished by then is cut off by closing the store: every write to a
	// tracker is preceded by a durable intent, so the next start finishes
	// it without duplicates.
	DrainTimeout time.Duration
	// ProgressEvery is how often progress of a long sync is logged;
	// default 10 s.
	ProgressEvery time.Duration
}

// Daemon is pmsync serve: the engine, the reminder schedules and the HTTP
// listener in one process, over one store.
type Daemon struct {
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	book    *trackerBook
	metrics *Metrics
	token   []byte // bearer token; nil when none is configured

	db  *store.DB
	srv *http.Server
	ln  net.Listener

	// cutCtx ends when shutdown gives up waiting for work in flight: every
	// tracker request still running is cancelled then (see instrument).
	cutCtx context.Context
	cut    context.CancelFunc

	statusMu  sync.Mutex // guards the cached engine status (see status)
	statusVal engine.Status
	statusGen *generation
	statusAt  time.Time

	cur      atomic.Pointer[generation]
	reloadMu sync.Mutex // one reload (or shutdown) at a time

	startOnce sync.Once
	started   bool
	done      chan struct{}
	err       error
}

// New checks o and returns a daemon that is not started.
func New(o Options) (*Daemon, error) {
	if o.Config == nil {
		return nil, errors.New("daemon: Options.Config is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 10 * time.Second
	}
	if o.DashboardRefresh == 0 {
		o.DashboardRefresh = 30
	}
	if o.Store.Logger == nil {
		o.Store.Logger = o.Logger
	}
	if o.Store.Now == nil {
		o.Store.Now = o.Now
	}
	if err := checkListen(o.Config); err != nil {
		return nil, err
	}
	d := &Daemon{opts: o, log: o.Logger, now: o.Now, done: make(chan struct{})}
	d.cutCtx, d.cut = context.WithCancel(context.Background())
	d.book = newTrackerBook(o.Now)
	d.metrics = newMetrics(d.book, o.Version, o.Commit, d.scrape)
	if tok := o.Config.HTTP.Token.Value(); tok != "" {
		d.token = []byte(tok)
	}
	return d, nil
}

// checkListen refuses to serve a non-loopback address without a token,
// even if the configuration was built without validation.
func checkListen(cfg *config.Config) error {
	host, _, err := net.SplitHostPort(cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("daemon: http.listen %q: %w", cfg.HTTP.Listen, err)
	}
	if !config.Loopback(host) && cfg.HTTP.Token.Value() == "" {
		return fmt.Errorf("daemon: http.listen %s is not a loopback address and http.token is not set", cfg.HTTP.Listen)
	}
	return nil
}

// Metrics returns the daemon's metrics (its registry, for tests).
func (d *Daemon) Metrics() *Metrics { return d.metrics }

// Addr is the address the HTTP listener is bound to; "" before Start.
func (d *Daemon) Addr() string {
	if d.ln == nil {
		return ""
	}
	return d.ln.Addr().String()
}

// URL is the base URL of the HTTP listener ("http://127.0.0.1:8080").
func (d *Daemon) URL() string { return "http://" + d.Addr() }

// Store returns the open store (nil before Start).
func (d *Daemon) Store() *store.DB { return d.db }

// Run starts the daemon and blocks until ctx ends and it has shut down.
func (d *Daemon) Run(ctx context.Context) error {
	if err := d.Start(ctx); err != nil {
		return err
	}
	return d.Wait()
}

// Start opens the store, builds the engine and reminders from the
// configuration, binds the listener and starts everything, then returns.
// When ctx ends the daemon shuts down: it stops taking HTTP requests,
// lets the reconciles and deliveries in flight finish, and closes the store.
// Wait returns once that is done.
func (d *Daemon) Start(ctx context.Context) error {
	var err error
	d.startOnce.Do(func() { err = d.start(ctx) })
	return err
}

func (d *Daemon) start(ctx context.Context) error {
	cfg := d.opts.Config
	db, err := store.Open(cfg.Store.Path, d.opts.Store)
	if err != nil {
		return err
	}
	d.db = db
	g, err := d.build(cfg)
	if err != nil {
		_ = db.Close()
		return fmt.Errorf("daemon: %w", err)
	}
	ln := d.opts.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.HTTP.Listen); err != nil {
			g.close()
			_ = db.Close()
			return fmt.Errorf("daemon: listen on %s: %w", cfg.HTTP.Listen, err)
		}
	}
	d.ln = ln
	d.srv = &http.Server{
		Handler:           d.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelDebug),
	}
	d.cur.Store(g)
	g.start(d)
	d.started = true
	go func() {
		if err := d.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("HTTP listener failed", "err", err)
		}
	}()
	progressCtx, stopProgress := context.WithCancel(context.Background())
	go d.progress(progressCtx)
	d.log.Info("pmsync serving", "listen", d.Addr(), "store", cfg.Store.Path,
		"customers", len(cfg.Customers), "poll_interval", cfg.Sync.PollInterval, "auth", d.token != nil)
	go func() {
		<-ctx.Done()
		stopProgress()
		d.err = d.shutdown()
		close(d.done)
	}()
	return nil
}

// Wait blocks until the daemon has shut down and returns the first error of
// the shutdown. It returns at once if Start failed or was not called.
func (d *Daemon) Wait() error {
	if !d.started {
		return nil
	}
	<-d.done
	return d.err
}

// Done is closed once the daemon has shut down.
func (d *Daemon) Done() <-chan struct{} { return d.done }

// shutdown stops in order: HTTP intake, the engine and reminders (their
// work in flight finishes), the connectors, the store.
func (d *Daemon) shutdown() error {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	d.log.Info("shutting down: finishing work in flight")
	ctx, cancel := context.WithTimeout(context.Background(), d.opts.ShutdownTimeout)
	defer cancel()
	var errs []error
	if err := d.srv.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("daemon: stop HTTP server: %w", err))
		_ = d.srv.Close()
	}
	if g := d.cur.Load(); g != nil {
		g.cancel()
		if !waitFor(g.done, d.opts.DrainTimeout) {
			// Cancel every tracker request still running; a create whose
			// answer is lost this way is found by its marker at the next
			// start, because its intent is already in the store.
			d.log.Warn("work in flight did not finish in time; cutting off the requests still running",
				"waited", d.opts.DrainTimeout)
			d.cut()
			if !waitFor(g.done, cutOffWait) {
				// Reconciles still waiting (a create pacer, a backoff) can no
				// longer reach a tracker, and the store closes below.
				d.log.Warn("the engine is still winding down; it can no longer reach a tracker or the store")
			}
		}
		g.close()
	}
	if err := d.db.Close(); err != nil {
		errs = append(errs, err)
	} else {
		d.log.Info("store closed", "store", d.db.Path())
	}
	d.cut()
	d.log.Info("pmsync stopped")
	return errors.Join(errs...)
}

// cutOffWait is how long shutdown waits for the engine once its requests
// are cut off (each reconcile then fails at its next request).
const cutOffWait = 2 * time.Second

// waitFor waits until done is closed or d passes; it reports which.
func waitFor(done <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
