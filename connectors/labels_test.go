package connectors

import (
	"reflect"
	"testing"
)

func TestLabelSchemeDecode(t *testing.T) {
	gh, gl := DefaultGitHubLabels(), DefaultGitLabLabels()
	cases := []struct {
		name   string
		scheme LabelScheme
		labels []string
		want   LabelFields
	}{
		{"empty", gh, nil, LabelFields{}},
		{"github all", gh, []string{"P1", "type:prevent", "status:in-progress", "incident:INC-42", "owner:customer", "customer:janecorp"},
			LabelFields{Priority: P1, Kind: KindPrevent, InProgress: true, Incident: "INC-42", Owner: OwnerCustomer, Rest: []string{"customer:janecorp"}}},
		{"case-insensitive", gh, []string{"p2", "Type:Detect"}, LabelFields{Priority: P2, Kind: KindDetect}},
		{"most urgent priority wins", gh, []string{"P3", "P0", "P2"}, LabelFields{Priority: P0}},
		{"unknown kind stays", gh, []string{"type:bug"}, LabelFields{Rest: []string{"type:bug"}}},
		{"unknown owner stays", gh, []string{"owner:bob"}, LabelFields{Rest: []string{"owner:bob"}}},
		{"gitlab scoped", gl, []string{"priority::1", "type::mitigate", "status::in-progress", "incident::2026-03-storage"},
			LabelFields{Priority: P1, Kind: KindMitigate, InProgress: true, Incident: "2026-03-storage"}},
		{"gitlab ignores github names", gl, []string{"P1"}, LabelFields{Rest: []string{"P1"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.scheme.Decode(c.labels); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestLabelSchemeRoundTrip(t *testing.T) {
	for _, s := range []LabelScheme{DefaultGitHubLabels(), DefaultGitLabLabels()} {
		for _, p := range append([]Priority{""}, Priorities...) {
			for _, k := range append([]Kind{""}, Kinds...) {
				labels := s.Encode(p, k, true, "INC-7", OwnerPlatform)
				f := s.Decode(labels)
				if f.Priority != p || f.Kind != k || !f.InProgress || f.Incident != "INC-7" || f.Owner != OwnerPlatform || len(f.Rest) != 0 {
					t.Fatalf("round trip of %v/%v via %v gave %+v", p, k, labels, f)
				}
				for _, l := range labels {
					if !s.Managed(l) {
						t.Errorf("label %q encoded but not managed", l)
					}
				}
			}
		}
	}
}

func TestLabelSchemeMerge(t *testing.T) {
	custom := LabelScheme{Priority: map[Priority]string{P1: "sev1"}, InProgress: "doing"}
	m := custom.Merge(DefaultGitHubLabels())
	if m.Priority[P1] != "sev1" || m.Priority[P2] != "P2" || m.InProgress != "doing" || m.KindPrefix != "type:" {
		t.Errorf("merge: got %+v", m)
	}
	if f := m.Decode([]string{"sev1", "doing"}); f.Priority != P1 || !f.InProgress {
		t.Errorf("custom labels not decoded: %+v", f)
	}
}

func TestStatusPriorityKindValid(t *testing.T) {
	if !StatusDone.Closed() || !StatusWontDo.Closed() || StatusOpen.Closed() || StatusInProgress.Closed() {
		t.Error("Closed")
	}
	if Status("closed").Valid() || !StatusInProgress.Valid() {
		t.Error("Status.Valid")
	}
	if Priority("P5").Valid() || !Priority("").Valid() || !P4.Valid() {
		t.Error("Priority.Valid")
	}
	if Kind("bug").Valid() || !KindOther.Valid() {
		t.Error("Kind.Valid")
	}
	if !(Patch{}).Empty() {
		t.Error("empty patch")
	}
	title := "x"
	if (Patch{Title: &title}).Empty() {
		t.Error("non-empty patch reported empty")
	}
}
