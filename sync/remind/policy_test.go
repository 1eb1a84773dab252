package remind

import (
	"strings"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
)

func TestAssess(t *testing.T) {
	now := time.Date(2025, 3, 20, 15, 0, 0, 0, time.UTC)
	created := now.Add(-40 * day)
	tests := []struct {
		name string
		f    Facts
		want Assessment
	}{
		{"P1 due from item, overdue 5 days",
			Facts{Priority: "P1", Status: "open", Due: "2025-03-15", CreatedAt: created, UpdatedAt: now.Add(-2 * day)},
			Assessment{Critical: true, Open: true, Due: "2025-03-15", Overdue: true, DaysOverdue: 5, IdleDays: 2, AgeDays: 40}},
		{"due today is not overdue",
			Facts{Priority: "P1", Status: "in_progress", Due: "2025-03-20", CreatedAt: created, UpdatedAt: now},
			Assessment{Critical: true, Open: true, Due: "2025-03-20", AgeDays: 40}},
		{"due yesterday is one day overdue",
			Facts{Priority: "P0", Status: "open", Due: "2025-03-19", CreatedAt: created, UpdatedAt: now},
			Assessment{Critical: true, Open: true, Due: "2025-03-19", Overdue: true, DaysOverdue: 1, AgeDays: 40}},
		{"P1 without due: created+30d",
			Facts{Priority: "P1", Status: "open", CreatedAt: created, UpdatedAt: now.Add(-15 * day)},
			Assessment{Critical: true, Open: true, Due: "2025-03-10", DueComputed: true, Overdue: true, DaysOverdue: 10, Stale: true, IdleDays: 15, AgeDays: 40}},
		{"P2 without due: created+90d not yet due, not critical",
			Facts{Priority: "P2", Status: "open", CreatedAt: created, UpdatedAt: now},
			Assessment{Open: true, Due: "2025-05-09", DueComputed: true, AgeDays: 40}},
		{"P3 without due: no due date",
			Facts{Priority: "P3", Status: "open", CreatedAt: created, UpdatedAt: now.Add(-13 * day)},
			Assessment{Open: true, IdleDays: 13, AgeDays: 40}},
		{"done is never overdue or stale",
			Facts{Priority: "P1", Status: "done", Due: "2025-01-01", CreatedAt: created, UpdatedAt: now.Add(-30 * day)},
			Assessment{Critical: true, Due: "2025-01-01", IdleDays: 30, AgeDays: 40}},
		{"wont_do is never overdue",
			Facts{Priority: "P0", Status: "wont_do", Due: "2025-01-01", CreatedAt: created, UpdatedAt: now},
			Assessment{Critical: true, Due: "2025-01-01", AgeDays: 40}},
		{"stale exactly at stale_after",
			Facts{Priority: "P4", Status: "open", CreatedAt: created, UpdatedAt: now.Add(-14 * day)},
			Assessment{Open: true, Stale: true, IdleDays: 14, AgeDays: 40}},
		{"no priority, unparseable due, unknown times",
			Facts{Status: "open", Due: "next week"},
			Assessment{Open: true}},
		{"bad item due falls back to computed due",
			Facts{Priority: "P0", Status: "open", Due: "2025-13-45", CreatedAt: created, UpdatedAt: now},
			Assessment{Critical: true, Open: true, Due: "2025-02-15", DueComputed: true, Overdue: true, DaysOverdue: 33, AgeDays: 40}},
	}
	p := DefaultPolicy()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := p.Assess(tc.f, now)
			if got != tc.want {
				t.Errorf("Assess:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestAssessLocation(t *testing.T) {
	// 2025-03-21 02:00 UTC is still 2025-03-20 in New York: an item due on
	// the 20th is overdue in UTC but not yet in New York.
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 3, 21, 2, 0, 0, 0, time.UTC)
	f := Facts{Priority: "P1", Status: "open", Due: "2025-03-20"}
	for _, tc := range []struct {
		loc  *time.Location
		want bool
	}{{time.UTC, true}, {ny, false}} {
		p := DefaultPolicy()
		p.Location = tc.loc
		if got := p.Assess(f, now).Overdue; got != tc.want {
			t.Errorf("overdue in %s: got %v, want %v", tc.loc, got, tc.want)
		}
	}
}

func TestPolicyCritical(t *testing.T) {
	p := DefaultPolicy()
	p.Critical = []connectors.Priority{"P0", "P1", "P2"}
	for pr, want := range map[connectors.Priority]bool{"P0": true, "P2": true, "P3": false, "": false} {
		if got := p.IsCritical(pr); got != want {
			t.Errorf("IsCritical(%q): got %v, want %v", pr, got, want)
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Policy)
		want string // substring of the error, "" for none
	}{
		{"default", func(*Policy) {}, ""},
		{"bad critical", func(p *Policy) { p.Critical = []connectors.Priority{"high"} }, "reminders.critical"},
		{"bad due_after key", func(p *Policy) { p.DueAfter = map[connectors.Priority]time.Duration{"P9": day} }, "reminders.due_after"},
		{"zero due_after", func(p *Policy) { p.DueAfter = map[connectors.Priority]time.Duration{"P1": 0} }, "reminders.due_after.P1"},
		{"negative stale", func(p *Policy) { p.StaleAfter = -day }, "reminders.stale_after"},
	}
	for _, tc := range tests {
		p := DefaultPolicy()
		tc.edit(&p)
		err := p.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: got error %v, want none", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got error %v, want one naming %q", tc.name, err, tc.want)
		}
	}
}
