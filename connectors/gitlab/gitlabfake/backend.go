package gitlabfake

import (
	"fmt"

	"github.com/pmsync/pmsync/connectors/conformance"
)

// The methods below drive the simulator as a person (or an outage) would,
// without going through the API; they make *Server a conformance.Backend.
// Items are named by key, "group/project#iid".

var (
	_ conformance.Backend        = (*Server)(nil)
	_ conformance.LatencyBackend = (*Server)(nil)
)

// person is the user behind the person-driven edits.
const person = "alice"

// Delete removes an issue as an administrator would.
func (s *Server) Delete(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	is, err := s.issueByKeyLocked(key)
	if err != nil {
		return err
	}
	delete(is.proj.issues, is.iid)
	return nil
}

// EditTitle changes an issue's title as a person would: a system note is
// written, updated_at moves and an Issue Hook is sent.
func (s *Server) EditTitle(key, title string) error {
	if title == "" {
		return fmt.Errorf("gitlabfake: edit title of %s: empty title", key)
	}
	return s.PersonEdit(key, Edit{Title: &title})
}

// Edit is a change a person makes in the GitLab web UI.
type Edit struct {
	Title        *string
	Description  *string
	AddLabels    []string
	RemoveLabels []string
	StateEvent   string // close | reopen
	Due          *string
	Confidential *bool
}

// PersonEdit applies e as the user "alice", with the system notes,
// updated_at and webhooks GitLab would produce.
func (s *Server) PersonEdit(key string, e Edit) error {
	if e.StateEvent != "" && e.StateEvent != "close" && e.StateEvent != "reopen" {
		return fmt.Errorf("gitlabfake: edit %s: state event %q is not close or reopen", key, e.StateEvent)
	}
	if e.Due != nil && *e.Due != "" && !validDate(*e.Due) {
		return fmt.Errorf("gitlabfake: edit %s: due date %q is not YYYY-MM-DD", key, *e.Due)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	is, err := s.issueByKeyLocked(key)
	if err != nil {
		return err
	}
	s.applyEditLocked(is, issueEdit{
		title: e.Title, description: e.Description, add: e.AddLabels, remove: e.RemoveLabels,
		stateEvent: e.StateEvent, due: e.Due, confidential: e.Confidential,
	}, s.addUserLocked(person, ""))
	return nil
}

// AddComment adds a note as author (created if unknown); restricted makes
// it an internal note.
func (s *Server) AddComment(key, author, body string, restricted bool) error {
	if author == "" || body == "" {
		return fmt.Errorf("gitlabfake: add comment to %s: empty author or body", key)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	is, err := s.issueByKeyLocked(key)
	if err != nil {
		return err
	}
	s.addNoteLocked(is, s.addUserLocked(author, ""), body, false, restricted, s.clock.Tick())
	return nil
}

// AddSystemNote adds a system note (system: true), as GitLab writes for
// changes such as "changed the description".
func (s *Server) AddSystemNote(key, body string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	is, err := s.issueByKeyLocked(key)
	if err != nil {
		return err
	}
	s.addNoteLocked(is, s.addUserLocked(person, ""), body, true, false, s.clock.Tick())
	return nil
}

// IssueJSON returns an issue as the REST API renders it, for tests.
func (s *Server) IssueJSON(key string) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is, err := s.issueByKeyLocked(key)
	if err != nil {
		return nil, err
	}
	return s.issueJSONLocked(is), nil
}

// Notes returns the bodies of an issue's notes, oldest first, marking
// system notes with a "[system] " prefix and internal ones with
// "[internal] ", for tests.
func (s *Server) Notes(key string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is, err := s.issueByKeyLocked(key)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(is.notes))
	for _, n := range is.notes {
		prefix := ""
		switch {
		case n.system:
			prefix = "[system] "
		case n.internal:
			prefix = "[internal] "
		}
		out = append(out, prefix+n.body)
	}
	return out, nil
}
