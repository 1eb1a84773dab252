package daemon

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pmsync/pmsync/config"
	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/store"
	"github.com/pmsync/pmsync/sync/engine"
	"github.com/pmsync/pmsync/sync/remind"
)

// Metrics is the daemon's Prometheus registry and the instruments that the
// engine, the reminder service, the connectors' HTTP clients and the
// webhook intake feed. It implements engine.Metrics. No label ever holds a
// secret or item text: labels are tracker and customer ids, HTTP status
// codes, field names and fixed words.
type Metrics struct {
	Registry *prometheus.Registry

	apiRequests *prometheus.CounterVec
	apiDuration *prometheus.HistogramVec
	writes      *prometheus.CounterVec
	conflicts   *prometheus.CounterVec
	reconcile   *prometheus.HistogramVec
	polls       *prometheus.CounterVec
	lastPoll    *prometheus.GaugeVec
	digests     *prometheus.CounterVec
	webhooks    *prometheus.CounterVec
	reloads     *prometheus.CounterVec

	book       *trackerBook
	reconciles atomic.Int64

	rateMu sync.Mutex
	rates  map[string]int // last rate-limit remaining seen per tracker
}

// newMetrics registers every instrument on a fresh registry. state is
// called at each scrape for the values read from the running engine.
func newMetrics(book *trackerBook, version, commit string, state func() *scrapeState) *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry(), book: book, rates: map[string]int{}}
	f := func(c prometheus.Collector) { m.Registry.MustRegister(c) }
	m.apiRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pmsync_api_requests_total",
		Help: "HTTP requests pmsync made to a tracker's API, by tracker id and HTTP status (\"error\" when no response arrived).",
	}, []string{"tracker", "status"})
	m.apiDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "pmsync_api_request_duration_seconds",
		Help:    "Time from sending a request to a tracker's API to its response headers.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"tracker"})
	m.writes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pmsync_writes_total",
		Help: "Writes the engine made to a tracker, by tracker id and action (create, update, comment, edit_comment).",
	}, []string{"tracker", "action"})
	m.conflicts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pmsync_conflicts_total",
		Help: "Conflicts resolved (both sides changed a field that flows one way; the authoritative side won), by customer.",
	}, []string{"customer"})
	m.reconcile = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "pmsync_reconcile_duration_seconds",
		Help:    "Time to reconcile one link (read both sides, merge, write), by result (ok or error).",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"result"})
	m.polls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pmsync_polls_total",
		Help: "Incremental polls of a tracker, by tracker id and result (ok or error).",
	}, []string{"tracker", "result"})
	m.lastPoll = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "pmsync_last_successful_poll_timestamp_seconds",
		Help: "Unix time of the last successful poll of a tracker.",
	}, []string{"tracker"})
	m.digests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pmsync_digests_total",
		Help: "Digest and reminder deliveries, by kind (digest, reminder), channel (email, chat, comment) and outcome (sent, failed, unknown, skipped).",
	}, []string{"kind", "channel", "outcome"})
	m.webhooks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pmsync_webhook_requests_total",
		Help: "Webhook deliveries received, by tracker id (\"unknown\" for a path naming no tracker) and HTTP status answered.",
	}, []string{"tracker", "code"})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pmsync_config_reloads_total",
		Help: "Configuration reloads (SIGHUP), by result (ok or refused).",
	}, []string{"result"})
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "pmsync_build_info", Help: "Always 1; the labels say which pmsync runs.",
	}, []string{"version", "commit", "go_version"})
	build.WithLabelValues(version, commit, runtime.Version()).Set(1)
	for _, c := range []prometheus.Collector{m.apiRequests, m.apiDuration, m.writes, m.conflicts, m.reconcile,
		m.polls, m.lastPoll, m.digests, m.webhooks, m.reloads, build, &stateCollector{state: state},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		f(c)
	}
	return m
}

