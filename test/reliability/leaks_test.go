package reliability

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/pmsync/pmsync/config"
	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/conformance"
	"github.com/pmsync/pmsync/connectors/gitlab/gitlabfake"
	"github.com/pmsync/pmsync/connectors/jira/jirafake"
	"github.com/pmsync/pmsync/sync/daemon"
	"github.com/pmsync/pmsync/sync/engine"
	"github.com/pmsync/pmsync/sync/remind"
)

// httpToken guards the daemon's /metrics and dashboard in TestNoLeaks; it
// is a canary too.
const httpToken = "TOKEN-CANARY-http-51d0e2"

var leakConfig = template.Must(template.New("pmsync.yaml").Parse(`store:
  path: {{.Store}}
http:
  listen: {{.Listen}}
  token_env: LEAK_HTTP_TOKEN
sync:
  poll_interval: 1s
  marker_key_env: LEAK_MARKER_KEY
platform:
  name: Example Cloud
  action_item_label: postmortem-action
  tracker:
    kind: jira
    flavor: datacenter
    url: {{.platform}}
    project: PLAT
    auth:
      token_env: LEAK_TOKEN_PLATFORM
    webhook_secret_env: LEAK_HOOK_SECRET
customers:
  - id: janecorp
    name: JaneCorp
    tracker:
      kind: github
      url: {{.janecorp}}
      project: janecorp/reliability
      auth:
        token_env: LEAK_TOKEN_JANECORP
      webhook_secret_env: LEAK_HOOK_SECRET
    share:
      description: summary
      comment_prefix: "[customer]"
  - id: acme
    name: Acme
    tracker:
      kind: gitlab
      url: {{.acme}}
      project: acme/ops
      auth:
        token_env: LEAK_TOKEN_ACME
      webhook_secret_env: LEAK_HOOK_SECRET
    share:
      description: summary
      comment_prefix: "[customer]"
  - id: globex
    name: Globex
    tracker:
      kind: jira
      flavor: cloud
      url: {{.globex}}
      project: GLX
      auth:
        token_env: LEAK_TOKEN_GLOBEX
        user_env: LEAK_USER_GLOBEX
      webhook_secret_env: LEAK_HOOK_SECRET
    share:
      description: summary
      comment_prefix: "[customer]"
reminders:
  critical: [P0, P1]
`))

