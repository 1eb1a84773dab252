package gitlabfake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors/conformance"
)

const (
	tok  = "secret-token"
	proj = "grp/sub/proj"
)

var projEsc = url.PathEscape(proj)

// start returns a started simulator with one project.
func start(t *testing.T, opts Options) *Server {
	t.Helper()
	opts.Token = tok
	opts.Projects = append(opts.Projects, proj)
	s := Start(opts)
	t.Cleanup(s.Close)
	return s
}

// call sends one API request with the token and decodes a JSON answer
// into out (when not nil).
func call(t *testing.T, s *Server, method, path string, body any, out any) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, s.URL()+"/api/v4/"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("PRIVATE-TOKEN", tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp
}

func create(t *testing.T, s *Server, fields map[string]any) map[string]any {
	t.Helper()
	var out map[string]any
	if resp := call(t, s, "POST", "projects/"+projEsc+"/issues", fields, &out); resp.StatusCode != 201 {
		t.Fatalf("create: status %d, want 201", resp.StatusCode)
	}
	return out
}

func TestAuth(t *testing.T) {
	s := start(t, Options{})
	tests := []struct {
		name   string
		header [2]string
		want   int
	}{
		{"none", [2]string{}, 401},
		{"wrong private token", [2]string{"PRIVATE-TOKEN", "nope"}, 401},
		{"private token", [2]string{"PRIVATE-TOKEN", tok}, 200},
		{"bearer", [2]string{"Authorization", "Bearer " + tok}, 200},
		{"wrong bearer", [2]string{"Authorization", "Bearer nope"}, 401},
		{"basic is not accepted", [2]string{"Authorization", "Basic " + tok}, 401},
	}
	for _, tc := range tests {
		req, _ := http.NewRequest("GET", s.URL()+"/api/v4/projects/"+projEsc, nil)
		if tc.header[0] != "" {
			req.Header.Set(tc.header[0], tc.header[1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
}

func TestProjectsByPathAndID(t *testing.T) {
	s := start(t, Options{})
	for _, ref := range []string{projEsc, "1", url.PathEscape("GRP/Sub/Proj")} {
		var p map[string]any
		if resp := call(t, s, "GET", "projects/"+ref, nil, &p); resp.StatusCode != 200 || p["path_with_namespace"] != proj {
			t.Errorf("GET projects/%s: status %d path %v, want 200 %s", ref, resp.StatusCode, p["path_with_namespace"], proj)
		}
	}
	if resp := call(t, s, "GET", "projects/99", nil, nil); resp.StatusCode != 404 {
		t.Errorf("unknown project: status %d, want 404", resp.StatusCode)
	}
}

var restTimeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

func TestCreateGetUpdate(t *testing.T) {
	s := start(t, Options{})
	is := create(t, s, map[string]any{"title": "T", "description": "D", "labels": "a,priority::1", "due_date": "2026-04-01", "assignee_ids": []int{2, 999}})
	if is["iid"].(float64) != 1 {
		t.Errorf("first issue iid: got %v, want 1", is["iid"])
	}
	for _, k := range []string{"created_at", "updated_at"} {
		if v, _ := is[k].(string); !restTimeRE.MatchString(v) {
			t.Errorf("%s: got %q, want ISO 8601 with milliseconds", k, v)
		}
	}
	if as := is["assignees"].([]any); len(as) != 1 || as[0].(map[string]any)["username"] != "alice" {
		t.Errorf("assignees: got %v, want alice only (unknown ids dropped)", as)
	}
	if is["due_date"] != "2026-04-01" || is["state"] != "opened" || is["references"].(map[string]any)["full"] != proj+"#1" {
		t.Errorf("created issue: %v", is)
	}
	s.Advance(time.Minute)
	var up map[string]any
	call(t, s, "PUT", "projects/"+projEsc+"/issues/1", map[string]any{
		"add_labels": "priority::2,b", "remove_labels": "a", "state_event": "close", "due_date": nil,
	}, &up)
	if got := fmt.Sprint(up["labels"]); got != "[priority::2 b]" {
		t.Errorf("labels after update: got %s, want [priority::2 b] (scoped label replaced)", got)
	}
	if up["state"] != "closed" || up["due_date"] != nil || up["closed_at"] == nil || up["updated_at"] == is["updated_at"] {
		t.Errorf("after close: state %v due %v closed_at %v updated_at %v", up["state"], up["due_date"], up["closed_at"], up["updated_at"])
	}
	notes, _ := s.Notes(proj + "#1")
	want := []string{"[system] added ~3 ~4 labels and removed ~1 ~2 labels", "[system] removed due date", "[system] closed"}
	if strings.Join(notes, "|") != strings.Join(want, "|") {
		t.Errorf("system notes: got %q, want %q", notes, want)
	}
	// An update that changes nothing writes no note and keeps updated_at.
	var same map[string]any
	call(t, s, "PUT", "projects/"+projEsc+"/issues/1", map[string]any{"state_event": "close", "add_labels": "b"}, &same)
	if same["updated_at"] != up["updated_at"] {
		t.Errorf("no-op update moved updated_at from %v to %v", up["updated_at"], same["updated_at"])
	}
	if n, _ := s.Notes(proj + "#1"); len(n) != len(want) {
		t.Errorf("no-op update wrote notes: %q", n)
	}
}

func TestValidation(t *testing.T) {
	s := start(t, Options{})
	create(t, s, map[string]any{"title": "ok"})
	tests := []struct {
		method, path string
		body         any
		want         int
	}{
		{"POST", "projects/" + projEsc + "/issues", map[string]any{"description": "no title"}, 400},
		{"POST", "projects/" + projEsc + "/issues", map[string]any{"title": strings.Repeat("x", 256)}, 400},
		{"POST", "projects/" + projEsc + "/issues", map[string]any{"title": "t", "due_date": "01/02/2026"}, 400},
		{"PUT", "projects/" + projEsc + "/issues/1", map[string]any{"state_event": "archive"}, 400},
		{"PUT", "projects/" + projEsc + "/issues/9", map[string]any{"title": "x"}, 404},
		{"GET", "projects/" + projEsc + "/issues?state=open", nil, 400},
		{"GET", "projects/" + projEsc + "/issues?order_by=id", nil, 400},
		{"GET", "projects/" + projEsc + "/issues?updated_after=yesterday", nil, 400},
		{"POST", "projects/" + projEsc + "/issues/1/notes", map[string]any{"body": " "}, 400},
		{"GET", "projects/" + projEsc + "/nothing", nil, 404},
	}
	for _, tc := range tests {
		if resp := call(t, s, tc.method, tc.path, tc.body, nil); resp.StatusCode != tc.want {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, resp.StatusCode, tc.want)
		}
	}
}

func TestListFiltersAndOffsetPages(t *testing.T) {
	s := start(t, Options{})
	for i := range 45 {
		create(t, s, map[string]any{"title": fmt.Sprintf("i%02d", i)})
		if i == 9 {
			s.Advance(time.Hour)
		}
	}
	cut := s.Now().Add(-30 * time.Minute).Format(time.RFC3339)
	var page []map[string]any
	resp := call(t, s, "GET", "projects/"+projEsc+"/issues?per_page=20&page=2&order_by=updated_at&sort=asc&updated_after="+cut, nil, &page)
	h := resp.Header
	if h.Get("X-Page") != "2" || h.Get("X-Next-Page") != "" || h.Get("X-Prev-Page") != "1" || h.Get("X-Total") != "35" || h.Get("X-Total-Pages") != "2" {
		t.Errorf("page headers: page %q next %q prev %q total %q pages %q, want 2, empty, 1, 35, 2",
			h.Get("X-Page"), h.Get("X-Next-Page"), h.Get("X-Prev-Page"), h.Get("X-Total"), h.Get("X-Total-Pages"))
	}
	if len(page) != 15 || page[0]["title"] != "i30" || page[14]["title"] != "i44" {
		t.Errorf("page 2 of updated_after, asc: got %d items from %v to %v, want 15 from i30 to i44", len(page), page[0]["title"], page[len(page)-1]["title"])
	}
	for _, rel := range []string{`rel="prev"`, `rel="first"`, `rel="last"`} {
		if !strings.Contains(h.Get("Link"), rel) {
			t.Errorf("Link %q lacks %s", h.Get("Link"), rel)
		}
	}
	resp = call(t, s, "GET", "projects/"+projEsc+"/issues?per_page=500", nil, &page)
	if resp.Header.Get("X-Per-Page") != "100" || len(page) != 45 || page[0]["title"] != "i44" {
		t.Errorf("default order and per_page cap: per page %q, %d items, first %v; want 100, 45, i44 (created_at desc)",
			resp.Header.Get("X-Per-Page"), len(page), page[0]["title"])
	}
	call(t, s, "PUT", "projects/"+projEsc+"/issues/3", map[string]any{"state_event": "close"}, nil)
	call(t, s, "GET", "projects/"+projEsc+"/issues?state=closed", nil, &page)
	if len(page) != 1 || page[0]["iid"].(float64) != 3 {
		t.Errorf("state=closed: got %d issues, want issue 3 only", len(page))
	}
	call(t, s, "GET", "projects/"+projEsc+"/issues?created_before="+cut, nil, &page)
	if len(page) != 10 {
		t.Errorf("created_before: got %d, want 10", len(page))
	}
}

func TestKeysetPages(t *testing.T) {
	s := start(t, Options{MaxPerPage: 4})
	for i := range 10 {
		create(t, s, map[string]any{"title": fmt.Sprintf("k%d", i)})
	}
	next := "projects/" + projEsc + "/issues?pagination=keyset&order_by=created_at&sort=desc&per_page=4"
	var titles []string
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("keyset pagination does not end")
		}
		var page []map[string]any
		resp := call(t, s, "GET", next, nil, &page)
		if resp.Header.Get("X-Next-Page") != "" || resp.Header.Get("X-Total") != "" {
			t.Errorf("keyset page carries offset headers")
		}
		for _, is := range page {
			titles = append(titles, is["title"].(string))
		}
		next = ""
		if m := regexp.MustCompile(`<([^>]+)>; rel="next"`).FindStringSubmatch(resp.Header.Get("Link")); m != nil {
			next = strings.TrimPrefix(m[1], s.URL()+"/api/v4/")
		}
	}
	if got := strings.Join(titles, ","); got != "k9,k8,k7,k6,k5,k4,k3,k2,k1,k0" {
		t.Errorf("keyset walk: got %s", got)
	}
	r := Start(Options{Token: tok, Projects: []string{proj}, Keyset: KeysetRejected})
	defer r.Close()
	if resp := call(t, r, "GET", "projects/"+projEsc+"/issues?pagination=keyset&order_by=updated_at", nil, nil); resp.StatusCode != 405 {
		t.Errorf("KeysetRejected: status %d, want 405", resp.StatusCode)
	}
}

func TestNotesAndEdits(t *testing.T) {
	s := start(t, Options{})
	create(t, s, map[string]any{"title": "n"})
	key := proj + "#1"
	var n map[string]any
	call(t, s, "POST", "projects/"+projEsc+"/issues/1/notes", map[string]any{"body": "hi", "internal": true}, &n)
	if n["internal"] != true || n["system"] != false || n["author"].(map[string]any)["username"] != "pmsync-bot" {
		t.Errorf("created note: %v", n)
	}
	if err := s.AddSystemNote(key, "changed the description"); err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	call(t, s, "GET", "projects/"+projEsc+"/issues/1/notes?sort=asc&order_by=created_at", nil, &list)
	if len(list) != 2 || list[1]["system"] != true {
		t.Fatalf("notes: got %v, want the note then a system note", list)
	}
	sysID := fmt.Sprint(list[1]["id"])
	if resp := call(t, s, "PUT", "projects/"+projEsc+"/issues/1/notes/"+sysID, map[string]any{"body": "x"}, nil); resp.StatusCode != 403 {
		t.Errorf("editing a system note: status %d, want 403", resp.StatusCode)
	}
	var ed map[string]any
	call(t, s, "PUT", "projects/"+projEsc+"/issues/1/notes/"+fmt.Sprint(n["id"]), map[string]any{"body": "edited"}, &ed)
	if ed["body"] != "edited" {
		t.Errorf("edited note: %v", ed)
	}
}

func TestRateLimit(t *testing.T) {
	s := start(t, Options{RateLimit: 2})
	for i := range 2 {
		resp := call(t, s, "GET", "projects/"+projEsc, nil, nil)
		if resp.StatusCode != 200 || resp.Header.Get("RateLimit-Remaining") != fmt.Sprint(1-i) || resp.Header.Get("RateLimit-Limit") != "2" {
			t.Errorf("request %d: status %d remaining %q", i, resp.StatusCode, resp.Header.Get("RateLimit-Remaining"))
		}
	}
	resp := call(t, s, "GET", "projects/"+projEsc, nil, nil)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "60" || resp.Header.Get("RateLimit-Reset") == "" {
		t.Errorf("over budget: status %d Retry-After %q reset %q, want 429, 60 and a reset", resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("RateLimit-Reset"))
	}
	s.Advance(time.Minute)
	if resp := call(t, s, "GET", "projects/"+projEsc, nil, nil); resp.StatusCode != 200 {
		t.Errorf("next window: status %d, want 200", resp.StatusCode)
	}
}

func TestFaults(t *testing.T) {
	s := start(t, Options{})
	s.Inject(conformance.Fault{Op: conformance.OpCreate, Status: 502, AfterCommit: true})
	if resp := call(t, s, "POST", "projects/"+projEsc+"/issues", map[string]any{"title": "x"}, nil); resp.StatusCode != 502 {
		t.Errorf("lost create: status %d, want 502", resp.StatusCode)
	}
	if s.Count() != 1 {
		t.Errorf("lost create: count %d, want 1 (committed)", s.Count())
	}
	s.Inject(conformance.Fault{Op: conformance.OpList, Status: 429, Header: http.Header{"Retry-After": {"3"}}, Times: 2})
	for i := range 3 {
		resp := call(t, s, "GET", "projects/"+projEsc+"/issues", nil, nil)
		want := 429
		if i == 2 {
			want = 200
		}
		if resp.StatusCode != want {
			t.Errorf("list #%d: status %d, want %d", i, resp.StatusCode, want)
		}
	}
	s.Inject(conformance.Fault{Op: conformance.OpGet, AfterCommit: true})
	req, _ := http.NewRequest("GET", s.URL()+"/api/v4/projects/"+projEsc+"/issues/1", nil)
	req.Header.Set("PRIVATE-TOKEN", tok)
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	if _, err := (&http.Client{Transport: tr}).Do(req); err == nil {
		t.Errorf("cut connection: got an answer, want a transport error")
	}
	if s.Requests() != 5 || s.Writes() != 1 {
		t.Errorf("counters: requests %d writes %d, want 5 and 1", s.Requests(), s.Writes())
	}
}

func TestLatencyHonoursCancel(t *testing.T) {
	s := start(t, Options{Latency: 5 * time.Second})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL()+"/api/v4/projects/1", nil)
	req.Header.Set("PRIVATE-TOKEN", tok)
	_, err := http.DefaultClient.Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("request during latency: got %v, want deadline exceeded", err)
	}
}

