package jirafake

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors/conformance"
)

// client talks to a started simulator with its credentials.
type client struct {
	t *testing.T
	s *Server
}

func start(t *testing.T, opts Options) (*Server, *client) {
	t.Helper()
	s := Start(opts)
	t.Cleanup(s.Close)
	return s, &client{t: t, s: s}
}

// do sends a request and returns the status and the decoded JSON answer.
func (c *client) do(method, path string, body any) (int, any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.s.URL()+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if c.s.Flavor() == Cloud {
		req.SetBasicAuth(c.s.opts.Email, c.s.opts.Token)
	} else {
		req.Header.Set("Authorization", "Bearer "+c.s.opts.Token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out any
	b, _ := io.ReadAll(resp.Body)
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			c.t.Fatalf("%s %s: answer is not JSON: %q", method, path, b)
		}
	}
	return resp.StatusCode, out
}

// create makes an issue and returns its key.
func (c *client) create(summary string, extra map[string]any) string {
	c.t.Helper()
	fields := map[string]any{"project": map[string]string{"key": c.s.Project()}, "issuetype": map[string]string{"name": "Task"}, "summary": summary}
	for k, v := range extra {
		fields[k] = v
	}
	status, out := c.do("POST", "/rest/api/2/issue", map[string]any{"fields": fields})
	if status != 201 {
		c.t.Fatalf("create %q: got %d %v, want 201", summary, status, out)
	}
	return str(out, "key")
}

// str walks a decoded JSON value by object keys and array indexes.
func str(v any, path ...string) string {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i := 0
			for _, ch := range p {
				i = i*10 + int(ch-'0')
			}
			if i >= len(x) {
				return ""
			}
			v = x[i]
		default:
			return ""
		}
	}
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

func searchKeys(out any) []string {
	var keys []string
	issues, _ := out.(map[string]any)["issues"].([]any)
	for _, it := range issues {
		keys = append(keys, str(it, "key"))
	}
	return keys
}

func TestJQL(t *testing.T) {
	// The API user is in Brisbane (UTC+10); the clock starts 08:59:30 UTC.
	s, c := start(t, Options{Flavor: DataCenter})
	a := c.create("a", map[string]any{"labels": []string{"x"}})
	s.Advance(time.Minute) // b is updated at 09:00:30.002 UTC = 19:00 Brisbane
	b := c.create("b", map[string]any{"labels": []string{"x", "y"}})
	tests := []struct {
		jql    string
		status int
		keys   []string
	}{
		{"project = PLAT ORDER BY key ASC", 200, []string{a, b}},
		{`project = "PLAT" AND labels = y`, 200, []string{b}},
		{`project = PLAT AND labels in (x, y) ORDER BY updated DESC`, 200, []string{b, a}},
		{`project = PLAT AND labels != y`, 200, []string{a}},
		{`project = PLAT AND updated >= "2026/03/02 19:00"`, 200, []string{b}},
		{`project = PLAT AND updated >= "2026/03/02 18:59" ORDER BY updated ASC, key ASC`, 200, []string{a, b}},
		{`project = PLAT AND updated >= "2026-03-02 19:01"`, 200, nil},
		{`project = PLAT AND created < "2026/03/02"`, 200, nil},
		{`project = PLAT AND updated >= "-5m" ORDER BY key`, 200, []string{a, b}},
		{`project = PLAT AND key = ` + b, 200, []string{b}},
		{`project = PLAT ORDER BY key DESC`, 200, []string{b, a}},
		{`project = PLAT AND updated >= "2026/03/02 19:00:30"`, 400, nil},
		{`project = PLAT OR labels = x`, 400, nil},
		{`project = OTHER`, 400, nil},
		{`status = Done`, 400, nil},
		{`project = PLAT AND (labels = x)`, 400, nil},
		{`project = PLAT ORDER BY summary`, 400, nil},
		{`project = PLAT AND labels = `, 400, nil},
	}
	for _, tc := range tests {
		status, out := c.do("GET", "/rest/api/2/search?jql="+url.QueryEscape(tc.jql), nil)
		if status != tc.status {
			t.Errorf("%s: got %d %v, want %d", tc.jql, status, out, tc.status)
			continue
		}
		if status == 400 && str(out, "errorMessages", "0") == "" {
			t.Errorf("%s: 400 without errorMessages: %v", tc.jql, out)
		}
		if status == 200 && !slices.Equal(searchKeys(out), tc.keys) {
			t.Errorf("%s: got %v, want %v", tc.jql, searchKeys(out), tc.keys)
		}
	}
}

