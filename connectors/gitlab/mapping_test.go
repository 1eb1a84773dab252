package gitlab

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/pmsync/pmsync/connectors"
)

func defaultScheme(t *testing.T) scheme {
	t.Helper()
	s, err := newScheme(connectors.DefaultGitLabLabels())
	if err != nil {
		t.Fatalf("newScheme(defaults): %v", err)
	}
	return s
}

func ptr[T any](v T) *T { return &v }

func TestWontDoLabel(t *testing.T) {
	tests := []struct{ inProgress, want string }{
		{"status::in-progress", "status::wont-do"},
		{"workflow::doing", "workflow::wont-do"},
		{"a::b::c", "a::b::wont-do"},
		{"status:in-progress", "status:wont-do"},
		{"in-progress", "wont-do"},
		{"", "wont-do"},
	}
	for _, tc := range tests {
		if got := WontDoLabel(connectors.LabelScheme{InProgress: tc.inProgress}); got != tc.want {
			t.Errorf("WontDoLabel(%q): got %q, want %q", tc.inProgress, got, tc.want)
		}
	}
}

func TestNewSchemeRejectsComma(t *testing.T) {
	ls := connectors.DefaultGitLabLabels()
	ls.InProgress = "doing,now"
	if _, err := newScheme(ls); err == nil || !strings.Contains(err.Error(), "doing,now") {
		t.Errorf("newScheme with a comma label: got %v, want an error naming the label", err)
	}
}

func TestStatusOf(t *testing.T) {
	s := defaultScheme(t)
	tests := []struct {
		state  string
		labels []string
		want   connectors.Status
	}{
		{"opened", nil, connectors.StatusOpen},
		{"opened", []string{"priority::1", "team"}, connectors.StatusOpen},
		{"opened", []string{"status::in-progress"}, connectors.StatusInProgress},
		{"opened", []string{"Status::In-Progress"}, connectors.StatusInProgress},
		{"opened", []string{"status::wont-do"}, connectors.StatusOpen}, // reopened, label left behind
		{"closed", nil, connectors.StatusDone},
		{"closed", []string{"status::in-progress"}, connectors.StatusDone},
		{"closed", []string{"status::wont-do"}, connectors.StatusWontDo},
		{"closed", []string{"STATUS::WONT-DO", "x"}, connectors.StatusWontDo},
	}
	for _, tc := range tests {
		if got := s.statusOf(tc.state, tc.labels); got != tc.want {
			t.Errorf("statusOf(%q, %v): got %q, want %q", tc.state, tc.labels, got, tc.want)
		}
	}
}

func isoDate(t *testing.T, d string) *gl.ISOTime {
	t.Helper()
	v, err := time.Parse(time.DateOnly, d)
	if err != nil {
		t.Fatalf("bad test date %q", d)
	}
	iso := gl.ISOTime(v)
	return &iso
}

func TestToItem(t *testing.T) {
	s := defaultScheme(t)
	created := time.Date(2026, 3, 2, 9, 0, 0, 1e6, time.UTC)
	updated := created.Add(time.Hour)
	tests := []struct {
		name string
		in   gl.Issue
		want connectors.Item
	}{
		{
			name: "every field",
			in: gl.Issue{
				ID: 901, IID: 7, State: "opened", Title: "Add latency tests ✓",
				Description: "Body.\n\n<!-- pmsync:abc123 -->",
				Labels: []string{"priority::1", "type::detect", "status::in-progress", "incident::INC-42",
					"owner::customer", "customer:janecorp", "team-storage"},
				Assignees: []*gl.IssueAssignee{{Username: "alice"}, {Username: "bob"}},
				DueDate:   isoDate(t, "2026-03-31"), WebURL: "https://gitlab.example.com/g/p/-/issues/7",
				CreatedAt: &created, UpdatedAt: &updated,
			},
			want: connectors.Item{
				Ref: connectors.Ref{Tracker: "acme", Key: "g/p#7"}, ID: "901", URL: "https://gitlab.example.com/g/p/-/issues/7",
				Title: "Add latency tests ✓", Description: "Body.", Status: connectors.StatusInProgress,
				Priority: connectors.P1, Kind: connectors.KindDetect, Owner: connectors.OwnerCustomer,
				Assignee: "alice", Due: "2026-03-31", Incident: "INC-42",
				Labels: []string{"customer:janecorp", "team-storage"}, Marker: "abc123",
				CreatedAt: created, UpdatedAt: updated,
			},
		},
		{
			name: "closed wont-do, no marker, legacy assignee",
			in: gl.Issue{
				ID: 5, IID: 2, State: "closed", Title: "t", Description: "plain",
				Labels:   []string{"status::wont-do", "priority::4", "type::unknownkind"},
				Assignee: &gl.IssueAssignee{Username: "bob"}, CreatedAt: &created, UpdatedAt: &updated,
			},
			want: connectors.Item{
				Ref: connectors.Ref{Tracker: "acme", Key: "g/p#2"}, ID: "5", Title: "t", Description: "plain",
				Status: connectors.StatusWontDo, Priority: connectors.P4, Assignee: "bob",
				Labels: []string{"type::unknownkind"}, CreatedAt: created, UpdatedAt: updated,
			},
		},
		{
			name: "two priorities: the most urgent wins",
			in:   gl.Issue{ID: 6, IID: 3, State: "closed", Title: "t", Labels: []string{"priority::3", "priority::0"}},
			want: connectors.Item{
				Ref: connectors.Ref{Tracker: "acme", Key: "g/p#3"}, ID: "6", Title: "t",
				Status: connectors.StatusDone, Priority: connectors.P0,
			},
		},
	}
	for _, tc := range tests {
		got := s.toItem("acme", "g/p", &tc.in)
		if d := itemDiff(&tc.want, got); d != "" {
			t.Errorf("%s: toItem: %s", tc.name, d)
		}
	}
}

