package gitlabfake

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

type project struct {
	id      int64
	path    string
	name    string
	nextIID int64
	issues  map[int64]*issue  // by iid
	labels  map[string]*label // by title
}

type label struct {
	id          int64
	title       string
	color       string
	description string
	createdAt   time.Time
}

type user struct {
	id       int64
	username string
	name     string
}

type issue struct {
	id, iid      int64
	proj         *project
	title        string
	description  string
	state        string // opened | closed
	labels       []string
	assignees    []int64
	due          string // YYYY-MM-DD or ""
	confidential bool
	authorID     int64
	createdAt    time.Time
	updatedAt    time.Time
	closedAt     time.Time
	closedBy     int64
	notes        []*note
}

type note struct {
	id        int64
	body      string
	authorID  int64
	system    bool
	internal  bool
	createdAt time.Time
	updatedAt time.Time
}

// AddProject creates a project with the given path ("group/project") and
// returns its numeric id. An existing path returns the existing id.
func (s *Server) AddProject(path string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addProjectLocked(path).id
}

func (s *Server) addProjectLocked(path string) *project {
	if p, ok := s.byPath[strings.ToLower(path)]; ok {
		return p
	}
	s.ids.project++
	name := path
	if i := strings.LastIndex(path, "/"); i >= 0 {
		name = path[i+1:]
	}
	p := &project{id: s.ids.project, path: path, name: name, issues: map[int64]*issue{}, labels: map[string]*label{}}
	s.projects[p.id] = p
	s.byPath[strings.ToLower(path)] = p
	return p
}

// AddUser makes a user known (for assignees and note authors) and returns
// its id. An existing username returns the existing id.
func (s *Server) AddUser(username, name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addUserLocked(username, name).id
}

func (s *Server) addUserLocked(username, name string) *user {
	if u, ok := s.byLogin[strings.ToLower(username)]; ok {
		return u
	}
	s.ids.user++
	if name == "" {
		name = username
	}
	u := &user{id: s.ids.user, username: username, name: name}
	s.users[u.id] = u
	s.byLogin[strings.ToLower(username)] = u
	return u
}

// botLocked is the token owner, the author of everything the API writes.
func (s *Server) botLocked() *user { return s.byLogin["pmsync-bot"] }

// projectLocked resolves a project id path parameter: a number or a
// (already unescaped) "namespace/project" path.
func (s *Server) projectLocked(ref string) *project {
	if n, err := strconv.ParseInt(ref, 10, 64); err == nil {
		return s.projects[n]
	}
	return s.byPath[strings.ToLower(ref)]
}

// issueByKeyLocked resolves "group/project#iid".
func (s *Server) issueByKeyLocked(key string) (*issue, error) {
	i := strings.LastIndex(key, "#")
	if i <= 0 {
		return nil, fmt.Errorf("gitlabfake: key %q is not group/project#iid", key)
	}
	p := s.projectLocked(key[:i])
	if p == nil {
		return nil, fmt.Errorf("gitlabfake: no project %q", key[:i])
	}
	iid, err := strconv.ParseInt(key[i+1:], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("gitlabfake: key %q: bad iid", key)
	}
	is := p.issues[iid]
	if is == nil {
		return nil, fmt.Errorf("gitlabfake: no issue %q", key)
	}
	return is, nil
}

// ensureLabelsLocked creates missing project labels, as GitLab does for
// label names given on an issue.
func (s *Server) ensureLabelsLocked(p *project, names []string, now time.Time) {
	for _, n := range names {
		if _, ok := p.labels[n]; ok {
			continue
		}
		s.ids.label++
		p.labels[n] = &label{id: s.ids.label, title: n, color: "#6699cc", createdAt: now}
	}
}

// scope returns the scope of a scoped label ("priority" for
// "priority::1"), or "" for an ordinary label.
func scope(l string) string {
	if i := strings.LastIndex(l, "::"); i > 0 {
		return l[:i]
	}
	return ""
}

