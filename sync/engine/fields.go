package engine

import (
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/store"
)

// sideOf returns the Side of an origin or owner value.
func sideOf(o connectors.Owner) Side {
	if o == connectors.OwnerCustomer {
		return CustomerSide
	}
	return PlatformSide
}

// ownerOf returns the Owner value naming side s.
func ownerOf(s Side) connectors.Owner {
	if s == CustomerSide {
		return connectors.OwnerCustomer
	}
	return connectors.OwnerPlatform
}

// effectiveOwner is the side that must do the work of an origin item: its
// owner label when it has one, else the side where it was written.
func effectiveOwner(origin *connectors.Item, originSide Side) connectors.Owner {
	if origin.Owner == connectors.OwnerPlatform || origin.Owner == connectors.OwnerCustomer {
		return origin.Owner
	}
	return ownerOf(originSide)
}

// linkSide returns a pointer to side s of l.
func linkSide(l *store.Link, s Side) *store.Side {
	if s == PlatformSide {
		return &l.Platform
	}
	return &l.Remote
}

// values returns the synced values of item it on side s of a link for
// customer c, as they would cross: on a platform origin, the title and the
// shared summary after redaction; on a customer origin, the full
// description; on a mirror, the item as it is. The origin's owner is its
// effective owner.
func values(c *cust, it *connectors.Item, s, origin Side) Values {
	v := Values{
		FieldTitle:    it.Title,
		FieldSummary:  StripMarkers(it.Description),
		FieldStatus:   string(it.Status),
		FieldPriority: string(it.Priority),
		FieldKind:     string(it.Kind),
		FieldOwner:    string(it.Owner),
		FieldDue:      it.Due,
		FieldIncident: it.Incident,
	}
	if s != origin {
		return v
	}
	v[FieldOwner] = string(effectiveOwner(it, origin))
	if s == PlatformSide {
		v[FieldTitle] = oneLine(c.scrub.Text(it.Title))
		v[FieldSummary] = c.scrub.Text(SharedDescription(it.Description, c.Share.Description))
	}
	v[FieldSummary] = Truncate(v[FieldSummary])
	return v
}

// oneLine keeps a title on one line.
func oneLine(s string) string {
	out := []rune(s)
	for i, r := range out {
		if r == '\n' || r == '\r' {
			out[i] = ' '
		}
	}
	return string(out)
}

// toValues reads stored base fields.
func toValues(f store.Fields) Values {
	return Values{
		FieldTitle:    f.Title,
		FieldSummary:  f.Summary,
		FieldStatus:   string(f.Status),
		FieldPriority: string(f.Priority),
		FieldKind:     string(f.Kind),
		FieldOwner:    string(f.Owner),
		FieldDue:      f.Due,
		FieldIncident: f.Incident,
	}
}

// toFields makes stored base fields from values; assignee is kept for
// reports, not synced.
func toFields(v Values, assignee string) store.Fields {
	return store.Fields{
		Title:    v[FieldTitle],
		Summary:  v[FieldSummary],
		Status:   connectors.Status(v[FieldStatus]),
		Priority: connectors.Priority(v[FieldPriority]),
		Kind:     connectors.Kind(v[FieldKind]),
		Owner:    connectors.Owner(v[FieldOwner]),
		Assignee: assignee,
		Due:      v[FieldDue],
		Incident: v[FieldIncident],
	}
}

// setPatch sets field f of p to value.
func setPatch(p *connectors.Patch, f Field, value string) {
	switch f {
	case FieldTitle:
		p.Title = &value
	case FieldSummary:
		p.Description = &value
	case FieldStatus:
		s := connectors.Status(value)
		p.Status = &s
	case FieldPriority:
		pr := connectors.Priority(value)
		p.Priority = &pr
	case FieldKind:
		k := connectors.Kind(value)
		p.Kind = &k
	case FieldOwner:
		o := connectors.Owner(value)
		p.Owner = &o
	case FieldDue:
		p.Due = &value
	case FieldIncident:
		p.Incident = &value
	}
}

// newItem is the mirror to create from the values of its origin.
func newItem(v Values) *connectors.Item {
	st := connectors.Status(v[FieldStatus])
	if !st.Valid() {
		st = connectors.StatusOpen
	}
	return &connectors.Item{
		Title:       v[FieldTitle],
		Description: v[FieldSummary],
		Status:      st,
		Priority:    connectors.Priority(v[FieldPriority]),
		Kind:        connectors.Kind(v[FieldKind]),
		Owner:       connectors.Owner(v[FieldOwner]),
		Due:         v[FieldDue],
		Incident:    v[FieldIncident],
	}
}

// observe records what was read of an item on a link side: identity,
// times, and the first time it was seen closed.
func observe(sd *store.Side, it *connectors.Item, now time.Time) {
	sd.Ref, sd.ID, sd.URL = it.Ref, it.ID, it.URL
	sd.CreatedAt, sd.UpdatedAt = it.CreatedAt, it.UpdatedAt
	switch {
	case !it.Status.Closed():
		sd.ClosedAt = time.Time{}
	case sd.ClosedAt.IsZero():
		sd.ClosedAt = now
	}
}

func fieldNames(fs []Field) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = string(f)
	}
	return out
}