// itemDiff compares two items field by field and names the first
// difference.
func itemDiff(want, got *connectors.Item) string {
	wj, _ := json.Marshal(want)
	gj, _ := json.Marshal(got)
	if string(wj) != string(gj) {
		return "got " + string(gj) + ", want " + string(wj)
	}
	return ""
}

// TestToItemFixture decodes the REST issue recorded in client-go's test
// data through client-go, then maps it.
func TestToItemFixture(t *testing.T) {
	raw, err := os.ReadFile("testdata/rest/issue_move.json")
	if err != nil {
		t.Fatal(err)
	}
	var is gl.Issue
	if err := json.Unmarshal(raw, &is); err != nil {
		t.Fatalf("client-go cannot decode the fixture: %v", err)
	}
	got := defaultScheme(t).toItem("acme", "example/example", &is)
	if got.Ref.Key != "example/example#11" || got.ID != "92" {
		t.Errorf("fixture: key %q id %q, want example/example#11 and 92 (iid is not id)", got.Ref.Key, got.ID)
	}
	if got.Status != connectors.StatusOpen || got.Assignee != "axel.block" || got.Due != "" || got.Labels != nil {
		t.Errorf("fixture: status %q assignee %q due %q labels %v, want open, axel.block, no due, no labels",
			got.Status, got.Assignee, got.Due, got.Labels)
	}
	if want := time.Date(2016, 4, 7, 12, 20, 17, 596e6, time.UTC); !got.UpdatedAt.Equal(want) {
		t.Errorf("fixture: UpdatedAt got %v, want %v (milliseconds kept)", got.UpdatedAt, want)
	}
}