// addLabels adds names to cur, keeping order and uniqueness; unless free
// is set, a scoped label replaces any other label of the same scope.
func addLabels(cur, names []string, free bool) []string {
	out := slices.Clone(cur)
	for _, n := range names {
		if n == "" || slices.Contains(out, n) {
			continue
		}
		if sc := scope(n); sc != "" && !free {
			out = slices.DeleteFunc(out, func(l string) bool { return scope(l) == sc })
		}
		out = append(out, n)
	}
	return out
}

func removeLabels(cur, names []string) []string {
	return slices.DeleteFunc(slices.Clone(cur), func(l string) bool { return slices.Contains(names, l) })
}

// issueEdit is one PUT (or a person's edit); nil fields are left alone.
type issueEdit struct {
	title        *string
	description  *string
	labels       *[]string // replaces the set
	add, remove  []string
	stateEvent   string // close | reopen | ""
	due          *string
	confidential *bool
	assignees    *[]int64
}

// editResult says what an edit changed, for system notes and webhooks.
type editResult struct {
	changed bool
	action  string // update | close | reopen
	changes map[string][2]any
}

// applyEditLocked applies e as actor, writes the system notes GitLab
// would write, bumps updated_at when anything changed and queues the
// Issue Hook.
func (s *Server) applyEditLocked(is *issue, e issueEdit, actor *user) editResult {
	res := editResult{action: "update", changes: map[string][2]any{}}
	var notes []string
	if e.title != nil && *e.title != is.title {
		notes = append(notes, fmt.Sprintf("changed title from **%s** to **%s**", is.title, *e.title))
		res.changes["title"] = [2]any{is.title, *e.title}
		is.title = *e.title
	}
	if e.description != nil && *e.description != is.description {
		notes = append(notes, "changed the description")
		res.changes["description"] = [2]any{is.description, *e.description}
		is.description = *e.description
	}
	notes = append(notes, s.editLabelsLocked(is, e, res.changes)...)
	if e.due != nil && *e.due != is.due {
		if *e.due == "" {
			notes = append(notes, "removed due date")
		} else {
			d, _ := time.Parse(time.DateOnly, *e.due)
			notes = append(notes, "changed due date to "+d.Format("January 2, 2006"))
		}
		res.changes["due_date"] = [2]any{nullIfEmpty(is.due), nullIfEmpty(*e.due)}
		is.due = *e.due
	}
	if e.confidential != nil && *e.confidential != is.confidential {
		if *e.confidential {
			notes = append(notes, "made the issue confidential")
		} else {
			notes = append(notes, "made the issue visible to everyone")
		}
		res.changes["confidential"] = [2]any{is.confidential, *e.confidential}
		is.confidential = *e.confidential
	}
	if e.assignees != nil && !slices.Equal(*e.assignees, is.assignees) {
		if n := s.assigneeNoteLocked(is.assignees, *e.assignees); n != "" {
			notes = append(notes, n)
		}
		res.changes["assignees"] = [2]any{s.usersJSONLocked(is.assignees), s.usersJSONLocked(*e.assignees)}
		is.assignees = slices.Clone(*e.assignees)
	}
	switch {
	case e.stateEvent == "close" && is.state == "opened":
		notes = append(notes, "closed")
		res.action = "close"
		res.changes["state_id"] = [2]any{1, 2}
		is.state = "closed"
		is.closedBy = actor.id
	case e.stateEvent == "reopen" && is.state == "closed":
		notes = append(notes, "reopened")
		res.action = "reopen"
		res.changes["state_id"] = [2]any{2, 1}
		is.state = "opened"
		is.closedBy = 0
	}
	if len(notes) == 0 {
		return res
	}
	res.changed = true
	now := s.clock.Tick()
	if res.action == "close" {
		res.changes["closed_at"] = [2]any{nil, hookTime(now)}
		is.closedAt = now
	} else if res.action == "reopen" {
		res.changes["closed_at"] = [2]any{hookTime(is.closedAt), nil}
		is.closedAt = time.Time{}
	}
	res.changes["updated_at"] = [2]any{hookTime(is.updatedAt), hookTime(now)}
	is.updatedAt = now
	for _, n := range notes {
		s.addNoteLocked(is, actor, n, true, false, now)
	}
	s.emitIssueHookLocked(is, actor, res.action, res.changes)
	return res
}