func TestSearchPerFlavor(t *testing.T) {
	s, c := start(t, Options{Flavor: Cloud, PageSize: 2})
	var keys []string
	for i := range 5 {
		keys = append(keys, c.create("i", nil))
		s.Advance(time.Duration(i) * time.Second)
	}
	if status, out := c.do("GET", "/rest/api/2/search?jql=project%3DPLAT", nil); status != 410 || !strings.Contains(str(out, "errorMessages", "0"), "/search/jql") {
		t.Errorf("cloud /search: got %d %v, want 410 pointing at /search/jql", status, out)
	}
	if status, _ := c.do("POST", "/rest/api/2/search/jql", map[string]any{"jql": "labels = x"}); status != 400 {
		t.Errorf("cloud unbounded /search/jql: got %d, want 400", status)
	}
	status, out := c.do("GET", "/rest/api/2/search/jql?jql="+url.QueryEscape("project = PLAT ORDER BY key ASC"), nil)
	if status != 200 || str(out, "issues", "0", "key") != "" || str(out, "issues", "0", "id") == "" || str(out, "isLast") != "false" {
		t.Errorf("cloud /search/jql without fields: got %d %v, want ids only and isLast false", status, out)
	}
	var got []string
	token := ""
	for page := 0; page < 5; page++ {
		body := map[string]any{"jql": "project = PLAT ORDER BY updated ASC", "fields": []string{"summary"}, "maxResults": 100}
		if token != "" {
			body["nextPageToken"] = token
		}
		_, out := c.do("POST", "/rest/api/2/search/jql", body)
		got = append(got, searchKeys(out)...)
		if str(out, "total") != "" || str(out, "startAt") != "" {
			t.Errorf("cloud /search/jql has total/startAt: %v", out)
		}
		if token = str(out, "nextPageToken"); str(out, "isLast") == "true" {
			break
		}
	}
	if !slices.Equal(got, keys) {
		t.Errorf("cloud paging with nextPageToken: got %v, want %v", got, keys)
	}
	if status, _ := c.do("POST", "/rest/api/2/search/jql", map[string]any{"jql": "project = PLAT", "nextPageToken": "bogus"}); status != 400 {
		t.Errorf("bad page token: got %d, want 400", status)
	}

	_, dc := start(t, Options{Flavor: DataCenter, PageSize: 2})
	dc.create("a", nil)
	dc.create("b", nil)
	dc.create("c", nil)
	if status, _ := dc.do("GET", "/rest/api/2/search/jql?jql=project%3DPLAT", nil); status != 404 {
		t.Errorf("dc /search/jql: got %d, want 404", status)
	}
	status, out = dc.do("GET", "/rest/api/2/search?jql=project%3DPLAT&startAt=2&maxResults=50", nil)
	if status != 200 || str(out, "total") != "3" || str(out, "maxResults") != "2" || str(out, "startAt") != "2" || len(searchKeys(out)) != 1 {
		t.Errorf("dc /search page: got %d %v, want total 3, maxResults capped at 2, one issue from startAt 2", status, out)
	}
}

