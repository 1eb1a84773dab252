package jira

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	jira "github.com/andygrunwald/go-jira"

	"github.com/pmsync/pmsync/connectors"
)

// rawIssue is an issue as the REST API returns it, with the entity
// properties asked for (go-jira's Issue has no place for them) and the
// number of comments (go-jira's Comments drops fields.comment.total).
type rawIssue struct {
	jira.Issue
	Properties map[string]json.RawMessage `json:"properties,omitempty"`
	// Comments is fields.comment.total, connectors.CommentsUnknown when the
	// answer had no comment field.
	Comments int `json:"-"`
}

// UnmarshalJSON decodes an issue and counts its comments. The comment
// bodies Jira embeds are dropped: pmsync reads comments with ListComments,
// and a cached issue should not hold them.
func (r *rawIssue) UnmarshalJSON(b []byte) error {
	var v struct {
		jira.Issue
		Properties map[string]json.RawMessage `json:"properties,omitempty"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	var c struct {
		Fields struct {
			Comment json.RawMessage `json:"comment"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return err
	}
	r.Issue, r.Properties, r.Comments = v.Issue, v.Properties, commentTotal(c.Fields.Comment)
	if r.Fields != nil {
		r.Fields.Comments = nil
	}
	return nil
}

// commentTotal reads the number of comments from a comment field:
// {"comments":[…],"maxResults","total","startAt"}, where total counts every
// comment even when fewer are embedded; an answer without total embeds all
// of them. Anything else is unknown.
func commentTotal(raw json.RawMessage) int {
	if len(raw) == 0 || string(raw) == "null" {
		return connectors.CommentsUnknown
	}
	var page struct {
		Total    *int              `json:"total"`
		Comments []json.RawMessage `json:"comments"`
	}
	switch err := json.Unmarshal(raw, &page); {
	case err != nil:
		return connectors.CommentsUnknown
	case page.Total != nil && *page.Total >= 0:
		return *page.Total
	case page.Total == nil && page.Comments != nil:
		return len(page.Comments)
	}
	return connectors.CommentsUnknown
}

// issueFields are the fields pmsync reads. "comment" comes with the
// comment bodies (Jira cannot send only the count), which is still cheaper
// than one comment listing per changed issue: action items carry few.
var issueFields = []string{"summary", "description", "status", "resolution", "priority", "labels", "duedate", "assignee", "created", "updated", "comment"}

// statusOf maps a status category and resolution to the canonical status.
func statusOf(category, resolution, wontDo string) connectors.Status {
	switch category {
	case "indeterminate":
		return connectors.StatusInProgress
	case "done":
		if isWontDo(resolution, wontDo) {
			return connectors.StatusWontDo
		}
		return connectors.StatusDone
	}
	return connectors.StatusOpen
}

func isWontDo(resolution, configured string) bool {
	if resolution == "" {
		return false
	}
	if configured != "" && strings.EqualFold(resolution, configured) {
		return true
	}
	for _, r := range wontDoResolutions {
		if strings.EqualFold(r, resolution) {
			return true
		}
	}
	return false
}

// categoryFor is the status category a canonical status lives in.
func categoryFor(s connectors.Status) string {
	switch s {
	case connectors.StatusInProgress:
		return "indeterminate"
	case connectors.StatusDone, connectors.StatusWontDo:
		return "done"
	}
	return "new"
}

