package daemon_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/pmsync/pmsync/config"
	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/github/githubfake"
	"github.com/pmsync/pmsync/store"
	"github.com/pmsync/pmsync/sync/daemon"
)

// TestMetrics scrapes /metrics after a sync and checks that every series
// the operations guide names is there, with the values the sync implies.
func TestMetrics(t *testing.T) {
	h := start(t, options{})
	h.fileItems(2, "janecorp")
	eventually(t, 20*time.Second, "2 links", func() string {
		if n := h.links("janecorp"); n != 2 {
			return "links: " + itoa(n)
		}
		return ""
	})
	code, body := h.get("/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: got %d, want 200", code)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	value := func(name string, labels map[string]string) (float64, bool) {
		f := fams[name]
		if f == nil {
			return 0, false
		}
	next:
		for _, m := range f.Metric {
			for k, v := range labels {
				found := false
				for _, lp := range m.Label {
					if lp.GetName() == k && lp.GetValue() == v {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue(), true
			case m.Gauge != nil:
				return m.Gauge.GetValue(), true
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount()), true
			}
		}
		return 0, false
	}
	tests := []struct {
		name   string
		labels map[string]string
		ok     func(float64) bool
		want   string
	}{
		{"pmsync_api_requests_total", map[string]string{"tracker": "janecorp", "status": "201"}, func(v float64) bool { return v >= 2 }, ">= 2 creates answered 201"},
		{"pmsync_api_requests_total", map[string]string{"tracker": "platform", "status": "200"}, func(v float64) bool { return v > 0 }, "> 0"},
		{"pmsync_api_request_duration_seconds", map[string]string{"tracker": "janecorp"}, func(v float64) bool { return v > 0 }, "> 0 observations"},
		{"pmsync_rate_limit_remaining", map[string]string{"tracker": "janecorp"}, func(v float64) bool { return v >= 0 && v < 5000 }, "GitHub's budget, 0..4999"},
		{"pmsync_rate_limit_remaining", map[string]string{"tracker": "platform"}, func(v float64) bool { return v == -1 }, "-1 (Jira DC sends no budget)"},
		{"pmsync_rate_limit_blocked_seconds", map[string]string{"tracker": "janecorp"}, func(v float64) bool { return v == 0 }, "0"},
		{"pmsync_queue_depth", nil, func(v float64) bool { return v >= 0 }, ">= 0"},
		{"pmsync_reconcile_duration_seconds", map[string]string{"result": "ok"}, func(v float64) bool { return v >= 2 }, ">= 2 reconciles"},
		{"pmsync_writes_total", map[string]string{"tracker": "janecorp", "action": "create"}, func(v float64) bool { return v == 2 }, "2"},
		{"pmsync_conflicts_total", map[string]string{"customer": "janecorp"}, func(v float64) bool { return v == 0 }, "0"},
		{"pmsync_broken_links", map[string]string{"customer": "janecorp"}, func(v float64) bool { return v == 0 }, "0"},
		{"pmsync_links", map[string]string{"customer": "janecorp", "state": "active"}, func(v float64) bool { return v == 2 }, "2"},
		{"pmsync_open_critical_items", map[string]string{"customer": "janecorp"}, func(v float64) bool { return v == 2 }, "2 (P1 items)"},
		{"pmsync_digests_total", map[string]string{"kind": "digest", "channel": "email", "outcome": "sent"}, func(v float64) bool { return v == 0 }, "0"},
		{"pmsync_digests_total", map[string]string{"kind": "digest", "channel": "chat", "outcome": "failed"}, func(v float64) bool { return v == 0 }, "0"},
		{"pmsync_last_successful_poll_timestamp_seconds", map[string]string{"tracker": "acme-analytics"}, func(v float64) bool { return v > float64(time.Now().Add(-time.Minute).Unix()) }, "within the last minute"},
		{"pmsync_polls_total", map[string]string{"tracker": "platform", "result": "ok"}, func(v float64) bool { return v >= 1 }, ">= 1"},
		{"pmsync_webhook_requests_total", map[string]string{"tracker": "platform", "code": "202"}, func(v float64) bool { return v >= 1 }, ">= 1 accepted delivery"},
		{"pmsync_open_intents", nil, func(v float64) bool { return v == 0 }, "0"},
		{"pmsync_store_file_bytes", nil, func(v float64) bool { return v > 0 }, "> 0"},
		{"pmsync_build_info", nil, func(v float64) bool { return v == 1 }, "1"},
	}
	for _, tt := range tests {
		v, ok := value(tt.name, tt.labels)
		if !ok {
			t.Errorf("%s%v: series missing", tt.name, tt.labels)
			continue
		}
		if !tt.ok(v) {
			t.Errorf("%s%v: got %v, want %s", tt.name, tt.labels, v, tt.want)
		}
	}
	_, page := h.get("/")
	for _, secret := range []string{"demo-github-token", "demo-gitlab-token", "demo-jira-token", "demo-webhook-secret"} {
		if strings.Contains(body, secret) {
			t.Errorf("/metrics contains a secret")
		}
		if strings.Contains(page, secret) {
			t.Errorf("the dashboard contains a secret")
		}
	}
}

// TestReadiness stops a tracker's simulator: /readyz turns 503 and names
// that tracker within three poll intervals, and 200 again once it returns.
func TestReadiness(t *testing.T) {
	h := start(t, options{poll: time.Second})
	if code, body := h.get("/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("GET /healthz: got %d %q, want 200 ok", code, body)
	}
	ready := func(want int, subs ...string) func() string {
		return func() string {
			code, body := h.get("/readyz")
			if code != want {
				return "status " + http.StatusText(code) + ": " + body
			}
			return contains(body, subs...)
		}
	}
	eventually(t, 15*time.Second, "ready at start", ready(http.StatusOK, "ready\n", "store: ok", "tracker platform: ok", "tracker janecorp: ok", "tracker acme-analytics: ok"))

	h.sims.Endpoint("janecorp").Stop()
	eventually(t, 10*time.Second, "not ready while GitHub is down", ready(http.StatusServiceUnavailable,
		"not ready\n", "tracker janecorp: not ready: no successful poll for", "last error:", "tracker platform: ok"))

	if err := h.sims.Endpoint("janecorp").Start(); err != nil {
		t.Fatalf("restart GitHub: %v", err)
	}
	eventually(t, 10*time.Second, "ready once GitHub is back", ready(http.StatusOK, "ready\n", "tracker janecorp: ok"))
	if code, _ := h.get("/healthz"); code != http.StatusOK {
		t.Errorf("GET /healthz after the outage: got %d, want 200", code)
	}
}

// TestBearerToken listens (in the configuration) on every interface, so a
// token guards everything but health, readiness and webhooks.
const token = "s3cret-dashboard-token"

// withToken is a daemon configured to listen on every interface with
// http.token set; it is handed a loopback listener, so nothing is exposed.
func withToken(t *testing.T) *harness {
	return start(t, options{
		env: map[string]string{"PMSYNC_TEST_TOKEN": token},
		edit: func(y string) string {
			i := strings.Index(y, "http:\n  listen: ")
			j := i + strings.Index(y[i:], "\nsync:")
			return y[:i] + "http:\n  listen: 0.0.0.0:0\n  token_env: PMSYNC_TEST_TOKEN" + y[j:]
		},
	})
}

func TestBearerToken(t *testing.T) {
	h := withToken(t)
	body := []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)
	ping, err := http.NewRequest(http.MethodPost, h.d.URL()+"/webhooks/janecorp", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	ping.Header.Set("X-GitHub-Event", "ping")
	ping.Header.Set("X-GitHub-Delivery", "d-1")
	ping.Header.Set("Content-Type", "application/json")
	ping.Header.Set("X-Hub-Signature-256", githubfake.Sign("demo-webhook-secret", body))
	resp, err := http.DefaultClient.Do(ping)
	if err != nil {
		t.Fatalf("POST webhook: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("signed webhook without a bearer token: got %d, want 202", resp.StatusCode)
	}
	tests := []struct {
		path, auth string
		want       int
	}{
		{"/healthz", "", http.StatusOK},
		{"/", "", http.StatusUnauthorized},
		{"/", "Bearer wrong-token", http.StatusUnauthorized},
		{"/", "Bearer " + token + "x", http.StatusUnauthorized},
		{"/", "Basic " + token, http.StatusUnauthorized},
		{"/", token, http.StatusUnauthorized},
		{"/", "Bearer " + token, http.StatusOK},
		{"/", "bearer " + token, http.StatusOK},
		{"/metrics", "", http.StatusUnauthorized},
		{"/metrics", "Bearer " + token, http.StatusOK},
		{"/admin/backup", "", http.StatusUnauthorized},
		{"/admin/backup", "Bearer nope", http.StatusUnauthorized},
		{"/nope", "", http.StatusUnauthorized},
		{"/nope", "Bearer " + token, http.StatusNotFound},
	}
	for _, tt := range tests {
		var hdr []string
		if tt.auth != "" {
			hdr = []string{"Authorization", tt.auth}
		}
		code, body := h.get(tt.path, hdr...)
		if code != tt.want {
			t.Errorf("GET %s with %q: got %d, want %d", tt.path, tt.auth, code, tt.want)
		}
		if strings.Contains(body, token) {
			t.Errorf("GET %s: the body shows the token", tt.path)
		}
	}
	// /readyz answers without a token, ready or not.
	if code, _ := h.get("/readyz"); code == http.StatusUnauthorized {
		t.Errorf("GET /readyz without a token: got 401, want 200 or 503")
	}
}

// TestBackup downloads a hot backup while the daemon syncs: it needs the
// token, opens as a store, passes Check and holds the links; without a
// configured token the endpoint is refused.
func TestBackup(t *testing.T) {
	h := withToken(t)
	h.fileItems(3, "janecorp")
	eventually(t, 20*time.Second, "3 links", func() string {
		if n := h.links("janecorp"); n != 3 {
			return "links: " + itoa(n)
		}
		return ""
	})
	code, body := h.get("/admin/backup", "Authorization", "Bearer "+token)
	if code != http.StatusOK {
		t.Fatalf("GET /admin/backup: got %d, want 200", code)
	}
	path := filepath.Join(t.TempDir(), "backup.db")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatalf("open the backup: %v", err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Errorf("Check of the backup: %v", err)
	}
	if links, err := db.Links("janecorp"); err != nil || len(links) != 3 {
		t.Errorf("links in the backup: got %d (%v), want 3", len(links), err)
	}

	open := start(t, options{})
	if code, body := open.get("/admin/backup"); code != http.StatusForbidden || !strings.Contains(body, "http.token") {
		t.Errorf("GET /admin/backup without a configured token: got %d %q, want 403 naming http.token", code, body)
	}
}

// TestRefuseOpenListenerWithoutToken: a non-loopback address without a
// token is refused even when the configuration skipped validation.
func TestRefuseOpenListenerWithoutToken(t *testing.T) {
	cfg := &config.Config{HTTP: config.HTTP{Listen: "0.0.0.0:8080"}}
	if _, err := daemon.New(daemon.Options{Config: cfg}); err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Errorf("New with 0.0.0.0 and no token: got %v, want an error naming the loopback rule", err)
	}
}

// TestReload rewrites the configuration: a broken file is refused and the
// running configuration stays; a valid one takes effect; a changed
// store.path is refused.
func TestReload(t *testing.T) {
	h := start(t, options{})
	orig := readFile(t, h.cfgPath)
	eventually(t, 15*time.Second, "dashboard", func() string { _, b := h.get("/"); return contains(b, "Acme Analytics", "JaneCorp") })

	tests := []struct {
		name    string
		text    string
		wantErr string
		page    []string // on the dashboard afterwards
	}{
		{"bad YAML", orig + "\n  : [\n", "invalid YAML", []string{"Acme Analytics"}},
		{"unknown kind", strings.Replace(orig, "kind: gitlab", "kind: bitbucket", 1), "kind", []string{"Acme Analytics"}},
		{"store moved", strings.Replace(orig, "pmsync.db", "other.db", 1), "store.path changed", []string{"Acme Analytics"}},
		{"customer renamed", strings.Replace(orig, "name: Acme Analytics", "name: Acme Analytics Ltd", 1), "", []string{"Acme Analytics Ltd"}},
	}
	refused := 0
	for _, tt := range tests {
		h.write(tt.text)
		err := h.d.Reload()
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: Reload: %v", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: Reload: got %v, want an error containing %q", tt.name, err, tt.wantErr)
		}
		if tt.wantErr != "" {
			refused++
		}
		code, page := h.get("/")
		if code != http.StatusOK {
			t.Errorf("%s: dashboard answered %d", tt.name, code)
		}
		if msg := contains(page, tt.page...); msg != "" {
			t.Errorf("%s: dashboard: %s", tt.name, msg)
		}
	}
	// The daemon still syncs after the refusals and the reload.
	h.fileItems(1, "acme-analytics")
	eventually(t, 20*time.Second, "a link after reloads", func() string {
		if h.links("acme-analytics") < 1 {
			return "no link for acme-analytics yet"
		}
		return ""
	})
	_, metrics := h.get("/metrics")
	for _, want := range []string{`pmsync_config_reloads_total{result="refused"} ` + itoa(refused), `pmsync_config_reloads_total{result="ok"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if !strings.Contains(h.logs.String(), "configuration reload refused") {
		t.Errorf("the log does not say a reload was refused")
	}
}

// TestShutdownMidSync stops the daemon (SIGTERM's path) while it mirrors
// dozens of items to two customers over slow trackers. The store must open
// and pass Check, every link must have both sides with the mirror carrying
// the link's marker, and a restarted daemon must finish without a single
// duplicate, although the simulators are still working on the creates
// that were cut off when it starts (sync.create_settle: it does not take a
// look that misses such a mirror as proof until 1 s after the create).
func TestShutdownMidSync(t *testing.T) {
	const n = 40
	settle := func(yaml string) string {
		return strings.Replace(yaml, "\nsync:\n", "\nsync:\n  create_settle: 1s\n", 1)
	}
	h := start(t, options{progress: 100 * time.Millisecond, drain: 300 * time.Millisecond, rps: 500, edit: settle})
	h.sims.GitHub.SetLatency(100 * time.Millisecond)
	h.sims.GitLab.SetLatency(100 * time.Millisecond)
	h.fileItems(n, "janecorp", "acme-analytics")
	eventually(t, 30*time.Second, "sync under way", func() string {
		if got := h.links("janecorp") + h.links("acme-analytics"); got < 2 {
			return "links: " + itoa(got)
		}
		return ""
	})
	if err := h.shutdown(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if !strings.Contains(h.logs.String(), "store closed") {
		t.Errorf("the log does not say the store was closed")
	}

	db, err := store.Open(filepath.Join(h.dir, "pmsync.db"), store.Options{Timeout: time.Second})
	if err != nil {
		t.Fatalf("reopen store: %v", err)
	}
	if err := db.Check(); err != nil {
		t.Errorf("store.Check after shutdown: %v", err)
	}
	total := 0
	for _, c := range []string{"janecorp", "acme-analytics"} {
		links, err := db.Links(c)
		if err != nil {
			t.Fatalf("links of %s: %v", c, err)
		}
		total += len(links)
		for _, l := range links {
			if l.Platform.Ref.Key == "" || l.Remote.Ref.Key == "" || l.Remote.Ref.Tracker != c {
				t.Errorf("half-written link %s of %s: platform %v, remote %v", l.ID, c, l.Platform.Ref, l.Remote.Ref)
			}
		}
	}
	if err := db.Close(); err != nil {
		t.Fatalf("close store: %v", err)
	}
	if total >= 2*n {
		t.Errorf("the sync had finished (%d links) before the stop; the test did not stop it midway", total)
	}
	t.Logf("stopped with %d of %d links recorded", total, 2*n)

	h.sims.GitHub.SetLatency(0)
	h.sims.GitLab.SetLatency(0)
	h2 := start(t, options{dir: h.dir, sims: h.sims, rps: 500, progress: 100 * time.Millisecond, edit: settle})
	eventually(t, 30*time.Second, "sync finished after restart", func() string {
		if got := h2.links("janecorp") + h2.links("acme-analytics"); got != 2*n {
			return "links: " + itoa(got)
		}
		return ""
	})
	if got := h.sims.GitHub.Count(); got != n {
		t.Errorf("GitHub issues after restart: got %d, want %d (no duplicate mirrors)", got, n)
	}
	if got := h.sims.GitLab.Count(); got != n {
		t.Errorf("GitLab issues after restart: got %d, want %d (no duplicate mirrors)", got, n)
	}
	obs := observer(t, h2, "janecorp")
	links, _ := h2.d.Store().Links("janecorp")
	for _, l := range links {
		it, err := obs.Get(context.Background(), l.Remote.Ref.Key)
		if err != nil {
			t.Errorf("mirror %s of link %s: %v", l.Remote.Ref, l.ID, err)
			continue
		}
		if it.Marker != l.ID {
			t.Errorf("mirror %s carries marker %q, want the link's %q", l.Remote.Ref, it.Marker, l.ID)
		}
	}
	if msg := contains(h.logs.String()+h2.logs.String(), "sync in progress", "done=", "total="); msg != "" {
		t.Errorf("no progress line in the log: %s", msg)
	}
}

// observer is a connector reading tracker id as a person would.
func observer(t *testing.T, h *harness, id string) connectors.Connector {
	t.Helper()
	cfg, err := h.load()
	if err != nil {
		t.Fatal(err)
	}
	cc, err := cfg.Connector(id)
	if err != nil {
		t.Fatal(err)
	}
	c, err := connectors.New(cc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