func TestSearchLagAndReconcile(t *testing.T) {
	s, c := start(t, Options{Flavor: Cloud, SearchLag: time.Minute})
	key := c.create("lagging", map[string]any{"labels": []string{"m"}})
	id := str(mustGet(t, c, "/rest/api/2/issue/"+key), "id")
	q := func(extra map[string]any) []string {
		body := map[string]any{"jql": "project = PLAT AND labels = m", "fields": []string{"summary"}}
		for k, v := range extra {
			body[k] = v
		}
		_, out := c.do("POST", "/rest/api/2/search/jql", body)
		return searchKeys(out)
	}
	if got := q(nil); len(got) != 0 {
		t.Errorf("search right after create: got %v, want nothing (index lag)", got)
	}
	idNum := 0
	for _, ch := range id {
		idNum = idNum*10 + int(ch-'0')
	}
	if got := q(map[string]any{"reconcileIssues": []int{idNum}}); !slices.Equal(got, []string{key}) {
		t.Errorf("search with reconcileIssues: got %v, want [%s]", got, key)
	}
	s.Advance(time.Minute)
	if got := q(nil); !slices.Equal(got, []string{key}) {
		t.Errorf("search after the lag: got %v, want [%s]", got, key)
	}
	if err := s.Delete(key); err != nil {
		t.Fatal(err)
	}
	if got := q(nil); !slices.Equal(got, []string{key}) {
		t.Errorf("search right after delete: got %v, want the stale [%s]", got, key)
	}
	s.Advance(time.Minute)
	if got := q(nil); len(got) != 0 {
		t.Errorf("search after the delete is indexed: got %v, want nothing", got)
	}
}

func mustGet(t *testing.T, c *client, path string) any {
	t.Helper()
	status, out := c.do("GET", path, nil)
	if status != 200 {
		t.Fatalf("GET %s: got %d %v", path, status, out)
	}
	return out
}

func TestWorkflowRules(t *testing.T) {
	s, c := start(t, Options{Flavor: DataCenter, Workflow: TwoStepWorkflow()})
	key := c.create("w", nil)
	path := "/rest/api/2/issue/" + key + "/transitions"
	out := mustGet(t, c, path+"?expand=transitions.fields")
	if str(out, "transitions", "0", "id") != "201" || str(out, "transitions", "1", "id") != "" {
		t.Errorf("transitions from To Do: got %v, want only 201", out)
	}
	if status, _ := c.do("POST", path, map[string]any{"transition": map[string]string{"id": "203"}}); status != 400 {
		t.Errorf("unavailable transition: got %d, want 400", status)
	}
	if status, _ := c.do("POST", path, map[string]any{"transition": map[string]string{"id": "201"}, "fields": map[string]any{"resolution": map[string]string{"name": "Done"}}}); status != 400 {
		t.Errorf("resolution on a screen without it: got %d, want 400", status)
	}
	if status, _ := c.do("POST", path, map[string]any{"transition": map[string]string{"id": "201"}}); status != 204 {
		t.Errorf("start work: got %d, want 204", status)
	}
	out = mustGet(t, c, path+"?expand=transitions.fields")
	if str(out, "transitions", "1", "fields", "resolution", "required") != "true" || str(out, "transitions", "1", "fields", "resolution", "allowedValues", "0", "name") != "Done" {
		t.Errorf("finish transition: got %v, want a required resolution with allowed values", out)
	}
	status, out := c.do("POST", path, map[string]any{"transition": map[string]string{"id": "203"}})
	if status != 400 || str(out, "errors", "resolution") == "" {
		t.Errorf("finish without resolution: got %d %v, want 400 naming resolution", status, out)
	}
	if status, _ := c.do("POST", path, map[string]any{"transition": map[string]string{"id": "203"}, "fields": map[string]any{"resolution": map[string]string{"name": "Nope"}}}); status != 400 {
		t.Errorf("unknown resolution: got %d, want 400", status)
	}
	if status, _ := c.do("POST", path, map[string]any{"transition": map[string]string{"id": "203"}, "fields": map[string]any{"resolution": map[string]string{"name": "Won't Do"}}}); status != 204 {
		t.Errorf("finish with resolution: got %d, want 204", status)
	}
	st, _ := s.Issue(key)
	if st.Status != "Done" || st.Category != CategoryDone || st.Resolution != "Won't Do" {
		t.Errorf("after finish: got %+v", st)
	}
	if err := s.Transition(key, "To Do", ""); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Issue(key); st.Resolution != "" {
		t.Errorf("reopened issue keeps resolution %q, want none", st.Resolution)
	}
	if err := (&Workflow{Name: "bad", Initial: "X"}).validate(); err == nil {
		t.Errorf("a workflow without statuses validated")
	}
}

