package githubfake_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors/conformance"
	"github.com/pmsync/pmsync/connectors/github/githubfake"
)

const token = "fake-token-1"

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// api is a fake behind a test server, spoken to with plain net/http.
type api struct {
	t    *testing.T
	f    *githubfake.Fake
	base string
}

func newAPI(t *testing.T, o githubfake.Options) *api {
	t.Helper()
	o.Token = token
	if o.Start.IsZero() {
		o.Start = t0
	}
	o.Repos = append(o.Repos, "acme/widgets")
	f, err := githubfake.New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f)
	t.Cleanup(func() { srv.Close(); _ = f.Close() })
	return &api{t: t, f: f, base: srv.URL}
}

// answer is one decoded response.
type answer struct {
	status int
	header http.Header
	body   any
	raw    []byte
}

func (a *api) do(method, path string, body any, hdr ...string) answer {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	ans := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &ans.body); err != nil {
			a.t.Fatalf("%s %s: answer is not JSON: %q", method, path, raw)
		}
	}
	return ans
}

func (a *api) want(ans answer, status int) answer {
	a.t.Helper()
	if ans.status != status {
		a.t.Fatalf("got status %d (%s), want %d", ans.status, ans.raw, status)
	}
	return ans
}

func (a *api) create(title string, extra map[string]any) int {
	a.t.Helper()
	body := map[string]any{"title": title}
	for k, v := range extra {
		body[k] = v
	}
	ans := a.want(a.do("POST", "/repos/acme/widgets/issues", body), 201)
	return int(ans.body.(map[string]any)["number"].(float64))
}

func numbers(ans answer) []int {
	var out []int
	for _, it := range ans.body.([]any) {
		out = append(out, int(it.(map[string]any)["number"].(float64)))
	}
	return out
}

func TestAuth(t *testing.T) {
	a := newAPI(t, githubfake.Options{})
	for _, h := range []string{"", "Bearer wrong", "Basic " + token} {
		ans := a.do("GET", "/repos/acme/widgets/issues", nil, "Authorization", h)
		if ans.status != 401 {
			t.Errorf("Authorization %q: got %d, want 401", h, ans.status)
			continue
		}
		m := ans.body.(map[string]any)
		if m["message"] != "Bad credentials" || m["documentation_url"] == nil {
			t.Errorf("401 body: got %s, want GitHub's shape", ans.raw)
		}
	}
	a.want(a.do("GET", "/repos/acme/widgets/issues", nil, "Authorization", "token "+token), 200)
	a.want(a.do("GET", "/repos/acme/nothing/issues", nil), 404)
	if _, err := githubfake.New(githubfake.Options{}); err == nil {
		t.Errorf("New without a token: got no error")
	}
}

func TestListIssues(t *testing.T) {
	a := newAPI(t, githubfake.Options{})
	for i := 1; i <= 5; i++ {
		a.create(fmt.Sprintf("issue %d", i), nil)
		a.f.Advance(time.Minute)
	}
	if _, err := a.f.AddPullRequest("acme/widgets", "a pull request"); err != nil { // #6
		t.Fatal(err)
	}
	if err := a.f.SetState("acme/widgets#2", "closed", "not_planned"); err != nil { // updated 09:05
		t.Fatal(err)
	}
	tests := []struct {
		query string
		want  []int
	}{
		{"", []int{6, 5, 4, 3, 1}}, // open, created desc, pull requests included
		{"?state=all", []int{6, 5, 4, 3, 2, 1}},
		{"?state=closed", []int{2}},
		{"?state=all&sort=updated&direction=asc", []int{1, 3, 4, 5, 2, 6}},
		{"?state=all&since=2026-03-02T09:03:00Z", []int{6, 5, 4, 2}},     // at or after
		{"?state=all&since=2026-03-02T09:03:00.900Z", []int{6, 5, 4, 2}}, // whole seconds
		{"?state=all&since=2026-03-02T09:03:01Z", []int{6, 5, 2}},
		{"?state=all&per_page=2&page=2", []int{4, 3}},
		{"?state=all&per_page=2&page=9", nil},
	}
	for _, tc := range tests {
		ans := a.want(a.do("GET", "/repos/acme/widgets/issues"+tc.query, nil), 200)
		if got := numbers(ans); !slices.Equal(got, tc.want) {
			t.Errorf("GET issues%s: got %v, want %v", tc.query, got, tc.want)
		}
	}
	ans := a.do("GET", "/repos/acme/widgets/issues?state=all&per_page=2&page=2", nil)
	link := ans.header.Get("Link")
	for _, rel := range []string{`rel="prev"`, `rel="next"`, `rel="last"`, `rel="first"`, "/repositories/", "page=3", "per_page=2"} {
		if !strings.Contains(link, rel) {
			t.Errorf("Link %q lacks %s", link, rel)
		}
	}
	next := link[strings.Index(link, `rel="prev", <`)+len(`rel="prev", <`):]
	next = strings.TrimPrefix(next[:strings.Index(next, ">")], a.base)
	if got := numbers(a.want(a.do("GET", next, nil), 200)); !slices.Equal(got, []int{2, 1}) {
		t.Errorf("following Link next %s: got %v, want [2 1]", next, got)
	}
	a.want(a.do("GET", "/repos/acme/widgets/issues?since=yesterday", nil), 422)
	a.want(a.do("GET", "/repos/acme/widgets/issues?sort=votes", nil), 422)
}

