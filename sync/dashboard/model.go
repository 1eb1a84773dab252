package dashboard

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/store"
	"github.com/pmsync/pmsync/sync/remind"
)

// Page is everything one rendering of the dashboard shows. Build makes it
// from the store and the tracker states; the template sees nothing else.
type Page struct {
	Title        string
	PlatformName string
	Generated    time.Time
	Refresh      int // seconds between automatic reloads; 0 for none
	Ready        bool
	QueueDepth   int // -1 when unknown
	Totals       Counts
	Trackers     []TrackerRow
	Customers    []CustomerSection
	// Broken and Conflicts list the links that need a person, across all
	// customers, newest first.
	Broken    []Row
	Conflicts []Row
}

// Counts summarise a set of items.
type Counts struct {
	Items, Open, Critical, Overdue, Done, Conflicts, Broken int
}

// CustomerSection is one customer's items, grouped by incident.
type CustomerSection struct {
	ID        string
	Name      string
	Kind      string // the customer's tracker kind
	Counts    Counts
	Incidents []IncidentSection
}

// IncidentSection is the items of one incident ("" for items without one).
type IncidentSection struct {
	Incident string
	Items    []Row
}

// Row is one linked item as the operator sees it: both sides.
type Row struct {
	LinkID       string
	CustomerID   string
	CustomerName string
	Title        string
	Priority     connectors.Priority
	Kind         connectors.Kind
	Critical     bool
	// Owner is the side that must do the work; OwnerName says it in words.
	Owner     connectors.Owner
	OwnerName string
	Assignee  string
	// Status is the owner's status (authoritative); PlatformStatus and
	// CustomerStatus are each side's as last seen.
	Status         connectors.Status
	PlatformStatus connectors.Status
	CustomerStatus connectors.Status
	InStep         bool // both sides show the same status
	Due            string
	DueComputed    bool
	Overdue        bool
	DaysOverdue    int
	PlatformRef    SideLink
	CustomerRef    SideLink
	State          store.LinkState
	BrokenReason   string
	Conflicts      int
	LastConflictAt time.Time
	LastError      string
	UpdatedAt      time.Time
}

// SideLink is where one side of an item can be opened.
type SideLink struct {
	Key string
	URL string
}

// TrackerRow is one tracker's health.
type TrackerRow struct {
	Tracker
	Role       string // "platform" or the customer's name
	Healthy    bool
	PollAgo    string // "12s ago", "never"
	SuccessAgo string
	RateText   string // "4,980 left", "unknown", "blocked for 30s"
}

// Tracker is what the daemon knows about one configured tracker.
type Tracker struct {
	ID   string
	Name string // organisation name
	Kind string // github | gitlab | jira
	// LastPoll is the last poll attempt, LastSuccess the last poll that
	// succeeded; zero when none yet. LastError is the last poll's error
	// ("" after a success); it never holds a secret.
	LastPoll    time.Time
	LastSuccess time.Time
	LastError   string
	Polls       int
	Failures    int
	// RateRemaining is the tracker's remaining request budget, -1 when
	// unknown; BlockedUntil is set while the tracker told us to wait.
	RateRemaining int
	BlockedUntil  time.Time
	// Ready says whether the tracker counts as ready (polled successfully
	// recently enough).
	Ready bool
}

// Customer names a configured customer.
type Customer struct {
	ID   string
	Name string
	Kind string
}

// Source is the part of the store the dashboard reads. *store.DB
// implements it.
type Source interface {
	Links(customer string) ([]*store.Link, error)
}

var _ Source = (*store.DB)(nil)

// Input is what Build needs besides the store.
type Input struct {
	Title        string
	PlatformName string
	Customers    []Customer
	Policy       remind.Policy
	Trackers     []Tracker
	QueueDepth   int
	Ready        bool
	Refresh      int
	Now          time.Time
}

// Build reads every configured customer's links and makes the page.
func Build(src Source, in Input) (*Page, error) {
	p := &Page{
		Title: cmp.Or(in.Title, "pmsync"), PlatformName: cmp.Or(in.PlatformName, "Platform"),
		Generated: in.Now, Refresh: in.Refresh, Ready: in.Ready, QueueDepth: in.QueueDepth,
	}
	names := map[string]string{connectorsPlatform: p.PlatformName}
	for _, c := range in.Customers {
		links, err := src.Links(c.ID)
		if err != nil {
			return nil, fmt.Errorf("dashboard: read links of %s: %w", c.ID, err)
		}
		sec := CustomerSection{ID: c.ID, Name: cmp.Or(c.Name, c.ID), Kind: c.Kind}
		names[c.ID] = sec.Name
		groups := map[string][]Row{}
		for _, l := range links {
			r := project(l, sec.Name, p.PlatformName, in.Policy, in.Now)
			count(&sec.Counts, r)
			groups[incidentOf(l)] = append(groups[incidentOf(l)], r)
			if r.State == store.LinkBroken {
				p.Broken = append(p.Broken, r)
			}
			if r.Conflicts > 0 {
				p.Conflicts = append(p.Conflicts, r)
			}
		}
		sec.Incidents = sortIncidents(groups)
		p.Totals = p.Totals.add(sec.Counts)
		p.Customers = append(p.Customers, sec)
	}
	slices.SortStableFunc(p.Broken, func(a, b Row) int { return b.UpdatedAt.Compare(a.UpdatedAt) })
	slices.SortStableFunc(p.Conflicts, func(a, b Row) int { return b.LastConflictAt.Compare(a.LastConflictAt) })
	for _, t := range in.Trackers {
		p.Trackers = append(p.Trackers, trackerRow(t, names, in.Now))
	}
	return p, nil
}

const connectorsPlatform = "platform"

