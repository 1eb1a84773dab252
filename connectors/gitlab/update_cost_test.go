package gitlab

import (
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/conformance"
	"github.com/pmsync/pmsync/connectors/gitlab/gitlabfake"
)

// traffic is what the simulator received between two points.
type traffic struct{ reads, writes int }

// measure runs fn and returns the requests the simulator counted meanwhile.
func measure(srv *gitlabfake.Server, fn func()) traffic {
	r0, w0 := srv.Requests(), srv.Writes()
	fn()
	r, w := srv.Requests()-r0, srv.Writes()-w0
	return traffic{reads: r - w, writes: w}
}

// TestUpdateCost counts the requests of a field change on the simulator:
// after a fresh answer carrying the issue, Update is the PUT alone (so
// the engine's Get and Update are 1 GET + 1 PUT); without one, or once it
// is stale or dropped, Update reads first.
func TestUpdateCost(t *testing.T) {
	tests := []struct {
		name   string
		before func(t *testing.T, c *Client, srv *gitlabfake.Server, key string)
		want   traffic // of the Update alone
	}{
		{"after Get", func(t *testing.T, c *Client, _ *gitlabfake.Server, key string) {
			if _, err := c.Get(t.Context(), key); err != nil {
				t.Fatal(err)
			}
		}, traffic{0, 1}},
		{"after Get, 10 s later", func(t *testing.T, c *Client, srv *gitlabfake.Server, key string) {
			if _, err := c.Get(t.Context(), key); err != nil {
				t.Fatal(err)
			}
			srv.Advance(issueCacheMaxAge)
		}, traffic{0, 1}},
		{"after Changes", func(t *testing.T, c *Client, _ *gitlabfake.Server, _ string) {
			if _, err := c.Changes(t.Context(), ""); err != nil {
				t.Fatal(err)
			}
		}, traffic{0, 1}},
		{"after FindByMarker", func(t *testing.T, c *Client, _ *gitlabfake.Server, _ string) {
			if _, err := c.FindByMarker(t.Context(), marker(1), connectors.FindHint{}); err != nil {
				t.Fatal(err)
			}
		}, traffic{0, 1}},
		{"after an Update", func(t *testing.T, c *Client, _ *gitlabfake.Server, key string) {
			title := "first change"
			if _, err := c.Update(t.Context(), key, connectors.Patch{Title: &title}); err != nil {
				t.Fatal(err)
			}
		}, traffic{0, 1}},
		{"no answer yet (new connector)", func(*testing.T, *Client, *gitlabfake.Server, string) {}, traffic{1, 1}},
		{"stale answer", func(t *testing.T, c *Client, srv *gitlabfake.Server, key string) {
			if _, err := c.Get(t.Context(), key); err != nil {
				t.Fatal(err)
			}
			srv.Advance(issueCacheMaxAge + time.Millisecond)
		}, traffic{1, 1}},
		{"after a note was added", func(t *testing.T, c *Client, _ *gitlabfake.Server, key string) {
			if _, err := c.Get(t.Context(), key); err != nil {
				t.Fatal(err)
			}
			if _, err := c.AddComment(t.Context(), key, "", "a note"); err != nil {
				t.Fatal(err)
			}
		}, traffic{1, 1}},
		{"after a webhook for the issue", func(t *testing.T, c *Client, srv *gitlabfake.Server, key string) {
			if _, err := c.Get(t.Context(), key); err != nil {
				t.Fatal(err)
			}
			r, err := srv.IssueHookRequest(key, hookSecret, "d-1")
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(r.Body)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.ParseWebhook(r, body); err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
		}, traffic{1, 1}},
		{"after a failed PUT", func(t *testing.T, c *Client, srv *gitlabfake.Server, key string) {
			if _, err := c.Get(t.Context(), key); err != nil {
				t.Fatal(err)
			}
			srv.Inject(conformance.Fault{Op: conformance.OpUpdate, Status: http.StatusInternalServerError})
			title := "refused"
			if _, err := c.Update(t.Context(), key, connectors.Patch{Title: &title}); !errors.Is(err, connectors.ErrTemporary) {
				t.Fatalf("Update answered 500: got %v, want a temporary error", err)
			}
		}, traffic{1, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			first, srv := setup(t, gitlabfake.Options{})
			key := mustCreate(t, first, marker(1), connectors.Item{Title: "t", Status: connectors.StatusOpen, Priority: connectors.P3}).Ref.Key
			c := connectTo(t, srv) // a connector that saw nothing yet
			tc.before(t, c, srv, key)
			title, pr := "changed title", connectors.P1
			var got *connectors.Item
			cost := measure(srv, func() {
				var err error
				if got, err = c.Update(t.Context(), key, connectors.Patch{Title: &title, Priority: &pr}); err != nil {
					t.Fatalf("Update: %v", err)
				}
			})
			if cost != tc.want {
				t.Errorf("Update: got %d reads + %d writes, want %d + %d", cost.reads, cost.writes, tc.want.reads, tc.want.writes)
			}
			stored, err := first.Get(t.Context(), key)
			if err != nil {
				t.Fatal(err)
			}
			if got.Title != title || got.Priority != pr || !got.UpdatedAt.Equal(stored.UpdatedAt) || got.CommentCount != stored.CommentCount {
				t.Errorf("Update returned title %q priority %q updated %v comments %d, want the stored %q %q %v %d",
					got.Title, got.Priority, got.UpdatedAt, got.CommentCount, stored.Title, stored.Priority, stored.UpdatedAt, stored.CommentCount)
			}
		})
	}
}

