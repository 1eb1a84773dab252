// Package remind turns the links kept in the store into reminders: the
// per-customer and platform digests, the per-item reminder comments on
// overdue critical items, and the monthly review report. It schedules them
// with cron expressions (one time zone per schedule), renders them as text,
// Markdown and HTML, and delivers them by e-mail, chat webhook or tracker
// comment, each (schedule, period, recipient) at most once.
//
// Everything here is computed from the store alone: no tracker API is called
// to build a digest or a report, so they are cheap and testable. A customer's
// digest or report is built from that customer's side of its own links only;
// the platform tracker's keys, URLs and text never reach it.
package remind

import (
	"fmt"
	"slices"
	"time"

	"github.com/pmsync/pmsync/connectors"
)

// Policy decides which items are critical, when they are due, and when they
// are overdue or stale. The zero Policy is not useful; start from
// DefaultPolicy.
type Policy struct {
	// Critical lists the priorities that count as critical (default P0, P1).
	Critical []connectors.Priority
	// DueAfter gives items without a due date one, counted from creation,
	// per priority. A priority missing here gets no computed due date.
	DueAfter map[connectors.Priority]time.Duration
	// StaleAfter is how long an open item may go without an update before
	// it is stale. Zero disables staleness.
	StaleAfter time.Duration
	// Location is where calendar dates (due dates, "today") are read.
	// Nil means UTC.
	Location *time.Location
}

// DefaultPolicy returns the policy of the example configuration: P0 and P1
// critical, due 7/30/90 days after creation for P0/P1/P2, stale after 14
// days, dates in UTC.
func DefaultPolicy() Policy {
	return Policy{
		Critical: []connectors.Priority{connectors.P0, connectors.P1},
		DueAfter: map[connectors.Priority]time.Duration{
			connectors.P0: 7 * 24 * time.Hour,
			connectors.P1: 30 * 24 * time.Hour,
			connectors.P2: 90 * 24 * time.Hour,
		},
		StaleAfter: 14 * 24 * time.Hour,
		Location:   time.UTC,
	}
}

// Validate reports a policy that cannot be applied, naming the field.
func (p Policy) Validate() error {
	for _, c := range p.Critical {
		if c == "" || !c.Valid() {
			return fmt.Errorf("reminders.critical: %q is not a priority (want P0..P4)", c)
		}
	}
	for pr, d := range p.DueAfter {
		if pr == "" || !pr.Valid() {
			return fmt.Errorf("reminders.due_after: %q is not a priority (want P0..P4)", pr)
		}
		if d <= 0 {
			return fmt.Errorf("reminders.due_after.%s: %s is not a positive duration", pr, d)
		}
	}
	if p.StaleAfter < 0 {
		return fmt.Errorf("reminders.stale_after: %s is negative", p.StaleAfter)
	}
	return nil
}

func (p Policy) loc() *time.Location {
	if p.Location == nil {
		return time.UTC
	}
	return p.Location
}

// IsCritical reports whether priority pr is critical under p.
func (p Policy) IsCritical(pr connectors.Priority) bool {
	return pr != "" && slices.Contains(p.Critical, pr)
}

// Facts are the fields of an item that the policy reads.
type Facts struct {
	Priority  connectors.Priority
	Status    connectors.Status
	Due       string    // YYYY-MM-DD from the item, or ""
	CreatedAt time.Time // zero when unknown
	UpdatedAt time.Time // zero when unknown
}

// Assessment is what the policy says about one item at one moment.
type Assessment struct {
	Critical bool
	Open     bool // not done and not wont_do
	// Due is the due date (YYYY-MM-DD) from the item or computed from
	// DueAfter; "" when there is none. DueComputed is true for the latter.
	Due         string
	DueComputed bool
	Overdue     bool
	DaysOverdue int // whole calendar days past the due date; 0 unless overdue
	Stale       bool
	IdleDays    int // whole days since the last update; 0 when unknown
	AgeDays     int // whole days since creation; 0 when unknown
}

const day = 24 * time.Hour

// Assess applies the policy to f at now. An item is due at the end of its
// due date (in p.Location): it becomes overdue the next calendar day, and
// DaysOverdue counts calendar days after the due date. Closed items are
// never overdue or stale.
func (p Policy) Assess(f Facts, now time.Time) Assessment {
	loc := p.loc()
	a := Assessment{
		Critical: p.IsCritical(f.Priority),
		Open:     !f.Status.Closed(),
	}
	if !f.CreatedAt.IsZero() && now.After(f.CreatedAt) {
		a.AgeDays = int(now.Sub(f.CreatedAt) / day)
	}
	if !f.UpdatedAt.IsZero() && now.After(f.UpdatedAt) {
		a.IdleDays = int(now.Sub(f.UpdatedAt) / day)
	}
	due, ok := parseDate(f.Due)
	switch {
	case ok:
		a.Due = due.Format(dateLayout)
	case f.Priority != "" && p.DueAfter[f.Priority] > 0 && !f.CreatedAt.IsZero():
		due = civil(f.CreatedAt.Add(p.DueAfter[f.Priority]).In(loc))
		a.Due, a.DueComputed, ok = due.Format(dateLayout), true, true
	}
	if !a.Open {
		return a
	}
	if ok {
		today := civil(now.In(loc))
		if today.After(due) {
			a.Overdue = true
			a.DaysOverdue = daysBetween(due, today)
		}
	}
	if p.StaleAfter > 0 && !f.UpdatedAt.IsZero() && now.Sub(f.UpdatedAt) >= p.StaleAfter {
		a.Stale = true
	}
	return a
}

const dateLayout = "2006-01-02"

// parseDate reads a YYYY-MM-DD date as midnight UTC (a civil date).
func parseDate(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// civil returns the calendar date of t (in t's location) as midnight UTC.
func civil(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// daysBetween counts calendar days from civil date a to civil date b.
func daysBetween(a, b time.Time) int {
	return int(b.Sub(a).Round(time.Hour) / day)
}
