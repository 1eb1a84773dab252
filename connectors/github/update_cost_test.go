package github_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/conformance"
	"github.com/pmsync/pmsync/connectors/github"
	"github.com/pmsync/pmsync/connectors/github/githubfake"
)

// cost returns the reads and writes the simulator received since s0.
func cost(b *backend, s0 githubfake.Stats) (reads, writes int) {
	s := b.Stats()
	writes = s.Writes - s0.Writes
	return s.Requests - s0.Requests - writes, writes
}

// reconnect builds a second connector on b, with nothing remembered.
func reconnect(t *testing.T, b *backend, co github.Options) *github.Connector {
	t.Helper()
	co.CreatesPerMinute = 1e6
	c, err := github.New(connectors.Config{ID: "janecorp", URL: b.url, Project: testRepo, Token: conformance.Secret,
		WebhookSecret: hookSecret, Now: b.Now}, co)
	if err != nil {
		t.Fatalf("github.New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestUpdateCost counts what the simulator sees for a title change after
// each way the connector may have seen the issue: the bar is the engine's
// Get plus one PATCH, with no read in Update when the issue was seen less
// than the cache age ago.
func TestUpdateCost(t *testing.T) {
	type prime func(t *testing.T, c *github.Connector, b *backend, key string) *github.Connector
	tests := []struct {
		name                string
		co                  github.Options
		prime               prime
		wantReads, wantPuts int
	}{
		{"Get then Update", github.Options{}, func(t *testing.T, c *github.Connector, b *backend, key string) *github.Connector {
			mustGet(t, c, key)
			return c
		}, 1, 1},
		{"right after Create", github.Options{}, nil, 0, 1},
		{"after a Changes poll", github.Options{}, func(t *testing.T, c *github.Connector, b *backend, key string) *github.Connector {
			if _, err := c.Changes(context.Background(), ""); err != nil {
				t.Fatal(err)
			}
			return c
		}, 1, 1},
		{"after FindByMarker", github.Options{}, func(t *testing.T, c *github.Connector, b *backend, key string) *github.Connector {
			if _, err := c.FindByMarker(context.Background(), marker(1), connectors.FindHint{CreatedAfter: b.Now()}); err != nil {
				t.Fatal(err)
			}
			return c
		}, 1, 1},
		{"after another Update", github.Options{}, func(t *testing.T, c *github.Connector, b *backend, key string) *github.Connector {
			p1 := connectors.P2
			if _, err := c.Update(context.Background(), key, connectors.Patch{Priority: &p1}); err != nil {
				t.Fatal(err)
			}
			return c
		}, 0, 2},
		{"no prior read (another connector)", github.Options{}, func(t *testing.T, c *github.Connector, b *backend, key string) *github.Connector {
			return reconnect(t, b, github.Options{})
		}, 1, 1},
		{"entry older than the max age", github.Options{}, func(t *testing.T, c *github.Connector, b *backend, key string) *github.Connector {
			mustGet(t, c, key)
			b.Advance(github.DefaultIssueCacheAge)
			return c
		}, 2, 1},
		{"shorter max age", github.Options{IssueCacheAge: 2 * time.Second}, func(t *testing.T, c *github.Connector, b *backend, key string) *github.Connector {
			mustGet(t, c, key)
			b.Advance(2 * time.Second)
			return c
		}, 2, 1},
		{"cache off", github.Options{IssueCacheAge: -1}, func(t *testing.T, c *github.Connector, b *backend, key string) *github.Connector {
			mustGet(t, c, key)
			return c
		}, 2, 1},
		{"after AddComment", github.Options{}, func(t *testing.T, c *github.Connector, b *backend, key string) *github.Connector {
			if _, err := c.AddComment(context.Background(), key, "", "the issue's count moves"); err != nil {
				t.Fatal(err)
			}
			return c
		}, 1, 2},
		{"after a failed PATCH", github.Options{}, func(t *testing.T, c *github.Connector, b *backend, key string) *github.Connector {
			mustGet(t, c, key)
			b.Inject(conformance.Fault{Op: conformance.OpUpdate, Status: http.StatusBadGateway})
			p := connectors.P3
			if _, err := c.Update(context.Background(), key, connectors.Patch{Priority: &p}); !errors.Is(err, connectors.ErrTemporary) {
				t.Fatalf("Update with a 502: got %v, want ErrTemporary", err)
			}
			return c
		}, 2, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, b := setup(t, githubfake.Options{}, tc.co, nil)
			key := mustCreate(t, c, marker(1), item("before")).Ref.Key
			s0 := b.Stats()
			if tc.prime != nil {
				c = tc.prime(t, c, b, key)
			}
			title := "after"
			got, err := c.Update(context.Background(), key, connectors.Patch{Title: &title})
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			if reads, writes := cost(b, s0); reads != tc.wantReads || writes != tc.wantPuts {
				t.Errorf("got %d reads and %d writes, want %d and %d", reads, writes, tc.wantReads, tc.wantPuts)
			}
			if v, _ := b.Issue(key); v.Title != title || got.Title != title {
				t.Errorf("title: stored %q, returned %q, want %q", v.Title, got.Title, title)
			}
		})
	}
}

func mustGet(t *testing.T, c *github.Connector, key string) *connectors.Item {
	t.Helper()
	it, err := c.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	return it
}

// TestUpdateKeepsLabelsAddedBefore: a label a person adds is kept by a
// later Update whenever the connector has seen the issue since: a read,
// the expiry of what it remembered, or a webhook delivery for the issue.
func TestUpdateKeepsLabelsAddedBefore(t *testing.T) {
	tests := []struct {
		name    string
		refresh func(t *testing.T, c *github.Connector, b *backend, key string)
		reads   int // in Update
	}{
		{"read again", func(t *testing.T, c *github.Connector, b *backend, key string) { mustGet(t, c, key) }, 0},
		{"remembered issue expired", func(t *testing.T, c *github.Connector, b *backend, key string) {
			b.Advance(github.DefaultIssueCacheAge)
		}, 1},
		{"webhook delivery", func(t *testing.T, c *github.Connector, b *backend, key string) {
			ev, err := c.ParseWebhook(labeledDelivery(t, key), labeledBody(t, key))
			if err != nil || len(ev.Keys) != 1 || ev.Keys[0] != key {
				t.Fatalf("ParseWebhook: got %+v, %v; want the key %s", ev, err, key)
			}
		}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, b := setup(t, githubfake.Options{}, github.Options{}, nil)
			key := mustCreate(t, c, marker(1), item("x")).Ref.Key
			mustGet(t, c, key)
			if err := b.SetLabels(key, "P1", "needs-triage"); err != nil {
				t.Fatal(err)
			}
			tc.refresh(t, c, b, key)
			s0 := b.Stats()
			p0 := connectors.P0
			got, err := c.Update(context.Background(), key, connectors.Patch{Priority: &p0})
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			if reads, writes := cost(b, s0); reads != tc.reads || writes != 1 {
				t.Errorf("Update: got %d reads and %d writes, want %d and 1", reads, writes, tc.reads)
			}
			v, _ := b.Issue(key)
			slices.Sort(v.Labels)
			if want := []string{"P0", "needs-triage"}; !slices.Equal(v.Labels, want) || !slices.Equal(got.Labels, []string{"needs-triage"}) {
				t.Errorf("labels: stored %v, returned unmanaged %v; want %v and [needs-triage]", v.Labels, got.Labels, want)
			}
		})
	}
}

func labeledBody(t *testing.T, key string) []byte {
	t.Helper()
	n, err := strconv.Atoi(key[strings.LastIndex(key, "#")+1:])
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(map[string]any{
		"action":     "labeled",
		"issue":      map[string]any{"number": n, "title": "x", "state": "open"},
		"label":      map[string]any{"name": "needs-triage"},
		"repository": map[string]any{"full_name": testRepo, "name": "widgets"},
		"sender":     map[string]any{"login": "a-person", "type": "User"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func labeledDelivery(t *testing.T, key string) *http.Request {
	t.Helper()
	body := labeledBody(t, key)
	return hookRequest(t, "issues", "delivery-labeled", githubfake.Sign(hookSecret, body), body)
}
