package jira

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/jira/jirafake"
)

// recorded is one request the connector sent.
type recorded struct {
	Method, Path, Query, Body string
}

// recorder is a transport that records requests and can run a hook after
// each answer (to change the simulator between two pages, say).
type recorder struct {
	mu    sync.Mutex
	reqs  []recorded
	after func(recorded)
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	rec := recorded{Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery, Body: string(body)}
	r.mu.Lock()
	r.reqs = append(r.reqs, rec)
	after := r.after
	r.mu.Unlock()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil && after != nil {
		after(rec)
	}
	return resp, err
}

// since returns the requests recorded after the first n.
func (r *recorder) since(n int) []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs[n:]...)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

// matching returns the requests with method whose path contains part.
func matching(reqs []recorded, method, part string) []recorded {
	var out []recorded
	for _, q := range reqs {
		if q.Method == method && strings.Contains(q.Path, part) {
			out = append(out, q)
		}
	}
	return out
}

// env is a connector on a fresh simulator, with a request recorder.
type env struct {
	c    *Connector
	fake *jirafake.Server
	rec  *recorder
}

func newEnv(t *testing.T, opts jirafake.Options, mod func(*connectors.Config)) *env {
	t.Helper()
	if opts.WebhookSecret == "" {
		opts.WebhookSecret = hookSecret
	}
	fake := jirafake.Start(opts)
	t.Cleanup(fake.Close)
	e := &env{fake: fake, rec: &recorder{}}
	e.c = e.connect(t, mod)
	return e
}

// connect builds another connector on the same simulator (a restart).
func (e *env) connect(t *testing.T, mod func(*connectors.Config)) *Connector {
	t.Helper()
	user, token := e.fake.Credentials()
	cfg := connectors.Config{
		ID: "platform", Kind: Kind, URL: e.fake.URL(), Flavor: string(e.fake.Flavor()), Project: e.fake.Project(),
		Token: token, User: user, WebhookSecret: hookSecret, Now: e.fake.Now,
		HTTPClient: &http.Client{Transport: e.rec, Timeout: 10 * time.Second},
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (e *env) create(t *testing.T, marker, title string) *connectors.Item {
	t.Helper()
	it, err := e.c.Create(ctxT(t), marker, &connectors.Item{Title: title, Status: connectors.StatusOpen})
	if err != nil {
		t.Fatalf("Create(%q): %v", title, err)
	}
	return it
}

func (e *env) issue(t *testing.T, key string) jirafake.IssueState {
	t.Helper()
	st, ok := e.fake.Issue(key)
	if !ok {
		t.Fatalf("simulator has no issue %s", key)
	}
	return st
}

// advanceTo moves the simulator's clock so that its next write lands at at
// (every write ticks the clock by a millisecond).
func (e *env) advanceTo(t *testing.T, at time.Time) {
	t.Helper()
	d := at.Add(-time.Millisecond).Sub(e.fake.Now())
	if d < 0 {
		t.Fatalf("cannot move the clock back from %v to %v", e.fake.Now(), at)
	}
	e.fake.Advance(d)
}

func keys(items []connectors.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Ref.Key
	}
	return out
}

var flavors = []jirafake.Flavor{jirafake.Cloud, jirafake.DataCenter}
