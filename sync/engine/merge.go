package engine

// Side names one side of a link.
type Side int

// The two sides of a link.
const (
	PlatformSide Side = iota // the platform's tracker
	CustomerSide             // the customer's tracker
)

// Other returns the opposite side.
func (s Side) Other() Side { return 1 - s }

func (s Side) String() string {
	if s == PlatformSide {
		return "platform"
	}
	return "customer"
}

// Field names a field the engine keeps in step.
type Field string

// The synced fields. Assignee is deliberately not one: people have
// different accounts on each tracker, and a platform engineer's name is
// internal.
const (
	FieldTitle    Field = "title"
	FieldSummary  Field = "summary"
	FieldStatus   Field = "status"
	FieldPriority Field = "priority"
	FieldKind     Field = "kind"
	FieldOwner    Field = "owner"
	FieldDue      Field = "due"
	FieldIncident Field = "incident"
)

// SyncedFields lists the synced fields in the order they are merged and
// reported.
var SyncedFields = []Field{FieldTitle, FieldSummary, FieldStatus, FieldPriority, FieldKind, FieldOwner, FieldDue, FieldIncident}

// Values holds one side's value of each synced field, as canonical strings.
type Values map[Field]string

// Authority returns the side whose value of f wins: status comes from the
// owner's side, every other field from the origin.
func Authority(f Field, origin, owner Side) Side {
	if f == FieldStatus {
		return owner
	}
	return origin
}

// Decision is what a three-way merge decided for one field.
type Decision struct {
	Field Field
	// Write is true when Target must be set to Value.
	Write  bool
	Target Side
	Value  string
	// Conflict is true when the side without authority changed the field
	// (alone or together with the authoritative side, to a different
	// value): its change loses and is reverted.
	Conflict bool
	// Loser is the side whose change lost (valid when Conflict).
	Loser Side
}

// MergeField merges one field three ways. base and cur are indexed by Side:
// each side's value when pmsync last saw or wrote it, and its value now.
// Only a side that changed since its base is a source:
//
//   - neither changed: nothing to do, even if the values differ (a tracker
//     may store a value in its own normal form);
//   - only the authoritative side changed: its value is written to the other;
//   - only the other side changed: a conflict; the authoritative value is
//     written back over it;
//   - both changed to the same value: nothing to do;
//   - both changed differently: a conflict the authoritative side wins.
func MergeField(f Field, base, cur [2]string, auth Side) Decision {
	d := Decision{Field: f}
	changed := [2]bool{cur[0] != base[0], cur[1] != base[1]}
	other := auth.Other()
	switch {
	case !changed[auth] && !changed[other]:
	case changed[auth] && !changed[other]:
		if cur[other] != cur[auth] {
			d.Write, d.Target, d.Value = true, other, cur[auth]
		}
	case cur[auth] == cur[other]:
	default: // the other side changed, to a value authority does not have
		d.Conflict, d.Loser = true, other
		d.Write, d.Target, d.Value = true, other, cur[auth]
	}
	return d
}

// Merge merges every synced field of a link. base and cur are indexed by
// Side. It returns only the fields with something to do, in SyncedFields
// order.
func Merge(base, cur [2]Values, origin, owner Side) []Decision {
	var out []Decision
	for _, f := range SyncedFields {
		d := MergeField(f,
			[2]string{base[0][f], base[1][f]},
			[2]string{cur[0][f], cur[1][f]},
			Authority(f, origin, owner))
		if d.Write || d.Conflict {
			out = append(out, d)
		}
	}
	return out
}
