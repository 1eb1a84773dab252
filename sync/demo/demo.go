package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/pmsync/pmsync/config"
	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/sync/daemon"
	"github.com/pmsync/pmsync/sync/remind"
)

// DefaultListen is where the demo's dashboard is served when the port is
// free; otherwise a free port is taken.
const DefaultListen = "127.0.0.1:8080"

// Options configure the demo. The zero value is `pmsync demo`.
type Options struct {
	// Out receives the story in plain words; nil discards it.
	Out io.Writer
	// Logger receives pmsync's own log (one line per write); nil discards.
	Logger *slog.Logger
	// Dir holds the bbolt file and the generated configuration; "" means a
	// new temporary directory, removed by Close.
	Dir string
	// Listen is the dashboard's address; "" tries DefaultListen, then any
	// free port of 127.0.0.1.
	Listen string
	// Poll is the poll interval; default 2 s.
	Poll time.Duration
	// StepTimeout bounds each step of the story; default 20 s.
	StepTimeout time.Duration
	// Webhooks off leaves every change to the pollers.
	NoWebhooks bool
	// Version and Commit label the daemon's build-info metric.
	Version, Commit string
}

// Demo is a running demo: the simulators and a real daemon over them.
type Demo struct {
	opts   Options
	dir    string
	ownDir bool
	sims   *Simulators
	cfg    *config.Config
	daemon *daemon.Daemon
	stop   context.CancelFunc
	conns  map[string]connectors.Connector // observers: read the trackers as a person would
}

// Start starts the simulators and the daemon over them; nothing is seeded
// yet. Close stops everything.
func Start(ctx context.Context, o Options) (*Demo, error) {
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	if o.StepTimeout <= 0 {
		o.StepTimeout = 20 * time.Second
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	d := &Demo{opts: o, dir: o.Dir, conns: map[string]connectors.Connector{}}
	if d.dir == "" {
		dir, err := os.MkdirTemp("", "pmsync-demo-")
		if err != nil {
			return nil, fmt.Errorf("demo: make a temporary directory: %w", err)
		}
		d.dir, d.ownDir = dir, true
	}
	if err := d.start(ctx); err != nil {
		_ = d.Close()
		return nil, err
	}
	return d, nil
}

func (d *Demo) start(ctx context.Context) error {
	ln, err := listen(d.opts.Listen)
	if err != nil {
		return err
	}
	hooks := "http://" + ln.Addr().String()
	if d.opts.NoWebhooks {
		hooks = ""
	}
	if d.sims, err = StartSimulators(hooks); err != nil {
		_ = ln.Close()
		return err
	}
	if d.cfg, err = writeConfig(d.dir, ln.Addr().String(), d.sims, d.opts.Poll); err != nil {
		_ = ln.Close()
		return err
	}
	for _, id := range d.cfg.TrackerIDs() {
		cc, err := d.cfg.Connector(id)
		if err != nil {
			_ = ln.Close()
			return err
		}
		cc.HTTPClient = &http.Client{Timeout: 10 * time.Second}
		if d.conns[id], err = connectors.New(cc); err != nil {
			_ = ln.Close()
			return fmt.Errorf("demo: observer of %s: %w", id, err)
		}
	}
	d.daemon, err = daemon.New(daemon.Options{
		Config: d.cfg, Logger: d.opts.Logger, Listener: ln, DashboardRefresh: 3,
		Version: d.opts.Version, Commit: d.opts.Commit, ProgressEvery: 5 * time.Second,
	})
	if err != nil {
		_ = ln.Close()
		return err
	}
	dctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	d.stop = stop
	if err := d.daemon.Start(dctx); err != nil {
		_ = ln.Close()
		return err
	}
	return nil
}

// listen binds addr, or DefaultListen and then a free port when addr is "".
func listen(addr string) (net.Listener, error) {
	if addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("demo: listen on %s: %w", addr, err)
		}
		return ln, nil
	}
	if ln, err := net.Listen("tcp", DefaultListen); err == nil {
		return ln, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo: listen on 127.0.0.1: %w", err)
	}
	return ln, nil
}

// URL is the dashboard's address.
func (d *Demo) URL() string { return d.daemon.URL() + "/" }

// Dir is where the bbolt file and the generated pmsync.yaml are.
func (d *Demo) Dir() string { return d.dir }

// Daemon is the running daemon.
func (d *Demo) Daemon() *daemon.Daemon { return d.daemon }

// Simulators are the running tracker simulators.
func (d *Demo) Simulators() *Simulators { return d.sims }

// Play seeds the incident and plays the story; it returns nil only if
// every step reached its expected state, else an error naming the first
// that did not.
func (d *Demo) Play(ctx context.Context) error {
	sd, err := seed(ctx, d.sims, time.Now())
	if err != nil {
		return err
	}
	return d.play(ctx, d.story(sd))
}

// digest builds the digest of audience customer as of now, covering the
// last week.
func (d *Demo) digest(ctx context.Context, customer string) (*remind.Digest, error) {
	b := remind.BuilderFrom(d.cfg, d.daemon.Store())
	now := time.Now()
	return b.Digest(ctx, remind.Audience{Customer: customer}, now.AddDate(0, 0, -7), now)
}

// Digest renders customer's digest as plain text.
func (d *Demo) Digest(ctx context.Context, customer string) (string, error) {
	dg, err := d.digest(ctx, customer)
	if err != nil {
		return "", err
	}
	b, err := dg.Render(remind.FormatText)
	return string(b), err
}

// Close stops the daemon (closing its store), the simulators and the
// observers, and removes the temporary directory the demo made.
func (d *Demo) Close() error {
	var errs []error
	if d.stop != nil {
		d.stop()
		errs = append(errs, d.daemon.Wait())
	}
	for _, c := range d.conns {
		_ = c.Close()
	}
	if d.sims != nil {
		d.sims.Close()
	}
	if d.ownDir {
		errs = append(errs, os.RemoveAll(d.dir))
	}
	return errors.Join(errs...)
}

func (d *Demo) say(format string, a ...any) { fmt.Fprintf(d.opts.Out, format, a...) }

// Run is `pmsync demo`: it starts everything, plays the story, prints the
// dashboard's address and JaneCorp's digest, and serves until ctx ends.
// With scriptOnly it returns after the story: nil only if every expected
// state was reached.
func Run(ctx context.Context, o Options, scriptOnly bool) (err error) {
	d, err := Start(ctx, o)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, d.Close()) }()
	d.say("pmsync demo: Example Cloud's platform tracker (Jira Data Center) and two customers,\n")
	d.say("JaneCorp (GitHub) and Acme Analytics (GitLab), all simulated on 127.0.0.1.\n")
	d.say("Dashboard: %s   (store and config in %s)\n", d.URL(), d.dir)
	if err := d.Play(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	text, err := d.Digest(ctx, "janecorp")
	if err != nil {
		return err
	}
	d.say("\nEvery expected state was reached. JaneCorp's weekly digest would read:\n\n%s\n", indent(text))
	if scriptOnly {
		return nil
	}
	d.say("The dashboard is at %s — the daemon keeps running against the simulators.\n", d.URL())
	d.say("Configuration: %s. Press Ctrl-C to stop.\n", d.dir+"/pmsync.yaml")
	<-ctx.Done()
	d.say("\nStopping: the daemon finishes its work in flight and closes the store.\n")
	return nil
}

func indent(s string) string {
	out := []byte("    ")
	for i := 0; i < len(s); i++ {
		out = append(out, s[i])
		if s[i] == '\n' && i+1 < len(s) {
			out = append(out, "    "...)
		}
	}
	return string(out)
}
