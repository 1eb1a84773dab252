package gitlab

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/pmsync/pmsync/connectors"
)

// scheme is the label scheme with the derived wont-do label.
type scheme struct {
	connectors.LabelScheme
	wontDo string
}

// WontDoLabel returns the label that marks a closed issue as "won't do"
// under ls: the in-progress label with its last scope segment replaced by
// "wont-do" ("status::in-progress" → "status::wont-do",
// "status:in-progress" → "status:wont-do"), or "wont-do" when the
// in-progress label has no scope.
func WontDoLabel(ls connectors.LabelScheme) string {
	for _, sep := range []string{"::", ":"} {
		if i := strings.LastIndex(ls.InProgress, sep); i > 0 {
			return ls.InProgress[:i+len(sep)] + "wont-do"
		}
	}
	return "wont-do"
}

// newScheme checks that every label name can travel in GitLab's
// comma-separated label parameters.
func newScheme(ls connectors.LabelScheme) (scheme, error) {
	names := []string{ls.KindPrefix, ls.InProgress, ls.IncidentPrefix, ls.OwnerPrefix}
	for _, p := range connectors.Priorities {
		names = append(names, ls.Priority[p])
	}
	for _, n := range names {
		if strings.Contains(n, ",") {
			return scheme{}, fmt.Errorf("label %q: GitLab label names cannot contain a comma", n)
		}
	}
	return scheme{LabelScheme: ls, wontDo: WontDoLabel(ls)}, nil
}

// category names which canonical field a label carries: "priority",
// "kind", "in_progress", "wont_do", "incident", "owner", or "" for a plain
// label.
func (s scheme) category(l string) string {
	if strings.EqualFold(l, s.wontDo) {
		return "wont_do"
	}
	f := s.Decode([]string{l})
	switch {
	case f.Priority != "":
		return "priority"
	case f.Kind != "":
		return "kind"
	case f.InProgress:
		return "in_progress"
	case f.Incident != "":
		return "incident"
	case f.Owner != "":
		return "owner"
	}
	return ""
}

// statusOf maps GitLab's state and labels to the canonical status.
func (s scheme) statusOf(state string, labels []string) connectors.Status {
	has := func(cat string) bool {
		return slices.ContainsFunc(labels, func(l string) bool { return s.category(l) == cat })
	}
	if state == "closed" {
		if has("wont_do") {
			return connectors.StatusWontDo
		}
		return connectors.StatusDone
	}
	if has("in_progress") {
		return connectors.StatusInProgress
	}
	return connectors.StatusOpen
}

// toItem maps a GitLab issue of the project at path to the canonical item.
func (s scheme) toItem(tracker, path string, is *gl.Issue) *connectors.Item {
	f := s.Decode(is.Labels)
	var rest []string
	for _, l := range f.Rest {
		if s.category(l) != "wont_do" {
			rest = append(rest, l)
		}
	}
	marker, desc := connectors.ExtractMarker(is.Description)
	it := &connectors.Item{
		Ref:         connectors.Ref{Tracker: tracker, Key: path + "#" + strconv.FormatInt(is.IID, 10)},
		ID:          strconv.FormatInt(is.ID, 10),
		URL:         is.WebURL,
		Title:       is.Title,
		Description: desc,
		Status:      s.statusOf(is.State, is.Labels),
		Priority:    f.Priority,
		Kind:        f.Kind,
		Owner:       f.Owner,
		Incident:    f.Incident,
		Labels:      rest,
		Marker:      marker,
	}
	if len(is.Assignees) > 0 && is.Assignees[0] != nil {
		it.Assignee = is.Assignees[0].Username
	} else if is.Assignee != nil {
		it.Assignee = is.Assignee.Username
	}
	it.Due = dueOf(is)
	// user_notes_count is GitLab's count of the issue's non-system notes
	// (Note.count_for_collection: the "user" scope, system = false), the
	// notes ListComments returns. It counts internal notes whatever the
	// reader's role, and notes of banned users that the notes list hides
	// when GitLab's hidden_notes flag is on: for a token without the
	// Reporter role, or with banned authors, it is higher than the list.
	// The engine only compares it with the last count it saw, so a count
	// that is high but moves with every added or deleted note is enough.
	// It does not move when a note is edited. client-go reads it into an
	// int64, so an answer without it reads as 0; every REST issue answer
	// (list, get, create, update) carries it (API::Entities::IssueBasic).
	it.CommentCount = int(is.UserNotesCount)
	if is.CreatedAt != nil {
		it.CreatedAt = is.CreatedAt.UTC()
	}
	if is.UpdatedAt != nil {
		it.UpdatedAt = is.UpdatedAt.UTC()
	}
	return it
}

// createLabels returns the labels of a new issue for it: the managed
// labels of its canonical fields, then its plain labels (managed ones
// among them dropped, the canonical fields win).
func (s scheme) createLabels(it *connectors.Item) []string {
	out := s.Encode(it.Priority, it.Kind, it.Status == connectors.StatusInProgress, it.Incident, it.Owner)
	if it.Status == connectors.StatusWontDo {
		out = append(out, s.wontDo)
	}
	for _, l := range it.Labels {
		if s.category(l) == "" && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// validateItem checks the fields Create sends.
func validateItem(it *connectors.Item) error {
	if strings.TrimSpace(it.Title) == "" {
		return fmt.Errorf("title is empty")
	}
	if it.Status != "" && !it.Status.Valid() {
		return fmt.Errorf("status %q is not a canonical status", it.Status)
	}
	p := connectors.Patch{Priority: &it.Priority, Kind: &it.Kind, Owner: &it.Owner, Due: &it.Due, Incident: &it.Incident}
	if err := validatePatch(p); err != nil {
		return err
	}
	for _, l := range it.Labels {
		if strings.Contains(l, ",") {
			return fmt.Errorf("label %q contains a comma", l)
		}
	}
	return nil
}

// validatePatch checks every field a patch sets.
func validatePatch(p connectors.Patch) error {
	switch {
	case p.Title != nil && strings.TrimSpace(*p.Title) == "":
		return fmt.Errorf("title is empty")
	case p.Status != nil && !p.Status.Valid():
		return fmt.Errorf("status %q is not a canonical status", *p.Status)
	case p.Priority != nil && !p.Priority.Valid():
		return fmt.Errorf("priority %q is not P0..P4", *p.Priority)
	case p.Kind != nil && !p.Kind.Valid():
		return fmt.Errorf("kind %q is not a canonical kind", *p.Kind)
	case p.Owner != nil && *p.Owner != "" && *p.Owner != connectors.OwnerPlatform && *p.Owner != connectors.OwnerCustomer:
		return fmt.Errorf("owner %q is not platform or customer", *p.Owner)
	case p.Incident != nil && strings.ContainsAny(*p.Incident, ", \t\n"):
		return fmt.Errorf("incident %q contains a comma or white space", *p.Incident)
	}
	if p.Due != nil && *p.Due != "" {
		if _, err := time.Parse(time.DateOnly, *p.Due); err != nil {
			return fmt.Errorf("due date %q is not YYYY-MM-DD", *p.Due)
		}
	}
	return nil
}
