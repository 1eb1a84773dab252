package jira

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
)

func TestStatusOf(t *testing.T) {
	tests := []struct {
		category, resolution, wontDo string
		want                         connectors.Status
	}{
		{"new", "", "", connectors.StatusOpen},
		{"undefined", "", "", connectors.StatusOpen},
		{"indeterminate", "", "", connectors.StatusInProgress},
		{"done", "Done", "", connectors.StatusDone},
		{"done", "Fixed", "", connectors.StatusDone},
		{"done", "", "", connectors.StatusDone},
		{"done", "Won't Do", "", connectors.StatusWontDo},
		{"done", "won't fix", "", connectors.StatusWontDo},
		{"done", "Duplicate", "", connectors.StatusWontDo},
		{"done", "Obsolete", "", connectors.StatusDone},
		{"done", "Obsolete", "Obsolete", connectors.StatusWontDo},
	}
	for _, tc := range tests {
		if got := statusOf(tc.category, tc.resolution, tc.wontDo); got != tc.want {
			t.Errorf("statusOf(%q, %q, %q) got %q, want %q", tc.category, tc.resolution, tc.wontDo, got, tc.want)
		}
	}
}

func testConnector(t *testing.T, mod func(*connectors.Config)) *Connector {
	t.Helper()
	cfg := connectors.Config{ID: "platform", URL: "https://acme.atlassian.net/", Flavor: FlavorCloud, Project: "PLAT",
		Token: "secret-token", User: "bot@example.com"}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*connectors.Config)
		want string // part of the error
	}{
		{"no url", func(c *connectors.Config) { c.URL = "" }, "url"},
		{"ftp url", func(c *connectors.Config) { c.URL = "ftp://x" }, "url"},
		{"url with credentials", func(c *connectors.Config) { c.URL = "https://a:b@x" }, "credentials"},
		{"lowercase project", func(c *connectors.Config) { c.Project = "plat" }, "project"},
		{"no token", func(c *connectors.Config) { c.Token = "" }, "token"},
		{"cloud without user", func(c *connectors.Config) { c.User = "" }, "user"},
		{"bad flavor", func(c *connectors.Config) { c.Flavor = "server" }, "flavor"},
		{"label prefix with space", func(c *connectors.Config) { c.Labels.KindPrefix = "type " }, "kind_prefix"},
		{"label prefix clashing with markers", func(c *connectors.Config) { c.Labels.OwnerPrefix = "pmsync-" }, "owner_prefix"},
		{"bad priority key", func(c *connectors.Config) { c.JiraPriorities = map[connectors.Priority]string{"P9": "x"} }, "jira_priorities"},
		{"duplicate priority names", func(c *connectors.Config) {
			c.JiraPriorities = map[connectors.Priority]string{connectors.P0: "High"}
		}, "both map"},
	}
	for _, tc := range tests {
		cfg := connectors.Config{ID: "platform", URL: "https://acme.atlassian.net", Flavor: FlavorCloud, Project: "PLAT",
			Token: "secret-token", User: "bot@example.com"}
		tc.mod(&cfg)
		_, err := New(cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error naming %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret-token") {
			t.Errorf("%s: error holds the token: %v", tc.name, err)
		}
	}
	if _, err := New(connectors.Config{ID: "x", URL: "https://jira.example", Flavor: FlavorDataCenter, Project: "OPS", Token: "pat"}); err != nil {
		t.Errorf("datacenter without user: got %v, want accepted (PAT needs no user)", err)
	}
}