func TestEditScreen(t *testing.T) {
	s, c := start(t, Options{Flavor: Cloud})
	key := c.create("e", nil)
	path := "/rest/api/2/issue/" + key
	before, _ := s.Issue(key)
	tests := []struct {
		name   string
		body   map[string]any
		status int
	}{
		{"status is not editable", map[string]any{"fields": map[string]any{"status": map[string]string{"name": "Done"}}}, 400},
		{"resolution is not editable", map[string]any{"fields": map[string]any{"resolution": map[string]string{"name": "Done"}}}, 400},
		{"unknown field", map[string]any{"fields": map[string]any{"customfield_1": "x"}}, 400},
		{"label with space", map[string]any{"fields": map[string]any{"labels": []string{"a b"}}}, 400},
		{"bad due date", map[string]any{"fields": map[string]any{"duedate": "31/12/2026"}}, 400},
		{"unknown priority", map[string]any{"fields": map[string]any{"priority": map[string]string{"name": "Urgent"}}}, 400},
		{"cloud assignee by name", map[string]any{"fields": map[string]any{"assignee": map[string]string{"name": "alice"}}}, 400},
		{"unknown account", map[string]any{"fields": map[string]any{"assignee": map[string]string{"accountId": "nobody"}}}, 400},
		{"no change", map[string]any{"fields": map[string]any{"summary": "e"}}, 204},
	}
	for _, tc := range tests {
		if status, out := c.do("PUT", path, tc.body); status != tc.status {
			t.Errorf("%s: got %d %v, want %d", tc.name, status, out, tc.status)
		}
	}
	if after, _ := s.Issue(key); !after.Updated.Equal(before.Updated) {
		t.Errorf("refused or empty edits moved updated from %v to %v", before.Updated, after.Updated)
	}
	alice := s.Users()[0]
	status, _ := c.do("PUT", path, map[string]any{"fields": map[string]any{"assignee": map[string]string{"accountId": alice},
		"priority": nil, "duedate": "2026-05-01"}, "update": map[string]any{"labels": []map[string]string{{"add": "p"}, {"add": "q"}, {"remove": "p"}}}})
	after, _ := s.Issue(key)
	if status != 204 || after.Assignee != alice || after.Priority != "Medium" || after.Due != "2026-05-01" || !slices.Equal(after.Labels, []string{"q"}) || !after.Updated.After(before.Updated) {
		t.Errorf("edit: got %d %+v", status, after)
	}
	_, dc := start(t, Options{Flavor: DataCenter})
	k2 := dc.create("d", map[string]any{"assignee": map[string]string{"name": "bob"}})
	if out := mustGet(t, dc, "/rest/api/2/issue/"+k2+"?fields=assignee"); str(out, "fields", "assignee", "name") != "bob" || str(out, "fields", "summary") != "" {
		t.Errorf("dc assignee by name and fields filter: got %v", out)
	}
}

