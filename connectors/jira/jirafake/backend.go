package jirafake

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/pmsync/pmsync/connectors/conformance"
)

var _ conformance.Backend = (*Server)(nil)

// personBase is the site URL used in payloads of changes made directly,
// not through the API.
func (s *Server) personBase() string {
	if s.ts != nil {
		return s.ts.URL
	}
	return "http://jira.invalid"
}

// Delete removes an issue as an administrator would.
func (s *Server) Delete(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.lookup(key)
	if it == nil {
		return fmt.Errorf("jirafake: no issue %s", key)
	}
	s.deleteLocked(s.personBase(), it)
	return nil
}

// EditTitle changes an issue's summary as a person would.
func (s *Server) EditTitle(key, title string) error {
	return s.Edit(key, IssueInput{Summary: &title})
}

// IssueInput is a person's change to an issue; nil fields stay as they are.
type IssueInput struct {
	Summary     *string
	Description *string
	Labels      *[]string
	Priority    *string
	Due         *string
	Assignee    *string // handle; "" unassigns
}

// Edit changes fields of an issue as a person would (fires a webhook).
func (s *Server) Edit(key string, in IssueInput) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.lookup(key)
	if it == nil {
		return fmt.Errorf("jirafake: no issue %s", key)
	}
	c, err := s.inputChange(in)
	if err != nil {
		return err
	}
	if log := s.apply(it, c); len(log) > 0 {
		s.touch(it)
		s.emitIssue(s.personBase(), "jira:issue_updated", "issue_updated", it, log)
	}
	return nil
}

func (s *Server) inputChange(in IssueInput) (change, error) {
	c := change{summary: in.Summary, labels: in.Labels, due: in.Due, priority: in.Priority, assignee: in.Assignee}
	if in.Description != nil {
		d := in.Description
		c.description = &d
	}
	if in.Priority != nil && !slices.Contains(s.opts.Priorities, *in.Priority) {
		return c, fmt.Errorf("jirafake: unknown priority %q", *in.Priority)
	}
	if in.Labels != nil {
		if msg := checkLabels(*in.Labels); msg != "" {
			return c, fmt.Errorf("jirafake: %s", msg)
		}
	}
	return c, nil
}

// CreateIssue creates an issue as the person with handle reporter would
// (the API user when empty) and returns its key.
func (s *Server) CreateIssue(reporter string, in IssueInput) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.Summary == nil || *in.Summary == "" {
		return "", fmt.Errorf("jirafake: an issue needs a summary")
	}
	c, err := s.inputChange(in)
	if err != nil {
		return "", err
	}
	if reporter == "" {
		reporter = s.handle(s.opts.Me)
	}
	now := s.clock.Tick()
	it := &issue{
		id: s.nextID, num: s.nextNum, key: s.opts.Project + "-" + strconv.Itoa(s.nextNum), issueType: "Task",
		status: s.opts.Workflow.Initial, priority: s.opts.DefaultPriority, reporter: reporter,
		created: now, updated: now, props: map[string]json.RawMessage{},
	}
	s.nextID++
	s.nextNum++
	s.apply(it, c)
	s.issues[it.id] = it
	s.byKey[it.key] = it.id
	s.indexLocked(it, it.clone())
	s.emitIssue(s.personBase(), "jira:issue_created", "issue_created", it, nil)
	return it.key, nil
}

// Transition moves an issue to the named status as a person would, through
// a transition available from its current status. resolution is used when
// the transition takes one ("" lets the workflow choose).
func (s *Server) Transition(key, status, resolution string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.lookup(key)
	if it == nil {
		return fmt.Errorf("jirafake: no issue %s", key)
	}
	for _, t := range s.opts.Workflow.available(it.status) {
		if t.To == status {
			if t.RequireResolution && resolution == "" {
				resolution = "Done"
			}
			s.transitionLocked(s.personBase(), it, &t, resolution)
			return nil
		}
	}
	return fmt.Errorf("jirafake: no transition from %q to %q for %s", it.status, status, key)
}

// AddComment adds a comment as a person would; restricted limits its
// visibility to the Administrators role.
func (s *Server) AddComment(key, author, body string, restricted bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.lookup(key)
	if it == nil {
		return fmt.Errorf("jirafake: no issue %s", key)
	}
	h := s.userHandle(author)
	var vis *visibility
	if restricted {
		vis = &visibility{Type: "role", Value: "Administrators"}
	}
	s.addCommentLocked(s.personBase(), it, h, body, vis)
	return nil
}

// userHandle finds a user by handle or display name, adding a new one when
// none matches.
func (s *Server) userHandle(who string) string {
	if _, ok := s.users[who]; ok {
		return who
	}
	for h, u := range s.users {
		if u.DisplayName == who || u.Name == who {
			return h
		}
	}
	u := User{AccountID: "712020:" + who, Name: who, DisplayName: who, TimeZone: "UTC"}
	s.users[s.handle(u)] = u
	return s.handle(u)
}

// AddSystemNote does nothing: Jira has no system notes among comments.
func (s *Server) AddSystemNote(key, body string) error { return nil }

// Count returns how many issues exist.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, it := range s.issues {
		if !it.deleted {
			n++
		}
	}
	return n
}

// IssueState is a read-only copy of an issue for tests.
type IssueState struct {
	ID, Key, Summary, Description string
	Status, Category, Resolution  string
	Priority, Due, Assignee       string
	Labels                        []string
	Properties                    map[string]string
	Comments                      []CommentState
	Created, Updated              time.Time
}

// CommentState is a read-only copy of a comment.
type CommentState struct {
	ID, Author, Body string
	Restricted       bool
}

// Issue returns the current state of an issue.
func (s *Server) Issue(key string) (IssueState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.lookup(key)
	if it == nil {
		return IssueState{}, false
	}
	st := s.statusOf(it)
	out := IssueState{
		ID: strconv.Itoa(it.id), Key: it.key, Summary: it.summary, Description: deref(it.description),
		Status: st.Name, Category: st.Category, Resolution: it.resolution, Priority: it.priority,
		Due: it.due, Assignee: it.assignee, Labels: slices.Clone(it.labels), Properties: map[string]string{},
		Created: it.created, Updated: it.updated,
	}
	for k, v := range it.props {
		out.Properties[k] = string(v)
	}
	for _, c := range it.comments {
		out.Comments = append(out.Comments, CommentState{ID: strconv.Itoa(c.id), Author: c.author, Body: c.body, Restricted: c.visibility != nil})
	}
	return out, true
}

// Keys returns the keys of all live issues in creation order.
func (s *Server) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []int
	for id, it := range s.issues {
		if !it.deleted {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = s.issues[id].key
	}
	return out
}