func (s *Server) editLabelsLocked(is *issue, e issueEdit, changes map[string][2]any) []string {
	next := slices.Clone(is.labels)
	if e.labels != nil {
		next = addLabels(nil, *e.labels, s.opts.FreeTier)
	}
	next = removeLabels(next, e.remove)
	next = addLabels(next, e.add, s.opts.FreeTier)
	if slices.Equal(next, is.labels) {
		return nil
	}
	s.ensureLabelsLocked(is.proj, next, s.clock.Now())
	var added, removed []string
	for _, l := range next {
		if !slices.Contains(is.labels, l) {
			added = append(added, "~"+strconv.FormatInt(is.proj.labels[l].id, 10))
		}
	}
	for _, l := range is.labels {
		if !slices.Contains(next, l) {
			removed = append(removed, "~"+strconv.FormatInt(is.proj.labels[l].id, 10))
		}
	}
	changes["labels"] = [2]any{s.labelsJSONLocked(is.proj, is.labels), s.labelsJSONLocked(is.proj, next)}
	is.labels = next
	if len(added) == 0 && len(removed) == 0 {
		return nil // only the order changed
	}
	var parts []string
	if len(added) > 0 {
		parts = append(parts, "added "+strings.Join(added, " ")+plural(" label", len(added)))
	}
	if len(removed) > 0 {
		parts = append(parts, "removed "+strings.Join(removed, " ")+plural(" label", len(removed)))
	}
	return []string{strings.Join(parts, " and ")}
}

func plural(word string, n int) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Server) assigneeNoteLocked(prev, next []int64) string {
	var as, un []string
	for _, id := range next {
		if !slices.Contains(prev, id) && s.users[id] != nil {
			as = append(as, "@"+s.users[id].username)
		}
	}
	for _, id := range prev {
		if !slices.Contains(next, id) && s.users[id] != nil {
			un = append(un, "@"+s.users[id].username)
		}
	}
	var parts []string
	if len(as) > 0 {
		parts = append(parts, "assigned to "+strings.Join(as, " "))
	}
	if len(un) > 0 {
		parts = append(parts, "unassigned "+strings.Join(un, " "))
	}
	return strings.Join(parts, " and ")
}

// createIssueLocked stores a new issue and queues its Issue Hook.
func (s *Server) createIssueLocked(p *project, title, desc string, labels []string, due string, confidential bool, assignees []int64, author *user) *issue {
	now := s.clock.Tick()
	s.ids.issue++
	p.nextIID++
	is := &issue{
		id: s.ids.issue, iid: p.nextIID, proj: p, title: title, description: desc, state: "opened",
		labels: addLabels(nil, labels, s.opts.FreeTier), due: due, confidential: confidential,
		assignees: slices.Clone(assignees), authorID: author.id, createdAt: now, updatedAt: now,
	}
	s.ensureLabelsLocked(p, is.labels, now)
	p.issues[is.iid] = is
	s.emitIssueHookLocked(is, author, "open", map[string][2]any{})
	return is
}

// addNoteLocked stores a note; user notes touch the issue (updated_at)
// and queue a Note Hook, as on GitLab.
func (s *Server) addNoteLocked(is *issue, author *user, body string, system, internal bool, now time.Time) *note {
	s.ids.note++
	n := &note{id: s.ids.note, body: body, authorID: author.id, system: system, internal: internal, createdAt: now, updatedAt: now}
	is.notes = append(is.notes, n)
	if !system {
		is.updatedAt = now
		s.emitNoteHookLocked(is, n, author, "create")
	}
	return n
}

// sortedIssuesLocked returns every issue of p ordered by id.
func sortedIssuesLocked(p *project) []*issue {
	out := make([]*issue, 0, len(p.issues))
	for _, is := range p.issues {
		out = append(out, is)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// Count returns how many issues exist in all projects.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.projects {
		n += len(p.issues)
	}
	return n
}
