package github

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v62/github"

	"github.com/pmsync/pmsync/connectors"
)

var testRef = repoRef{tracker: "janecorp", owner: "acme", repo: "widgets"}

// issue builds a go-github issue for mapping tests.
func issue(n int, state, reason, body string, labels ...string) *gh.Issue {
	is := &gh.Issue{
		ID: gh.Int64(int64(9000 + n)), Number: gh.Int(n), Title: gh.String("t"), State: gh.String(state),
		HTMLURL:   gh.String("https://github.com/acme/widgets/issues/" + string(rune('0'+n))),
		CreatedAt: &gh.Timestamp{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		UpdatedAt: &gh.Timestamp{Time: time.Date(2026, 1, 3, 3, 4, 5, 0, time.UTC)},
	}
	if reason != "" {
		is.StateReason = gh.String(reason)
	}
	if body != "" {
		is.Body = gh.String(body)
	}
	for _, l := range labels {
		is.Labels = append(is.Labels, &gh.Label{Name: gh.String(l)})
	}
	return is
}

func TestToItem(t *testing.T) {
	s := connectors.DefaultGitHubLabels()
	due := &gh.Milestone{DueOn: &gh.Timestamp{Time: time.Date(2026, 7, 1, 7, 0, 0, 0, time.UTC)}}
	tests := []struct {
		name string
		in   *gh.Issue
		want connectors.Item
	}{
		{"open, no labels", issue(1, "open", "", ""), connectors.Item{Status: connectors.StatusOpen}},
		{"open with in-progress label", issue(1, "open", "", "", "status:in-progress"), connectors.Item{Status: connectors.StatusInProgress}},
		{"closed completed", issue(1, "closed", "completed", ""), connectors.Item{Status: connectors.StatusDone}},
		{"closed without reason", issue(1, "closed", "", ""), connectors.Item{Status: connectors.StatusDone}},
		{"closed not planned", issue(1, "closed", "not_planned", ""), connectors.Item{Status: connectors.StatusWontDo}},
		{"closed duplicate", issue(1, "closed", "duplicate", ""), connectors.Item{Status: connectors.StatusWontDo}},
		{"closed keeps in-progress label but is done", issue(1, "closed", "completed", "", "status:in-progress"), connectors.Item{Status: connectors.StatusDone}},
		{"reopened", issue(1, "open", "reopened", ""), connectors.Item{Status: connectors.StatusOpen}},
		{"all label fields", issue(1, "open", "", "", "P1", "type:detect", "incident:INC-42", "owner:customer", "customer:janecorp", "bug"),
			connectors.Item{Status: connectors.StatusOpen, Priority: connectors.P1, Kind: connectors.KindDetect, Incident: "INC-42",
				Owner: connectors.OwnerCustomer, Labels: []string{"customer:janecorp", "bug"}}},
		{"labels in other case", issue(1, "open", "", "", "p0", "TYPE:Prevent", "Status:In-Progress"),
			connectors.Item{Status: connectors.StatusInProgress, Priority: connectors.P0, Kind: connectors.KindPrevent}},
		{"two priorities: the most urgent wins", issue(1, "open", "", "", "P3", "P1"), connectors.Item{Status: connectors.StatusOpen, Priority: connectors.P1}},
		{"unknown kind stays a label", issue(1, "open", "", "", "type:bug"), connectors.Item{Status: connectors.StatusOpen, Labels: []string{"type:bug"}}},
		{"marker and due line", issue(1, "open", "", "Fix it.\n\nDue: 2026-05-01\n\n<!-- pmsync:abc123 -->"),
			connectors.Item{Status: connectors.StatusOpen, Description: "Fix it.", Due: "2026-05-01", Marker: "abc123"}},
		{"due line written by a person, CRLF", issue(1, "open", "", "Due: 2026-05-02\r\nFix it.\r\n"),
			connectors.Item{Status: connectors.StatusOpen, Description: "Fix it.", Due: "2026-05-02"}},
		{"invalid due date stays text", issue(1, "open", "", "Due: 2026-13-40"),
			connectors.Item{Status: connectors.StatusOpen, Description: "Due: 2026-13-40"}},
		{"milestone due when the body has none", withMilestone(issue(1, "open", "", "x"), due),
			connectors.Item{Status: connectors.StatusOpen, Description: "x", Due: "2026-07-01"}},
		{"body due wins over milestone", withMilestone(issue(1, "open", "", "Due: 2026-08-09"), due),
			connectors.Item{Status: connectors.StatusOpen, Due: "2026-08-09"}},
		{"assignee", withAssignee(issue(1, "open", "", ""), "alice"), connectors.Item{Status: connectors.StatusOpen, Assignee: "alice"}},
		{"unicode title", withTitle(issue(1, "open", "", ""), "Latenz prüfen — 東京 🚀"), connectors.Item{Status: connectors.StatusOpen, Title: "Latenz prüfen — 東京 🚀"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := toItem(tc.in, s, testRef)
			if !ok {
				t.Fatalf("toItem: got not an item, want an item")
			}
			want := tc.want
			if want.Title == "" {
				want.Title = "t"
			}
			checkMapped(t, got, &want)
			if got.Ref.Key != "acme/widgets#1" || got.Ref.Tracker != "janecorp" || got.ID != "9001" {
				t.Errorf("identity: got ref %v id %q, want janecorp:acme/widgets#1 id 9001", got.Ref, got.ID)
			}
		})
	}
}

func withMilestone(is *gh.Issue, m *gh.Milestone) *gh.Issue { is.Milestone = m; return is }
func withAssignee(is *gh.Issue, login string) *gh.Issue {
	is.Assignees = []*gh.User{{Login: gh.String(login)}}
	return is
}
func withTitle(is *gh.Issue, title string) *gh.Issue { is.Title = &title; return is }

func checkMapped(t *testing.T, got, want *connectors.Item) {
	t.Helper()
	pairs := []struct{ field, got, want string }{
		{"Title", got.Title, want.Title}, {"Description", got.Description, want.Description},
		{"Status", string(got.Status), string(want.Status)}, {"Priority", string(got.Priority), string(want.Priority)},
		{"Kind", string(got.Kind), string(want.Kind)}, {"Owner", string(got.Owner), string(want.Owner)},
		{"Assignee", got.Assignee, want.Assignee}, {"Due", got.Due, want.Due},
		{"Incident", got.Incident, want.Incident}, {"Marker", got.Marker, want.Marker},
	}
	for _, p := range pairs {
		if p.got != p.want {
			t.Errorf("%s: got %q, want %q", p.field, p.got, p.want)
		}
	}
	if !slices.Equal(got.Labels, want.Labels) && len(got.Labels)+len(want.Labels) > 0 {
		t.Errorf("Labels: got %q, want %q", got.Labels, want.Labels)
	}
}

func TestToItemPullRequest(t *testing.T) {
	pr := issue(5, "open", "", "")
	pr.PullRequestLinks = &gh.PullRequestLinks{URL: gh.String("https://api.github.com/repos/acme/widgets/pulls/5")}
	if it, ok := toItem(pr, connectors.DefaultGitHubLabels(), testRef); ok || it != nil {
		t.Fatalf("toItem(pull request): got %v, %v; want nil, false", it, ok)
	}
}

// TestCreateRoundTrip maps items to the create request and the request
// back, as GitHub would store it, for every status and label field.
func TestCreateRoundTrip(t *testing.T) {
	s := connectors.DefaultGitHubLabels()
	items := []connectors.Item{
		{Title: "plain", Status: connectors.StatusOpen},
		{Title: "in progress, P0 prevent", Status: connectors.StatusInProgress, Priority: connectors.P0, Kind: connectors.KindPrevent},
		{Title: "Ünïcödé — 東京 ✓", Description: "Zeile 1\nשלום 🚀", Status: connectors.StatusOpen, Due: "2026-03-31",
			Incident: "INC-7", Owner: connectors.OwnerPlatform, Labels: []string{"customer:janecorp"}},
		{Title: "assigned", Status: connectors.StatusOpen, Assignee: "alice", Priority: connectors.P4, Kind: connectors.KindOther},
	}
	for _, in := range items {
		t.Run(in.Title, func(t *testing.T) {
			req, err := createRequest(s, "m1", &in)
			if err != nil {
				t.Fatalf("createRequest: %v", err)
			}
			stored := issue(1, "open", "", req.GetBody(), *req.Labels...)
			stored.Title = req.Title
			if req.Assignees != nil {
				stored = withAssignee(stored, (*req.Assignees)[0])
			}
			got, _ := toItem(stored, s, testRef)
			want := in
			want.Marker = "m1"
			checkMapped(t, got, &want)
		})
	}
}

func TestStateFor(t *testing.T) {
	tests := []struct {
		status        connectors.Status
		state, reason string
	}{
		{connectors.StatusOpen, "open", ""},
		{connectors.StatusInProgress, "open", ""},
		{connectors.StatusDone, "closed", "completed"},
		{connectors.StatusWontDo, "closed", "not_planned"},
	}
	for _, tc := range tests {
		state, reason := stateFor(tc.status)
		if state != tc.state || reason != tc.reason {
			t.Errorf("stateFor(%s): got %q %q, want %q %q", tc.status, state, reason, tc.state, tc.reason)
		}
		if back := statusOf(state, reason, tc.status == connectors.StatusInProgress); back != tc.status {
			t.Errorf("statusOf(stateFor(%s)): got %s", tc.status, back)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestPatchRequest(t *testing.T) {
	s := connectors.DefaultGitHubLabels()
	body := "Fix it.\n\nDue: 2026-05-01\n\n<!-- pmsync:m1 -->"
	cur := withAssignee(issue(3, "open", "", body, "P2", "type:process", "customer:janecorp", "needs-triage"), "alice")
	tests := []struct {
		name        string
		from        *gh.Issue
		patch       connectors.Patch
		wantChanged bool
		check       func(t *testing.T, req *gh.IssueRequest)
	}{
		{"same values change nothing", cur, connectors.Patch{Title: ptr("t"), Priority: ptr(connectors.P2), Due: ptr("2026-05-01"), Assignee: ptr("alice")}, false, nil},
		{"priority keeps unmanaged labels", cur, connectors.Patch{Priority: ptr(connectors.P0)}, true, func(t *testing.T, req *gh.IssueRequest) {
			wantSet(t, req.Labels, "P0", "type:process", "customer:janecorp", "needs-triage")
			if req.Body != nil || req.State != nil || req.Title != nil || req.Assignees != nil {
				t.Errorf("a priority patch sent more than labels: %+v", req)
			}
		}},
		{"in progress adds the label", cur, connectors.Patch{Status: ptr(connectors.StatusInProgress)}, true, func(t *testing.T, req *gh.IssueRequest) {
			wantSet(t, req.Labels, "P2", "type:process", "status:in-progress", "customer:janecorp", "needs-triage")
			if req.State != nil {
				t.Errorf("State: got %q, want unchanged (open)", req.GetState())
			}
		}},
		{"won't do closes not planned and drops in-progress", withLabels(cur, "status:in-progress"), connectors.Patch{Status: ptr(connectors.StatusWontDo)}, true,
			func(t *testing.T, req *gh.IssueRequest) {
				if req.GetState() != "closed" || req.GetStateReason() != "not_planned" {
					t.Errorf("state: got %q %q, want closed not_planned", req.GetState(), req.GetStateReason())
				}
				wantSet(t, req.Labels, "P2", "type:process", "customer:janecorp", "needs-triage")
			}},
		{"done to won't do changes only the reason", issue(3, "closed", "completed", ""), connectors.Patch{Status: ptr(connectors.StatusWontDo)}, true,
			func(t *testing.T, req *gh.IssueRequest) {
				if req.GetState() != "closed" || req.GetStateReason() != "not_planned" {
					t.Errorf("state: got %q %q, want closed not_planned", req.GetState(), req.GetStateReason())
				}
			}},
		{"reopen", issue(3, "closed", "not_planned", ""), connectors.Patch{Status: ptr(connectors.StatusOpen)}, true, func(t *testing.T, req *gh.IssueRequest) {
			if req.GetState() != "open" || req.GetStateReason() != "reopened" {
				t.Errorf("state: got %q %q, want open reopened", req.GetState(), req.GetStateReason())
			}
		}},
		{"description keeps marker and due", cur, connectors.Patch{Description: ptr("New text 東京")}, true, func(t *testing.T, req *gh.IssueRequest) {
			if got, want := req.GetBody(), "New text 東京\n\nDue: 2026-05-01\n\n<!-- pmsync:m1 -->"; got != want {
				t.Errorf("Body: got %q, want %q", got, want)
			}
		}},
		{"due cleared", cur, connectors.Patch{Due: ptr("")}, true, func(t *testing.T, req *gh.IssueRequest) {
			if got, want := req.GetBody(), "Fix it.\n\n<!-- pmsync:m1 -->"; got != want {
				t.Errorf("Body: got %q, want %q", got, want)
			}
		}},
		{"assignee cleared sends an empty set", cur, connectors.Patch{Assignee: ptr("")}, true, func(t *testing.T, req *gh.IssueRequest) {
			if req.Assignees == nil || len(*req.Assignees) != 0 {
				t.Errorf("Assignees: got %v, want an empty list", req.Assignees)
			}
		}},
		{"missing labels: fields added to a bare issue", issue(4, "open", "", ""), connectors.Patch{Kind: ptr(connectors.KindDetect), Incident: ptr("INC-9"), Owner: ptr(connectors.OwnerPlatform)}, true,
			func(t *testing.T, req *gh.IssueRequest) {
				wantSet(t, req.Labels, "type:detect", "incident:INC-9", "owner:platform")
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, changed, err := patchRequest(s, tc.from, tc.patch)
			if err != nil {
				t.Fatalf("patchRequest: %v", err)
			}
			if changed != tc.wantChanged {
				t.Fatalf("changed: got %v, want %v (request %+v)", changed, tc.wantChanged, req)
			}
			if tc.check != nil {
				tc.check(t, req)
			}
		})
	}
}

func withLabels(is *gh.Issue, names ...string) *gh.Issue {
	cp := *is
	cp.Labels = slices.Clone(is.Labels)
	for _, n := range names {
		cp.Labels = append(cp.Labels, &gh.Label{Name: gh.String(n)})
	}
	return &cp
}

func wantSet(t *testing.T, got *[]string, want ...string) {
	t.Helper()
	if got == nil {
		t.Fatalf("Labels: got none sent, want %q", want)
	}
	if !sameSet(*got, want) {
		t.Errorf("Labels: got %q, want %q", *got, want)
	}
}

// TestBodyLimit checks GitHub's 65,536-character limit, counted in
// characters (not bytes), with the due line and marker included.
func TestBodyLimit(t *testing.T) {
	s := connectors.DefaultGitHubLabels()
	overhead := len([]rune(composeBody("", "", "m1")))
	tests := []struct {
		name    string
		desc    string
		wantErr bool
	}{
		{"exactly at the limit, multi-byte", strings.Repeat("東", MaxBody-overhead-2), false},
		{"one over", strings.Repeat("x", MaxBody-overhead-1), true},
		{"far over", strings.Repeat("ü", MaxBody+10), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it := connectors.Item{Title: "long", Status: connectors.StatusOpen, Description: tc.desc}
			_, err := createRequest(s, "m1", &it)
			if (err != nil) != tc.wantErr {
				t.Fatalf("createRequest: got error %v, want error %v", err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "field description") {
				t.Errorf("error %q does not name the field description", err)
			}
			_, _, err = patchRequest(s, issue(1, "open", "", "<!-- pmsync:m1 -->"), connectors.Patch{Description: &tc.desc})
			if (err != nil) != tc.wantErr {
				t.Fatalf("patchRequest: got error %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

func TestInvalidFields(t *testing.T) {
	s := connectors.DefaultGitHubLabels()
	tests := []struct {
		name  string
		item  connectors.Item
		field string
	}{
		{"empty title", connectors.Item{Title: " "}, "title"},
		{"long title", connectors.Item{Title: strings.Repeat("t", MaxTitle+1)}, "title"},
		{"status", connectors.Item{Title: "x", Status: "closed"}, "status"},
		{"priority", connectors.Item{Title: "x", Priority: "P7"}, "priority"},
		{"kind", connectors.Item{Title: "x", Kind: "bug"}, "kind"},
		{"owner", connectors.Item{Title: "x", Owner: "vendor"}, "owner"},
		{"due", connectors.Item{Title: "x", Due: "2026-02-30"}, "due"},
		{"incident too long for a label", connectors.Item{Title: "x", Incident: strings.Repeat("i", 45)}, "incident"},
		{"incident with a comma", connectors.Item{Title: "x", Incident: "a,b"}, "incident"},
	}
	for _, tc := range tests {
		_, err := createRequest(s, "", &tc.item)
		if err == nil || !strings.Contains(err.Error(), "field "+tc.field) {
			t.Errorf("%s: got %v, want an error naming field %s", tc.name, err, tc.field)
		}
	}
}

func TestSplitComposeBody(t *testing.T) {
	tests := []struct{ desc, due, marker string }{
		{"", "", ""},
		{"", "2026-01-01", "m"},
		{"one line", "", "abc"},
		{"a\n\nb\n", "2026-12-31", "m-2"},
		{"```\ncode\n```", "", ""},
	}
	for _, tc := range tests {
		body := composeBody(tc.desc, tc.due, tc.marker)
		desc, due, marker := splitBody(body)
		if desc != strings.TrimRight(tc.desc, "\n") || due != tc.due || marker != tc.marker {
			t.Errorf("split(compose(%q, %q, %q)) = %q, %q, %q", tc.desc, tc.due, tc.marker, desc, due, marker)
		}
	}
}

func TestConfig(t *testing.T) {
	good := connectors.Config{ID: "janecorp", Kind: Kind, Project: "acme/widgets", Token: "t"}
	tests := []struct {
		name string
		edit func(*connectors.Config, *Options)
		want string
	}{
		{"project without slash", func(c *connectors.Config, _ *Options) { c.Project = "widgets" }, "project"},
		{"project with three parts", func(c *connectors.Config, _ *Options) { c.Project = "a/b/c" }, "project"},
		{"empty token", func(c *connectors.Config, _ *Options) { c.Token = "" }, "token"},
		{"bad url", func(c *connectors.Config, _ *Options) { c.URL = "ftp://x" }, "url"},
		{"negative pace", func(c *connectors.Config, o *Options) { o.CreatesPerMinute = -1 }, "creates per minute"},
		{"page size", func(c *connectors.Config, o *Options) { o.PageSize = 101 }, "page size"},
	}
	for _, tc := range tests {
		cfg, opts := good, Options{}
		tc.edit(&cfg, &opts)
		_, err := New(cfg, opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `"janecorp"`) {
			t.Errorf("%s: got %v, want an error naming %q and the tracker", tc.name, err, tc.want)
		}
	}
	if _, err := New(good, Options{}); err != nil {
		t.Errorf("New(valid config): %v", err)
	}
}

func TestKeys(t *testing.T) {
	c, err := New(connectors.Config{ID: "j", Project: "Acme/Widgets", Token: "t"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]int{"Acme/Widgets#12": 12, "acme/widgets#3": 3, "#7": 7, "9": 9} {
		if n, err := c.number("op", key); err != nil || n != want {
			t.Errorf("number(%q): got %d, %v; want %d", key, n, err, want)
		}
	}
	for _, key := range []string{"other/repo#1", "acme/widgets#x", "#0", "", "acme/widgets"} {
		if _, err := c.number("op", key); !errors.Is(err, connectors.ErrInvalid) {
			t.Errorf("number(%q): got %v, want ErrInvalid", key, err)
		}
	}
}

// TestFixtureIssues maps the issue of every Octokit webhook example.
func TestFixtureIssues(t *testing.T) {
	files, err := filepath.Glob("testdata/webhooks/*/*.payload.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("fixtures: %v (%d files)", err, len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var p struct{ Issue *gh.Issue }
		if err := json.Unmarshal(data, &p); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		it, ok := toItem(p.Issue, connectors.DefaultGitHubLabels(), repoRef{tracker: "x", owner: "Codertocat", repo: "Hello-World"})
		if !ok {
			t.Fatalf("%s: not an item", f)
		}
		want := connectors.StatusOpen
		if p.Issue.GetState() == "closed" {
			want = connectors.StatusDone
		}
		if it.Title != "Spelling error in the README file" || it.Status != want || it.Ref.Key != "Codertocat/Hello-World#1" || it.ID != "444500041" {
			t.Errorf("%s: got title %q status %s key %s id %s", f, it.Title, it.Status, it.Ref.Key, it.ID)
		}
	}
}

// TestToItemCommentCount: the count comes from GitHub's `comments` field;
// an answer without it says the count is unknown.
func TestToItemCommentCount(t *testing.T) {
	tests := []struct {
		name     string
		comments *int
		want     int
	}{
		{"field absent", nil, connectors.CommentsUnknown},
		{"no comments", gh.Int(0), 0},
		{"seven comments", gh.Int(7), 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			is := issue(1, "open", "", "")
			is.Comments = tc.comments
			it, ok := toItem(is, connectors.DefaultGitHubLabels(), testRef)
			if !ok || it.CommentCount != tc.want {
				t.Errorf("toItem: CommentCount %d (item %v), want %d", it.CommentCount, ok, tc.want)
			}
		})
	}
}