// TestNoLeaks runs the whole daemon (engine, webhook intake, metrics,
// dashboard) over the three simulators with canary tokens, internal text,
// restricted comments and per-customer text planted everywhere, provokes
// errors (faults on every tracker, forged and malformed webhooks), renders
// every digest, and scans the logs, the answers, /metrics, /readyz, the
// dashboard, the digests and every request sent to each tracker. Bar: no
// secret anywhere; no internal or restricted text outside its tracker; no
// customer's text in a request to, or a digest of, another customer.
func TestNoLeaks(t *testing.T) {
	ctx := context.Background()
	sims := StartSims(t, SimOptions{})
	obs := map[string]connectors.Connector{}
	for id, st := range sims.Trackers {
		obs[id] = st.Conn(t, nil, Discard)
	}
	exp := plantCanaries(t, sims, obs)

	d, cfg, logs, rec := startDaemon(t, sims)

	// Everything syncs, comments included.
	deadline := time.Now().Add(90 * time.Second)
	for {
		rep, err := CheckSims(ctx, sims, obs, exp, true)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Converged() && commentsMirrored(rep) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon did not sync the scenario within 90 s: %s\nlog:\n%s", rep, notable(logs.String()))
		}
		<-time.After(250 * time.Millisecond)
	}

	// Errors: faults on every tracker, forged and malformed deliveries.
	sims.Trackers[engine.PlatformID].Backend.Inject(conformance.Fault{Op: conformance.OpAny, Status: http.StatusInternalServerError, Times: 3})
	sims.Trackers[JaneCorp].Backend.Inject(conformance.Fault{Op: conformance.OpAny, Status: http.StatusUnauthorized, Times: 2})
	sims.Trackers[Acme].Backend.Inject(conformance.Fault{Op: conformance.OpAny, Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"1"}}, Times: 2})
	sims.Trackers[Globex].Backend.Inject(conformance.Fault{Op: conformance.OpAny, Status: http.StatusForbidden, Times: 2})
	var answers []string
	for _, id := range append([]string{engine.PlatformID}, sims.IDs...) {
		st := sims.Trackers[id]
		for i, c := range []struct {
			body []byte
			auth HookAuth
		}{{st.HookBody(1), HookWrong}, {st.HookBody(1), HookUnsigned}, {[]byte(`{"broken":`), HookValid}} {
			r, err := st.HookRequest(d.URL(), c.body, fmt.Sprintf("leak-%s-%d", id, i), c.auth, false)
			if err != nil {
				t.Fatal(err)
			}
			code, body := post(t, r)
			answers = append(answers, fmt.Sprintf("%d %s", code, body))
		}
	}
	<-time.After(2500 * time.Millisecond) // two polls with the faults

	surfaces := map[string]string{"logs": logs.String(), "webhook answers": strings.Join(answers, "\n")}
	for _, path := range []string{"/metrics", "/readyz", "/"} {
		surfaces[path] = getWithToken(t, d.URL()+path)
	}
	digests := renderDigests(t, d, cfg)
	for name, text := range digests {
		surfaces[name] = text
	}
	tokens := []string{httpToken, HookSecret, TokenOf(engine.PlatformID), TokenOf(JaneCorp), TokenOf(Acme), TokenOf(Globex)}
	restricted := []string{RestrictedCanaryOf(engine.PlatformID), RestrictedCanaryOf(JaneCorp), RestrictedCanaryOf(Acme), RestrictedCanaryOf(Globex)}
	for name, text := range surfaces {
		forbidden := append(append([]string{}, tokens...), restricted...)
		if name != "/" { // the dashboard is the operators' view of every item's title
			forbidden = append(forbidden, InternalCanary)
			for _, c := range sims.IDs {
				if !strings.HasPrefix(name, "digest "+c+" ") && !strings.HasPrefix(name, "digest platform") {
					forbidden = append(forbidden, CustomerCanary(c), scopeCanary(c))
				}
			}
		}
		if leaks := Leaks(text, forbidden...); len(leaks) > 0 {
			t.Errorf("%s holds %v", name, leaks)
		}
	}
	for id, reqs := range rec.Requests() {
		forbidden := append([]string{}, restricted...)
		for _, tok := range tokens {
			if tok != TokenOf(id) {
				forbidden = append(forbidden, tok)
			}
		}
		if id != engine.PlatformID {
			forbidden = append(forbidden, InternalCanary)
			for _, c := range sims.IDs {
				if c != id {
					forbidden = append(forbidden, CustomerCanary(c), scopeCanary(c))
				}
			}
		}
		for _, r := range reqs {
			if leaks := Leaks(r.Text(true), forbidden...); len(leaks) > 0 {
				t.Errorf("a request to %s holds %v: %s %s", id, leaks, r.Method, r.URL)
			}
			if leaks := Leaks(r.Text(false), TokenOf(id)); len(leaks) > 0 {
				t.Errorf("a request to %s carries its token outside Authorization: %s %s", id, r.Method, r.URL)
			}
		}
		if strings.HasPrefix(id, "unknown:") {
			t.Errorf("%d requests went to a host that is no configured tracker: %s", len(reqs), id)
		}
	}
	// Positive controls: the scans see real content.
	if !strings.Contains(surfaces["/"], CustomerCanary(JaneCorp)) {
		t.Errorf("the dashboard does not show JaneCorp's item title: the scan reads the wrong page")
	}
	if !strings.Contains(requestsText(rec.Requests()[engine.PlatformID]), CustomerCanary(Acme)) {
		t.Errorf("no request to the platform carries Acme's mirrored item: requests are not recorded")
	}
	t.Logf("scanned %d surfaces (%d digests) and %d trackers' requests", len(surfaces), len(digests), len(rec.Requests()))
}

