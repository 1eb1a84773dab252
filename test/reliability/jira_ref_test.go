package reliability

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors/jira/jirafake"
	"github.com/pmsync/pmsync/store"
	"github.com/pmsync/pmsync/sync/engine"
)

// TestJiraWebhookByIssueIDKeepsTheLink delivers, for a linked platform item
// on Jira Data Center, the comment event that older Data Center versions
// send: it names the issue only by its numeric id (in comment.self), so
// the Jira connector reports the key "10001" rather than "PLAT-1". The
// engine must recognise the linked item: keep the link as it is (its
// mirrored comments, its broken state) and never recreate a mirror that
// was deleted.
func TestJiraWebhookByIssueIDKeepsTheLink(t *testing.T) {
	s := newSimEngine(t, SimOptions{Customers: 1})
	plat := s.sims.Trackers[engine.PlatformID]
	gh := s.sims.Trackers[JaneCorp]
	summary, labels := "plat item with a numeric-id webhook", []string{ActionLabel, "customer:" + JaneCorp}
	key, err := plat.Jira.CreateIssue("", jirafake.IssueInput{Summary: &summary, Labels: &labels})
	if err != nil {
		t.Fatal(err)
	}
	if err := plat.Jira.AddComment(key, "alice", CommentPrefix+" shared note", false); err != nil {
		t.Fatal(err)
	}
	e := s.engine(t)
	converge(t, e, 5)
	links, err := s.db.Links(JaneCorp)
	if err != nil || len(links) != 1 || len(links[0].Comments) != 1 {
		t.Fatalf("after the first sync: %d links (%v), want 1 with 1 mirrored comment", len(links), err)
	}
	before := links[0]
	issue, ok := plat.Jira.Issue(key)
	if !ok {
		t.Fatalf("no issue %s", key)
	}

	deliver := func(delivery string) {
		t.Helper()
		e := s.engine(t)
		srv := httptest.NewServer(e.WebhookHandler())
		defer srv.Close()
		body := fmt.Appendf(nil, `{"timestamp":1772441000000,"webhookEvent":"comment_created","comment":{"id":"10100","self":"%s/rest/api/2/issue/%s/comment/10100","body":"x"}}`, plat.URL, issue.ID)
		r, err := plat.HookRequest(srv.URL, body, delivery, HookValid, false)
		if err != nil {
			t.Fatal(err)
		}
		if code, msg := post(t, r); code != http.StatusAccepted {
			t.Fatalf("delivery: got HTTP %d %q, want 202", code, msg)
		}
		runUntilIdle(t, e)
	}

	deliver("numeric-1")
	after, err := s.db.Link(JaneCorp, before.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Comments) != len(before.Comments) || !after.CreatedAt.Equal(before.CreatedAt) {
		t.Errorf("the link was replaced: comments %d → %d, created %v → %v", len(before.Comments), len(after.Comments), before.CreatedAt, after.CreatedAt)
	}
	if ev := auditActions(t, s.db, JaneCorp); ev[engine.ActionAdopt] > 0 {
		t.Errorf("audit log records %d adoptions of an already linked mirror: %v", ev[engine.ActionAdopt], ev)
	}

	// The mirror is deleted: the link breaks and nothing may recreate it.
	if err := gh.GitHub.Delete(before.Remote.Ref.Key); err != nil {
		t.Fatal(err)
	}
	converge(t, s.engine(t), 5)
	if l, _ := s.db.Link(JaneCorp, before.ID); l == nil || l.State != store.LinkBroken {
		t.Fatalf("after deleting the mirror the link is %+v, want broken", l)
	}
	deliver("numeric-2")
	if n := gh.Backend.Count(); n != 0 {
		t.Errorf("GitHub holds %d items after a webhook naming the platform item by id, want 0: a deleted mirror was recreated", n)
	}
	if links, _ := s.db.Links(JaneCorp); len(links) != 1 || links[0].State != store.LinkBroken {
		t.Errorf("links after the webhook: %d, first %+v; want the one broken link", len(links), links)
	}
}

// converge runs SyncOnce until a pass writes nothing and fails nothing.
func converge(t *testing.T, e *engine.Engine, passes int) {
	t.Helper()
	for i := 0; i < passes; i++ {
		p, err := e.SyncOnce(context.Background(), false)
		if err != nil {
			t.Fatalf("SyncOnce: %v", err)
		}
		if len(p.Writes) == 0 && len(p.Failures) == 0 {
			return
		}
	}
	t.Fatalf("no quiescence after %d passes", passes)
}

// runUntilIdle runs the engine until its work queue has been empty for a
// moment, then stops it.
func runUntilIdle(t *testing.T, e *engine.Engine) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	idle := 0
	for idle < 5 {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("work queue not empty after 20 s: %d", e.Status().QueueDepth)
		}
		<-time.After(20 * time.Millisecond)
		if e.Status().QueueDepth == 0 {
			idle++
		} else {
			idle = 0
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// auditActions counts a customer's audit events by action.
func auditActions(t *testing.T, db *store.DB, customer string) map[string]int {
	t.Helper()
	evs, err := db.AuditLog(customer, time.Time{}, 0)
	if err != nil {
		t.Fatalf("AuditLog: %v", err)
	}
	out := map[string]int{}
	for _, ev := range evs {
		out[ev.Action]++
	}
	return out
}

// TestJiraWebhookOtherProjectNamesNoKey sends authentic deliveries about
// issues of another Jira project than the tracker's. Jira admin webhooks
// fire for every project unless filtered, so a platform tracker configured
// for PLAT receives them; like the GitHub and GitLab connectors (which
// name no key for another repository or project), the Jira connector must
// not hand the engine a key outside its project, or items of projects
// nobody configured could be read and mirrored.
func TestJiraWebhookOtherProjectNamesNoKey(t *testing.T) {
	s := StartSims(t, SimOptions{Customers: 3})
	for _, id := range []string{engine.PlatformID, Globex} {
		st := s.Trackers[id]
		conn := st.Conn(t, nil, Discard)
		body := []byte(`{"timestamp":1772441000000,"webhookEvent":"jira:issue_updated","issue":{"id":"77001","key":"HR-7"}}`)
		r, err := st.HookRequest("http://127.0.0.1:1", body, "other-project", HookValid, false)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := conn.ParseWebhook(r, body)
		if err != nil {
			t.Fatalf("%s: ParseWebhook: %v", id, err)
		}
		if len(ev.Keys) != 0 {
			t.Errorf("%s (project %s): a delivery about HR-7 names keys %q, want none", id, st.Project(), ev.Keys)
		}
	}
}