func TestToItem(t *testing.T) {
	raw := `{"id":"10042","key":"PLAT-7","self":"x","fields":{
		"summary":"Add latency tests","description":"h2. Why\n*now*",
		"status":{"id":"3","name":"Done","statusCategory":{"id":3,"key":"done"}},
		"resolution":{"id":"10002","name":"Won't Do"},
		"priority":{"id":"2","name":"high"},
		"labels":["type-detect","incident-INC-42","owner-customer","customer:janecorp","pmsync-abc123","type-bogus"],
		"duedate":"2026-03-31",
		"assignee":{"accountId":"712020:alice","name":"alice","displayName":"Alice"},
		"created":"2026-03-02T09:00:00.000+0000","updated":"2026-03-02T10:15:30.123+1000",
		"comment":{"comments":[{"id":"1","body":"only the first is embedded"}],"maxResults":1,"total":3,"startAt":0}},
		"properties":{"pmsync":{"marker":"f00dfeed"}}}`
	var r rawIssue
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		t.Fatalf("decode: %v", err)
	}
	tests := []struct {
		flavor, assignee string
	}{{FlavorCloud, "712020:alice"}, {FlavorDataCenter, "alice"}}
	for _, tc := range tests {
		c := testConnector(t, func(cfg *connectors.Config) { cfg.Flavor = tc.flavor })
		it, err := c.toItem(&r)
		if err != nil {
			t.Fatalf("toItem: %v", err)
		}
		want := connectors.Item{
			Ref: connectors.Ref{Tracker: "platform", Key: "PLAT-7"}, ID: "10042", URL: "https://acme.atlassian.net/browse/PLAT-7",
			Title: "Add latency tests", Description: "## Why\n**now**", Status: connectors.StatusWontDo, Priority: connectors.P1,
			Kind: connectors.KindDetect, Owner: connectors.OwnerCustomer, Assignee: tc.assignee, Due: "2026-03-31",
			Incident: "INC-42", Labels: []string{"customer:janecorp", "type-bogus"}, Marker: "f00dfeed", CommentCount: 3,
			CreatedAt: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2026, 3, 2, 0, 15, 30, 123e6, time.UTC),
		}
		if got, w := itemString(it), itemString(&want); got != w {
			t.Errorf("%s: toItem got\n%s\nwant\n%s", tc.flavor, got, w)
		}
	}
	delete(r.Properties, "pmsync")
	it, _ := testConnector(t, nil).toItem(&r)
	if it.Marker != "abc123" {
		t.Errorf("marker without the property: got %q, want the label's %q", it.Marker, "abc123")
	}
	if _, err := testConnector(t, nil).toItem(&rawIssue{}); err == nil {
		t.Errorf("toItem of an empty issue: got no error")
	}
}

// TestCommentCount: the count is fields.comment.total, which counts every
// comment even when the answer embeds fewer; without the field it is
// unknown, never 0.
func TestCommentCount(t *testing.T) {
	tests := []struct {
		name, comment string
		want          int
	}{
		{"total with every comment", `{"comments":[{"id":"1"},{"id":"2"}],"maxResults":2,"total":2,"startAt":0}`, 2},
		{"total above the embedded page", `{"comments":[{"id":"1"}],"maxResults":1,"total":7,"startAt":0}`, 7},
		{"no comments", `{"comments":[],"maxResults":0,"total":0,"startAt":0}`, 0},
		{"no total", `{"comments":[{"id":"1"},{"id":"2"},{"id":"3"}]}`, 3},
		{"negative total", `{"comments":[],"total":-1}`, connectors.CommentsUnknown},
		{"empty object", `{}`, connectors.CommentsUnknown},
		{"null", `null`, connectors.CommentsUnknown},
		{"field not asked for", ``, connectors.CommentsUnknown},
	}
	for _, tc := range tests {
		fields := `"summary":"s","created":"2026-03-02T09:00:00.000+0000","updated":"2026-03-02T09:00:00.000+0000"`
		if tc.comment != "" {
			fields += `,"comment":` + tc.comment
		}
		var r rawIssue
		if err := json.Unmarshal([]byte(`{"id":"10001","key":"PLAT-1","fields":{`+fields+`}}`), &r); err != nil {
			t.Fatalf("%s: decode: %v", tc.name, err)
		}
		it, err := testConnector(t, nil).toItem(&r)
		if err != nil {
			t.Fatalf("%s: toItem: %v", tc.name, err)
		}
		if it.CommentCount != tc.want {
			t.Errorf("%s: CommentCount got %d, want %d", tc.name, it.CommentCount, tc.want)
		}
		if r.Fields.Comments != nil {
			t.Errorf("%s: the decoded issue keeps %d comment bodies, want none", tc.name, len(r.Fields.Comments.Comments))
		}
	}
}

func itemString(it *connectors.Item) string {
	it.CreatedAt, it.UpdatedAt = it.CreatedAt.UTC(), it.UpdatedAt.UTC()
	b, _ := json.MarshalIndent(it, "", " ")
	return string(b)
}