func TestPerIssueWriteLimit(t *testing.T) {
	s, c := start(t, Options{PerIssueWriteLimit: 1})
	key := c.create("hot", nil)
	if status, _ := c.do("PUT", "/rest/api/2/issue/"+key, map[string]any{"fields": map[string]any{"summary": "1"}}); status != 204 {
		t.Fatalf("first write: %d", status)
	}
	req, _ := http.NewRequest("POST", s.URL()+"/rest/api/2/issue/"+key+"/comment", strings.NewReader(`{"body":"x"}`))
	req.SetBasicAuth(s.opts.Email, s.opts.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("RateLimit-Reason") != "jira-per-issue-on-write" || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("second write within a second: got %d %v, want 429 jira-per-issue-on-write with Retry-After 1", resp.StatusCode, resp.Header)
	}
	other := c.create("cold", nil)
	if status, _ := c.do("PUT", "/rest/api/2/issue/"+other, map[string]any{"fields": map[string]any{"summary": "1"}}); status != 204 {
		t.Errorf("a write to another issue: got %d, want 204", status)
	}
}

func TestFaults(t *testing.T) {
	s, c := start(t, Options{})
	s.Inject(conformance.Fault{Op: conformance.OpCreate, Status: 502, AfterCommit: true})
	if status, _ := c.do("POST", "/rest/api/2/issue", map[string]any{"fields": map[string]any{"project": map[string]string{"key": "PLAT"},
		"issuetype": map[string]string{"name": "Task"}, "summary": "lost"}}); status != 502 || s.Count() != 1 {
		t.Errorf("lost create: got %d with %d issues, want 502 and 1 issue", status, s.Count())
	}
	s.Inject(conformance.Fault{Op: conformance.OpGet, Status: 429, Header: http.Header{"Retry-After": {"2"}}, Times: 2})
	for i := range 3 {
		status, _ := c.do("GET", "/rest/api/2/issue/PLAT-1", nil)
		if want := map[bool]int{true: 429, false: 200}[i < 2]; status != want {
			t.Errorf("get %d with a 2-times fault: got %d, want %d", i, status, want)
		}
	}
	s.Inject(conformance.Fault{Op: conformance.OpUpdate, AfterCommit: true})
	req, _ := http.NewRequest("PUT", s.URL()+"/rest/api/2/issue/PLAT-1", strings.NewReader(`{"fields":{"summary":"cut"}}`))
	req.SetBasicAuth(s.opts.Email, s.opts.Token)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("cut connection: got an answer %d, want a transport error", resp.StatusCode)
	}
	if st, _ := s.Issue("PLAT-1"); st.Summary != "cut" {
		t.Errorf("write before the cut: summary %q, want committed", st.Summary)
	}
	req, _ = http.NewRequest("GET", s.URL()+"/rest/api/2/myself", nil)
	req.SetBasicAuth(s.opts.Email, "wrong")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("wrong token: got %d, want 401", resp.StatusCode)
	}
	if s.Requests() == 0 || s.Writes() != 2 {
		t.Errorf("counters: %d requests, %d writes; want some and 2", s.Requests(), s.Writes())
	}
}

