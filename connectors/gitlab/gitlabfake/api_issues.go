package gitlabfake

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// GitLab's length limits for issue fields.
const (
	maxTitle       = 255
	maxDescription = 1_048_576
)

func (s *Server) handleCurrentUser(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, s.userJSONLocked(s.botLocked().id))
}

func (s *Server) handleUsers(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []any{}
	if name := r.URL.Query().Get("username"); name != "" {
		if u := s.byLogin[strings.ToLower(name)]; u != nil {
			out = append(out, s.userJSONLocked(u.id))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleProject(w http.ResponseWriter, r *http.Request, p map[string]string) {
	proj := s.lockProject(w, p)
	if proj == nil {
		return
	}
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, s.projectJSONLocked(proj))
}

// lockProject takes s.mu and resolves the {id} path parameter. When the
// project is unknown it answers 404, releases s.mu and returns nil;
// otherwise the caller holds s.mu and must release it.
func (s *Server) lockProject(w http.ResponseWriter, p map[string]string) *project {
	s.mu.Lock()
	proj := s.projectLocked(p["id"])
	if proj == nil {
		s.mu.Unlock()
		notFound(w, "Project")
		return nil
	}
	return proj
}

// lockIssue is lockProject for the {id} and {iid} path parameters.
func (s *Server) lockIssue(w http.ResponseWriter, p map[string]string) *issue {
	s.mu.Lock()
	is := s.issueLocked(w, p)
	if is == nil {
		s.mu.Unlock()
	}
	return is
}

// readFormOrReject reads the request's parameters; when they cannot be
// read it answers 400 and reports false.
func readFormOrReject(w http.ResponseWriter, r *http.Request) (*form, bool) {
	f, err := readForm(r)
	if err != nil {
		badRequest(w, err.Error())
		return nil, false
	}
	return f, true
}

// issueLocked resolves the {id} and {iid} path parameters, answering 404
// when either is unknown.
func (s *Server) issueLocked(w http.ResponseWriter, p map[string]string) *issue {
	proj := s.projectLocked(p["id"])
	if proj == nil {
		notFound(w, "Project")
		return nil
	}
	iid, err := strconv.ParseInt(p["iid"], 10, 64)
	is := proj.issues[iid]
	if err != nil || is == nil {
		notFound(w, "Issue")
		return nil
	}
	return is
}

func (s *Server) handleGetIssue(w http.ResponseWriter, r *http.Request, p map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if is := s.issueLocked(w, p); is != nil {
		writeJSON(w, http.StatusOK, s.issueJSONLocked(is))
	}
}

// issueFields reads and validates the fields shared by create and update.
func issueFields(w http.ResponseWriter, f *form, e *issueEdit) bool {
	for _, k := range []string{"title", "description"} {
		v, ok, err := f.str(k)
		if err != nil {
			badRequest(w, err.Error())
			return false
		}
		if !ok {
			continue
		}
		if k == "title" {
			if strings.TrimSpace(v) == "" {
				fieldError(w, "title", "can't be blank")
				return false
			}
			if utf8.RuneCountInString(v) > maxTitle {
				fieldError(w, "title", "is too long (maximum is 255 characters)")
				return false
			}
			e.title = &v
		} else {
			if utf8.RuneCountInString(v) > maxDescription {
				fieldError(w, "description", "is too long (maximum is 1048576 characters)")
				return false
			}
			e.description = &v
		}
	}
	if f.has("due_date") {
		d, _, err := f.str("due_date")
		if err != nil || (d != "" && !validDate(d)) {
			badRequest(w, "due_date is invalid")
			return false
		}
		e.due = &d
	}
	if c, ok, err := f.boolean("confidential"); err != nil {
		badRequest(w, err.Error())
		return false
	} else if ok {
		e.confidential = &c
	}
	return true
}

func validDate(d string) bool {
	_, err := time.Parse(time.DateOnly, d)
	return err == nil
}

// assigneesLocked reads assignee_ids (or assignee_id), dropping unknown
// users silently, as GitLab drops users who cannot be assigned.
func (s *Server) assigneesLocked(w http.ResponseWriter, f *form) (*[]int64, bool) {
	key := "assignee_ids"
	if !f.has(key) {
		key = "assignee_id"
		if !f.has(key) {
			return nil, true
		}
	}
	ids, _, err := f.ids(key)
	if err != nil {
		badRequest(w, err.Error())
		return nil, false
	}
	out := []int64{}
	for _, id := range ids {
		if s.users[id] != nil && !containsID(out, id) {
			out = append(out, id)
		}
	}
	return &out, true
}

func containsID(ids []int64, id int64) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

func (s *Server) handleCreateIssue(w http.ResponseWriter, r *http.Request, p map[string]string) {
	f, ok := readFormOrReject(w, r)
	if !ok {
		return
	}
	if t, _, _ := f.str("title"); strings.TrimSpace(t) == "" {
		badRequest(w, "title is missing")
		return
	}
	var e issueEdit
	if !issueFields(w, f, &e) {
		return
	}
	labels, _, err := f.list("labels")
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	proj := s.lockProject(w, p)
	if proj == nil {
		return
	}
	defer s.mu.Unlock()
	as, ok := s.assigneesLocked(w, f)
	if !ok {
		return
	}
	var assignees []int64
	if as != nil {
		assignees = *as
	}
	desc, due, conf := "", "", false
	if e.description != nil {
		desc = *e.description
	}
	if e.due != nil {
		due = *e.due
	}
	if e.confidential != nil {
		conf = *e.confidential
	}
	is := s.createIssueLocked(proj, *e.title, desc, labels, due, conf, assignees, s.botLocked())
	writeJSON(w, http.StatusCreated, s.issueJSONLocked(is))
}

func (s *Server) handleUpdateIssue(w http.ResponseWriter, r *http.Request, p map[string]string) {
	f, ok := readFormOrReject(w, r)
	if !ok {
		return
	}
	var e issueEdit
	if !issueFields(w, f, &e) {
		return
	}
	for _, k := range []string{"labels", "add_labels", "remove_labels"} {
		l, ok, err := f.list(k)
		if err != nil {
			badRequest(w, err.Error())
			return
		}
		switch {
		case k == "labels" && ok:
			e.labels = &l
		case k == "add_labels":
			e.add = l
		case k == "remove_labels":
			e.remove = l
		}
	}
	if ev, ok, _ := f.str("state_event"); ok {
		if ev != "close" && ev != "reopen" {
			badRequest(w, "state_event does not have a valid value")
			return
		}
		e.stateEvent = ev
	}
	is := s.lockIssue(w, p)
	if is == nil {
		return
	}
	defer s.mu.Unlock()
	as, ok := s.assigneesLocked(w, f)
	if !ok {
		return
	}
	e.assignees = as
	s.applyEditLocked(is, e, s.botLocked())
	writeJSON(w, http.StatusOK, s.issueJSONLocked(is))
}

func (s *Server) handleDeleteIssue(w http.ResponseWriter, r *http.Request, p map[string]string) {
	is := s.lockIssue(w, p)
	if is == nil {
		return
	}
	defer s.mu.Unlock()
	delete(is.proj.issues, is.iid)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleListIssues(w http.ResponseWriter, r *http.Request, p map[string]string) {
	flt, ok := parseIssueFilter(w, r)
	if !ok {
		return
	}
	proj := s.lockProject(w, p)
	if proj == nil {
		return
	}
	defer s.mu.Unlock()
	var all []*issue
	for _, is := range proj.issues {
		if flt.keep(is) {
			all = append(all, is)
		}
	}
	sort.Slice(all, func(i, j int) bool { return flt.less(all[i], all[j]) })
	page, ok := s.pageIssues(w, r, flt, all)
	if !ok {
		return
	}
	out := make([]any, 0, len(page))
	for _, is := range page {
		out = append(out, s.issueJSONLocked(is))
	}
	writeJSON(w, http.StatusOK, out)
}
