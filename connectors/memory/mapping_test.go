package memory

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
)

func TestToItem(t *testing.T) {
	s := connectors.DefaultGitHubLabels()
	at := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		is   Issue
		want connectors.Item
	}{
		{
			name: "open with every label",
			is: Issue{Key: "MEM-1", ID: "100001", Title: "t", Body: "body\n\n<!-- pmsync:abc123 -->", State: StateOpen,
				Labels: []string{"customer:janecorp", "P1", "type:prevent", "incident:INC-4", "owner:customer"}, Due: "2026-03-01",
				Assignee: "alice", CreatedAt: at, UpdatedAt: at},
			want: connectors.Item{Title: "t", Description: "body", Status: connectors.StatusOpen, Priority: connectors.P1,
				Kind: connectors.KindPrevent, Incident: "INC-4", Owner: connectors.OwnerCustomer, Due: "2026-03-01",
				Assignee: "alice", Labels: []string{"customer:janecorp"}, Marker: "abc123"},
		},
		{
			name: "in progress",
			is:   Issue{Key: "MEM-2", State: StateOpen, Labels: []string{"status:in-progress", "P0", "P3"}},
			want: connectors.Item{Status: connectors.StatusInProgress, Priority: connectors.P0},
		},
		{
			name: "closed completed keeps a stale in-progress label out of the status",
			is:   Issue{Key: "MEM-3", State: StateClosed, Reason: ReasonCompleted, Labels: []string{"status:in-progress"}},
			want: connectors.Item{Status: connectors.StatusDone},
		},
		{
			name: "closed not planned",
			is:   Issue{Key: "MEM-4", State: StateClosed, Reason: ReasonNotPlanned},
			want: connectors.Item{Status: connectors.StatusWontDo},
		},
		{
			name: "unknown kind stays a label",
			is:   Issue{Key: "MEM-5", State: StateOpen, Body: "no marker", Labels: []string{"type:bug"}},
			want: connectors.Item{Status: connectors.StatusOpen, Description: "no marker", Labels: []string{"type:bug"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := toItem(tc.is, s, "janecorp", "https://m.invalid")
			tc.want.Ref = connectors.Ref{Tracker: "janecorp", Key: tc.is.Key}
			tc.want.ID, tc.want.URL = tc.is.ID, "https://m.invalid/items/"+tc.is.Key
			tc.want.CreatedAt, tc.want.UpdatedAt = tc.is.CreatedAt, tc.is.UpdatedAt
			if !itemsEqual(got, tc.want) {
				t.Errorf("toItem:\ngot  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func itemsEqual(a, b connectors.Item) bool {
	return reflect.DeepEqual(a, b)
}

func TestFromItemRoundTrip(t *testing.T) {
	schemes := map[string]connectors.LabelScheme{
		"github": connectors.DefaultGitHubLabels(),
		"custom": connectors.LabelScheme{KindPrefix: "kind/", InProgress: "doing"}.Merge(connectors.DefaultGitHubLabels()),
	}
	items := []connectors.Item{
		{Title: "a", Description: "x", Status: connectors.StatusInProgress, Priority: connectors.P2, Kind: connectors.KindDetect,
			Owner: connectors.OwnerPlatform, Incident: "INC-1", Labels: []string{"team", "P4"}, Due: "2026-01-31"},
		{Title: "b", Status: connectors.StatusWontDo},
		{Title: "c", Status: ""},
	}
	for name, s := range schemes {
		for _, in := range items {
			is := fromItem(&in, "m1", s)
			is.Key = "MEM-1"
			got := toItem(is, s, "t", "https://x.invalid")
			want := in
			if want.Status == "" {
				want.Status = connectors.StatusOpen
			}
			want.Labels = slices.DeleteFunc(slices.Clone(in.Labels), s.Managed)
			if got.Title != want.Title || got.Description != want.Description || got.Status != want.Status ||
				got.Priority != want.Priority || got.Kind != want.Kind || got.Owner != want.Owner ||
				got.Incident != want.Incident || got.Due != want.Due || !slices.Equal(got.Labels, want.Labels) || got.Marker != "m1" {
				t.Errorf("%s: round trip of %q:\ngot  %+v\nwant %+v", name, in.Title, got, want)
			}
		}
	}
}

func TestApplyPatch(t *testing.T) {
	s := connectors.DefaultGitHubLabels()
	base := Issue{Key: "MEM-1", Title: "t", Body: "old\n\n<!-- pmsync:mk -->", State: StateOpen,
		Labels: []string{"zeta", "P2", "status:in-progress", "alpha", "type:process"}}
	tests := []struct {
		name       string
		p          connectors.Patch
		wantLabels []string
		wantState  string
		wantBody   string
	}{
		{"close keeps other labels in place, drops in-progress", connectors.Patch{Status: ptr(connectors.StatusDone)},
			[]string{"zeta", "alpha", "P2", "type:process"}, StateClosed, base.Body},
		{"description keeps the marker", connectors.Patch{Description: ptr("new")},
			[]string{"zeta", "alpha", "P2", "status:in-progress", "type:process"}, StateOpen, "new\n\n<!-- pmsync:mk -->"},
		{"priority cleared", connectors.Patch{Priority: ptr(connectors.Priority(""))},
			[]string{"zeta", "alpha", "status:in-progress", "type:process"}, StateOpen, base.Body},
		{"back to open", connectors.Patch{Status: ptr(connectors.StatusOpen), Kind: ptr(connectors.KindOther)},
			[]string{"zeta", "alpha", "P2", "type:other"}, StateOpen, base.Body},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := applyPatch(base.clone(), tc.p, s)
			if !slices.Equal(got.Labels, tc.wantLabels) || got.State != tc.wantState || got.Body != tc.wantBody {
				t.Errorf("got labels %q state %q body %q, want %q %q %q", got.Labels, got.State, got.Body, tc.wantLabels, tc.wantState, tc.wantBody)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		it   connectors.Item
		m    string
		ok   bool
	}{
		{"valid", connectors.Item{Title: "t", Status: connectors.StatusOpen, Due: "2026-02-28"}, "abc", true},
		{"empty status is open", connectors.Item{Title: "t"}, "", true},
		{"blank title", connectors.Item{Title: " \t"}, "", false},
		{"bad due", connectors.Item{Title: "t", Due: "2026-02-30"}, "", false},
		{"bad marker", connectors.Item{Title: "t"}, "UPPER", false},
		{"bad owner", connectors.Item{Title: "t", Owner: "both"}, "", false},
		{"incident with space", connectors.Item{Title: "t", Incident: "INC 1"}, "", false},
	}
	for _, tc := range tests {
		if err := validateItem(&tc.it, tc.m); (err == nil) != tc.ok {
			t.Errorf("%s: validateItem got %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func ptr[T any](v T) *T { return &v }
