package github

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	gh "github.com/google/go-github/v62/github"

	"github.com/pmsync/pmsync/connectors"
)

// GitHub's limits, in characters.
const (
	MaxBody     = 65536 // issue and comment bodies
	MaxTitle    = 256   // issue titles
	MaxLabelLen = 50    // label names
)

// dueRE finds the due-date line pmsync writes ("Due: 2024-05-01").
var dueRE = regexp.MustCompile(`(?m)^[ \t]*Due:[ \t]*(\d{4}-\d{2}-\d{2})[ \t\r]*$`)

// repoRef says where items live, for building refs and keys.
type repoRef struct {
	tracker, owner, repo string
}

func (r repoRef) key(n int) string { return r.owner + "/" + r.repo + "#" + strconv.Itoa(n) }

// toItem maps a GitHub issue to the canonical item. Pull requests are not
// items: ok is false for them.
func toItem(is *gh.Issue, s connectors.LabelScheme, ref repoRef) (it *connectors.Item, ok bool) {
	if is == nil || is.IsPullRequest() {
		return nil, false
	}
	names := labelNames(is)
	f := s.Decode(names)
	desc, due, marker := splitBody(is.GetBody())
	if due == "" && is.GetMilestone().GetDueOn().Time.Year() > 1 {
		due = is.GetMilestone().GetDueOn().Time.UTC().Format(time.DateOnly)
	}
	it = &connectors.Item{
		Ref:         connectors.Ref{Tracker: ref.tracker, Key: ref.key(is.GetNumber())},
		ID:          strconv.FormatInt(is.GetID(), 10),
		URL:         is.GetHTMLURL(),
		Title:       is.GetTitle(),
		Description: desc,
		Status:      statusOf(is.GetState(), is.GetStateReason(), f.InProgress),
		Priority:    f.Priority,
		Kind:        f.Kind,
		Owner:       f.Owner,
		Due:         due,
		Incident:    f.Incident,
		Labels:      f.Rest,
		Marker:      marker,
		// GitHub's `comments` is the number of issue comments, which is
		// what ListComments returns (GitHub has no system notes there).
		CommentCount: connectors.CommentsUnknown,
		CreatedAt:    is.GetCreatedAt().Time,
		UpdatedAt:    is.GetUpdatedAt().Time,
	}
	if is.Comments != nil {
		it.CommentCount = *is.Comments
	}
	if as := is.Assignees; len(as) > 0 {
		it.Assignee = as[0].GetLogin()
	} else if is.Assignee != nil {
		it.Assignee = is.Assignee.GetLogin()
	}
	return it, true
}

func labelNames(is *gh.Issue) []string {
	out := make([]string, 0, len(is.Labels))
	for _, l := range is.Labels {
		out = append(out, l.GetName())
	}
	return out
}

// statusOf maps state, state_reason and the in-progress label to a status.
func statusOf(state, reason string, inProgress bool) connectors.Status {
	if state == "closed" {
		if reason == "not_planned" || reason == "duplicate" {
			return connectors.StatusWontDo
		}
		return connectors.StatusDone
	}
	if inProgress {
		return connectors.StatusInProgress
	}
	return connectors.StatusOpen
}

// stateFor maps a status to GitHub's state and state_reason ("" for open).
func stateFor(s connectors.Status) (state, reason string) {
	switch s {
	case connectors.StatusDone:
		return "closed", "completed"
	case connectors.StatusWontDo:
		return "closed", "not_planned"
	}
	return "open", ""
}

// splitBody takes the marker and the due-date line out of a body. The
// last valid due line wins; an invalid date stays in the description.
func splitBody(body string) (desc, due, marker string) {
	marker, rest := connectors.ExtractMarker(body)
	locs := dueRE.FindAllStringSubmatchIndex(rest, -1)
	for i := len(locs) - 1; i >= 0; i-- {
		d := rest[locs[i][2]:locs[i][3]]
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			continue
		}
		end := locs[i][1]
		if end < len(rest) && rest[end] == '\n' {
			end++
		}
		rest, due = rest[:locs[i][0]]+rest[end:], d
		break
	}
	return strings.TrimRight(rest, "\r\n"), due, marker
}

// composeBody is the inverse of splitBody: description, then the due line,
// then the marker, each after a blank line.
func composeBody(desc, due, marker string) string {
	body := strings.TrimRight(desc, "\r\n")
	if due != "" {
		if body != "" {
			body += "\n\n"
		}
		body += "Due: " + due
	}
	return connectors.EmbedMarker(body, marker)
}

// checkBody refuses a body over GitHub's limit, naming the field.
func checkBody(field, body string) error {
	if n := utf8.RuneCountInString(body); n > MaxBody {
		return fmt.Errorf("field %s: body would be %d characters, GitHub allows %d", field, n, MaxBody)
	}
	return nil
}

func checkTitle(title string) error {
	switch {
	case strings.TrimSpace(title) == "":
		return fmt.Errorf("field title: empty")
	case utf8.RuneCountInString(title) > MaxTitle:
		return fmt.Errorf("field title: %d characters, GitHub allows %d", utf8.RuneCountInString(title), MaxTitle)
	}
	return nil
}

// fields is the label-borne part of an item.
type fields struct {
	priority   connectors.Priority
	kind       connectors.Kind
	inProgress bool
	incident   string
	owner      connectors.Owner
}

