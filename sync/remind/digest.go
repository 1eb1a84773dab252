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

// Source is the part of the store that digests and reports read.
// *store.DB implements it.
type Source interface {
	Customers() ([]string, error)
	Links(customer string) ([]*store.Link, error)
	AuditLog(customer string, since time.Time, limit int) ([]store.AuditEvent, error)
}

var _ Source = (*store.DB)(nil)

// Customer names a customer for digests and reports.
type Customer struct {
	ID   string
	Name string
}

// Builder builds digests and reports from the store.
type Builder struct {
	Source       Source
	Policy       Policy
	PlatformName string     // the platform's display name ("Example Cloud")
	Customers    []Customer // configured customers, in config order
}

// IncidentGroup is the open critical items of one incident, platform-owned
// and customer-owned apart. Incident is "" for items without one.
type IncidentGroup struct {
	Incident      string
	PlatformOwned []ItemView
	CustomerOwned []ItemView
}

// Conflict is a link on which a conflict was resolved in the period: the
// fields concerned and when. Values never appear here.
type Conflict struct {
	Item   ItemView
	Time   time.Time
	Fields []string
}

// Counts summarise one customer (or everything) for a digest.
type Counts struct {
	Open, Critical, Overdue, Stale, Closed, Conflicts, Broken int
}

// CustomerSummary is the one line per customer of the platform digest.
type CustomerSummary struct {
	Customer Customer
	Counts
}

// Digest is one rendered-ready digest for one audience and period.
type Digest struct {
	Audience     Audience
	PlatformName string
	CustomerName string // the audience's customer; "" for the platform team's digest of everyone
	Since, Now   time.Time
	Incidents    []IncidentGroup
	Overdue      []ItemView
	Stale        []ItemView
	Closed       []ItemView
	Conflicts    []Conflict
	Broken       []ItemView
	Summaries    []CustomerSummary // platform digest only
	Totals       Counts
}

// auditLimit bounds how many audit events one digest reads per customer.
const auditLimit = 10000

// Digest builds the digest for audience a covering (since, now]. A
// customer's digest holds that customer's links only, projected to its
// side; the platform digest holds every configured customer.
func (b *Builder) Digest(ctx context.Context, a Audience, since, now time.Time) (*Digest, error) {
	if err := b.Policy.Validate(); err != nil {
		return nil, err
	}
	d := &Digest{Audience: a, PlatformName: b.PlatformName, Since: since, Now: now}
	var customers []Customer
	if a.Customer != "" {
		c, ok := b.customer(a.Customer)
		if !ok {
			return nil, fmt.Errorf("digest: customer %q is not configured", a.Customer)
		}
		customers = []Customer{c}
		d.CustomerName = c.Name
	} else if a.Platform {
		customers = b.Customers
	} else {
		return nil, fmt.Errorf("digest: audience names neither a customer nor the platform")
	}
	groups := map[string]*IncidentGroup{}
	for _, c := range customers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		cs, err := b.addCustomer(d, groups, c, a, since, now)
		if err != nil {
			return nil, err
		}
		if a.Platform {
			d.Summaries = append(d.Summaries, cs)
		}
		d.Totals = d.Totals.add(cs.Counts)
	}
	d.Incidents = sortGroups(groups)
	for _, s := range [][]ItemView{d.Overdue, d.Stale, d.Closed, d.Broken} {
		sortItems(s)
	}
	slices.SortStableFunc(d.Conflicts, func(x, y Conflict) int { return y.Time.Compare(x.Time) })
	return d, nil
}

func (b *Builder) customer(id string) (Customer, bool) {
	for _, c := range b.Customers {
		if c.ID == id {
			if c.Name == "" {
				c.Name = c.ID
			}
			return c, true
		}
	}
	return Customer{}, false
}