// toItem maps an issue to the canonical item.
func (c *Connector) toItem(r *rawIssue) (*connectors.Item, error) {
	f := r.Fields
	if f == nil || r.Key == "" || r.ID == "" {
		return nil, errors.New("the issue has no key, id or fields")
	}
	it := &connectors.Item{
		Ref:         connectors.Ref{Tracker: c.id, Key: r.Key},
		ID:          r.ID,
		URL:         c.site + "/browse/" + r.Key,
		Title:       f.Summary,
		Description: WikiToMarkdown(f.Description),
		Status:      connectors.StatusOpen,
		CreatedAt:   time.Time(f.Created),
		UpdatedAt:   time.Time(f.Updated),
		// A rawIssue built by hand (not decoded) has no comment count.
		CommentCount: r.Comments,
	}
	resolution := ""
	if f.Resolution != nil {
		resolution = f.Resolution.Name
	}
	if f.Status != nil {
		it.Status = statusOf(f.Status.StatusCategory.Key, resolution, c.wontDo)
	}
	if f.Priority != nil {
		it.Priority = c.priorityOf(f.Priority.Name)
	}
	if d := time.Time(f.Duedate); !d.IsZero() {
		it.Due = d.Format(time.DateOnly)
	}
	if f.Assignee != nil {
		it.Assignee = f.Assignee.Name
		if c.flavor == FlavorCloud {
			it.Assignee = f.Assignee.AccountID
		}
	}
	var plain []string
	for _, l := range f.Labels {
		if id, ok := strings.CutPrefix(l, markerLabelPrefix); ok && connectors.ValidMarker(id) {
			if it.Marker == "" {
				it.Marker = id
			}
			continue
		}
		plain = append(plain, l)
	}
	lf := c.labels.Decode(plain)
	it.Kind, it.Incident, it.Owner = lf.Kind, lf.Incident, lf.Owner
	if len(lf.Rest) > 0 {
		it.Labels = lf.Rest
	}
	if id := propertyMarker(r.Properties); id != "" {
		it.Marker = id
	}
	return it, nil
}

// propertyMarker reads the marker from the "pmsync" entity property.
func propertyMarker(props map[string]json.RawMessage) string {
	raw, ok := props[markerProperty]
	if !ok {
		return ""
	}
	var v struct {
		Marker string `json:"marker"`
	}
	if json.Unmarshal(raw, &v) != nil || !connectors.ValidMarker(v.Marker) {
		return ""
	}
	return v.Marker
}

// priorityOf maps a Jira priority name to P0..P4, "" when unmapped.
func (c *Connector) priorityOf(name string) connectors.Priority {
	for p, n := range c.prio {
		if strings.EqualFold(n, name) {
			return p
		}
	}
	return ""
}

// priorityValue is the priority field value for p: null lets Jira apply the
// project's default priority.
func (c *Connector) priorityValue(p connectors.Priority) any {
	if p == "" {
		return nil
	}
	return map[string]string{"name": c.prio[p]}
}

// assigneeValue is the assignee field value: accountId on Cloud, name on
// Data Center, null to unassign.
func (c *Connector) assigneeValue(a string) any {
	if a == "" {
		return nil
	}
	if c.flavor == FlavorCloud {
		return map[string]string{"accountId": a}
	}
	return map[string]string{"name": a}
}