func TestCreateLabels(t *testing.T) {
	s := defaultScheme(t)
	tests := []struct {
		name string
		in   connectors.Item
		want []string
	}{
		{"nothing", connectors.Item{Status: connectors.StatusOpen}, nil},
		{"all fields", connectors.Item{
			Status: connectors.StatusInProgress, Priority: connectors.P0, Kind: connectors.KindPrevent,
			Incident: "INC-1", Owner: connectors.OwnerPlatform, Labels: []string{"team"},
		}, []string{"incident::INC-1", "owner::platform", "priority::0", "status::in-progress", "type::prevent", "team"}},
		{"wont do", connectors.Item{Status: connectors.StatusWontDo}, []string{"status::wont-do"}},
		{"done carries no status label", connectors.Item{Status: connectors.StatusDone, Priority: connectors.P2}, []string{"priority::2"}},
		{"managed plain labels dropped, canonical fields win", connectors.Item{
			Status: connectors.StatusOpen, Priority: connectors.P1, Labels: []string{"priority::3", "status::in-progress", "x", "x"},
		}, []string{"priority::1", "x"}},
	}
	for _, tc := range tests {
		if got := s.createLabels(&tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("%s: createLabels: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

// planJSON renders a planned PUT the way client-go sends it.
func planJSON(t *testing.T, o *gl.UpdateIssueOptions) string {
	t.Helper()
	if o == nil {
		return "no request"
	}
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatalf("marshal plan: %v", err)
	}
	return string(b)
}

func TestPlanUpdate(t *testing.T) {
	s := defaultScheme(t)
	cur := gl.Issue{
		IID: 4, State: "opened", Title: "Old", Description: "Old body\n\n<!-- pmsync:m1 -->",
		Labels:  []string{"priority::2", "type::process", "incident::INC-7", "owner::customer", "team", "status::in-progress"},
		DueDate: isoDate(t, "2026-06-30"),
	}
	closed := cur
	closed.State = "closed"
	closed.Labels = []string{"status::wont-do", "priority::2"}
	tests := []struct {
		name      string
		cur       gl.Issue
		patch     connectors.Patch
		assignees *[]int64
		want      string
	}{
		{"same values: no request", cur, connectors.Patch{
			Title: ptr("Old"), Description: ptr("Old body"), Priority: ptr(connectors.P2),
			Status: ptr(connectors.StatusInProgress), Due: ptr("2026-06-30"), Incident: ptr("INC-7"),
		}, nil, "no request"},
		{"title", cur, connectors.Patch{Title: ptr("New")}, nil, `{"title":"New"}`},
		{"description keeps the marker", cur, connectors.Patch{Description: ptr("New body")}, nil,
			`{"description":"New body\n\n\u003c!-- pmsync:m1 --\u003e"}`},
		{"priority swaps one scoped label", cur, connectors.Patch{Priority: ptr(connectors.P0)}, nil,
			`{"add_labels":"priority::0","remove_labels":"priority::2"}`},
		{"priority cleared", cur, connectors.Patch{Priority: ptr(connectors.Priority(""))}, nil,
			`{"remove_labels":"priority::2"}`},
		{"incident and kind", cur, connectors.Patch{Incident: ptr("INC-8"), Kind: ptr(connectors.KindDetect)}, nil,
			`{"add_labels":"type::detect,incident::INC-8","remove_labels":"type::process,incident::INC-7"}`},
		{"owner cleared", cur, connectors.Patch{Owner: ptr(connectors.Owner(""))}, nil, `{"remove_labels":"owner::customer"}`},
		{"done closes and drops in-progress", cur, connectors.Patch{Status: ptr(connectors.StatusDone)}, nil,
			`{"remove_labels":"status::in-progress","state_event":"close"}`},
		{"wont do closes with the label", cur, connectors.Patch{Status: ptr(connectors.StatusWontDo)}, nil,
			`{"add_labels":"status::wont-do","remove_labels":"status::in-progress","state_event":"close"}`},
		{"open drops in-progress only", cur, connectors.Patch{Status: ptr(connectors.StatusOpen)}, nil,
			`{"remove_labels":"status::in-progress"}`},
		{"reopen from wont do", closed, connectors.Patch{Status: ptr(connectors.StatusOpen)}, nil,
			`{"remove_labels":"status::wont-do","state_event":"reopen"}`},
		{"wont do to done stays closed", closed, connectors.Patch{Status: ptr(connectors.StatusDone)}, nil,
			`{"remove_labels":"status::wont-do"}`},
		{"due changed", cur, connectors.Patch{Due: ptr("2026-09-15")}, nil, `{"due_date":"2026-09-15"}`},
		{"due cleared sends null", cur, connectors.Patch{Due: ptr("")}, nil, `{"due_date":null}`},
		{"assignee", cur, connectors.Patch{}, &[]int64{12}, `{"assignee_ids":[12]}`},
		{"case-only label difference is no change", cur, connectors.Patch{Kind: ptr(connectors.KindProcess)}, nil, "no request"},
	}
	for _, tc := range tests {
		got := planJSON(t, s.planUpdate(&tc.cur, tc.patch, tc.assignees))
		if got != tc.want {
			t.Errorf("%s: planUpdate: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestRoundTrip maps items to what Create sends and back through toItem.
func TestRoundTrip(t *testing.T) {
	s := defaultScheme(t)
	for _, st := range []connectors.Status{connectors.StatusOpen, connectors.StatusInProgress, connectors.StatusDone, connectors.StatusWontDo} {
		for _, p := range append([]connectors.Priority{""}, connectors.Priorities...) {
			in := connectors.Item{Title: "t", Status: st, Priority: p, Kind: connectors.KindMitigate,
				Incident: "inc-2026-0007", Owner: connectors.OwnerPlatform, Labels: []string{"customer:janecorp"}}
			state := "opened"
			if st.Closed() {
				state = "closed"
			}
			out := s.toItem("acme", "g/p", &gl.Issue{IID: 1, State: state, Title: "t", Labels: s.createLabels(&in)})
			if out.Status != in.Status || out.Priority != in.Priority || out.Kind != in.Kind ||
				out.Incident != in.Incident || out.Owner != in.Owner || !slices.Equal(out.Labels, in.Labels) {
				t.Errorf("round trip of status %s priority %q: got %+v", st, p, out)
			}
		}
	}
}

func TestValidatePatch(t *testing.T) {
	tests := []struct {
		name  string
		patch connectors.Patch
		want  string // substring of the error, "" for valid
	}{
		{"empty", connectors.Patch{}, ""},
		{"valid", connectors.Patch{Title: ptr("x"), Due: ptr("2026-01-31"), Incident: ptr("INC-1")}, ""},
		{"blank title", connectors.Patch{Title: ptr(" ")}, "title is empty"},
		{"bad status", connectors.Patch{Status: ptr(connectors.Status("closed"))}, `status "closed"`},
		{"bad priority", connectors.Patch{Priority: ptr(connectors.Priority("P9"))}, `priority "P9"`},
		{"bad kind", connectors.Patch{Kind: ptr(connectors.Kind("bug"))}, `kind "bug"`},
		{"bad owner", connectors.Patch{Owner: ptr(connectors.Owner("vendor"))}, `owner "vendor"`},
		{"bad due", connectors.Patch{Due: ptr("31/03/2026")}, `due date "31/03/2026"`},
		{"incident with comma", connectors.Patch{Incident: ptr("a,b")}, `incident "a,b"`},
	}
	for _, tc := range tests {
		err := validatePatch(tc.patch)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: got %v, want no error", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}
