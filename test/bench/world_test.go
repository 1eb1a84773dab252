package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/jira/jirafake"
	"github.com/pmsync/pmsync/store"
	"github.com/pmsync/pmsync/sync/engine"
	"github.com/pmsync/pmsync/test/reliability"
)

// trackers lists the platform and the three customers (GitHub, GitLab,
// Jira Cloud) in report order.
var trackers = []string{engine.PlatformID, reliability.JaneCorp, reliability.Acme, reliability.Globex}

// kindOf names a tracker's simulator for reports.
var kindOf = map[string]string{
	engine.PlatformID:    "jira-dc-platform",
	reliability.JaneCorp: "github",
	reliability.Acme:     "gitlab",
	reliability.Globex:   "jira-cloud",
}

// world is an engine over the three simulators, on a fresh store.
type world struct {
	sims  *reliability.Sims
	conns map[string]connectors.Connector
	db    *store.DB
	e     *engine.Engine
	m     *meter
	rec   *reliability.Recorder // every request the engine's connectors send
	span  *spanRT               // when each tracker's first and last request ended
}

// newWorld starts the simulators and an engine with 8 requests in flight
// per tracker and no token bucket (the simulators' latency is the only
// brake). custom may build connectors of its own by tracker id (nil: the
// simulator's default connector); tune edits the options before
// engine.New.
func newWorld(tb testing.TB, so reliability.SimOptions, custom func(w *world, id string) connectors.Connector, tune func(*engine.Options)) *world {
	tb.Helper()
	sims := reliability.StartSims(tb, so)
	w := &world{sims: sims, conns: map[string]connectors.Connector{}, m: newMeter(sims)}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	w.span = newSpanRT(tr, sims)
	w.rec = reliability.NewRecorder(w.span, sims)
	for _, id := range trackers {
		if custom != nil {
			if c := custom(w, id); c != nil {
				w.conns[id] = c
				tb.Cleanup(func() { _ = c.Close() })
				continue
			}
		}
		w.conns[id] = sims.Trackers[id].Conn(tb, w.client(), reliability.Discard)
	}
	db, err := store.Open(filepath.Join(tb.TempDir(), "pmsync.db"), store.Options{NoSync: true})
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	o := sims.EngineOptions(w.conns)
	o.Store, o.Workers, o.Metrics, o.Logger = db, 8, w.m, reliability.Discard
	if path := os.Getenv("PMSYNC_BENCH_LOG"); path != "" {
		// The engine's log, for finding out where time goes.
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			tb.Fatalf("PMSYNC_BENCH_LOG: %v", err)
		}
		tb.Cleanup(func() { _ = f.Close() })
		o.Logger = slog.New(slog.NewTextHandler(f, nil))
	}
	if tune != nil {
		tune(&o)
	}
	e, err := engine.New(o)
	if err != nil {
		tb.Fatalf("engine.New: %v", err)
	}
	w.db, w.e = db, e
	return w
}

// client is an HTTP client whose requests w.rec records.
func (w *world) client() *http.Client {
	return &http.Client{Transport: w.rec, Timeout: 30 * time.Second}
}

// calls returns "METHOD path" of the requests to each tracker from the
// given counts on (a snapshot of lens taken earlier).
func (w *world) calls(from map[string]int) map[string][]string {
	out := map[string][]string{}
	for id, rs := range w.rec.Requests() {
		for _, r := range rs[from[id]:] {
			u := r.URL
			if i := strings.Index(u, "://"); i >= 0 {
				u = u[i+3:]
				if j := strings.Index(u, "/"); j >= 0 {
					u = u[j:]
				}
			}
			out[id] = append(out[id], r.Method+" "+u)
		}
	}
	return out
}

// lens is how many requests w.rec holds per tracker.
func (w *world) lens() map[string]int {
	out := map[string]int{}
	for id, rs := range w.rec.Requests() {
		out[id] = len(rs)
	}
	return out
}

// seed creates n platform items shared with the given customers, as the
// platform's SREs would write them, and returns their keys.
func (w *world) seed(tb testing.TB, n int, customers ...string) []string {
	tb.Helper()
	plat := w.sims.Trackers[engine.PlatformID].Jira
	keys := make([]string, 0, n)
	for i := 0; i < n; i++ {
		title := fmt.Sprintf("bench item %d", i)
		desc := fmt.Sprintf("Internal notes %d.\n\nh2. Customer summary\nWe fix cause %d.", i, i)
		labels := []string{reliability.ActionLabel}
		for _, c := range customers {
			labels = append(labels, "customer:"+c)
		}
		key, err := plat.CreateIssue("", jirafake.IssueInput{Summary: &title, Description: &desc, Labels: &labels})
		if err != nil {
			tb.Fatalf("seed item %d: %v", i, err)
		}
		keys = append(keys, key)
	}
	return keys
}

// converge runs SyncOnce until every customer holds want mirrors and a
// pass writes nothing, at most passes times.
func (w *world) converge(tb testing.TB, ctx context.Context, want, passes int) {
	tb.Helper()
	for p := 1; p <= passes; p++ {
		plan, err := w.e.SyncOnce(ctx, false)
		if err != nil {
			tb.Fatalf("SyncOnce pass %d: %v", p, err)
		}
		if len(plan.Failures) > 0 {
			tb.Logf("pass %d: %d failures, first: %+v", p, len(plan.Failures), plan.Failures[0])
		}
		if w.mirrored(want) && len(plan.Writes) == 0 && len(plan.Failures) == 0 {
			return
		}
	}
	tb.Fatalf("not converged after %d passes: counts %v, want %d each", passes, w.counts(), want)
}