func TestCommentsPropertiesLinks(t *testing.T) {
	_, c := start(t, Options{Flavor: DataCenter, PageSize: 2})
	key := c.create("c", nil)
	base := "/rest/api/2/issue/" + key
	for _, body := range []map[string]any{{"body": "one"}, {"body": "two", "visibility": map[string]string{"type": "role", "value": "Administrators"}}, {"body": "three"}} {
		if status, _ := c.do("POST", base+"/comment", body); status != 201 {
			t.Fatalf("add comment: %d", status)
		}
	}
	out := mustGet(t, c, base+"/comment?startAt=1&maxResults=10")
	if str(out, "total") != "3" || str(out, "comments", "0", "body") != "two" || str(out, "comments", "0", "visibility", "value") != "Administrators" || str(out, "comments", "1", "body") != "three" {
		t.Errorf("comment page: got %v", out)
	}
	created := str(out, "comments", "0", "created")
	if _, err := time.Parse("2006-01-02T15:04:05.000-0700", created); err != nil {
		t.Errorf("comment date %q: %v", created, err)
	}
	if status, _ := c.do("POST", base+"/comment", map[string]any{"body": ""}); status != 400 {
		t.Errorf("empty comment: got %d, want 400", status)
	}
	if status, _ := c.do("PUT", base+"/properties/pmsync", map[string]string{"marker": "m"}); status != 201 {
		t.Errorf("new property: got %d, want 201", status)
	}
	if status, _ := c.do("PUT", base+"/properties/pmsync", map[string]string{"marker": "n"}); status != 200 {
		t.Errorf("property update: got %d, want 200", status)
	}
	if out := mustGet(t, c, base+"?properties=pmsync&fields=summary"); str(out, "properties", "pmsync", "marker") != "n" {
		t.Errorf("issue with properties: got %v", out)
	}
	if status, _ := c.do("GET", base+"/properties/none", nil); status != 404 {
		t.Errorf("missing property: got %d, want 404", status)
	}
	link := map[string]any{"globalId": "pmsync:1", "object": map[string]string{"url": "https://x", "title": "t1"}}
	if status, _ := c.do("POST", base+"/remotelink", link); status != 201 {
		t.Errorf("new remote link: got %d, want 201", status)
	}
	link["object"] = map[string]string{"url": "https://x", "title": "t2"}
	if status, _ := c.do("POST", base+"/remotelink", link); status != 200 {
		t.Errorf("remote link upsert by globalId: got %d, want 200", status)
	}
	if out := mustGet(t, c, base+"/remotelink?globalId=pmsync:1"); str(out, "object", "title") != "t2" {
		t.Errorf("remote link by globalId: got %v", out)
	}
}

// TestCommentField: an issue's comment field is Jira's paged shape
// {comments, maxResults, total, startAt, self}; total counts every comment
// (restricted ones too) even when EmbeddedComments caps the list, and a
// lagging Cloud search answers it as of the indexed snapshot.
func TestCommentField(t *testing.T) {
	tests := []struct {
		flavor              Flavor
		embedded, wantShown int
		searchPath          string
	}{
		{Cloud, 0, 3, "/rest/api/2/search/jql"},
		{Cloud, 2, 2, "/rest/api/2/search/jql"},
		{DataCenter, 0, 3, "/rest/api/2/search"},
	}
	for _, tc := range tests {
		s, c := start(t, Options{Flavor: tc.flavor, EmbeddedComments: tc.embedded, SearchLag: time.Minute})
		key := c.create("commented", nil)
		for i, restricted := range []bool{false, true, false} {
			if err := s.AddComment(key, "alice", "comment "+strconv.Itoa(i), restricted); err != nil {
				t.Fatal(err)
			}
		}
		out := mustGet(t, c, "/rest/api/2/issue/"+key+"?fields=summary,comment")
		cm, _ := out.(map[string]any)["fields"].(map[string]any)["comment"].(map[string]any)
		list, _ := cm["comments"].([]any)
		if cm["total"] != 3.0 || len(list) != tc.wantShown || cm["startAt"] != 0.0 || cm["maxResults"] != float64(max(tc.embedded, tc.wantShown)) {
			t.Errorf("%s embedded %d: comment field %v, want total 3 with %d comments", tc.flavor, tc.embedded, cm, tc.wantShown)
		}
		if self, _ := cm["self"].(string); !strings.HasSuffix(self, "/comment") {
			t.Errorf("%s: comment self %q, want the issue's comment URL", tc.flavor, self)
		}
		if out := mustGet(t, c, "/rest/api/2/issue/"+key+"?fields=summary"); str(out, "fields", "comment") != "" {
			t.Errorf("%s: comment field sent without being asked for", tc.flavor)
		}
		// The search answers the field from its index.
		jql := url.QueryEscape("project = PLAT")
		total := func() string {
			return str(mustGet(t, c, tc.searchPath+"?fields=summary,comment&jql="+jql), "issues", "0", "fields", "comment", "total")
		}
		want := "3"
		if tc.flavor == Cloud {
			want = "" // not indexed yet: created a moment ago
			if got := total(); got != want {
				t.Errorf("%s: search before the index caught up: total %q, want no hit", tc.flavor, got)
			}
			s.Advance(time.Minute)
			want = "3"
		}
		if got := total(); got != want {
			t.Errorf("%s: search comment total %q, want %s", tc.flavor, got, want)
		}
		if tc.flavor == Cloud {
			if err := s.AddComment(key, "bob", "late", false); err != nil {
				t.Fatal(err)
			}
			if got := total(); got != "3" {
				t.Errorf("cloud: search right after a fourth comment: total %q, want the indexed 3", got)
			}
			s.Advance(time.Minute)
			if got := total(); got != "4" {
				t.Errorf("cloud: search after the lag: total %q, want 4", got)
			}
		}
	}
}