func TestCreateAndPatchFields(t *testing.T) {
	c := testConnector(t, func(cfg *connectors.Config) { cfg.Flavor = FlavorDataCenter; cfg.JiraIssueType = "Story" })
	it := &connectors.Item{Title: "T", Description: "**b**", Priority: connectors.P4, Kind: connectors.KindPrevent,
		Incident: "INC-1", Owner: connectors.OwnerPlatform, Due: "2026-01-02", Assignee: "bob", Labels: []string{"x", "type-prevent"}}
	f := c.createFields(it, "m1")
	b, _ := json.Marshal(f)
	want := `{"assignee":{"name":"bob"},"description":"*b*","duedate":"2026-01-02","issuetype":{"name":"Story"},` +
		`"labels":["incident-INC-1","owner-platform","type-prevent","x","pmsync-m1"],"priority":{"name":"Lowest"},` +
		`"project":{"key":"PLAT"},"summary":"T"}`
	if string(b) != want {
		t.Errorf("createFields:\n got %s\nwant %s", b, want)
	}

	cur := &connectors.Item{Kind: connectors.KindPrevent, Incident: "INC-1", Labels: []string{"x"}}
	kind, empty, none := connectors.KindDetect, "", connectors.Priority("")
	p := connectors.Patch{Kind: &kind, Due: &empty, Priority: &none}
	b, _ = json.Marshal(c.patchFields(p, cur, []string{"type-prevent", "x", "pmsync-m1", "pmsync-old"}))
	want = `{"duedate":null,"labels":["incident-INC-1","type-detect","x","pmsync-m1","pmsync-old"],"priority":null}`
	if string(b) != want {
		t.Errorf("patchFields:\n got %s\nwant %s", b, want)
	}
	status := connectors.StatusDone
	if f := c.patchFields(connectors.Patch{Status: &status}, cur, nil); f != nil {
		t.Errorf("patchFields of a status-only patch: got %v, want nil (no PUT)", f)
	}
}

func TestCheckItem(t *testing.T) {
	ok := connectors.Item{Title: "t"}
	tests := []struct {
		name string
		edit func(*connectors.Item)
		want bool
	}{
		{"valid", func(*connectors.Item) {}, true},
		{"blank title", func(it *connectors.Item) { it.Title = " " }, false},
		{"long title", func(it *connectors.Item) { it.Title = strings.Repeat("é", 256) }, false},
		{"bad status", func(it *connectors.Item) { it.Status = "closed" }, false},
		{"bad due", func(it *connectors.Item) { it.Due = "2026-13-01" }, false},
		{"incident with space", func(it *connectors.Item) { it.Incident = "INC 4" }, false},
		{"label with space", func(it *connectors.Item) { it.Labels = []string{"good first issue"} }, false},
	}
	for _, tc := range tests {
		it := ok
		tc.edit(&it)
		err := checkItem("op", &it)
		if (err == nil) != tc.want || (err != nil && !errors.Is(err, connectors.ErrInvalid)) {
			t.Errorf("%s: checkItem got %v, want ok=%v (ErrInvalid otherwise)", tc.name, err, tc.want)
		}
	}
}

// tr builds a transition to a status of a category, optionally with a
// resolution field.
func tr(id, name, toID, toName, cat string, resolution bool) transition {
	var t transition
	t.ID, t.Name = id, name
	t.To.ID, t.To.Name, t.To.StatusCategory.Key = toID, toName, cat
	if resolution {
		t.Fields = map[string]transitionField{"resolution": {Required: true}}
	}
	return t
}

func TestChooseTransition(t *testing.T) {
	simpleFromTodo := []transition{tr("21", "In Progress", "3", "In Progress", "indeterminate", false), tr("31", "Done", "10001", "Done", "done", true)}
	simpleFromDone := []transition{tr("11", "To Do", "10000", "To Do", "new", false), tr("21", "In Progress", "3", "In Progress", "indeterminate", false)}
	twoStepTodo := []transition{tr("201", "Start work", "10101", "In Progress", "indeterminate", false)}
	twoStepDone := []transition{tr("204", "Reopen", "10100", "To Do", "new", false)}
	classicResolved := []transition{tr("2", "Close Issue", "6", "Closed", "done", true), tr("3", "Reopen Issue", "4", "Reopened", "new", false)}
	named := []transition{tr("41", "Close", "6", "Closed", "done", true), tr("42", "Ship it", "7", "Shipped", "done", true)}
	todo := wfState{statusID: "10000", category: "new"}
	done := wfState{statusID: "10001", category: "done", resolution: "Done"}
	tests := []struct {
		name     string
		ts       []transition
		cur      wfState
		target   connectors.Status
		doneName string
		want     string // transition id, "" for none
	}{
		{"straight to done", simpleFromTodo, todo, connectors.StatusDone, "", "31"},
		{"straight to in progress", simpleFromTodo, todo, connectors.StatusInProgress, "", "21"},
		{"two-step: first hop", twoStepTodo, todo, connectors.StatusDone, "", "201"},
		{"done to wont_do leaves done first", simpleFromDone, done, connectors.StatusWontDo, "", "21"},
		{"reopen", simpleFromDone, done, connectors.StatusOpen, "", "11"},
		{"two-step reopen toward in progress", twoStepDone, wfState{statusID: "10102", category: "done"}, connectors.StatusInProgress, "", "204"},
		{"classic resolved to wont_do closes", classicResolved, wfState{statusID: "5", category: "done", resolution: "Fixed"}, connectors.StatusWontDo, "", "2"},
		{"classic reopen never closes", classicResolved, wfState{statusID: "5", category: "done"}, connectors.StatusOpen, "", "3"},
		{"configured name wins", named, todo, connectors.StatusDone, "ship it", "42"},
		{"no way", []transition{tr("9", "Block", "8", "Blocked", "indeterminate", false)}, wfState{statusID: "8", category: "indeterminate"}, connectors.StatusOpen, "", ""},
	}
	for _, tc := range tests {
		got, ok := chooseTransition(tc.ts, tc.cur, tc.target, map[string]bool{tc.cur.statusID: true}, tc.doneName)
		if (tc.want == "") != !ok || (ok && got.ID != tc.want) {
			t.Errorf("%s: got %q (ok %v), want %q", tc.name, got.ID, ok, tc.want)
		}
	}
}

