package github_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/conformance"
	"github.com/pmsync/pmsync/connectors/github"
	"github.com/pmsync/pmsync/connectors/github/githubfake"
)

// testRepo is the repository every harness tracker uses.
const testRepo = "acme/widgets"

// start is the frozen instant the simulators' clocks begin at.
var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// backend is a simulator with the URL it is served at.
type backend struct {
	*githubfake.Fake
	url string
}

// harness runs the conformance suite with the real go-github client
// against githubfake over HTTP.
type harness struct {
	fake githubfake.Options // Token, Repos and Start are filled in
	page int
}

func (harness) Name() string { return "github" }

func (h harness) Make(t *testing.T, trackerID string) (connectors.Connector, conformance.Backend) {
	b := newBackend(t, h.fake)
	return h.Reconnect(t, b, trackerID), b
}

func newBackend(t testing.TB, o githubfake.Options) *backend {
	t.Helper()
	o.Token = conformance.Secret
	o.Repos = append(o.Repos, testRepo)
	if o.Start.IsZero() {
		o.Start = start
	}
	f, err := githubfake.New(o)
	if err != nil {
		t.Fatalf("githubfake.New: %v", err)
	}
	srv := httptest.NewServer(f)
	t.Cleanup(func() {
		srv.Close()
		_ = f.Close()
	})
	return &backend{Fake: f, url: srv.URL + "/"}
}

func (h harness) Reconnect(t *testing.T, b conformance.Backend, trackerID string) connectors.Connector {
	t.Helper()
	be := b.(*backend)
	c, err := github.New(connectors.Config{
		ID: trackerID, Kind: github.Kind, URL: be.url, Project: testRepo, Token: conformance.Secret,
		WebhookSecret: conformance.WebhookSecret, Now: be.Now,
	}, github.Options{CreatesPerMinute: 1e6, PageSize: h.pageSize()})
	if err != nil {
		t.Fatalf("github.New: %v", err)
	}
	return c
}

func (h harness) pageSize() int {
	if h.page == 0 {
		return 10
	}
	return h.page
}

func (h harness) Webhook(t *testing.T, key, deliveryID string, valid bool) *http.Request {
	t.Helper()
	n, err := strconv.Atoi(key[strings.LastIndex(key, "#")+1:])
	if err != nil {
		t.Fatalf("key %q: %v", key, err)
	}
	body, err := json.Marshal(map[string]any{
		"action":     "edited",
		"issue":      map[string]any{"number": n, "title": "edited", "state": "open"},
		"changes":    map[string]any{"title": map[string]string{"from": "before"}},
		"repository": map[string]any{"full_name": testRepo, "name": "widgets"},
		"sender":     map[string]any{"login": "octocat", "type": "User"},
	})
	if err != nil {
		t.Fatal(err)
	}
	secret := conformance.WebhookSecret
	if !valid {
		secret = "not-the-secret"
	}
	return hookRequest(t, "issues", deliveryID, githubfake.Sign(secret, body), body)
}

func (h harness) RawWebhook(t *testing.T, body []byte) *http.Request {
	t.Helper()
	return hookRequest(t, "issues", "raw-delivery", githubfake.Sign(conformance.WebhookSecret, body), body)
}

func (h harness) Capabilities() conformance.Capabilities {
	return conformance.Capabilities{Assignees: []string{"alice", "bob"}, NoRestrictedComments: true, PageSize: h.pageSize()}
}

// hookRequest builds a delivery as GitHub sends it.
func hookRequest(t *testing.T, event, delivery, signature string, body []byte) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, "http://127.0.0.1/webhooks/janecorp", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-GitHub-Event", event)
	r.Header.Set("X-GitHub-Delivery", delivery)
	if signature != "" {
		r.Header.Set("X-Hub-Signature-256", signature)
	}
	return r
}

func TestConformance(t *testing.T) {
	conformance.Run(t, harness{})
}

// TestConformanceHostile runs the suite with the limits GitHub answers in
// the 429 form, a search index ten minutes behind and pages of three.
func TestConformanceHostile(t *testing.T) {
	conformance.Run(t, harness{page: 3, fake: githubfake.Options{
		RateLimitStatus: http.StatusTooManyRequests, SecondaryStatus: http.StatusTooManyRequests,
		SearchLag: 10 * time.Minute,
	}})
}
