package github_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/conformance"
	"github.com/pmsync/pmsync/connectors/github"
	"github.com/pmsync/pmsync/connectors/github/githubfake"
)

// setup returns a connector on a fresh simulator. Creates are not paced
// unless co says so.
func setup(tb testing.TB, fo githubfake.Options, co github.Options, client *http.Client) (*github.Connector, *backend) {
	tb.Helper()
	b := newBackend(tb, fo)
	if co.CreatesPerMinute == 0 {
		co.CreatesPerMinute = 1e6
	}
	c, err := github.New(connectors.Config{ID: "janecorp", URL: b.url, Project: testRepo, Token: conformance.Secret,
		WebhookSecret: hookSecret, Now: b.Now, HTTPClient: client}, co)
	if err != nil {
		tb.Fatalf("github.New: %v", err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c, b
}

func mustCreate(tb testing.TB, c *github.Connector, marker string, it connectors.Item) *connectors.Item {
	tb.Helper()
	got, err := c.Create(context.Background(), marker, &it)
	if err != nil {
		tb.Fatalf("Create(%q): %v", it.Title, err)
	}
	return got
}

func marker(i int) string { return fmt.Sprintf("m%04d", i) }

func item(title string) connectors.Item {
	return connectors.Item{Title: title, Status: connectors.StatusOpen, Priority: connectors.P1}
}

// TestIdlePollIsOne304 proves that a poll that finds nothing costs exactly
// one request, answered 304, which costs no rate-limit budget.
func TestIdlePollIsOne304(t *testing.T) {
	ctx := context.Background()
	c, b := setup(t, githubfake.Options{}, github.Options{}, nil)
	for i := range 3 {
		mustCreate(t, c, marker(i), item(fmt.Sprintf("item %d", i)))
	}
	cur := ""
	for range 2 { // the first poll reads everything, the second settles the question asked
		ch, err := c.Changes(ctx, cur)
		if err != nil {
			t.Fatal(err)
		}
		cur = ch.Cursor
	}
	b.Advance(time.Minute)
	before, budget := b.Stats(), c.RateLimit().Remaining
	ch, err := c.Changes(ctx, cur)
	if err != nil {
		t.Fatalf("idle Changes: %v", err)
	}
	after := b.Stats()
	if n := after.Requests - before.Requests; n != 1 || ch.Requests != 1 {
		t.Errorf("idle poll: got %d requests at the simulator (%d counted), want exactly 1", n, ch.Requests)
	}
	if n := after.NotModified - before.NotModified; n != 1 {
		t.Errorf("idle poll: got %d answers 304, want 1", n)
	}
	if len(ch.Items) != 0 || ch.Cursor != cur {
		t.Errorf("idle poll: got %d items and cursor %q, want none and the same cursor %q", len(ch.Items), ch.Cursor, cur)
	}
	if got := c.RateLimit().Remaining; got != budget {
		t.Errorf("remaining budget after a 304: got %d, want %d (a 304 is free)", got, budget)
	}

	// A change ends the 304s at once.
	b.Advance(time.Minute)
	if err := b.EditTitle(testRepo+"#2", "edited by a person"); err != nil {
		t.Fatal(err)
	}
	ch, err = c.Changes(ctx, cur)
	if err != nil {
		t.Fatal(err)
	}
	last := ch.Items[len(ch.Items)-1] // items within the overlap come again; the edit is newest
	if last.Ref.Key != testRepo+"#2" || last.Title != "edited by a person" || ch.Requests != 1 || ch.Cursor == cur {
		t.Errorf("poll after an edit: got %d items (newest %s %q) in %d requests, want the edit newest, 1 request, a new cursor",
			len(ch.Items), last.Ref.Key, last.Title, ch.Requests)
	}
}

// TestRetryAfter checks that 429 with Retry-After: 2 is a rate-limited
// error asking for exactly 2 s, and that BlockedUntil says so.
func TestRetryAfter(t *testing.T) {
	ctx := context.Background()
	c, b := setup(t, githubfake.Options{}, github.Options{}, nil)
	key := mustCreate(t, c, marker(1), item("x")).Ref.Key
	b.Inject(conformance.Fault{Op: conformance.OpGet, Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"2"}}})
	_, err := c.Get(ctx, key)
	if !errors.Is(err, connectors.ErrRateLimited) {
		t.Fatalf("Get: got %v, want ErrRateLimited", err)
	}
	if d, ok := connectors.RetryAfterOf(err); !ok || d != 2*time.Second {
		t.Errorf("RetryAfterOf: got %v (%v), want 2s", d, ok)
	}
	if got, want := c.RateLimit().BlockedUntil, b.Now().Add(2*time.Second); !got.Equal(want) {
		t.Errorf("BlockedUntil: got %v, want %v", got, want)
	}
	// Until the Retry-After has passed nothing is sent, even by a caller
	// that did not see the 429 (the engine's gate may have let it by).
	n := b.Requests()
	if _, err := c.Get(ctx, key); !errors.Is(err, connectors.ErrRateLimited) || !errors.Is(err, connectors.ErrNotSent) {
		t.Errorf("Get within the Retry-After: got %v, want a rate-limited error, not sent", err)
	}
	if got := b.Requests() - n; got != 0 {
		t.Errorf("Get within the Retry-After sent %d requests, want 0", got)
	}
	b.Advance(2 * time.Second)
	if _, err := c.Get(ctx, key); err != nil {
		t.Errorf("Get after the Retry-After: %v", err)
	}
}