// project makes the operator's row of one link: text from the origin side,
// each side's status, the owner's status as the authoritative one.
func project(l *store.Link, customerName, platformName string, pol remind.Policy, now time.Time) Row {
	origin, ownerSide := &l.Platform, &l.Remote
	if l.Origin == connectors.OwnerCustomer {
		origin = &l.Remote
	}
	owner := cmp.Or(l.Owner, l.Origin)
	if owner == connectors.OwnerPlatform {
		ownerSide = &l.Platform
	}
	f := origin.Base
	r := Row{
		LinkID: l.ID, CustomerID: l.Customer, CustomerName: customerName,
		Title: f.Title, Priority: f.Priority, Kind: f.Kind, Owner: owner,
		Assignee:       cmp.Or(ownerSide.Base.Assignee, f.Assignee),
		Status:         cmp.Or(ownerSide.Base.Status, f.Status, connectors.StatusOpen),
		PlatformStatus: l.Platform.Base.Status, CustomerStatus: l.Remote.Base.Status,
		PlatformRef:  SideLink{Key: l.Platform.Ref.Key, URL: l.Platform.URL},
		CustomerRef:  SideLink{Key: l.Remote.Ref.Key, URL: l.Remote.URL},
		State:        l.State,
		BrokenReason: l.BrokenReason, Conflicts: l.Conflicts, LastConflictAt: l.LastConflictAt,
		LastError: l.LastError, UpdatedAt: latest(l.UpdatedAt, l.Platform.UpdatedAt, l.Remote.UpdatedAt),
	}
	r.OwnerName = platformName
	if owner == connectors.OwnerCustomer {
		r.OwnerName = customerName
	}
	r.InStep = r.PlatformStatus == r.CustomerStatus
	created := origin.CreatedAt
	if created.IsZero() {
		created = l.CreatedAt
	}
	a := pol.Assess(remind.Facts{
		Priority: f.Priority, Status: r.Status, Due: cmp.Or(ownerSide.Base.Due, f.Due),
		CreatedAt: created, UpdatedAt: latest(ownerSide.UpdatedAt, origin.UpdatedAt),
	}, now)
	r.Critical, r.Due, r.DueComputed, r.Overdue, r.DaysOverdue = a.Critical, a.Due, a.DueComputed, a.Overdue, a.DaysOverdue
	if l.State == store.LinkBroken && r.BrokenReason == "" {
		r.BrokenReason = "one side was deleted or became inaccessible"
	}
	return r
}

func incidentOf(l *store.Link) string {
	if l.Origin == connectors.OwnerCustomer {
		return cmp.Or(l.Remote.Base.Incident, l.Platform.Base.Incident)
	}
	return cmp.Or(l.Platform.Base.Incident, l.Remote.Base.Incident)
}

func count(c *Counts, r Row) {
	c.Items++
	if !r.Status.Closed() && r.State != store.LinkUnshared {
		c.Open++
		if r.Critical {
			c.Critical++
		}
	}
	if r.Status == connectors.StatusDone {
		c.Done++
	}
	if r.Overdue {
		c.Overdue++
	}
	if r.Conflicts > 0 {
		c.Conflicts++
	}
	if r.State == store.LinkBroken {
		c.Broken++
	}
}

func (c Counts) add(o Counts) Counts {
	return Counts{c.Items + o.Items, c.Open + o.Open, c.Critical + o.Critical, c.Overdue + o.Overdue,
		c.Done + o.Done, c.Conflicts + o.Conflicts, c.Broken + o.Broken}
}

// sortIncidents orders incidents by name (items without one last) and the
// items of each by open first, then priority, due date and key.
func sortIncidents(groups map[string][]Row) []IncidentSection {
	out := make([]IncidentSection, 0, len(groups))
	for name, rows := range groups {
		slices.SortStableFunc(rows, compareRows)
		out = append(out, IncidentSection{Incident: name, Items: rows})
	}
	slices.SortFunc(out, func(a, b IncidentSection) int {
		if (a.Incident == "") != (b.Incident == "") {
			if a.Incident == "" {
				return 1
			}
			return -1
		}
		return strings.Compare(a.Incident, b.Incident)
	})
	return out
}

func compareRows(a, b Row) int {
	if c := cmp.Compare(closedRank(a), closedRank(b)); c != 0 {
		return c
	}
	if c := cmp.Compare(prioRank(a.Priority), prioRank(b.Priority)); c != 0 {
		return c
	}
	if c := cmp.Compare(cmp.Or(a.Due, "9999"), cmp.Or(b.Due, "9999")); c != 0 {
		return c
	}
	return strings.Compare(a.PlatformRef.Key, b.PlatformRef.Key)
}

func closedRank(r Row) int {
	if r.Status.Closed() {
		return 1
	}
	return 0
}

func prioRank(p connectors.Priority) int {
	if i := slices.Index(connectors.Priorities, p); i >= 0 {
		return i
	}
	return len(connectors.Priorities)
}

func latest(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}

func trackerRow(t Tracker, names map[string]string, now time.Time) TrackerRow {
	row := TrackerRow{Tracker: t, Healthy: t.Ready, PollAgo: ago(t.LastPoll, now), SuccessAgo: ago(t.LastSuccess, now)}
	row.Role = cmp.Or(names[t.ID], t.Name, t.ID)
	switch {
	case t.BlockedUntil.After(now):
		row.RateText = "waiting " + roundDur(t.BlockedUntil.Sub(now)) + " (rate limited)"
	case t.RateRemaining >= 0:
		row.RateText = fmt.Sprintf("%d left", t.RateRemaining)
	default:
		row.RateText = "not reported"
	}
	return row
}

// ago renders how long before now t was: "never", "12s ago", "3m ago".
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	if d < time.Second {
		return "just now"
	}
	return roundDur(d) + " ago"
}

func roundDur(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}
