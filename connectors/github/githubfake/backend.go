package githubfake

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pmsync/pmsync/connectors/conformance"
)

// The Fake is driven directly, as a person or an outage would, through the
// conformance Backend methods and the helpers below. Keys are
// "owner/repo#number".
var _ conformance.Backend = (*Fake)(nil)

// person is who acts in the direct-drive methods unless told otherwise.
const person = "octocat"

// CreateRepo adds an empty repository "owner/name".
func (f *Fake) CreateRepo(full string) (int64, error) {
	owner, name, ok := strings.Cut(full, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return 0, fmt.Errorf("githubfake: repository %q is not owner/name", full)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, dup := f.st.repos[strings.ToLower(full)]; dup {
		return 0, fmt.Errorf("githubfake: repository %q exists", full)
	}
	rp := &repo{id: f.st.id(), owner: owner, name: name}
	f.st.repos[strings.ToLower(full)] = rp
	f.st.byID[rp.id] = rp
	return rp.id, nil
}

// repoLocked finds repository full ("owner/name", any case). Callers hold
// f.mu.
func (f *Fake) repoLocked(full string) (*repo, error) {
	rp := f.st.repos[strings.ToLower(full)]
	if rp == nil {
		return nil, fmt.Errorf("githubfake: no repository %q", full)
	}
	return rp, nil
}

// lookup finds the issue (or pull request) of key. Called with f.mu held.
func (f *Fake) lookup(key string) (*issue, error) {
	full, num, ok := strings.Cut(key, "#")
	n, err := strconv.Atoi(num)
	if !ok || err != nil {
		return nil, fmt.Errorf("githubfake: key %q is not owner/repo#number", key)
	}
	rp, err := f.repoLocked(full)
	if err != nil {
		return nil, err
	}
	is := rp.issue(n)
	if is == nil || is.deleted {
		return nil, fmt.Errorf("githubfake: no issue %q", key)
	}
	return is, nil
}

// edit applies fn to the issue of key as login would through the web UI.
func (f *Fake) edit(key, login string, fn func(is *issue) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	is, err := f.lookup(key)
	if err != nil {
		return err
	}
	before := *is
	if err := fn(is); err != nil {
		return err
	}
	f.issueChanged(&before, is, login)
	return nil
}

// Delete removes an issue as a repository admin would; it then answers 410.
func (f *Fake) Delete(key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	is, err := f.lookup(key)
	if err != nil {
		return err
	}
	is.deleted = true
	f.indexIssue(is)
	f.emitIssue("deleted", person, is, nil)
	return nil
}

// EditTitle changes an issue's title as a person would.
func (f *Fake) EditTitle(key, title string) error {
	return f.edit(key, person, func(is *issue) error { is.title = title; return nil })
}

// SetBody replaces an issue's body as a person would.
func (f *Fake) SetBody(key, body string) error {
	return f.edit(key, person, func(is *issue) error { is.body = &body; return nil })
}

// SetState closes (with reason "completed" or "not_planned") or reopens an
// issue as a person would.
func (f *Fake) SetState(key, state, reason string) error {
	return f.edit(key, person, func(is *issue) error {
		switch state {
		case "closed":
			if is.state != "closed" {
				is.closedAt, is.closedBy = stamp(f.clock.Now()), person
			}
			is.state, is.reason = "closed", orDefault(reason, "completed")
		case "open":
			if is.state == "closed" {
				is.reason = "reopened"
			}
			is.state = "open"
		default:
			return fmt.Errorf("githubfake: state %q is not open or closed", state)
		}
		return nil
	})
}

// SetLabels replaces an issue's labels as a person would (missing labels
// are created).
func (f *Fake) SetLabels(key string, names ...string) error {
	if rep := checkLabels("Issue", names); rep != nil {
		return fmt.Errorf("githubfake: a label name is over %d characters", maxLabel)
	}
	return f.edit(key, person, func(is *issue) error {
		is.labels = handler{f: f, rp: is.repo}.labelsFor(names)
		return nil
	})
}

// AddComment adds a comment as author. GitHub has no restricted comments,
// so restricted is ignored: every GitHub comment is visible to everyone
// who can read the issue.
func (f *Fake) AddComment(key, author, body string, restricted bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	is, err := f.lookup(key)
	if err != nil {
		return err
	}
	if author == "" {
		author = person
	}
	f.storeComment(is, author, body)
	return nil
}

// AddSystemNote does nothing: GitHub's timeline events are not comments.
func (f *Fake) AddSystemNote(key, body string) error { return nil }

// Count returns how many live issues (not pull requests) exist in all
// repositories.
func (f *Fake) Count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, rp := range f.st.repos {
		for _, is := range rp.issues {
			if !is.deleted && !is.pr {
				n++
			}
		}
	}
	return n
}

