package jira

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/conformance"
	"github.com/pmsync/pmsync/connectors/jira/jirafake"
)

func TestRateLimited(t *testing.T) {
	reset := func(e *env) string { return e.fake.Now().Add(2 * time.Minute).UTC().Format("2006-01-02T15:04Z") }
	tests := []struct {
		name   string
		status int
		header func(e *env) http.Header
		want   func(e *env) time.Duration
		reason string
	}{
		{"429 with Retry-After", 429, func(*env) http.Header {
			return http.Header{"Retry-After": {"7"}, "Ratelimit-Reason": {"jira-burst-based"}}
		}, func(*env) time.Duration { return 7 * time.Second }, "jira-burst-based"},
		{"503 with Retry-After", 503, func(*env) http.Header {
			return http.Header{"Retry-After": {"3"}}
		}, func(*env) time.Duration { return 3 * time.Second }, ""},
		{"429 with only an ISO reset", 429, func(e *env) http.Header {
			return http.Header{"X-Ratelimit-Reset": {reset(e)}}
		}, func(e *env) time.Duration {
			at, _ := time.Parse("2006-01-02T15:04Z", reset(e))
			return at.Sub(e.fake.Now())
		}, ""},
	}
	for _, tc := range tests {
		e := newEnv(t, jirafake.Options{}, nil)
		key := e.create(t, "", "limited").Ref.Key
		e.fake.Inject(conformance.Fault{Op: conformance.OpGet, Status: tc.status, Header: tc.header(e)})
		_, err := e.c.Get(ctxT(t), key)
		wait, ok := connectors.RetryAfterOf(err)
		if !errors.Is(err, connectors.ErrRateLimited) || !ok || wait != tc.want(e) {
			t.Errorf("%s: got %v (retry after %v, %v), want ErrRateLimited with %v", tc.name, err, wait, ok, tc.want(e))
		}
		if tc.reason != "" && !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("%s: error %q does not name the reason %q", tc.name, err, tc.reason)
		}
		if got := e.c.RateLimit().BlockedUntil; !got.Equal(e.fake.Now().Add(tc.want(e))) {
			t.Errorf("%s: BlockedUntil got %v, want %v", tc.name, got, e.fake.Now().Add(tc.want(e)))
		}
	}
}

func TestPerIssueWriteLimit(t *testing.T) {
	e := newEnv(t, jirafake.Options{PerIssueWriteLimit: 2}, nil)
	key := e.create(t, "", "hot issue").Ref.Key
	title := func(s string) connectors.Patch { return connectors.Patch{Title: &s} }
	for i, s := range []string{"one", "two"} {
		if _, err := e.c.Update(ctxT(t), key, title(s)); err != nil {
			t.Fatalf("write %d: %v", i+1, err)
		}
	}
	w := e.fake.Writes()
	_, err := e.c.Update(ctxT(t), key, title("three"))
	wait, _ := connectors.RetryAfterOf(err)
	if !errors.Is(err, connectors.ErrRateLimited) || wait != time.Second || !strings.Contains(err.Error(), "jira-per-issue-on-write") {
		t.Fatalf("third write in a second: got %v (wait %v), want ErrRateLimited for 1s naming jira-per-issue-on-write", err, wait)
	}
	if got := e.fake.Writes() - w; got != 1 {
		t.Errorf("writes after the 429: got %d, want 1 (the connector must not retry)", got)
	}
	e.fake.Advance(time.Second)
	if _, err := e.c.Update(ctxT(t), key, title("three")); err != nil {
		t.Errorf("write after the wait: %v", err)
	}
}

func TestCreateIsOneWriteWithMarker(t *testing.T) {
	for _, fl := range flavors {
		e := newEnv(t, jirafake.Options{Flavor: fl}, nil)
		marker := connectors.MarkerID([]byte("k"), "platform", "10001", "janecorp")
		w := e.fake.Writes()
		it, err := e.c.Create(ctxT(t), marker, &connectors.Item{Title: "mirror", Kind: connectors.KindDetect, Labels: []string{"customer:janecorp"}})
		if err != nil {
			t.Fatalf("%s: Create: %v", fl, err)
		}
		if got := e.fake.Writes() - w; got != 1 {
			t.Errorf("%s: Create made %d writes, want 1 (marker property and label in the create)", fl, got)
		}
		st := e.issue(t, it.Ref.Key)
		if st.Properties["pmsync"] != `{"marker":"`+marker+`"}` || !slices.Contains(st.Labels, "pmsync-"+marker) {
			t.Errorf("%s: issue has properties %v labels %v, want the marker in both", fl, st.Properties, st.Labels)
		}
		if it.Marker != marker || slices.Contains(it.Labels, "pmsync-"+marker) || it.Kind != connectors.KindDetect {
			t.Errorf("%s: item got marker %q labels %v kind %q; want the marker apart from the labels", fl, it.Marker, it.Labels, it.Kind)
		}
		// A person removing the label does not lose the marker.
		if err := e.fake.Edit(it.Ref.Key, jirafake.IssueInput{Labels: &[]string{"customer:janecorp"}}); err != nil {
			t.Fatal(err)
		}
		if got, err := e.c.Get(ctxT(t), it.Ref.Key); err != nil || got.Marker != marker {
			t.Errorf("%s: marker after the label was removed: got %v, %v; want %q from the property", fl, got, err, marker)
		}
	}
}