// labelsFor builds the full label list: scheme labels for kind, incident
// and owner, the item's other labels, and the marker labels to keep.
func (c *Connector) labelsFor(k connectors.Kind, incident string, owner connectors.Owner, rest, markers []string) []string {
	out := c.labels.Encode("", k, false, incident, owner)
	for _, l := range append(slices.Clone(rest), markers...) {
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// markerLabels returns the marker labels among labels.
func markerLabels(labels []string) []string {
	var out []string
	for _, l := range labels {
		if strings.HasPrefix(l, markerLabelPrefix) {
			out = append(out, l)
		}
	}
	return out
}

// checkItem validates an item before it is written.
func checkItem(op string, it *connectors.Item) error {
	if strings.TrimSpace(it.Title) == "" {
		return invalid(op, "title is empty")
	}
	if len([]rune(it.Title)) > 255 {
		return invalid(op, "title is longer than Jira's 255 characters")
	}
	if it.Status != "" && !it.Status.Valid() {
		return invalid(op, "status %q is not open, in_progress, done or wont_do", it.Status)
	}
	return checkFields(op, it.Priority, it.Kind, it.Owner, it.Due, it.Incident, it.Labels)
}

func checkFields(op string, p connectors.Priority, k connectors.Kind, o connectors.Owner, due, incident string, labels []string) error {
	if !p.Valid() {
		return invalid(op, "priority %q is not P0..P4", p)
	}
	if !k.Valid() {
		return invalid(op, "kind %q is not a postmortem action-item kind", k)
	}
	if o != "" && o != connectors.OwnerPlatform && o != connectors.OwnerCustomer {
		return invalid(op, "owner %q is not platform or customer", o)
	}
	if due != "" {
		if _, err := time.Parse(time.DateOnly, due); err != nil {
			return invalid(op, "due %q is not a YYYY-MM-DD date", due)
		}
	}
	if strings.ContainsAny(incident, " \t\n") {
		return invalid(op, "incident %q contains spaces, which a Jira label cannot", incident)
	}
	for _, l := range labels {
		if l == "" || strings.ContainsAny(l, " \t\n") || len(l) > 255 {
			return invalid(op, "label %q is not a valid Jira label (no spaces, 1 to 255 characters)", l)
		}
	}
	return nil
}

// checkPatch validates the fields of a patch.
func checkPatch(op string, p connectors.Patch) error {
	if p.Title != nil && (strings.TrimSpace(*p.Title) == "" || len([]rune(*p.Title)) > 255) {
		return invalid(op, "title must be 1 to 255 characters")
	}
	if p.Status != nil && !p.Status.Valid() {
		return invalid(op, "status %q is not open, in_progress, done or wont_do", *p.Status)
	}
	var (
		pr  connectors.Priority
		k   connectors.Kind
		o   connectors.Owner
		due string
		inc string
	)
	if p.Priority != nil {
		pr = *p.Priority
	}
	if p.Kind != nil {
		k = *p.Kind
	}
	if p.Owner != nil {
		o = *p.Owner
	}
	if p.Due != nil {
		due = *p.Due
	}
	if p.Incident != nil {
		inc = *p.Incident
	}
	return checkFields(op, pr, k, o, due, inc, nil)
}

// createFields builds the fields of a create request.
func (c *Connector) createFields(it *connectors.Item, marker string) map[string]any {
	f := map[string]any{
		"project":   map[string]string{"key": c.project},
		"issuetype": map[string]string{"name": c.issueType},
		"summary":   it.Title,
		"labels":    c.labelsFor(it.Kind, it.Incident, it.Owner, it.Labels, nil),
	}
	if marker != "" {
		f["labels"] = append(f["labels"].([]string), markerLabelPrefix+marker)
	}
	if it.Description != "" {
		f["description"] = MarkdownToWiki(it.Description)
	}
	if it.Priority != "" {
		f["priority"] = c.priorityValue(it.Priority)
	}
	if it.Due != "" {
		f["duedate"] = it.Due
	}
	if it.Assignee != "" {
		f["assignee"] = c.assigneeValue(it.Assignee)
	}
	return f
}

// patchFields builds the fields of one edit from p; cur is the item as it
// is now and curLabels its raw labels (needed only when p touches labels).
// It returns nil when nothing but the status changes.
func (c *Connector) patchFields(p connectors.Patch, cur *connectors.Item, curLabels []string) map[string]any {
	f := map[string]any{}
	if p.Title != nil {
		f["summary"] = *p.Title
	}
	if p.Description != nil {
		if *p.Description == "" {
			f["description"] = nil
		} else {
			f["description"] = MarkdownToWiki(*p.Description)
		}
	}
	if p.Priority != nil {
		f["priority"] = c.priorityValue(*p.Priority)
	}
	if p.Due != nil {
		if *p.Due == "" {
			f["duedate"] = nil
		} else {
			f["duedate"] = *p.Due
		}
	}
	if p.Assignee != nil {
		f["assignee"] = c.assigneeValue(*p.Assignee)
	}
	if p.Kind != nil || p.Incident != nil || p.Owner != nil {
		k, inc, o := cur.Kind, cur.Incident, cur.Owner
		if p.Kind != nil {
			k = *p.Kind
		}
		if p.Incident != nil {
			inc = *p.Incident
		}
		if p.Owner != nil {
			o = *p.Owner
		}
		f["labels"] = c.labelsFor(k, inc, o, cur.Labels, markerLabels(curLabels))
	}
	if len(f) == 0 {
		return nil
	}
	return f
}