// AddPullRequest opens a pull request in repository full; it shares the
// issue numbering and shows up in the issues list, as on GitHub.
func (f *Fake) AddPullRequest(full, title string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rp, err := f.repoLocked(full)
	if err != nil {
		return 0, err
	}
	now := stamp(f.clock.Now())
	is := &issue{id: f.st.id(), number: len(rp.issues) + 1, repo: rp, title: title, user: person,
		state: "open", created: now, updated: now, pr: true}
	rp.issues = append(rp.issues, is)
	f.indexIssue(is)
	return is.number, nil
}

// CreateMilestone adds a milestone due on due (zero: no due date) and
// returns its number.
func (f *Fake) CreateMilestone(full, title string, due time.Time) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rp, err := f.repoLocked(full)
	if err != nil {
		return 0, err
	}
	now := stamp(f.clock.Now())
	m := &milestone{id: f.st.id(), number: len(rp.milestones) + 1, title: title, state: "open",
		due: stamp(due), created: now, updated: now, creator: person}
	if due.IsZero() {
		m.due = time.Time{}
	}
	rp.milestones = append(rp.milestones, m)
	return m.number, nil
}

// SetMilestone puts an issue on milestone number (0 removes it).
func (f *Fake) SetMilestone(key string, number int) error {
	return f.edit(key, person, func(is *issue) error {
		if number == 0 {
			is.milestone = nil
			return nil
		}
		for _, m := range is.repo.milestones {
			if m.number == number {
				is.milestone = m
				return nil
			}
		}
		return fmt.Errorf("githubfake: no milestone %d in %s", number, is.repo.fullName())
	})
}

// IssueView is a read-only copy of an issue for assertions.
type IssueView struct {
	Number      int
	Title, Body string
	State       string
	StateReason string
	Labels      []string
	Assignees   []string
	Milestone   int
	PullRequest bool
	Created     time.Time
	Updated     time.Time
	Comments    []CommentView
}

// CommentView is a read-only copy of a comment.
type CommentView struct {
	ID     int64
	Author string
	Body   string
}

// Issue returns a copy of the live issue of key.
func (f *Fake) Issue(key string) (IssueView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	is, err := f.lookup(key)
	if err != nil {
		return IssueView{}, err
	}
	v := IssueView{Number: is.number, Title: is.title, Body: deref(is.body), State: is.state, StateReason: is.reason,
		Assignees: append([]string(nil), is.assignees...), PullRequest: is.pr, Created: is.created, Updated: is.updated}
	for _, l := range is.labels {
		v.Labels = append(v.Labels, l.name)
	}
	if is.milestone != nil {
		v.Milestone = is.milestone.number
	}
	for _, c := range is.comments {
		if !c.deleted {
			v.Comments = append(v.Comments, CommentView{ID: c.id, Author: c.user, Body: c.body})
		}
	}
	return v, nil
}

// LabelView is a read-only copy of a repository label.
type LabelView struct {
	Name, Color, Description string
}

// Labels returns the labels of repository full.
func (f *Fake) Labels(full string) []LabelView {
	f.mu.Lock()
	defer f.mu.Unlock()
	rp := f.st.repos[strings.ToLower(full)]
	if rp == nil {
		return nil
	}
	var out []LabelView
	for _, l := range rp.labels {
		out = append(out, LabelView{Name: l.name, Color: l.color, Description: deref(l.description)})
	}
	return out
}