// TestGetThenUpdateIsOneReadOneWrite is the engine's reconcile of a field
// change as the simulator counts it.
func TestGetThenUpdateIsOneReadOneWrite(t *testing.T) {
	c, srv := setup(t, gitlabfake.Options{})
	key := mustCreate(t, c, marker(1), connectors.Item{Title: "t", Status: connectors.StatusOpen}).Ref.Key
	srv.Advance(time.Minute) // the create's answer is stale
	for i, title := range []string{"one", "two", "three"} {
		cost := measure(srv, func() {
			if _, err := c.Get(t.Context(), key); err != nil {
				t.Fatal(err)
			}
			st := connectors.StatusInProgress
			if i%2 == 1 {
				st = connectors.StatusDone
			}
			if _, err := c.Update(t.Context(), key, connectors.Patch{Title: &title, Status: &st}); err != nil {
				t.Fatal(err)
			}
		})
		if cost != (traffic{1, 1}) {
			t.Errorf("change %d: got %d reads + %d writes, want 1 + 1", i, cost.reads, cost.writes)
		}
		srv.Advance(time.Minute)
	}
	// A patch the issue already satisfies costs the Get and nothing else.
	same := "three"
	cost := measure(srv, func() {
		if _, err := c.Get(t.Context(), key); err != nil {
			t.Fatal(err)
		}
		it, err := c.Update(t.Context(), key, connectors.Patch{Title: &same})
		if err != nil || it.Title != same {
			t.Fatalf("Update with nothing to change: got %+v, %v", it, err)
		}
	})
	if cost != (traffic{1, 0}) {
		t.Errorf("no-op change: got %d reads + %d writes, want 1 + 0", cost.reads, cost.writes)
	}
}

// TestUpdateFromCacheKeepsPersonsLabel: a person adds a label between the
// engine's Get and its Update (the read-modify-write window). The PUT
// sends label deltas, so the person's label survives, and the returned
// item is the PUT's answer, which shows it.
func TestUpdateFromCacheKeepsPersonsLabel(t *testing.T) {
	c, srv := setup(t, gitlabfake.Options{})
	key := mustCreate(t, c, marker(1), connectors.Item{Title: "t", Status: connectors.StatusOpen, Priority: connectors.P3}).Ref.Key
	if _, err := c.Get(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	if err := srv.PersonEdit(key, gitlabfake.Edit{AddLabels: []string{"customer-visible"}}); err != nil {
		t.Fatal(err)
	}
	pr := connectors.P0
	var got *connectors.Item
	cost := measure(srv, func() {
		var err error
		if got, err = c.Update(t.Context(), key, connectors.Patch{Priority: &pr}); err != nil {
			t.Fatal(err)
		}
	})
	if cost != (traffic{0, 1}) {
		t.Errorf("Update: got %d reads + %d writes, want 0 + 1", cost.reads, cost.writes)
	}
	if got.Priority != connectors.P0 || !got.HasLabel("customer-visible") {
		t.Errorf("Update returned priority %q labels %q, want P0 and the person's label", got.Priority, got.Labels)
	}
}

// connectTo builds a second connector on srv, with an empty cache.
func connectTo(t *testing.T, srv *gitlabfake.Server) *Client {
	t.Helper()
	c, err := newClient(connectors.Config{
		ID: "acme", Kind: Kind, URL: srv.URL(), Project: testProject, Token: testToken,
		WebhookSecret: hookSecret, Now: srv.Now,
	})
	if err != nil {
		t.Fatalf("newClient: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
