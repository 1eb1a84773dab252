package remind

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/store"
)

// Audience says who a digest or report is for. A customer audience sees
// only its own links, and of each link only its own side: the key, URL and
// text of the item in its own tracker. The platform audience sees both
// sides of every customer's links.
type Audience struct {
	// Customer is the customer id; "" with Platform set means every customer.
	Customer string
	// Platform is true for the platform team.
	Platform bool
}

// String names the audience for keys and logs: "platform", "platform/ID" or
// the customer id.
func (a Audience) String() string {
	switch {
	case a.Platform && a.Customer == "":
		return "platform"
	case a.Platform:
		return "platform/" + a.Customer
	}
	return a.Customer
}

// TrackerRef is a place where one side of an item can be opened.
type TrackerRef struct {
	Side string // "platform" or "customer"
	Key  string // native key (PLAT-12, owner/repo#3)
	URL  string // web page, may be empty
}

// ItemView is one linked item as an audience may see it. It is built by
// project, which is the only place that decides what crosses to whom:
// renderers see nothing else.
type ItemView struct {
	LinkID       string
	Customer     string // customer id
	CustomerName string
	Owner        connectors.Owner
	Title        string
	Priority     connectors.Priority
	Kind         connectors.Kind
	Assignee     string
	Incident     string
	// Status is the status on the owner's side, which is authoritative.
	Status connectors.Status
	// PlatformStatus and CustomerStatus are each side's status, filled in
	// the platform's view only.
	PlatformStatus connectors.Status
	CustomerStatus connectors.Status
	// Refs are the item's places: the customer's own side only in a
	// customer's view; both sides (platform first) in the platform's view.
	Refs           []TrackerRef
	State          store.LinkState
	Broken         string // why the link is broken: the stored reason for the platform, a generic text for a customer
	Conflicts      int
	LastError      string // platform view only
	CreatedAt      time.Time
	UpdatedAt      time.Time
	ClosedAt       time.Time
	LastConflictAt time.Time // when the link last had a conflict
	Assessment
}

// Key returns the key of the item in the audience's first ref, for sorting
// and short mentions.
func (v ItemView) Key() string {
	if len(v.Refs) == 0 {
		return ""
	}
	return v.Refs[0].Key
}

// OwnerName says who must do the work, in words ("JaneCorp", "Example Cloud").
func (v ItemView) OwnerName(platformName string) string {
	if v.Owner == connectors.OwnerCustomer {
		return v.CustomerName
	}
	return platformName
}

// project builds the view of l for audience a at now. For a customer it
// reads text fields (title, priority, kind, assignee, due, incident), the
// key and the URL from the customer's side only; from the platform side it
// takes nothing but the status enum and timestamps of a platform-owned
// item. customerName is the customer's display name.
func project(l *store.Link, a Audience, customerName string, p Policy, now time.Time) ItemView {
	own, other := &l.Remote, &l.Platform // the side whose text is shown
	if a.Platform && l.Origin == connectors.OwnerPlatform {
		own, other = &l.Platform, &l.Remote
	}
	owner := l.Owner
	if owner == "" {
		owner = l.Origin
	}
	ownerSide := &l.Remote
	if owner == connectors.OwnerPlatform {
		ownerSide = &l.Platform
	}
	f := own.Base
	v := ItemView{
		LinkID: l.ID, Customer: l.Customer, CustomerName: customerName, Owner: owner,
		Title: f.Title, Priority: f.Priority, Kind: f.Kind, Assignee: f.Assignee, Incident: f.Incident,
		Status: firstStatus(ownerSide.Base.Status, own.Base.Status, other.Base.Status),
		State:  l.State, Conflicts: l.Conflicts, LastConflictAt: l.LastConflictAt,
		CreatedAt: firstTime(originSide(l).CreatedAt, own.CreatedAt, other.CreatedAt, l.CreatedAt),
		UpdatedAt: latestTime(ownerSide.UpdatedAt, own.UpdatedAt),
		ClosedAt:  firstTime(ownerSide.ClosedAt, own.ClosedAt),
	}
	if a.Platform {
		v.PlatformStatus, v.CustomerStatus = l.Platform.Base.Status, l.Remote.Base.Status
		v.Refs = append(v.Refs, sideRef("platform", &l.Platform), sideRef("customer", &l.Remote))
		v.Broken, v.LastError = l.BrokenReason, l.LastError
	} else {
		v.Refs = append(v.Refs, sideRef("customer", &l.Remote))
		if l.State == store.LinkBroken {
			v.Broken = "no longer in step; the platform team has been told"
		}
	}
	if l.State == store.LinkBroken && v.Broken == "" {
		v.Broken = "broken"
	}
	v.Assessment = p.Assess(Facts{
		Priority: v.Priority, Status: v.Status, Due: f.Due,
		CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt,
	}, now)
	return v
}

func originSide(l *store.Link) *store.Side {
	if l.Origin == connectors.OwnerCustomer {
		return &l.Remote
	}
	return &l.Platform
}

func sideRef(side string, s *store.Side) TrackerRef {
	return TrackerRef{Side: side, Key: s.Ref.Key, URL: s.URL}
}

func firstStatus(ss ...connectors.Status) connectors.Status {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return connectors.StatusOpen
}

func firstTime(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

func latestTime(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}

// sortItems orders items by priority (P0 first, none last), then due date
// (earliest first, none last), then customer, then key.
func sortItems(items []ItemView) {
	slices.SortStableFunc(items, func(a, b ItemView) int {
		if c := cmp.Compare(prioRank(a.Priority), prioRank(b.Priority)); c != 0 {
			return c
		}
		if c := cmp.Compare(dueRank(a.Due), dueRank(b.Due)); c != 0 {
			return c
		}
		if c := strings.Compare(a.Customer, b.Customer); c != 0 {
			return c
		}
		return strings.Compare(a.Key(), b.Key())
	})
}

func prioRank(p connectors.Priority) int {
	if i := slices.Index(connectors.Priorities, p); i >= 0 {
		return i
	}
	return len(connectors.Priorities)
}

func dueRank(d string) string {
	if d == "" {
		return "9999-99-99"
	}
	return d
}