// TestBulkFetch: Cloud's POST /rest/api/3/issue/bulkfetch reads issues by
// key or id without the search index's lag, leaves out those that do not
// exist, answers in id order with version 3's rich text, refuses more than
// 100 names, counts as a read, and takes get faults. Version 2 and Data
// Center do not have it.
func TestBulkFetch(t *testing.T) {
	s, c := start(t, Options{Flavor: Cloud, SearchLag: time.Hour})
	a := c.create("first", map[string]any{"description": "line one\nline two", "labels": []string{"pmsync-abc"}})
	b := c.create("second", nil)
	if err := s.Delete(b); err != nil {
		t.Fatal(err)
	}
	cKey := c.create("third", nil)
	writes := s.Writes()
	body := map[string]any{"issueIdsOrKeys": []string{cKey, "PLAT-999", b, "10001"}, "fields": []string{"labels", "created", "description"}, "properties": []string{"pmsync"}}
	status, out := c.do("POST", "/rest/api/3/issue/bulkfetch", body)
	if status != 200 {
		t.Fatalf("bulk fetch: got %d %v, want 200", status, out)
	}
	if got := searchKeys(out); !slices.Equal(got, []string{a, cKey}) {
		t.Errorf("bulk fetch keys %v, want %v (existing only, in id order, the search lag ignored)", got, []string{a, cKey})
	}
	if got := str(out, "issues", "0", "fields", "labels", "0"); got != "pmsync-abc" {
		t.Errorf("labels[0] %q, want pmsync-abc", got)
	}
	if got := str(out, "issues", "0", "fields", "description", "content", "1", "content", "0", "text"); got != "line two" {
		t.Errorf("description is not ADF with a paragraph per line: %v", str(out, "issues", "0", "fields", "description"))
	}
	if str(out, "issueErrors") != "[]" || str(out, "issues", "0", "fields", "summary") != "" {
		t.Errorf("answer %v: want no issue errors and only the fields asked for", out)
	}
	if s.Writes() != writes {
		t.Errorf("a bulk fetch counted as a write")
	}
	many := make([]string, 101)
	for i := range many {
		many[i] = "PLAT-" + strconv.Itoa(i+1)
	}
	if status, _ := c.do("POST", "/rest/api/3/issue/bulkfetch", map[string]any{"issueIdsOrKeys": many}); status != 400 {
		t.Errorf("101 keys: got %d, want 400", status)
	}
	if status, _ := c.do("POST", "/rest/api/2/issue/bulkfetch", body); status != 404 {
		t.Errorf("version 2: got %d, want 404", status)
	}
	s.Inject(conformance.Fault{Op: conformance.OpGet, Status: 503})
	if status, _ := c.do("POST", "/rest/api/3/issue/bulkfetch", body); status != 503 {
		t.Errorf("with a get fault: got %d, want 503", status)
	}
	_, dc := start(t, Options{Flavor: DataCenter})
	dc.create("dc", nil)
	if status, _ := dc.do("POST", "/rest/api/3/issue/bulkfetch", body); status != 404 {
		t.Errorf("data center: got %d, want 404", status)
	}
}