func TestUpdateIsOnePUTOfChangedFields(t *testing.T) {
	for _, fl := range flavors {
		e := newEnv(t, jirafake.Options{Flavor: fl}, nil)
		key := e.create(t, "", "before").Ref.Key
		who := e.fake.Users()[0]
		title, prio, due := "after", connectors.P0, "2026-04-01"
		n := e.rec.count()
		it, err := e.c.Update(ctxT(t), key, connectors.Patch{Title: &title, Priority: &prio, Due: &due, Assignee: &who})
		if err != nil {
			t.Fatalf("%s: Update: %v", fl, err)
		}
		reqs := e.rec.since(n)
		if len(reqs) != 1 || reqs[0].Method != http.MethodPut {
			t.Fatalf("%s: Update right after the create's read sent %v, want one PUT", fl, reqs)
		}
		var body map[string]map[string]any
		if err := json.Unmarshal([]byte(reqs[0].Body), &body); err != nil || len(body) != 1 {
			t.Fatalf("%s: PUT body %s: want only \"fields\"", fl, reqs[0].Body)
		}
		var names []string
		for k := range body["fields"] {
			names = append(names, k)
		}
		slices.Sort(names)
		if !slices.Equal(names, []string{"assignee", "duedate", "priority", "summary"}) {
			t.Errorf("%s: PUT fields %v, want exactly the changed ones", fl, names)
		}
		wantAssignee := map[string]any{"accountId": who}
		if fl == jirafake.DataCenter {
			wantAssignee = map[string]any{"name": who}
		}
		if got, _ := json.Marshal(body["fields"]["assignee"]); string(got) != mustJSON(wantAssignee) {
			t.Errorf("%s: assignee sent as %s, want %s", fl, got, mustJSON(wantAssignee))
		}
		if it.Title != title || it.Priority != prio || it.Due != due || it.Assignee != who {
			t.Errorf("%s: item after Update: %+v", fl, it)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestWebhooksEndToEnd delivers the simulator's own webhooks to a receiver
// that authenticates them with the connector.
func TestWebhooksEndToEnd(t *testing.T) {
	for _, fl := range flavors {
		var (
			mu     sync.Mutex
			events []*connectors.WebhookEvent
			failed bool
			c      *Connector
		)
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			defer mu.Unlock()
			if !failed {
				failed = true // the first delivery fails once: it comes back
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			ev, err := c.ParseWebhook(r, body)
			if err != nil {
				t.Errorf("%s: ParseWebhook: %v", fl, err)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			events = append(events, ev)
			w.WriteHeader(http.StatusAccepted)
		}))
		t.Cleanup(recv.Close)
		e := newEnv(t, jirafake.Options{Flavor: fl, WebhookURL: recv.URL + "/webhooks/platform"}, nil)
		mu.Lock()
		c = e.c
		mu.Unlock()
		key := e.create(t, "", "hooked").Ref.Key
		if _, err := e.c.AddComment(ctxT(t), key, "", "a comment"); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			_ = e.fake.FlushWebhooks(context.Background())
		}
		mu.Lock()
		var names []string
		ids := map[string]bool{}
		for _, ev := range events {
			names = append(names, ev.Event)
			ids[ev.DeliveryID] = true
			if !slices.Equal(ev.Keys, []string{key}) {
				t.Errorf("%s: %s keys %v, want [%s]", fl, ev.Event, ev.Keys, key)
			}
		}
		mu.Unlock()
		if want := []string{"jira:issue_created", "comment_created", "jira:issue_updated"}; !slices.Equal(names, want) {
			t.Errorf("%s: events %v, want %v (issue_updated fired alongside comment_created)", fl, names, want)
		}
		if len(ids) != len(names) {
			t.Errorf("%s: delivery ids %v, want one per event", fl, ids)
		}
		if d := e.fake.Delivered(); len(d) == 0 || d[0].Attempts != 2 {
			t.Errorf("%s: first delivery attempts: got %v, want 2 (a retry after the 503)", fl, d)
		}
	}
}