// TestLostCreateFoundByMarker: the create is committed, its answer is lost
// (a cut connection or a 502); find-by-marker then finds the one issue.
func TestLostCreateFoundByMarker(t *testing.T) {
	for _, status := range []int{0, http.StatusBadGateway} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			ctx := context.Background()
			c, b := setup(t, githubfake.Options{SearchLag: 10 * time.Minute}, github.Options{}, nil)
			mustCreate(t, c, marker(1), item("another"))
			b.Inject(conformance.Fault{Op: conformance.OpCreate, Status: status, AfterCommit: true})
			asked := b.Now()
			it := item("lost answer")
			_, err := c.Create(ctx, marker(2), &it)
			if err == nil || !connectors.Retryable(err) {
				t.Fatalf("Create with a lost answer: got %v, want a retryable error", err)
			}
			for _, hint := range []connectors.FindHint{{CreatedAfter: asked}, {}} {
				got, err := c.FindByMarker(ctx, marker(2), hint)
				if err != nil {
					t.Fatalf("FindByMarker(hint %v): %v", hint.CreatedAfter, err)
				}
				if got.Title != "lost answer" || got.Marker != marker(2) {
					t.Errorf("FindByMarker: got %q marker %q, want %q %q", got.Title, got.Marker, "lost answer", marker(2))
				}
			}
			if n := b.Count(); n != 2 {
				t.Errorf("issues: got %d, want 2 (no duplicate)", n)
			}
			if n := b.Stats().SearchRequests; n != 0 {
				t.Errorf("search requests: got %d, want 0 (the index lags)", n)
			}
		})
	}
}

// TestPrimaryRateLimit exhausts the hourly budget in both forms GitHub
// uses. It also proves the connector bypasses go-github's own refusal,
// which runs on the wall clock: once the simulator's clock passes the
// reset, requests go through although the wall clock has not moved.
func TestPrimaryRateLimit(t *testing.T) {
	for _, status := range []int{http.StatusForbidden, http.StatusTooManyRequests} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			ctx := context.Background()
			c, b := setup(t, githubfake.Options{RateLimit: 5, RateLimitStatus: status}, github.Options{}, nil)
			key := mustCreate(t, c, marker(1), item("x")).Ref.Key // 3 requests: labels, label, issue
			for range 2 {
				if _, err := c.Get(ctx, key); err != nil {
					t.Fatal(err)
				}
			}
			if rs := c.RateLimit(); rs.Limit != 5 || rs.Remaining != 0 {
				t.Errorf("RateLimit: got limit %d remaining %d, want 5 and 0", rs.Limit, rs.Remaining)
			}
			for range 2 { // the second time go-github would refuse on its own
				_, err := c.Get(ctx, key)
				if !errors.Is(err, connectors.ErrRateLimited) {
					t.Fatalf("Get over budget: got %v, want ErrRateLimited", err)
				}
				if d, _ := connectors.RetryAfterOf(err); d != time.Hour {
					t.Errorf("RetryAfterOf: got %v, want 1h (until X-RateLimit-Reset)", d)
				}
			}
			if got, want := c.RateLimit().BlockedUntil, start.Add(time.Hour); !got.Equal(want) {
				t.Errorf("BlockedUntil: got %v, want %v", got, want)
			}
			b.Advance(time.Hour)
			if _, err := c.Get(ctx, key); err != nil {
				t.Errorf("Get after the reset: %v", err)
			}
		})
	}
}