func TestETag(t *testing.T) {
	a := newAPI(t, githubfake.Options{})
	a.create("one", nil)
	path := "/repos/acme/widgets/issues?state=all&sort=updated"
	first := a.want(a.do("GET", path, nil), 200)
	etag := first.header.Get("Etag")
	remaining := first.header.Get("X-Ratelimit-Remaining")
	for range 3 {
		ans := a.want(a.do("GET", path, nil, "If-None-Match", etag), 304)
		if got := ans.header.Get("X-Ratelimit-Remaining"); got != remaining || len(ans.raw) != 0 {
			t.Errorf("304: remaining %s body %q, want %s and no body (a 304 is free)", got, ans.raw, remaining)
		}
	}
	a.f.Advance(time.Second)
	if err := a.f.EditTitle("acme/widgets#1", "changed"); err != nil {
		t.Fatal(err)
	}
	a.want(a.do("GET", path, nil, "If-None-Match", etag), 200)
	if n := a.f.Stats().NotModified; n != 3 {
		t.Errorf("NotModified: got %d, want 3", n)
	}
}

func TestPatch(t *testing.T) {
	a := newAPI(t, githubfake.Options{Assignable: []string{"alice", "bob"}})
	n := a.create("x", map[string]any{"labels": []string{"a", "b"}, "assignees": []string{"alice", "mallory"}})
	v, _ := a.f.Issue("acme/widgets#1")
	if !slices.Equal(v.Assignees, []string{"alice"}) {
		t.Errorf("create: assignees got %v, want [alice] (mallory dropped silently)", v.Assignees)
	}
	a.f.Advance(time.Minute)
	path := fmt.Sprintf("/repos/acme/widgets/issues/%d", n)
	a.want(a.do("PATCH", path, map[string]any{"labels": []string{"c"}, "state": "closed", "state_reason": "not_planned", "assignees": []string{"bob"}}), 200)
	v, _ = a.f.Issue("acme/widgets#1")
	if !slices.Equal(v.Labels, []string{"c"}) || v.State != "closed" || v.StateReason != "not_planned" || !slices.Equal(v.Assignees, []string{"bob"}) || !v.Updated.Equal(t0.Add(time.Minute)) {
		t.Errorf("after PATCH: got %+v, want labels [c], closed not_planned, [bob], updated +1m", v)
	}
	a.want(a.do("PATCH", path, map[string]any{"labels": []string{}, "state": "open"}), 200)
	v, _ = a.f.Issue("acme/widgets#1")
	if len(v.Labels) != 0 || v.State != "open" || v.StateReason != "reopened" {
		t.Errorf("after clearing: got %+v, want no labels, open/reopened", v)
	}
	a.want(a.do("PATCH", path, map[string]any{"state": "shut"}), 422)
	a.want(a.do("PATCH", path, map[string]any{"body": strings.Repeat("é", 65537)}), 422)
	a.want(a.do("PATCH", path, map[string]any{"body": strings.Repeat("é", 65536)}), 200)
	a.want(a.do("POST", "/repos/acme/widgets/issues", map[string]any{"body": "no title"}), 422)
	a.want(a.do("PATCH", path, map[string]any{"labels": []string{strings.Repeat("l", 51)}}), 422)
	a.want(a.do("PATCH", path, map[string]any{"labels": []string{strings.Repeat("東", 50)}}), 200)
	if err := a.f.Delete("acme/widgets#1"); err != nil {
		t.Fatal(err)
	}
	a.want(a.do("GET", path, nil), 410)
	a.want(a.do("GET", "/repos/acme/widgets/issues/99", nil), 404)
}