// prepare creates the series of cfg's trackers and customers at zero, so
// that they exist (and rate() works) before the first event.
func (m *Metrics) prepare(cfg *config.Config) {
	for _, id := range cfg.TrackerIDs() {
		for _, a := range []string{engine.ActionCreate, engine.ActionUpdate, engine.ActionComment, engine.ActionEditComment} {
			m.writes.WithLabelValues(id, a)
		}
		m.polls.WithLabelValues(id, "ok")
		m.polls.WithLabelValues(id, "error")
	}
	for _, c := range cfg.Customers {
		m.conflicts.WithLabelValues(c.ID)
	}
	for _, o := range []remind.Outcome{remind.OutcomeSent, remind.OutcomeFailed} {
		for _, ch := range []string{"email", "chat"} {
			m.digests.WithLabelValues("digest", ch, string(o))
		}
		m.digests.WithLabelValues("reminder", "comment", string(o))
	}
	for _, r := range []string{"ok", "error"} {
		m.reconcile.WithLabelValues(r)
	}
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// Write implements engine.Metrics.
func (m *Metrics) Write(tracker, action string) { m.writes.WithLabelValues(tracker, action).Inc() }

// Conflict implements engine.Metrics.
func (m *Metrics) Conflict(customer string, _ engine.Field) {
	m.conflicts.WithLabelValues(customer).Inc()
}

// Reconciled implements engine.Metrics.
func (m *Metrics) Reconciled(_ string, took time.Duration, err error) {
	m.reconciles.Add(1)
	m.reconcile.WithLabelValues(result(err)).Observe(took.Seconds())
}

// reconciled returns how many reconciles finished since the start.
func (m *Metrics) reconciled() float64 { return float64(m.reconciles.Load()) }

// Polled implements engine.Metrics: it counts the poll and records it for
// readiness and the dashboard.
func (m *Metrics) Polled(tracker string, _ int, err error) {
	m.polls.WithLabelValues(tracker, result(err)).Inc()
	if at, ok := m.book.polled(tracker, err); ok {
		m.lastPoll.WithLabelValues(tracker).Set(float64(at.UnixNano()) / 1e9)
	}
}

// sent is the reminder service's metrics hook.
func (m *Metrics) sent(kind, channel string, o remind.Outcome) {
	m.digests.WithLabelValues(kind, channel, string(o)).Inc()
}

var _ engine.Metrics = (*Metrics)(nil)

func result(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

// errCutOff is the error of a tracker request refused or cancelled because
// the daemon is shutting down and its drain time is over.
var errCutOff = errors.New("pmsync is shutting down: request to the tracker cut off")

// instrument returns an http.Client for tracker id whose requests are
// counted by status and timed. base is the transport underneath (nil:
// http.DefaultTransport's settings on a transport of its own). Once cut
// ends, requests in flight are cancelled and new ones fail at once.
func (m *Metrics) instrument(id string, base http.RoundTripper, cut context.Context) *http.Client {
	if base == nil {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &countingTransport{base: base, id: id, m: m, cut: cut}}
}

// countingTransport counts and times every request to one tracker.
type countingTransport struct {
	base http.RoundTripper
	id   string
	m    *Metrics
	cut  context.Context
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.cut.Err() != nil {
		return nil, errCutOff
	}
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(t.cut, cancel)
	release := func() { stop(); cancel() }
	start := time.Now()
	resp, err := t.base.RoundTrip(r.WithContext(ctx))
	status := "error"
	if err == nil {
		status = strconv.Itoa(resp.StatusCode)
		t.m.noteRate(t.id, resp.Header)
		resp.Body = &releasingBody{ReadCloser: resp.Body, release: release}
	} else {
		release()
		if t.cut.Err() != nil {
			err = errCutOff
		}
	}
	t.m.apiRequests.WithLabelValues(t.id, status).Inc()
	t.m.apiDuration.WithLabelValues(t.id).Observe(time.Since(start).Seconds())
	return resp, err
}

// releasingBody ends a request's cut-off watch when its body is closed.
type releasingBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

// noteRate remembers the rate-limit budget a response reports: GitHub and
// Jira Cloud send X-RateLimit-Remaining, GitLab RateLimit-Remaining.
func (m *Metrics) noteRate(id string, h http.Header) {
	v := h.Get("X-RateLimit-Remaining")
	if v == "" {
		v = h.Get("RateLimit-Remaining")
	}
	n, err := strconv.Atoi(v)
	if v == "" || err != nil || n < 0 {
		return
	}
	m.rateMu.Lock()
	m.rates[id] = n
	m.rateMu.Unlock()
}

// rateRemaining returns the last budget tracker id reported, -1 if none.
func (m *Metrics) rateRemaining(id string) int {
	m.rateMu.Lock()
	defer m.rateMu.Unlock()
	if n, ok := m.rates[id]; ok {
		return n
	}
	return -1
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// transport underneath.
// WithTLS returns a copy of t over a base that trusts roots (a tracker's
// ca_file), so that the connector keeps counting through it
// (connectors.TLSTransport); false when the base cannot take them.
func (t *countingTransport) WithTLS(roots *x509.CertPool) (http.RoundTripper, bool) {
	base, ok := connectors.WithTLS(t.base, roots)
	if !ok {
		return nil, false
	}
	c := *t
	c.base = base
	return &c, true
}

func (t *countingTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// scrapeState is what the state collector reads at each scrape.
type scrapeState struct {
	status   engine.Status
	rates    map[string]connectors.RateState
	now      time.Time
	ready    bool
	db       *store.DB
	trackers []string
}

var (
	descRate      = prometheus.NewDesc("pmsync_rate_limit_remaining", "Requests left in the tracker's current rate-limit window; -1 when the tracker has not said.", []string{"tracker"}, nil)
	descBlocked   = prometheus.NewDesc("pmsync_rate_limit_blocked_seconds", "Seconds until pmsync may send requests to the tracker again (Retry-After, rate-limit reset); 0 when not held back.", []string{"tracker"}, nil)
	descQueue     = prometheus.NewDesc("pmsync_queue_depth", "Links waiting to be reconciled, over all customers.", nil, nil)
	descLinks     = prometheus.NewDesc("pmsync_links", "Links per customer and state (active, unshared, broken).", []string{"customer", "state"}, nil)
	descBroken    = prometheus.NewDesc("pmsync_broken_links", "Links of a customer that are broken (a side deleted or inaccessible) and need a person.", []string{"customer"}, nil)
	descCritical  = prometheus.NewDesc("pmsync_open_critical_items", "Open critical items of a customer, by the owner's status.", []string{"customer"}, nil)
	descLinkErr   = prometheus.NewDesc("pmsync_link_errors", "Links of a customer whose last reconcile failed.", []string{"customer"}, nil)
	descIntents   = prometheus.NewDesc("pmsync_open_intents", "Mirror creations started and not yet recorded (normally 0 between syncs).", nil, nil)
	descReady     = prometheus.NewDesc("pmsync_ready", "1 when /readyz answers ready.", nil, nil)
	descStoreSize = prometheus.NewDesc("pmsync_store_file_bytes", "Size of the bbolt file.", nil, nil)
)

// stateCollector reads the running engine at scrape time.
type stateCollector struct{ state func() *scrapeState }

// Describe implements prometheus.Collector.
func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRate, descBlocked, descQueue, descLinks, descBroken, descCritical, descLinkErr, descIntents, descReady, descStoreSize} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.state()
	if s == nil {
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, id := range s.trackers {
		rs, ok := s.rates[id]
		remaining := -1
		if ok {
			remaining = rs.Remaining
		}
		gauge(descRate, float64(remaining), id)
		blocked := 0.0
		if ok && rs.BlockedUntil.After(s.now) {
			blocked = rs.BlockedUntil.Sub(s.now).Seconds()
		}
		gauge(descBlocked, blocked, id)
	}
	gauge(descQueue, float64(s.status.QueueDepth))
	gauge(descIntents, float64(s.status.Intents))
	for _, cs := range s.status.Customers {
		gauge(descLinks, float64(cs.Active), cs.ID, string(store.LinkActive))
		gauge(descLinks, float64(cs.Unshared), cs.ID, string(store.LinkUnshared))
		gauge(descLinks, float64(cs.Broken), cs.ID, string(store.LinkBroken))
		gauge(descBroken, float64(cs.Broken), cs.ID)
		gauge(descCritical, float64(cs.OpenCritical), cs.ID)
		gauge(descLinkErr, float64(cs.Errors), cs.ID)
	}
	ready := 0.0
	if s.ready {
		ready = 1
	}
	gauge(descReady, ready)
	if s.db != nil {
		if fi, err := os.Stat(s.db.Path()); err == nil {
			gauge(descStoreSize, float64(fi.Size()))
		} else if !errors.Is(err, os.ErrNotExist) {
			gauge(descStoreSize, -1)
		}
	}
}
