package memory

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pmsync/pmsync/connectors"
)

// toItem maps a native issue to the canonical item. It is pure.
func toItem(is Issue, s connectors.LabelScheme, tracker, baseURL string) connectors.Item {
	marker, desc := connectors.ExtractMarker(is.Body)
	lf := s.Decode(is.Labels)
	it := connectors.Item{
		Ref:         connectors.Ref{Tracker: tracker, Key: is.Key},
		ID:          is.ID,
		URL:         baseURL + "/items/" + is.Key,
		Title:       is.Title,
		Description: desc,
		Status:      statusOf(is, lf.InProgress),
		Priority:    lf.Priority,
		Kind:        lf.Kind,
		Owner:       lf.Owner,
		Assignee:    is.Assignee,
		Due:         is.Due,
		Incident:    lf.Incident,
		Labels:      slices.Clone(lf.Rest),
		Marker:      marker,
		CreatedAt:   is.CreatedAt,
		UpdatedAt:   is.UpdatedAt,
	}
	return it
}

func statusOf(is Issue, inProgress bool) connectors.Status {
	switch {
	case is.State == StateClosed && is.Reason == ReasonNotPlanned:
		return connectors.StatusWontDo
	case is.State == StateClosed:
		return connectors.StatusDone
	case inProgress:
		return connectors.StatusInProgress
	}
	return connectors.StatusOpen
}

// stateOf maps a canonical status to the native state and reason.
func stateOf(st connectors.Status) (state, reason string) {
	switch st {
	case connectors.StatusDone:
		return StateClosed, ReasonCompleted
	case connectors.StatusWontDo:
		return StateClosed, ReasonNotPlanned
	}
	return StateOpen, ""
}

// fromItem maps a canonical item to a new native issue carrying marker. It
// is pure; Key, ID and times are left for the tracker.
func fromItem(it *connectors.Item, marker string, s connectors.LabelScheme) Issue {
	st := it.Status
	if st == "" {
		st = connectors.StatusOpen
	}
	state, reason := stateOf(st)
	return Issue{
		Title:    it.Title,
		Body:     connectors.EmbedMarker(it.Description, marker),
		State:    state,
		Reason:   reason,
		Labels:   labelsFor(it.Labels, s, it.Priority, it.Kind, st, it.Incident, it.Owner),
		Assignee: it.Assignee,
		Due:      it.Due,
	}
}

// labelsFor returns the unmanaged labels of rest (in order, without
// duplicates) followed by the labels the scheme uses for the fields.
func labelsFor(rest []string, s connectors.LabelScheme, p connectors.Priority, k connectors.Kind,
	st connectors.Status, incident string, owner connectors.Owner) []string {
	var out []string
	for _, l := range rest {
		if l == "" || s.Managed(l) || slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, l) }) {
			continue
		}
		out = append(out, l)
	}
	return append(out, s.Encode(p, k, st == connectors.StatusInProgress, incident, owner)...)
}

// applyPatch returns is with p applied. It is pure.
func applyPatch(is Issue, p connectors.Patch, s connectors.LabelScheme) Issue {
	cur := toItem(is, s, "", "")
	if p.Title != nil {
		is.Title = *p.Title
	}
	if p.Description != nil {
		is.Body = connectors.EmbedMarker(*p.Description, cur.Marker)
	}
	if p.Status != nil {
		cur.Status = *p.Status
		is.State, is.Reason = stateOf(cur.Status)
	}
	if p.Priority != nil {
		cur.Priority = *p.Priority
	}
	if p.Kind != nil {
		cur.Kind = *p.Kind
	}
	if p.Owner != nil {
		cur.Owner = *p.Owner
	}
	if p.Incident != nil {
		cur.Incident = *p.Incident
	}
	if p.Assignee != nil {
		is.Assignee = *p.Assignee
	}
	if p.Due != nil {
		is.Due = *p.Due
	}
	// Keep unmanaged labels where they were; re-encode the managed ones.
	var rest []string
	for _, l := range is.Labels {
		if !s.Managed(l) {
			rest = append(rest, l)
		}
	}
	is.Labels = labelsFor(rest, s, cur.Priority, cur.Kind, cur.Status, cur.Incident, cur.Owner)
	return is
}

// sameIssue reports whether a and b hold the same editable fields.
func sameIssue(a, b Issue) bool {
	return a.Title == b.Title && a.Body == b.Body && a.State == b.State && a.Reason == b.Reason &&
		a.Assignee == b.Assignee && a.Due == b.Due && slices.Equal(a.Labels, b.Labels)
}

// validateItem checks a canonical item before a create.
func validateItem(it *connectors.Item, marker string) error {
	if it == nil {
		return fmt.Errorf("item is nil")
	}
	if strings.TrimSpace(it.Title) == "" {
		return fmt.Errorf("title is empty")
	}
	if marker != "" && !connectors.ValidMarker(marker) {
		return fmt.Errorf("marker %q is not a valid marker id", marker)
	}
	p := connectors.Patch{Status: &it.Status, Priority: &it.Priority, Kind: &it.Kind, Owner: &it.Owner, Due: &it.Due, Incident: &it.Incident}
	if it.Status == "" {
		p.Status = nil
	}
	return validatePatch(p)
}

// validatePatch checks the values of a patch.
func validatePatch(p connectors.Patch) error {
	if p.Title != nil && strings.TrimSpace(*p.Title) == "" {
		return fmt.Errorf("title is empty")
	}
	if p.Status != nil && !p.Status.Valid() {
		return fmt.Errorf("status %q is not one of open, in_progress, done, wont_do", *p.Status)
	}
	if p.Priority != nil && !p.Priority.Valid() {
		return fmt.Errorf("priority %q is not one of P0..P4", *p.Priority)
	}
	if p.Kind != nil && !p.Kind.Valid() {
		return fmt.Errorf("kind %q is not one of %v", *p.Kind, connectors.Kinds)
	}
	if p.Owner != nil {
		switch *p.Owner {
		case "", connectors.OwnerPlatform, connectors.OwnerCustomer:
		default:
			return fmt.Errorf("owner %q is not platform or customer", *p.Owner)
		}
	}
	if p.Due != nil && *p.Due != "" {
		if _, err := time.Parse(time.DateOnly, *p.Due); err != nil {
			return fmt.Errorf("due %q is not a YYYY-MM-DD date", *p.Due)
		}
	}
	if p.Incident != nil && strings.ContainsAny(*p.Incident, " \t\n,") {
		return fmt.Errorf("incident %q holds white space or a comma", *p.Incident)
	}
	return nil
}
