package engine

import (
	"reflect"
	"testing"
)

func TestMergeField(t *testing.T) {
	P, C := PlatformSide, CustomerSide
	tests := []struct {
		name      string
		base, cur [2]string
		auth      Side
		want      Decision
	}{
		{"nothing changed", [2]string{"a", "a"}, [2]string{"a", "a"}, P,
			Decision{}},
		{"nothing changed, values differ", [2]string{"a", "A"}, [2]string{"a", "A"}, P,
			Decision{}},
		{"authority changed", [2]string{"a", "a"}, [2]string{"b", "a"}, P,
			Decision{Write: true, Target: C, Value: "b"}},
		{"authority changed, customer authority", [2]string{"a", "a"}, [2]string{"a", "b"}, C,
			Decision{Write: true, Target: P, Value: "b"}},
		{"authority changed to what the other has", [2]string{"a", "b"}, [2]string{"b", "b"}, P,
			Decision{}},
		{"other changed: reverted", [2]string{"a", "a"}, [2]string{"a", "x"}, P,
			Decision{Write: true, Target: C, Value: "a", Conflict: true, Loser: C}},
		{"other changed, platform loses", [2]string{"open", "open"}, [2]string{"done", "open"}, C,
			Decision{Write: true, Target: P, Value: "open", Conflict: true, Loser: P}},
		{"both changed alike", [2]string{"a", "a"}, [2]string{"b", "b"}, P,
			Decision{}},
		{"both changed differently", [2]string{"a", "a"}, [2]string{"b", "c"}, P,
			Decision{Write: true, Target: C, Value: "b", Conflict: true, Loser: C}},
		{"cleared on authority", [2]string{"2026-01-01", "2026-01-01"}, [2]string{"", "2026-01-01"}, P,
			Decision{Write: true, Target: C, Value: ""}},
		{"other changed back to authority's value", [2]string{"a", "x"}, [2]string{"a", "a"}, P,
			Decision{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.want.Field = FieldTitle
			got := MergeField(FieldTitle, tc.base, tc.cur, tc.auth)
			if got != tc.want {
				t.Errorf("MergeField(base %q, cur %q, auth %v) = %+v, want %+v", tc.base, tc.cur, tc.auth, got, tc.want)
			}
		})
	}
}

func TestAuthority(t *testing.T) {
	tests := []struct {
		f             Field
		origin, owner Side
		want          Side
	}{
		{FieldTitle, PlatformSide, CustomerSide, PlatformSide},
		{FieldSummary, CustomerSide, PlatformSide, CustomerSide},
		{FieldStatus, PlatformSide, CustomerSide, CustomerSide},
		{FieldStatus, CustomerSide, PlatformSide, PlatformSide},
		{FieldOwner, PlatformSide, CustomerSide, PlatformSide},
		{FieldDue, CustomerSide, CustomerSide, CustomerSide},
	}
	for _, tc := range tests {
		if got := Authority(tc.f, tc.origin, tc.owner); got != tc.want {
			t.Errorf("Authority(%s, origin %v, owner %v) = %v, want %v", tc.f, tc.origin, tc.owner, got, tc.want)
		}
	}
}

func TestMerge(t *testing.T) {
	base := [2]Values{
		{FieldTitle: "T", FieldStatus: "open", FieldPriority: "P1", FieldDue: "2026-02-01"},
		{FieldTitle: "T", FieldStatus: "open", FieldPriority: "P1", FieldDue: "2026-02-01"},
	}
	cur := [2]Values{
		{FieldTitle: "T2", FieldStatus: "open", FieldPriority: "P1", FieldDue: "2026-02-01"},
		{FieldTitle: "T", FieldStatus: "done", FieldPriority: "P3", FieldDue: "2026-02-01"},
	}
	// Platform origin, customer owner: the title flows down, the status up,
	// the customer's priority edit is a conflict and is reverted.
	got := Merge(base, cur, PlatformSide, CustomerSide)
	want := []Decision{
		{Field: FieldTitle, Write: true, Target: CustomerSide, Value: "T2"},
		{Field: FieldStatus, Write: true, Target: PlatformSide, Value: "done"},
		{Field: FieldPriority, Write: true, Target: CustomerSide, Value: "P1", Conflict: true, Loser: CustomerSide},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Merge =\n%+v\nwant\n%+v", got, want)
	}
	if got := Merge(cur, cur, PlatformSide, PlatformSide); len(got) != 0 {
		t.Errorf("Merge with bases equal to current values = %+v, want nothing", got)
	}
}

func TestSideOther(t *testing.T) {
	if PlatformSide.Other() != CustomerSide || CustomerSide.Other() != PlatformSide {
		t.Errorf("Other does not swap the sides")
	}
	if PlatformSide.String() != "platform" || CustomerSide.String() != "customer" {
		t.Errorf("String = %q, %q", PlatformSide, CustomerSide)
	}
}