// mirrored reports whether every customer's simulator holds want items.
func (w *world) mirrored(want int) bool {
	for _, id := range w.sims.IDs {
		if w.sims.Trackers[id].Backend.Count() != want {
			return false
		}
	}
	return true
}

func (w *world) counts() map[string]int {
	out := map[string]int{}
	for _, id := range trackers {
		out[id] = w.sims.Trackers[id].Backend.Count()
	}
	return out
}

// traffic is a snapshot of every simulator's request and write counters.
type traffic map[string][2]int

func (w *world) traffic() traffic {
	t := traffic{}
	for _, id := range trackers {
		b := w.sims.Trackers[id].Backend
		t[id] = [2]int{b.Requests(), b.Writes()}
	}
	return t
}

// since returns reads and writes per tracker since the earlier snapshot.
func (t traffic) since(before traffic) map[string][2]int {
	out := map[string][2]int{}
	for id, v := range t {
		req, wr := v[0]-before[id][0], v[1]-before[id][1]
		out[id] = [2]int{req - wr, wr}
	}
	return out
}

// meter is the engine's Metrics: it counts polls (with the simulator's
// request counter at each), reconciles and writes, and signals writes.
type meter struct {
	sims *reliability.Sims

	mu         sync.Mutex
	polls      map[string][]pollMark
	reconciled map[string]int
	writes     map[string]int
	actions    []string // "tracker action" of every write, in order
	onWrite    func(tracker, action string, at time.Time)
}

type pollMark struct {
	requests    int // the simulator's request counter right after the poll
	notModified int // GitHub's 304 counter right after the poll
	reported    int // requests the connector reported for the poll
	err         error
}

func newMeter(s *reliability.Sims) *meter {
	return &meter{sims: s, polls: map[string][]pollMark{}, reconciled: map[string]int{}, writes: map[string]int{}}
}

func (m *meter) Write(tracker, action string) {
	at := time.Now()
	m.mu.Lock()
	m.writes[tracker]++
	m.actions = append(m.actions, tracker+" "+action)
	f := m.onWrite
	m.mu.Unlock()
	if f != nil {
		f(tracker, action, at)
	}
}

func (m *meter) Conflict(string, engine.Field) {}

func (m *meter) Reconciled(customer string, _ time.Duration, _ error) {
	m.mu.Lock()
	m.reconciled[customer]++
	m.mu.Unlock()
}

func (m *meter) Polled(tracker string, requests int, err error) {
	st := m.sims.Trackers[tracker]
	pm := pollMark{requests: st.Backend.Requests(), reported: requests, err: err}
	if st.GitHub != nil {
		pm.notModified = st.GitHub.Stats().NotModified
	}
	m.mu.Lock()
	m.polls[tracker] = append(m.polls[tracker], pm)
	m.mu.Unlock()
}

func (m *meter) pollMarks(tracker string) []pollMark {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]pollMark(nil), m.polls[tracker]...)
}

func (m *meter) reconciles(customer string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reconciled[customer]
}

func (m *meter) setOnWrite(f func(tracker, action string, at time.Time)) {
	m.mu.Lock()
	m.onWrite = f
	m.mu.Unlock()
}

// run starts e.Run in the background; the returned stop ends it and waits.
func (w *world) run(tb testing.TB) (stop func()) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.e.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("Run: %v", err)
		}
	}
}

// waitFor polls cond every 2 ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(2 * time.Millisecond)
	}
	return cond()
}

// report runs a sub-benchmark that only reports figures measured once
// already, so `-benchtime` never repeats an expensive run.
func report(b *testing.B, name string, metrics map[string]float64) {
	b.Run(name, func(b *testing.B) {
		for i := 0; i < b.N; i++ {
		}
		for unit, v := range metrics {
			b.ReportMetric(v, unit)
		}
	})
}

// spanRT is an http.RoundTripper that notes, per tracker, when the first
// request since reset started and when the last one ended.
type spanRT struct {
	base  http.RoundTripper
	hosts map[string]string

	mu          sync.Mutex
	first, last map[string]time.Time
}

func newSpanRT(base http.RoundTripper, s *reliability.Sims) *spanRT {
	r := &spanRT{base: base, hosts: map[string]string{}}
	for id, t := range s.Trackers {
		if u, err := url.Parse(t.URL); err == nil {
			r.hosts[u.Host] = id
		}
	}
	r.reset()
	return r
}

func (r *spanRT) reset() {
	r.mu.Lock()
	r.first, r.last = map[string]time.Time{}, map[string]time.Time{}
	r.mu.Unlock()
}

// RoundTrip forwards req and notes its times.
func (r *spanRT) RoundTrip(req *http.Request) (*http.Response, error) {
	id, start := r.hosts[req.URL.Host], time.Now()
	resp, err := r.base.RoundTrip(req)
	end := time.Now()
	r.mu.Lock()
	if _, ok := r.first[id]; !ok {
		r.first[id] = start
	}
	r.last[id] = end
	r.mu.Unlock()
	return resp, err
}

// active is how long tracker id was busy since the last reset.
func (r *spanRT) active(id string) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last[id].Sub(r.first[id])
}

var digits = regexp.MustCompile(`[0-9]+`)

// shapes counts requests per tracker by "METHOD path" with numbers as N
// and the query left out, most frequent first, as "count× shape".
func shapes(calls []string) []string {
	n := map[string]int{}
	for _, c := range calls {
		c, _, _ = strings.Cut(c, "?")
		n[digits.ReplaceAllString(c, "N")]++
	}
	var out []string
	for s, k := range n {
		out = append(out, fmt.Sprintf("%d× %s", k, s))
	}
	sort.Slice(out, func(i, j int) bool {
		var a, b int
		fmt.Sscan(out[i], &a)
		fmt.Sscan(out[j], &b)
		return a > b
	})
	return out
}