func TestConcurrentCreates(t *testing.T) {
	s := start(t, Options{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				create(t, s, map[string]any{"title": "c"})
			}
		})
	}
	wg.Wait()
	var page []map[string]any
	call(t, s, "GET", "projects/"+projEsc+"/issues?per_page=100", nil, &page)
	seen := map[float64]bool{}
	for _, is := range page {
		seen[is["iid"].(float64)] = true
	}
	if len(page) != 40 || len(seen) != 40 || s.Count() != 40 {
		t.Errorf("concurrent creates: %d listed, %d distinct iids, count %d, want 40 each", len(page), len(seen), s.Count())
	}
}

func TestClock(t *testing.T) {
	s := start(t, Options{})
	if !s.Now().Equal(DefaultStart) {
		t.Errorf("start: got %v, want %v", s.Now(), DefaultStart)
	}
	a := create(t, s, map[string]any{"title": "a"})
	b := create(t, s, map[string]any{"title": "b"})
	if a["created_at"] != "2026-03-02T09:00:00.001Z" || b["created_at"] != "2026-03-02T09:00:00.002Z" {
		t.Errorf("writes tick the clock by 1 ms: got %v and %v", a["created_at"], b["created_at"])
	}
	s.Advance(time.Hour)
	if want := DefaultStart.Add(time.Hour + 2*time.Millisecond); !s.Now().Equal(want) {
		t.Errorf("after Advance: got %v, want %v", s.Now(), want)
	}
	wall := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	f := New(Options{Now: func() time.Time { return wall }})
	f.Advance(time.Minute)
	if want := wall.Add(time.Minute); !f.Now().Equal(want) {
		t.Errorf("Now option with Advance: got %v, want %v", f.Now(), want)
	}
}