// addCustomer adds one customer's links to d and returns its counts.
func (b *Builder) addCustomer(d *Digest, groups map[string]*IncidentGroup, c Customer, a Audience, since, now time.Time) (CustomerSummary, error) {
	if c.Name == "" {
		c.Name = c.ID
	}
	cs := CustomerSummary{Customer: c}
	links, err := b.Source.Links(c.ID)
	if err != nil {
		return cs, fmt.Errorf("digest: read links of %s: %w", c.ID, err)
	}
	views := map[string]ItemView{}
	for _, l := range links {
		if l.Customer != c.ID || l.State == store.LinkUnshared {
			continue // a link filed under the wrong customer is never shown
		}
		v := project(l, a, c.Name, b.Policy, now)
		views[l.ID] = v
		if v.State == store.LinkBroken {
			d.Broken = append(d.Broken, v)
			cs.Broken++
			continue
		}
		b.classify(d, groups, v, &cs.Counts, since, now)
	}
	conflicts, err := b.conflicts(c.ID, views, since, now)
	if err != nil {
		return cs, err
	}
	d.Conflicts = append(d.Conflicts, conflicts...)
	cs.Conflicts = len(conflicts)
	return cs, nil
}

// classify puts one active item in the sections it belongs to.
func (b *Builder) classify(d *Digest, groups map[string]*IncidentGroup, v ItemView, n *Counts, since, now time.Time) {
	if !v.Open {
		if !v.ClosedAt.IsZero() && v.ClosedAt.After(since) && !v.ClosedAt.After(now) {
			d.Closed = append(d.Closed, v)
			n.Closed++
		}
		return
	}
	n.Open++
	if v.Critical {
		n.Critical++
		g := groups[v.Incident]
		if g == nil {
			g = &IncidentGroup{Incident: v.Incident}
			groups[v.Incident] = g
		}
		if v.Owner == connectors.OwnerCustomer {
			g.CustomerOwned = append(g.CustomerOwned, v)
		} else {
			g.PlatformOwned = append(g.PlatformOwned, v)
		}
	}
	if v.Overdue {
		d.Overdue = append(d.Overdue, v)
		n.Overdue++
	}
	if v.Stale {
		d.Stale = append(d.Stale, v)
		n.Stale++
	}
}

// conflicts lists the links of one customer with a conflict in (since,
// now], from the audit log and the links' own conflict times.
func (b *Builder) conflicts(customer string, views map[string]ItemView, since, now time.Time) ([]Conflict, error) {
	events, err := b.Source.AuditLog(customer, since, auditLimit)
	if err != nil {
		return nil, fmt.Errorf("digest: read audit log of %s: %w", customer, err)
	}
	byLink := map[string]*Conflict{}
	for _, e := range events {
		v, ok := views[e.Link]
		if e.Action != "conflict" || !ok || e.Customer != customer || !e.Time.After(since) || e.Time.After(now) {
			continue
		}
		c := byLink[e.Link]
		if c == nil {
			c = &Conflict{Item: v}
			byLink[e.Link] = c
		}
		c.Time = latestTime(c.Time, e.Time)
		for _, f := range e.Fields {
			if !slices.Contains(c.Fields, f) {
				c.Fields = append(c.Fields, f)
			}
		}
	}
	for id, v := range views {
		if _, seen := byLink[id]; !seen && v.LastConflictAt.After(since) && !v.LastConflictAt.After(now) {
			byLink[id] = &Conflict{Item: v, Time: v.LastConflictAt}
		}
	}
	out := make([]Conflict, 0, len(byLink))
	for _, c := range byLink {
		slices.Sort(c.Fields)
		out = append(out, *c)
	}
	slices.SortFunc(out, func(x, y Conflict) int {
		return cmp.Or(y.Time.Compare(x.Time), cmp.Compare(x.Item.Key(), y.Item.Key()))
	})
	return out, nil
}

func (n Counts) add(m Counts) Counts {
	return Counts{
		Open: n.Open + m.Open, Critical: n.Critical + m.Critical, Overdue: n.Overdue + m.Overdue,
		Stale: n.Stale + m.Stale, Closed: n.Closed + m.Closed, Conflicts: n.Conflicts + m.Conflicts,
		Broken: n.Broken + m.Broken,
	}
}

// sortGroups orders incidents by name, the items without one last.
func sortGroups(groups map[string]*IncidentGroup) []IncidentGroup {
	out := make([]IncidentGroup, 0, len(groups))
	for _, g := range groups {
		sortItems(g.PlatformOwned)
		sortItems(g.CustomerOwned)
		out = append(out, *g)
	}
	slices.SortFunc(out, func(x, y IncidentGroup) int {
		if (x.Incident == "") != (y.Incident == "") {
			if x.Incident == "" {
				return 1
			}
			return -1
		}
		return cmp.Compare(x.Incident, y.Incident)
	})
	return out
}
