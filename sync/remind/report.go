package remind

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/store"
)

// Report is the monthly review of one customer's action items: per
// incident both sides' items, what closed in the month, and the critical
// items still open from earlier months. It is built from the customer's
// side of its own links only, like the customer's digest.
type Report struct {
	PlatformName string
	Customer     Customer
	Month        time.Time // first instant of the month, in the policy's location
	// AsOf is the moment the report describes: the end of the month, or
	// now for the current month. Items closed after AsOf show as open.
	AsOf      time.Time
	Incidents []ReportIncident
	// ClosedInMonth lists items first seen closed during the month.
	ClosedInMonth []ItemView
	// EarlierOpen lists critical items created before the month and still
	// open at AsOf.
	EarlierOpen []ItemView
	Totals      ReportTotals
}

// ReportIncident is the items of one incident ("" for none).
type ReportIncident struct {
	Incident string
	Items    []ItemView
}

// ReportTotals count the items of a report.
type ReportTotals struct {
	Items, Open, OpenCritical, Overdue, CreatedInMonth, ClosedInMonth, EarlierOpen int
	PlatformOwned, CustomerOwned                                                   int
}

// ParseMonth reads YYYY-MM as the first instant of that month in loc.
func ParseMonth(s string, loc *time.Location) (time.Time, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("month %q: want YYYY-MM", s)
	}
	if loc == nil {
		loc = time.UTC
	}
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc), nil
}

// Report builds the monthly review report of customer for the month that
// starts at month (see ParseMonth), as of now.
func (b *Builder) Report(ctx context.Context, customer string, month, now time.Time) (*Report, error) {
	if err := b.Policy.Validate(); err != nil {
		return nil, err
	}
	c, ok := b.customer(customer)
	if !ok {
		return nil, fmt.Errorf("report: customer %q is not configured", customer)
	}
	loc := b.Policy.loc()
	start := time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, loc)
	end := start.AddDate(0, 1, 0)
	if !now.After(start) {
		return nil, fmt.Errorf("report: month %s has not started yet", start.Format("2006-01"))
	}
	asOf := end
	if now.Before(end) {
		asOf = now
	}
	links, err := b.Source.Links(c.ID)
	if err != nil {
		return nil, fmt.Errorf("report: read links of %s: %w", c.ID, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := &Report{PlatformName: b.PlatformName, Customer: c, Month: start, AsOf: asOf}
	byIncident := map[string][]ItemView{}
	for _, l := range links {
		if l.Customer != c.ID || l.State == store.LinkUnshared {
			continue
		}
		v := b.reportView(l, c, asOf)
		if !v.CreatedAt.IsZero() && !v.CreatedAt.Before(end) {
			continue // created after the month
		}
		if !v.ClosedAt.IsZero() && v.ClosedAt.Before(start) {
			continue // closed before the month: already reviewed
		}
		byIncident[v.Incident] = append(byIncident[v.Incident], v)
		r.count(v, start, end)
		if !v.ClosedAt.IsZero() && !v.ClosedAt.Before(start) && v.ClosedAt.Before(end) {
			r.ClosedInMonth = append(r.ClosedInMonth, v)
		}
		if v.Open && v.Critical && v.CreatedAt.Before(start) {
			r.EarlierOpen = append(r.EarlierOpen, v)
		}
	}
	for inc, items := range byIncident {
		sortReportItems(items)
		r.Incidents = append(r.Incidents, ReportIncident{Incident: inc, Items: items})
	}
	slices.SortFunc(r.Incidents, func(x, y ReportIncident) int {
		if (x.Incident == "") != (y.Incident == "") {
			if x.Incident == "" {
				return 1
			}
			return -1
		}
		return cmp.Compare(x.Incident, y.Incident)
	})
	sortItems(r.ClosedInMonth)
	sortItems(r.EarlierOpen)
	return r, nil
}

// reportView projects l for the customer as it stood at asOf: an item
// closed after asOf counts as open then.
func (b *Builder) reportView(l *store.Link, c Customer, asOf time.Time) ItemView {
	v := project(l, Audience{Customer: c.ID}, c.Name, b.Policy, asOf)
	if v.ClosedAt.After(asOf) {
		v.Status, v.ClosedAt = connectors.StatusOpen, time.Time{}
		v.Assessment = b.Policy.Assess(Facts{Priority: v.Priority, Status: v.Status, Due: l.Remote.Base.Due,
			CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt}, asOf)
	}
	return v
}

func (r *Report) count(v ItemView, start, end time.Time) {
	t := &r.Totals
	t.Items++
	if v.Owner == connectors.OwnerCustomer {
		t.CustomerOwned++
	} else {
		t.PlatformOwned++
	}
	if v.Open {
		t.Open++
		if v.Critical {
			t.OpenCritical++
		}
		if v.Critical && v.CreatedAt.Before(start) {
			t.EarlierOpen++
		}
	}
	if v.Overdue {
		t.Overdue++
	}
	if !v.CreatedAt.Before(start) && v.CreatedAt.Before(end) {
		t.CreatedInMonth++
	}
	if !v.ClosedAt.IsZero() && !v.ClosedAt.Before(start) && v.ClosedAt.Before(end) {
		t.ClosedInMonth++
	}
}

// sortReportItems orders one incident's items: platform-owned first, then
// by priority, due date and key.
func sortReportItems(items []ItemView) {
	sortItems(items)
	slices.SortStableFunc(items, func(x, y ItemView) int {
		return cmp.Compare(ownerRank(x.Owner), ownerRank(y.Owner))
	})
}

func ownerRank(o connectors.Owner) int {
	if o == connectors.OwnerCustomer {
		return 1
	}
	return 0
}

// Render renders the report as Markdown or HTML.
func (r *Report) Render(f Format) ([]byte, error) {
	if f != FormatMarkdown && f != FormatHTML {
		return nil, fmt.Errorf("report: format %q: want md or html", f)
	}
	return render("report", f, r)
}

// Title is the heading of the report.
func (r *Report) Title() string {
	return oneLine(fmt.Sprintf("Monthly action-item review: %s and %s, %s", r.Customer.Name, r.PlatformName, r.Month.Format("January 2006")))
}