func TestPrimaryLimit(t *testing.T) {
	for _, status := range []int{403, 429} {
		a := newAPI(t, githubfake.Options{RateLimit: 2, RateLimitStatus: status})
		a.want(a.do("GET", "/repos/acme/widgets/issues", nil), 200)
		a.want(a.do("GET", "/rate_limit", nil), 200) // free
		ans := a.want(a.do("GET", "/repos/acme/widgets/issues", nil), 200)
		if ans.header.Get("X-Ratelimit-Remaining") != "0" || ans.header.Get("X-Ratelimit-Limit") != "2" {
			t.Errorf("headers: got %v", ans.header)
		}
		ans = a.want(a.do("GET", "/repos/acme/widgets/issues", nil), status)
		wantReset := strconv.FormatInt(t0.Add(time.Hour).Unix(), 10)
		if ans.header.Get("X-Ratelimit-Remaining") != "0" || ans.header.Get("X-Ratelimit-Reset") != wantReset ||
			!strings.Contains(ans.body.(map[string]any)["message"].(string), "rate limit exceeded") {
			t.Errorf("%d refusal: headers %v body %s", status, ans.header, ans.raw)
		}
		a.f.Advance(time.Hour)
		a.want(a.do("GET", "/repos/acme/widgets/issues", nil), 200)
	}
}

func TestSecondaryLimit(t *testing.T) {
	for _, status := range []int{403, 429} {
		a := newAPI(t, githubfake.Options{SecondaryPerMinute: 2, SecondaryStatus: status})
		a.create("one", nil)
		a.f.Advance(15 * time.Second)
		a.want(a.do("POST", "/repos/acme/widgets/issues/1/comments", map[string]any{"body": "c"}), 201)
		ans := a.want(a.do("POST", "/repos/acme/widgets/issues", map[string]any{"title": "three"}), status)
		doc, _ := ans.body.(map[string]any)["documentation_url"].(string)
		if ans.header.Get("Retry-After") != "45" || !strings.HasSuffix(doc, "secondary-rate-limits") || ans.header.Get("X-Ratelimit-Remaining") == "0" {
			t.Errorf("%d secondary: Retry-After %q doc %q remaining %q", status, ans.header.Get("Retry-After"), doc, ans.header.Get("X-Ratelimit-Remaining"))
		}
		a.want(a.do("PATCH", "/repos/acme/widgets/issues/1", map[string]any{"title": "edits are not content creation"}), 200)
		a.f.Advance(45 * time.Second)
		a.create("three", nil)
		if got := a.f.Stats(); got.SecondaryLimited != 1 || got.ContentCreates != 3 {
			t.Errorf("stats: got %+v, want 1 refusal and 3 creations", got)
		}
	}
}

func TestSearchLag(t *testing.T) {
	a := newAPI(t, githubfake.Options{SearchLag: 10 * time.Minute})
	a.create("Sesame", map[string]any{"body": "<!-- pmsync:abc -->"})
	q := "/search/issues?q=" + strings.ReplaceAll(`"pmsync:abc" repo:acme/widgets is:issue`, " ", "+")
	ans := a.want(a.do("GET", q, nil), 200)
	if n := ans.body.(map[string]any)["total_count"]; n != 0.0 || ans.header.Get("X-Ratelimit-Resource") != "search" {
		t.Errorf("search right after create: got total %v resource %q, want 0 and search", n, ans.header.Get("X-Ratelimit-Resource"))
	}
	a.f.Advance(10 * time.Minute)
	ans = a.want(a.do("GET", q, nil), 200)
	if n := ans.body.(map[string]any)["total_count"]; n != 1.0 {
		t.Errorf("search after the lag: got total %v, want 1", n)
	}
	a.want(a.do("GET", "/search/issues", nil), 422)
}