// TestSecondaryRateLimit hits the content-creation limit in both forms.
func TestSecondaryRateLimit(t *testing.T) {
	for _, status := range []int{http.StatusForbidden, http.StatusTooManyRequests} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			ctx := context.Background()
			c, b := setup(t, githubfake.Options{SecondaryPerMinute: 2, SecondaryStatus: status}, github.Options{}, nil)
			key := mustCreate(t, c, marker(1), item("one")).Ref.Key
			b.Advance(20 * time.Second)
			mustCreate(t, c, marker(2), item("two"))
			it := item("three")
			_, err := c.Create(ctx, marker(3), &it)
			if !errors.Is(err, connectors.ErrRateLimited) {
				t.Fatalf("third create: got %v, want ErrRateLimited", err)
			}
			if d, _ := connectors.RetryAfterOf(err); d != 40*time.Second {
				t.Errorf("RetryAfterOf: got %v, want 40s (until the first create leaves the minute)", d)
			}
			if _, err := c.AddComment(ctx, key, "", "also content"); !errors.Is(err, connectors.ErrRateLimited) || !errors.Is(err, connectors.ErrNotSent) {
				t.Errorf("AddComment within the Retry-After: got %v, want ErrRateLimited, not sent", err)
			}
			b.Advance(41 * time.Second)
			mustCreate(t, c, marker(3), item("three"))
			if n, v := b.Count(), b.Stats().SecondaryLimited; n != 3 || v != 1 {
				t.Errorf("got %d issues and %d refusals, want 3 and 1 (nothing sent within the Retry-After)", n, v)
			}
		})
	}
}

// TestPacing proves content creation waits for the pacer: with one create
// a minute, a second create whose deadline comes first fails without
// reaching GitHub.
func TestPacing(t *testing.T) {
	c, b := setup(t, githubfake.Options{}, github.Options{CreatesPerMinute: 1}, nil)
	key := mustCreate(t, c, marker(1), item("first")).Ref.Key
	r0 := b.Requests()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	it := item("second")
	if _, err := c.Create(ctx, marker(2), &it); !errors.Is(err, connectors.ErrTemporary) {
		t.Errorf("paced Create: got %v, want ErrTemporary", err)
	}
	if _, err := c.AddComment(ctx, key, "", "paced too"); !errors.Is(err, connectors.ErrTemporary) {
		t.Errorf("paced AddComment: got %v, want ErrTemporary", err)
	}
	if n := b.Requests() - r0; n != 0 {
		t.Errorf("requests while paced: got %d, want 0", n)
	}
}

// TestLabelsEnsured checks pmsync's labels are created once, with colours.
func TestLabelsEnsured(t *testing.T) {
	c, b := setup(t, githubfake.Options{}, github.Options{}, nil)
	it := item("labelled")
	it.Kind, it.Incident, it.Status = connectors.KindDetect, "INC-1", connectors.StatusInProgress
	mustCreate(t, c, marker(1), it)
	labels := map[string]githubfake.LabelView{}
	for _, l := range b.Labels(testRepo) {
		labels[l.Name] = l
	}
	for name, color := range map[string]string{"P1": "d93f0b", "type:detect": "5319e7", "incident:INC-1": "e99695", "status:in-progress": "1d76db"} {
		if l, ok := labels[name]; !ok || l.Color != color || l.Description == "" {
			t.Errorf("label %s: got %+v, want colour %s and a description", name, l, color)
		}
	}
	r0 := b.Requests()
	mustCreate(t, c, marker(2), it)
	if n := b.Requests() - r0; n != 1 {
		t.Errorf("second create with the same labels: got %d requests, want 1 (labels cached)", n)
	}
	it.Incident = "INC-2"
	r0 = b.Requests()
	mustCreate(t, c, marker(3), it)
	if n := b.Requests() - r0; n != 2 {
		t.Errorf("create with one new label: got %d requests, want 2", n)
	}
}