// checkFields refuses values that have no GitHub representation.
func checkFields(s connectors.LabelScheme, f fields, due string) error {
	switch {
	case !f.priority.Valid():
		return fmt.Errorf("field priority: %q is not P0..P4", f.priority)
	case !f.kind.Valid():
		return fmt.Errorf("field kind: %q is not a known kind", f.kind)
	case f.owner != "" && f.owner != connectors.OwnerPlatform && f.owner != connectors.OwnerCustomer:
		return fmt.Errorf("field owner: %q is not platform or customer", f.owner)
	case strings.ContainsAny(f.incident, ",\n\r"):
		return fmt.Errorf("field incident: %q holds a comma or a line break", f.incident)
	case f.incident != "" && utf8.RuneCountInString(s.IncidentPrefix+f.incident) > MaxLabelLen:
		return fmt.Errorf("field incident: label %q is over GitHub's %d characters", s.IncidentPrefix+f.incident, MaxLabelLen)
	}
	if due != "" {
		if _, err := time.Parse(time.DateOnly, due); err != nil {
			return fmt.Errorf("field due: %q is not YYYY-MM-DD", due)
		}
	}
	return nil
}

// wantLabels is the label set for f plus the labels pmsync does not manage.
func wantLabels(s connectors.LabelScheme, f fields, rest []string) []string {
	out := s.Encode(f.priority, f.kind, f.inProgress, f.incident, f.owner)
	for _, l := range rest {
		if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, l) }) {
			out = append(out, l)
		}
	}
	return out
}

// createRequest builds the POST body for a new issue carrying marker.
func createRequest(s connectors.LabelScheme, marker string, it *connectors.Item) (*gh.IssueRequest, error) {
	if err := checkTitle(it.Title); err != nil {
		return nil, err
	}
	if !it.Status.Valid() && it.Status != "" {
		return nil, fmt.Errorf("field status: %q is not a canonical status", it.Status)
	}
	f := fields{priority: it.Priority, kind: it.Kind, inProgress: it.Status == connectors.StatusInProgress,
		incident: it.Incident, owner: it.Owner}
	if err := checkFields(s, f, it.Due); err != nil {
		return nil, err
	}
	body := composeBody(it.Description, it.Due, marker)
	if err := checkBody("description", body); err != nil {
		return nil, err
	}
	labels := wantLabels(s, f, it.Labels)
	req := &gh.IssueRequest{Title: gh.String(it.Title), Body: &body, Labels: &labels}
	if it.Assignee != "" {
		req.Assignees = &[]string{it.Assignee}
	}
	return req, nil
}

// patchRequest builds the one PATCH that applies p to cur. changed is false
// when cur already has every value of p.
func patchRequest(s connectors.LabelScheme, cur *gh.Issue, p connectors.Patch) (req *gh.IssueRequest, changed bool, err error) {
	req = &gh.IssueRequest{}
	names := labelNames(cur)
	d := s.Decode(names)
	f := fields{priority: d.Priority, kind: d.Kind, inProgress: d.InProgress, incident: d.Incident, owner: d.Owner}
	desc, due, marker := splitBody(cur.GetBody())
	curStatus := statusOf(cur.GetState(), cur.GetStateReason(), d.InProgress)

	if p.Title != nil && *p.Title != cur.GetTitle() {
		if err := checkTitle(*p.Title); err != nil {
			return nil, false, err
		}
		req.Title, changed = p.Title, true
	}
	newDesc, newDue := desc, due
	if p.Description != nil {
		newDesc = strings.TrimRight(*p.Description, "\r\n")
	}
	if p.Due != nil {
		newDue = *p.Due
	}
	status := curStatus
	if p.Status != nil {
		if !p.Status.Valid() {
			return nil, false, fmt.Errorf("field status: %q is not a canonical status", *p.Status)
		}
		status = *p.Status
		f.inProgress = status == connectors.StatusInProgress
	}
	setIf(&f.priority, p.Priority)
	setIf(&f.kind, p.Kind)
	setIf(&f.owner, p.Owner)
	setIf(&f.incident, p.Incident)
	if err := checkFields(s, f, newDue); err != nil {
		return nil, false, err
	}
	if newDesc != desc || newDue != due {
		body := composeBody(newDesc, newDue, marker)
		if err := checkBody("description", body); err != nil {
			return nil, false, err
		}
		req.Body, changed = &body, true
	}
	if want := wantLabels(s, f, d.Rest); !sameSet(want, names) {
		req.Labels, changed = &want, true
	}
	if state, reason := stateFor(status); status != curStatus && (state != cur.GetState() || reason != "" && reason != cur.GetStateReason()) {
		req.State, changed = &state, true
		if reason == "" {
			reason = "reopened"
		}
		req.StateReason = &reason
	}
	if p.Assignee != nil && *p.Assignee != firstAssignee(cur) {
		list := []string{}
		if *p.Assignee != "" {
			list = append(list, *p.Assignee)
		}
		req.Assignees, changed = &list, true
	}
	return req, changed, nil
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func firstAssignee(is *gh.Issue) string {
	if len(is.Assignees) > 0 {
		return is.Assignees[0].GetLogin()
	}
	return is.GetAssignee().GetLogin()
}

// sameSet compares label sets case-insensitively.
func sameSet(a, b []string) bool {
	norm := func(l []string) []string {
		out := make([]string, len(l))
		for i, s := range l {
			out[i] = strings.ToLower(s)
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	return slices.Equal(norm(a), norm(b))
}

// toComment maps a GitHub comment; GitHub has no restricted comments.
func toComment(c *gh.IssueComment) connectors.Comment {
	marker, body := connectors.ExtractMarker(c.GetBody())
	return connectors.Comment{
		ID:        strconv.FormatInt(c.GetID(), 10),
		Author:    c.GetUser().GetLogin(),
		Body:      body,
		Marker:    marker,
		URL:       c.GetHTMLURL(),
		CreatedAt: c.GetCreatedAt().Time,
		UpdatedAt: c.GetUpdatedAt().Time,
	}
}