func TestFaults(t *testing.T) {
	a := newAPI(t, githubfake.Options{})
	a.create("x", nil)
	a.f.Inject(conformance.Fault{Op: conformance.OpGet, Status: 503, Times: 2})
	a.want(a.do("GET", "/repos/acme/widgets/issues/1", nil), 503)
	a.want(a.do("GET", "/repos/acme/widgets/issues/1", nil), 503)
	a.want(a.do("GET", "/repos/acme/widgets/issues/1", nil), 200)

	a.f.Inject(conformance.Fault{Op: conformance.OpList, Status: 429, Header: http.Header{"Retry-After": {"2"}}})
	ans := a.want(a.do("GET", "/repos/acme/widgets/issues", nil), 429)
	if ans.header.Get("Retry-After") != "2" {
		t.Errorf("Retry-After: got %q, want 2", ans.header.Get("Retry-After"))
	}

	a.f.Inject(conformance.Fault{Op: conformance.OpCreate, Status: 502, AfterCommit: true})
	a.want(a.do("POST", "/repos/acme/widgets/issues", map[string]any{"title": "lost"}), 502)
	if v, err := a.f.Issue("acme/widgets#2"); err != nil || v.Title != "lost" {
		t.Errorf("after a lost answer: got %+v, %v; want issue 2 committed", v, err)
	}

	for _, after := range []bool{false, true} {
		a.f.Inject(conformance.Fault{Op: conformance.OpCreate, AfterCommit: after})
		req, _ := http.NewRequest("POST", a.base+"/repos/acme/widgets/issues", strings.NewReader(`{"title":"cut"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		if resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req); err == nil {
			resp.Body.Close()
			t.Errorf("cut connection (after commit %v): got status %d, want a transport error", after, resp.StatusCode)
		}
	}
	if n := a.f.Count(); n != 3 {
		t.Errorf("issues: got %d, want 3 (a cut before the write commits nothing, after it commits)", n)
	}
}

// TestConcurrent creates issues and comments from many goroutines.
func TestConcurrent(t *testing.T) {
	a := newAPI(t, githubfake.Options{SecondaryPerMinute: -1})
	a.create("target", nil)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 5 {
				a.create(fmt.Sprintf("w%d-%d", w, i), nil)
				a.do("POST", "/repos/acme/widgets/issues/1/comments", map[string]any{"body": "hi"})
				a.do("GET", "/repos/acme/widgets/issues?state=all", nil)
			}
		})
	}
	wg.Wait()
	got := numbers(a.want(a.do("GET", "/repos/acme/widgets/issues?state=all&per_page=100", nil), 200))
	slices.Sort(got)
	for i, n := range got {
		if n != i+1 {
			t.Fatalf("issue numbers: got %v, want 1..41 without gaps or repeats", got)
		}
	}
	if v, _ := a.f.Issue("acme/widgets#1"); len(got) != 41 || len(v.Comments) != 40 {
		t.Errorf("got %d issues and %d comments, want 41 and 40", len(got), len(v.Comments))
	}
}

func TestComments(t *testing.T) {
	a := newAPI(t, githubfake.Options{})
	a.create("a", nil)
	a.create("b", nil)
	a.want(a.do("POST", "/repos/acme/widgets/issues/1/comments", map[string]any{"body": "first"}), 201)
	a.f.Advance(time.Hour)
	c := a.want(a.do("POST", "/repos/acme/widgets/issues/2/comments", map[string]any{"body": "second"}), 201)
	id := int64(c.body.(map[string]any)["id"].(float64))
	a.f.Advance(time.Hour)
	a.want(a.do("PATCH", fmt.Sprintf("/repos/acme/widgets/issues/comments/%d", id), map[string]any{"body": "second, edited"}), 200)
	ans := a.want(a.do("GET", "/repos/acme/widgets/issues/comments?sort=updated&direction=asc&since=2026-03-02T10:00:00Z", nil), 200)
	list := ans.body.([]any)
	if len(list) != 1 || list[0].(map[string]any)["body"] != "second, edited" {
		t.Errorf("repo-wide since: got %s, want only the edited comment", ans.raw)
	}
	ans = a.want(a.do("GET", "/repos/acme/widgets/issues/comments", nil), 200)
	if n := len(ans.body.([]any)); n != 2 {
		t.Errorf("repo-wide: got %d comments, want 2", n)
	}
	a.want(a.do("POST", "/repos/acme/widgets/issues/1/comments", map[string]any{"body": ""}), 422)
	a.want(a.do("GET", "/repos/acme/widgets/issues/comments/424242", nil), 404)
}

func TestMilestones(t *testing.T) {
	a := newAPI(t, githubfake.Options{})
	m := a.want(a.do("POST", "/repos/acme/widgets/milestones", map[string]any{"title": "Q3", "due_on": "2026-07-01T07:00:00Z"}), 201)
	num := m.body.(map[string]any)["number"]
	a.create("x", map[string]any{"milestone": num})
	ans := a.want(a.do("GET", "/repos/acme/widgets/issues/1", nil), 200)
	ms := ans.body.(map[string]any)["milestone"].(map[string]any)
	if ms["due_on"] != "2026-07-01T07:00:00Z" || ms["open_issues"] != 1.0 {
		t.Errorf("milestone: got %v", ms)
	}
	a.want(a.do("POST", "/repos/acme/widgets/issues", map[string]any{"title": "y", "milestone": 99}), 422)
}

func TestServer(t *testing.T) {
	s, err := githubfake.NewServer(githubfake.Options{Token: token, Repos: []string{"acme/widgets"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") || !strings.HasSuffix(s.URL(), "/") {
		t.Fatalf("URL: got %q", s.URL())
	}
	a := &api{t: t, f: s.Fake, base: strings.TrimSuffix(s.URL(), "/")}
	a.create("one", nil)
	a.create("two", nil)
	ans := a.want(a.do("GET", "/api/v3/repos/acme/widgets/issues?per_page=1", nil), 200)
	if link := ans.header.Get("Link"); !strings.Contains(link, "/api/v3/repositories/") {
		t.Errorf("GHES Link: got %q, want the /api/v3 prefix kept", link)
	}
	if url := ans.body.([]any)[0].(map[string]any)["url"].(string); !strings.HasPrefix(url, s.URL()+"api/v3/repos/acme/widgets/issues/") {
		t.Errorf("issue url: got %q", url)
	}
}