// TestUpdateKeepsLabels: one PATCH replaces the label set and keeps the
// labels pmsync does not manage, read as the engine does, with Get right
// before Update.
func TestUpdateKeepsLabels(t *testing.T) {
	ctx := context.Background()
	c, b := setup(t, githubfake.Options{}, github.Options{}, nil)
	key := mustCreate(t, c, marker(1), item("x")).Ref.Key
	if err := b.SetLabels(key, "needs-triage", "P1", "customer:janecorp"); err != nil {
		t.Fatal(err)
	}
	w0, r0 := b.Writes(), b.Requests()
	if _, err := c.Get(ctx, key); err != nil {
		t.Fatal(err)
	}
	p0, wont := connectors.P0, connectors.StatusWontDo
	got, err := c.Update(ctx, key, connectors.Patch{Priority: &p0, Status: &wont})
	if err != nil {
		t.Fatal(err)
	}
	if w, r := b.Writes()-w0, b.Requests()-r0; w != 1 || r != 2 {
		t.Errorf("Get and Update: got %d writes in %d requests, want 1 write in 2 (read, patch)", w, r)
	}
	v, _ := b.Issue(key)
	slices.Sort(v.Labels)
	if want := []string{"P0", "customer:janecorp", "needs-triage"}; !slices.Equal(v.Labels, want) || v.State != "closed" || v.StateReason != "not_planned" {
		t.Errorf("stored: got labels %v state %s/%s, want %v closed/not_planned", v.Labels, v.State, v.StateReason, want)
	}
	if got.Status != wont || got.Priority != p0 || !slices.Equal(got.Labels, []string{"needs-triage", "customer:janecorp"}) {
		t.Errorf("returned: got status %s priority %s labels %v", got.Status, got.Priority, got.Labels)
	}
}

// TestPullRequestsNeverItems: pull requests are in GitHub's issue list but
// never become items.
func TestPullRequestsNeverItems(t *testing.T) {
	ctx := context.Background()
	c, b := setup(t, githubfake.Options{}, github.Options{}, nil)
	n, err := b.AddPullRequest(testRepo, "a pull request")
	if err != nil {
		t.Fatal(err)
	}
	key := mustCreate(t, c, marker(1), item("an issue")).Ref.Key
	ch, err := c.Changes(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Items) != 1 || ch.Items[0].Ref.Key != key {
		t.Errorf("Changes: got %v, want only %s", ch.Items, key)
	}
	if _, err := c.Get(ctx, fmt.Sprintf("%s#%d", testRepo, n)); !errors.Is(err, connectors.ErrNotFound) {
		t.Errorf("Get(pull request): got %v, want ErrNotFound", err)
	}
}

