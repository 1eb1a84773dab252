package daemon

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pmsync/pmsync/config"
	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/sync/dashboard"
	"github.com/pmsync/pmsync/sync/engine"
	"github.com/pmsync/pmsync/sync/remind"
)

// routes is the daemon's one HTTP handler:
//
//	/webhooks/<tracker-id>  the engine's webhook intake (authenticated per tracker)
//	/healthz                200 while the process serves
//	/readyz                 200 when the store is open and every tracker polled recently, else 503
//	/metrics                Prometheus metrics
//	/admin/backup           a consistent copy of the store (only with a token)
//	/admin/report           a customer's monthly review report (see ReportPath)
//	/admin/digest           a preview of a digest (see DigestPath)
//	/                       the dashboard
//
// With a token configured, every path but /healthz, /readyz and
// /webhooks/… needs "Authorization: Bearer <token>".
func (d *Daemon) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(engine.WebhookPath, http.HandlerFunc(d.serveWebhook))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) { d.readiness().write(w) })
	mux.Handle("/metrics", d.requireToken(d.metrics.Handler()))
	mux.Handle("/admin/backup", d.requireToken(http.HandlerFunc(d.serveBackup)))
	mux.Handle(ReportPath, d.requireToken(http.HandlerFunc(d.serveReport)))
	mux.Handle(DigestPath, d.requireToken(http.HandlerFunc(d.serveDigest)))
	dash := dashboard.NewHandler(d.db, d.dashboardInput, d.log)
	mux.Handle("/", d.requireToken(dash))
	return mux
}

// requireToken wraps h with the bearer-token check when a token is set.
func (d *Daemon) requireToken(h http.Handler) http.Handler {
	if d.token == nil {
		return h
	}
	want := sha256.Sum256(d.token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		sum := sha256.Sum256([]byte(got))
		if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 || !strings.EqualFold(scheme, "Bearer") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pmsync"`)
			http.Error(w, "unauthorized: send Authorization: Bearer <http.token>", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// serveBackup streams a hot backup of the store (bbolt's Tx.WriteTo in
// one read transaction, so it is consistent while syncing goes on). It
// holds every customer's data, so it is served only when http.token is
// set, even on loopback.
func (d *Daemon) serveBackup(w http.ResponseWriter, r *http.Request) {
	if d.token == nil {
		http.Error(w, "backups over HTTP need http.token; without one, stop pmsync and run 'pmsync store backup FILE'", http.StatusForbidden)
		return
	}
	if !getOnly(w, r) {
		return
	}
	// A large store takes longer than the server's write timeout.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="pmsync-`+d.now().UTC().Format("20060102T150405Z")+`.db"`)
	w.Header().Set("Cache-Control", "no-store")
	start := time.Now()
	n, err := d.db.Backup(w)
	if err != nil {
		d.log.Error("backup over HTTP failed; the copy sent is incomplete", "err", err, "bytes", n)
		panic(http.ErrAbortHandler) // cut the connection: the client must not keep a truncated file
	}
	d.log.Info("backup sent", "bytes", n, "took", time.Since(start).Round(time.Millisecond))
}

// serveWebhook hands a delivery to the current engine and counts the answer.
func (d *Daemon) serveWebhook(w http.ResponseWriter, r *http.Request) {
	g := d.cur.Load()
	id := strings.TrimPrefix(r.URL.Path, engine.WebhookPath)
	label := "unknown"
	if g.has(id) {
		label = id
	}
	rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
	g.hooks.ServeHTTP(rec, r)
	d.metrics.webhooks.WithLabelValues(label, strconv.Itoa(rec.code)).Inc()
}

// statusRecorder remembers the status code a handler answered.
type statusRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.code, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// readiness checks the store and every tracker of the running config.
func (d *Daemon) readiness() readiness {
	g := d.cur.Load()
	_, storeErr := d.db.Watermark(config.PlatformID)
	return d.book.check(g.cfg.TrackerIDs(), g.cfg.Sync.PollInterval, storeErr)
}

// scrape gathers the state the metrics read at each scrape.
func (d *Daemon) scrape() *scrapeState {
	g := d.cur.Load()
	if g == nil {
		return nil
	}
	s := &scrapeState{status: d.status(g), rates: map[string]connectors.RateState{}, now: d.now(),
		ready: d.readiness().Ready(), db: d.db, trackers: g.cfg.TrackerIDs()}
	for _, ts := range s.status.Trackers {
		s.rates[ts.ID] = connectors.RateState{Remaining: d.metrics.rateRemaining(ts.ID), BlockedUntil: ts.BlockedUntil}
	}
	return s
}

// dashboardInput is what the dashboard shows besides the links.
func (d *Daemon) dashboardInput() dashboard.Input {
	g := d.cur.Load()
	cfg := g.cfg
	rd := d.readiness()
	ready := map[string]bool{}
	for _, t := range rd.Trackers {
		ready[t.ID] = t.Ready
	}
	refresh := d.opts.DashboardRefresh
	if refresh < 0 {
		refresh = 0
	}
	st := d.status(g)
	blocked := map[string]time.Time{}
	for _, ts := range st.Trackers {
		blocked[ts.ID] = ts.BlockedUntil
	}
	in := dashboard.Input{
		Title: "pmsync", PlatformName: cfg.Platform.Name, Policy: remind.PolicyFrom(cfg.Reminders),
		QueueDepth: st.QueueDepth, Ready: rd.Ready(), Refresh: refresh, Now: d.now(),
	}
	for _, c := range cfg.Customers {
		in.Customers = append(in.Customers, dashboard.Customer{ID: c.ID, Name: c.Name, Kind: c.Tracker.Kind})
	}
	for _, id := range cfg.TrackerIDs() {
		t, _ := cfg.Tracker(id)
		r := d.book.get(id)
		name := cfg.Platform.Name
		if cu, ok := cfg.Customer(id); ok {
			name = cu.Name
		}
		in.Trackers = append(in.Trackers, dashboard.Tracker{
			ID: id, Name: name, Kind: t.Kind, LastPoll: r.LastPoll, LastSuccess: r.LastSuccess, LastError: r.LastError,
			Polls: r.Polls, Failures: r.Failures, RateRemaining: d.metrics.rateRemaining(id), BlockedUntil: blocked[id], Ready: ready[id],
		})
	}
	return in
}

// statusTTL is how long one engine status serves /metrics, the dashboard
// and the progress log: the engine reads every link to make one.
const statusTTL = 2 * time.Second

// status returns the engine status of g, at most statusTTL old.
func (d *Daemon) status(g *generation) engine.Status {
	d.statusMu.Lock()
	defer d.statusMu.Unlock()
	if d.statusGen == g && time.Since(d.statusAt) < statusTTL {
		return d.statusVal
	}
	d.statusVal, d.statusGen, d.statusAt = g.eng.Status(), g, time.Now()
	return d.statusVal
}