// startDaemon runs pmsync serve's daemon in process over sims, with the
// configuration of leakConfig, every tracker request recorded and its log
// kept. It stops at cleanup.
func startDaemon(t *testing.T, sims *Sims) (*daemon.Daemon, *config.Config, *LogBuffer, *Recorder) {
	t.Helper()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]string{"Store": filepath.Join(dir, "pmsync.db"), "Listen": ln.Addr().String()}
	for id, st := range sims.Trackers {
		vals[id] = st.URL
	}
	var text bytes.Buffer
	if err := leakConfig.Execute(&text, vals); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"LEAK_HTTP_TOKEN": httpToken, "LEAK_HOOK_SECRET": HookSecret, "LEAK_MARKER_KEY": MarkerKey, "LEAK_USER_GLOBEX": "bot@globex.example",
		"LEAK_TOKEN_PLATFORM": TokenOf(engine.PlatformID), "LEAK_TOKEN_JANECORP": TokenOf(JaneCorp),
		"LEAK_TOKEN_ACME": TokenOf(Acme), "LEAK_TOKEN_GLOBEX": TokenOf(Globex),
	}
	cfg, err := config.Parse(text.Bytes(), filepath.Join(dir, "pmsync.yaml"), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logs := &LogBuffer{}
	rec := NewRecorder(http.DefaultTransport.(*http.Transport).Clone(), sims)
	d, err := daemon.New(daemon.Options{Config: cfg, Listener: ln, Transport: rec, Logger: NewLogger(logs), DashboardRefresh: -1})
	if err != nil {
		t.Fatalf("daemon.New: %v", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	if err := d.Start(ctx); err != nil {
		t.Fatalf("daemon Start: %v", err)
	}
	t.Cleanup(func() { stop(); _ = d.Wait() })
	return d, cfg, logs, rec
}

// plantCanaries fills the trackers with the scenario and returns what must
// converge.
func plantCanaries(t *testing.T, sims *Sims, obs map[string]connectors.Connector) Expectation {
	t.Helper()
	ctx := context.Background()
	exp := Expectation{Platform: map[string][]string{}, Inbound: map[string][]string{}}
	plat := sims.Trackers[engine.PlatformID].Jira
	mk := func(title, desc, prio string, labels ...string) string {
		key, err := plat.CreateIssue("", jirafake.IssueInput{Summary: &title, Description: &desc, Priority: &prio, Labels: &labels})
		if err != nil {
			t.Fatal(err)
		}
		return key
	}
	p1 := mk("add uncached-read latency tests", InternalCanary+" root cause in the cache tier\n\n## Customer summary\nWe add latency tests.",
		"High", ActionLabel, "customer:"+JaneCorp, "customer:"+Acme, "customer:"+Globex)
	p2 := mk("page on regional latency SLO "+scopeCanary(JaneCorp), "## Customer summary\nPaging.", "High", ActionLabel, "customer:"+JaneCorp)
	exp.Platform[p1] = sims.IDs
	exp.Platform[p2] = []string{JaneCorp}
	for _, c := range []struct{ author, body string }{
		{"alice", CommentPrefix + " the tests land next week"}, {"ivan", InternalCanary + " internal note"},
	} {
		if err := plat.AddComment(p1, c.author, c.body, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := plat.AddComment(p1, "rita", RestrictedCanaryOf(engine.PlatformID), true); err != nil {
		t.Fatal(err)
	}
	for _, c := range sims.IDs {
		it, err := obs[c].Create(ctx, "", &connectors.Item{Title: CustomerCanary(c) + " dashboard", Description: "details " + CustomerCanary(c),
			Status: connectors.StatusOpen, Priority: connectors.P1, Labels: []string{InboundLabel}})
		if err != nil {
			t.Fatalf("%s: create: %v", c, err)
		}
		exp.Inbound[c] = []string{it.Ref.Key}
		backend := sims.Trackers[c].Backend.(interface {
			AddComment(key, author, body string, restricted bool) error
		})
		if err := backend.AddComment(it.Ref.Key, "cora", CustomerCanary(c)+" comment", false); err != nil {
			t.Fatal(err)
		}
		if _, ok := backend.(*gitlabfake.Server); ok || sims.Trackers[c].Jira != nil {
			if err := backend.AddComment(it.Ref.Key, "cora", RestrictedCanaryOf(c), true); err != nil {
				t.Fatal(err)
			}
		}
	}
	return exp
}

// commentsMirrored reports whether the shared comments have crossed: the
// platform's prefixed comment to every customer, each customer's comment
// to the platform.
func commentsMirrored(rep *SimReport) bool {
	want := map[string]int{}
	for id, s := range rep.Snapshots {
		for _, cs := range s.Comments {
			for _, c := range cs {
				if c.Marker != "" {
					want[id]++
				}
			}
		}
	}
	return want[engine.PlatformID] >= 3 && want[JaneCorp] >= 1 && want[Acme] >= 1 && want[Globex] >= 1
}

// getWithToken reads a daemon page with the bearer token.
func getWithToken(t *testing.T, u string) string {
	t.Helper()
	r, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+httpToken)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET %s: HTTP %d", u, resp.StatusCode)
	}
	return string(b)
}

// renderDigests renders every customer's digest and the platform's in
// every format, from the daemon's store.
func renderDigests(t *testing.T, d *daemon.Daemon, cfg *config.Config) map[string]string {
	t.Helper()
	var customers []remind.Customer
	for _, c := range cfg.Customers {
		customers = append(customers, remind.Customer{ID: c.ID, Name: c.Name})
	}
	b := &remind.Builder{Source: d.Store(), Policy: remind.DefaultPolicy(), PlatformName: cfg.Platform.Name, Customers: customers}
	out := map[string]string{}
	audiences := []remind.Audience{{Platform: true}}
	for _, c := range customers {
		audiences = append(audiences, remind.Audience{Customer: c.ID})
	}
	now := time.Now()
	for _, a := range audiences {
		dg, err := b.Digest(context.Background(), a, now.Add(-24*time.Hour), now)
		if err != nil {
			t.Fatalf("digest for %s: %v", a, err)
		}
		for _, f := range []remind.Format{remind.FormatText, remind.FormatMarkdown, remind.FormatHTML} {
			body, err := dg.Render(f)
			if err != nil {
				t.Fatalf("render %s digest for %s: %v", f, a, err)
			}
			out[fmt.Sprintf("digest %s %s", a, f)] = string(body)
		}
	}
	return out
}

// notable returns the log lines above debug level, at most 60.
func notable(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.Contains(l, "level=DEBUG") && l != "" {
			out = append(out, l)
		}
	}
	if len(out) > 60 {
		out = out[len(out)-60:]
	}
	return strings.Join(out, "\n")
}

// requestsText renders requests for a positive control.
func requestsText(reqs []RecordedRequest) string {
	var b strings.Builder
	for _, r := range reqs {
		b.WriteString(r.Text(false))
	}
	return b.String()
}
