package gitlab

import (
	"slices"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/pmsync/pmsync/connectors"
)

// planUpdate computes the one PUT that turns cur into cur+p: changed
// title and description (the marker kept), due_date (null to clear),
// state_event close/reopen, and label deltas (add_labels/remove_labels)
// that touch only the labels of the fields p sets, so labels a person set
// meanwhile survive. assignees is the resolved assignee_ids to send, nil
// to leave them. It returns nil when nothing would change.
func (s scheme) planUpdate(cur *gl.Issue, p connectors.Patch, assignees *[]int64) *gl.UpdateIssueOptions {
	var o gl.UpdateIssueOptions
	changed := false
	if p.Title != nil && *p.Title != cur.Title {
		o.Title, changed = gl.Ptr(*p.Title), true
	}
	if p.Description != nil {
		marker, visible := connectors.ExtractMarker(cur.Description)
		if *p.Description != visible {
			o.Description, changed = gl.Ptr(connectors.EmbedMarker(*p.Description, marker)), true
		}
	}
	if p.Due != nil && *p.Due != dueOf(cur) {
		if *p.Due == "" {
			o.ResetDueDate = true
		} else {
			d, _ := time.Parse(time.DateOnly, *p.Due) // validated by validatePatch
			o.DueDate = gl.Ptr(gl.ISOTime(d))
		}
		changed = true
	}
	if p.Status != nil {
		closed := p.Status.Closed()
		switch {
		case closed && cur.State != "closed":
			o.StateEvent, changed = gl.Ptr("close"), true
		case !closed && cur.State == "closed":
			o.StateEvent, changed = gl.Ptr("reopen"), true
		}
	}
	add, remove := s.labelDelta(cur.Labels, p)
	if len(add) > 0 {
		o.AddLabels, changed = (*gl.LabelOptions)(&add), true
	}
	if len(remove) > 0 {
		o.RemoveLabels, changed = (*gl.LabelOptions)(&remove), true
	}
	if assignees != nil {
		o.AssigneeIDs, changed = assignees, true
	}
	if !changed {
		return nil
	}
	return &o
}

// labelDelta returns the labels to add and remove so that the label
// categories p touches carry exactly the wanted labels.
func (s scheme) labelDelta(cur []string, p connectors.Patch) (add, remove []string) {
	want := map[string][]string{} // category → wanted labels
	if p.Priority != nil {
		want["priority"] = nonEmpty(s.Priority[*p.Priority])
	}
	if p.Kind != nil {
		want["kind"] = nil
		if *p.Kind != "" {
			want["kind"] = nonEmpty(s.KindPrefix + string(*p.Kind))
		}
	}
	if p.Incident != nil {
		want["incident"] = nil
		if *p.Incident != "" {
			want["incident"] = nonEmpty(s.IncidentPrefix + *p.Incident)
		}
	}
	if p.Owner != nil {
		want["owner"] = nil
		if *p.Owner != "" {
			want["owner"] = nonEmpty(s.OwnerPrefix + string(*p.Owner))
		}
	}
	if p.Status != nil {
		want["in_progress"], want["wont_do"] = nil, nil
		switch *p.Status {
		case connectors.StatusInProgress:
			want["in_progress"] = nonEmpty(s.InProgress)
		case connectors.StatusWontDo:
			want["wont_do"] = nonEmpty(s.wontDo)
		}
	}
	for _, l := range cur {
		wanted, touched := want[s.category(l)]
		if touched && !containsFold(wanted, l) {
			remove = append(remove, l)
		}
	}
	for _, cat := range []string{"priority", "kind", "in_progress", "wont_do", "incident", "owner"} {
		for _, l := range want[cat] {
			if !containsFold(cur, l) {
				add = append(add, l)
			}
		}
	}
	return add, remove
}

func nonEmpty(l string) []string {
	if l == "" {
		return nil
	}
	return []string{l}
}

func containsFold(list []string, v string) bool {
	return slices.ContainsFunc(list, func(l string) bool { return strings.EqualFold(l, v) })
}

func dueOf(is *gl.Issue) string {
	if is.DueDate == nil || time.Time(*is.DueDate).IsZero() {
		return ""
	}
	return time.Time(*is.DueDate).Format(time.DateOnly)
}