// TestDueDate reads a milestone's due_on and writes the Due line.
func TestDueDate(t *testing.T) {
	ctx := context.Background()
	c, b := setup(t, githubfake.Options{}, github.Options{}, nil)
	key := mustCreate(t, c, marker(1), item("x")).Ref.Key
	ms, err := b.CreateMilestone(testRepo, "Q3", time.Date(2026, 7, 1, 7, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SetMilestone(key, ms); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Get(ctx, key); got == nil || got.Due != "2026-07-01" {
		t.Fatalf("Get with a milestone: got %+v, want Due 2026-07-01", got)
	}
	due := "2026-08-15"
	if _, err := c.Update(ctx, key, connectors.Patch{Due: &due}); err != nil {
		t.Fatal(err)
	}
	v, _ := b.Issue(key)
	if want := "Due: 2026-08-15\n\n<!-- pmsync:" + marker(1) + " -->"; v.Body != want {
		t.Errorf("body: got %q, want %q", v.Body, want)
	}
	if got, _ := c.Get(ctx, key); got.Due != due {
		t.Errorf("Get: got Due %q, want %q (the body line wins over the milestone)", got.Due, due)
	}
}

// hookRT runs after() once a response has arrived, before go-github reads it.
type hookRT struct {
	mu    sync.Mutex
	after func(*http.Request)
}

func (h *hookRT) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	h.mu.Lock()
	fn := h.after
	h.mu.Unlock()
	if err == nil && fn != nil {
		fn(r)
	}
	return resp, err
}

// TestChangesUpdateDuringWalk updates the oldest issue between the first
// and second page of a walk. It jumps to the top, which the walk has
// passed; no other issue may be lost, and the next poll reads it.
func TestChangesUpdateDuringWalk(t *testing.T) {
	ctx := context.Background()
	rt := &hookRT{}
	c, b := setup(t, githubfake.Options{}, github.Options{PageSize: 5}, &http.Client{Transport: rt})
	var keys []string
	for i := range 12 {
		keys = append(keys, mustCreate(t, c, marker(i), item(fmt.Sprintf("item %d", i))).Ref.Key)
		b.Advance(time.Minute)
	}
	b.Advance(time.Hour)
	var once sync.Once
	rt.after = func(r *http.Request) {
		if r.URL.Query().Get("sort") == "updated" && r.URL.Query().Get("page") == "" {
			once.Do(func() {
				if err := b.EditTitle(keys[0], "edited mid-walk"); err != nil {
					t.Error(err)
				}
			})
		}
	}
	first, err := c.Changes(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	rt.mu.Lock()
	rt.after = nil
	rt.mu.Unlock()
	seen := map[string]string{}
	for _, it := range first.Items {
		seen[it.Ref.Key] = it.Title
	}
	for _, k := range keys[1:] {
		if _, ok := seen[k]; !ok {
			t.Errorf("first walk lost %s (got %d items)", k, len(first.Items))
		}
	}
	second, err := c.Changes(ctx, first.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, it := range second.Items {
		found = found || (it.Ref.Key == keys[0] && it.Title == "edited mid-walk")
	}
	if !found {
		t.Errorf("second walk: %s with its new title missing from %d items", keys[0], len(second.Items))
	}
}

// TestEnterpriseURL: a GitHub Enterprise host gets the /api/v3/ prefix.
func TestEnterpriseURL(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":1,"number":7,"title":"t","state":"open","html_url":"https://ghe.example/acme/widgets/issues/7"}`)
	}))
	defer srv.Close()
	c, err := github.New(connectors.Config{ID: "ghe", URL: srv.URL, Project: testRepo, Token: "t"}, github.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(context.Background(), testRepo+"#7"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"/api/v3/repos/acme/widgets/issues/7"}; !slices.Equal(paths, want) {
		t.Errorf("paths: got %v, want %v", paths, want)
	}
}

// TestCommentsSince lists comments of the whole repository at once.
func TestCommentsSince(t *testing.T) {
	ctx := context.Background()
	c, b := setup(t, githubfake.Options{}, github.Options{}, nil)
	a := mustCreate(t, c, marker(1), item("a")).Ref.Key
	bk := mustCreate(t, c, marker(2), item("b")).Ref.Key
	if _, err := c.AddComment(ctx, a, "c1", "old"); err != nil {
		t.Fatal(err)
	}
	b.Advance(time.Hour)
	since := b.Now()
	if _, err := c.AddComment(ctx, bk, "c2", "new by pmsync"); err != nil {
		t.Fatal(err)
	}
	if err := b.AddComment(a, "alice", "new by a person", false); err != nil {
		t.Fatal(err)
	}
	r0 := b.Requests()
	got, err := c.CommentsSince(ctx, since)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Key != bk || got[0].Marker != "c2" || got[1].Key != a || got[1].Author != "alice" {
		t.Errorf("CommentsSince: got %+v, want b's comment (marker c2) then alice's on a", got)
	}
	if n := b.Requests() - r0; n != 1 {
		t.Errorf("CommentsSince: got %d requests, want 1", n)
	}
}

// TestBodyLimitAgainstGitHub: a description that makes the body exactly
// 65,536 characters is stored and reads back intact; one more character
// is refused as invalid, naming the field, before any request.
func TestBodyLimitAgainstGitHub(t *testing.T) {
	ctx := context.Background()
	c, b := setup(t, githubfake.Options{}, github.Options{}, nil)
	overhead := len("\n\n<!-- pmsync:" + marker(1) + " -->")
	it := item("long")
	it.Priority = ""
	it.Description = strings.Repeat("ü", github.MaxBody-overhead)
	got := mustCreate(t, c, marker(1), it)
	if read, err := c.Get(ctx, got.Ref.Key); err != nil || read.Description != it.Description {
		t.Fatalf("Get: description of %d characters did not round trip (%v)", len([]rune(it.Description)), err)
	}
	r0 := b.Requests()
	it.Description += "ü"
	_, err := c.Create(ctx, marker(2), &it)
	if !errors.Is(err, connectors.ErrInvalid) || !strings.Contains(err.Error(), "description") {
		t.Errorf("Create over the limit: got %v, want ErrInvalid naming description", err)
	}
	_, err = c.Update(ctx, got.Ref.Key, connectors.Patch{Description: &it.Description})
	if !errors.Is(err, connectors.ErrInvalid) {
		t.Errorf("Update over the limit: got %v, want ErrInvalid", err)
	}
	if w := b.Writes(); w != 1 {
		t.Errorf("writes: got %d, want 1 (only the first create)", w)
	}
	if n := b.Requests() - r0; n != 0 {
		t.Errorf("requests for the refused create and update: got %d, want 0 (the update works on the issue Get read)", n)
	}
}