func TestResolutionFor(t *testing.T) {
	tests := []struct {
		wontDo  string
		target  connectors.Status
		allowed []string
		want    string
	}{
		{"", connectors.StatusDone, nil, "Done"},
		{"", connectors.StatusDone, []string{"Won't Fix", "Fixed"}, "Fixed"},
		{"", connectors.StatusDone, []string{"Won't Fix", "Shipped"}, "Shipped"},
		{"", connectors.StatusWontDo, nil, "Won't Do"},
		{"", connectors.StatusWontDo, []string{"Fixed", "won't fix"}, "won't fix"},
		{"Declined", connectors.StatusWontDo, []string{"Done", "Declined", "Won't Do"}, "Declined"},
		{"", connectors.StatusWontDo, []string{"Done"}, ""},
	}
	for _, tc := range tests {
		c := testConnector(t, func(cfg *connectors.Config) { cfg.JiraWontDoResolution = tc.wontDo })
		if got := c.resolutionFor(tc.target, tc.allowed); got != tc.want {
			t.Errorf("resolutionFor(%s, %v) with won't-do %q: got %q, want %q", tc.target, tc.allowed, tc.wontDo, got, tc.want)
		}
	}
}

func TestTransitionFixturesDecode(t *testing.T) {
	for _, f := range []string{"gojira-transitions.json", "atlassian-get-transitions.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "rest", f))
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Transitions []transition `json:"transitions"`
		}
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s: decode: %v", f, err)
		}
		var got []string
		for _, tr := range out.Transitions {
			got = append(got, tr.ID+":"+tr.Name+"→"+tr.To.Name)
		}
		want := []string{"2:Close Issue→In Progress", "711:QA Review→Closed"}
		if !slices.Equal(got, want) || !hasField(out.Transitions[1], "colour") {
			t.Errorf("%s: got %v, want %v with a colour field on the second", f, got, want)
		}
	}
}

func TestCursor(t *testing.T) {
	c := cursor{Max: time.Date(2026, 3, 2, 9, 0, 10, 123e6, time.UTC), Seen: []string{"10001@1772442010123"}}
	back, err := decodeCursor(c.encode())
	if err != nil || !back.Max.Equal(c.Max) || !slices.Equal(back.Seen, c.Seen) {
		t.Errorf("cursor round trip: got %+v, %v; want %+v", back, err, c)
	}
	for _, bad := range []string{"x", "jira1.!!!", "jira1.bm90IGpzb24", "gh1.abc"} {
		if _, err := decodeCursor(bad); err == nil {
			t.Errorf("decodeCursor(%q): got no error", bad)
		}
	}
}

func TestChangesJQL(t *testing.T) {
	c := testConnector(t, nil)
	from := time.Date(2026, 3, 2, 13, 59, 59, 999e6, time.UTC)
	tests := []struct {
		zone, want string
	}{
		{"UTC", `project = PLAT AND updated >= "2026/03/02 13:59" ORDER BY updated ASC, key ASC`},
		{"Australia/Brisbane", `project = PLAT AND updated >= "2026/03/02 23:59" ORDER BY updated ASC, key ASC`},
		{"Asia/Kolkata", `project = PLAT AND updated >= "2026/03/02 19:29" ORDER BY updated ASC, key ASC`},
		{"America/Los_Angeles", `project = PLAT AND updated >= "2026/03/02 05:59" ORDER BY updated ASC, key ASC`},
	}
	for _, tc := range tests {
		loc, err := time.LoadLocation(tc.zone)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.changesJQL(from, loc); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.zone, got, tc.want)
		}
	}
	if got := c.changesJQL(time.Time{}, time.UTC); got != "project = PLAT ORDER BY updated ASC, key ASC" {
		t.Errorf("first poll JQL: got %s", got)
	}
}
