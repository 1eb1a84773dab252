package gitlabfake

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxNote is GitLab's note length limit.
const maxNote = 1_000_000

func (s *Server) handleListNotes(w http.ResponseWriter, r *http.Request, p map[string]string) {
	q := r.URL.Query()
	orderBy, dir := "created_at", "desc"
	if v := q.Get("order_by"); v != "" {
		if v != "created_at" && v != "updated_at" {
			badRequest(w, "order_by does not have a valid value")
			return
		}
		orderBy = v
	}
	if v := q.Get("sort"); v != "" {
		if v != "asc" && v != "desc" {
			badRequest(w, "sort does not have a valid value")
			return
		}
		dir = v
	}
	is := s.lockIssue(w, p)
	if is == nil {
		return
	}
	defer s.mu.Unlock()
	notes := append([]*note(nil), is.notes...)
	sort.Slice(notes, func(i, j int) bool {
		a, b := notes[i], notes[j]
		c := a.createdAt.Compare(b.createdAt)
		if orderBy == "updated_at" {
			c = a.updatedAt.Compare(b.updatedAt)
		}
		if c == 0 {
			c = cmpInt(a.id, b.id)
		}
		if dir == "desc" {
			return c > 0
		}
		return c < 0
	})
	page := pageOffset(s, w, r, notes)
	out := make([]any, 0, len(page))
	for _, n := range page {
		out = append(out, s.noteJSONLocked(is, n))
	}
	writeJSON(w, http.StatusOK, out)
}

// noteLocked resolves the {note} path parameter on an issue.
func noteLocked(w http.ResponseWriter, is *issue, p map[string]string) *note {
	id, err := strconv.ParseInt(p["note"], 10, 64)
	if err == nil {
		for _, n := range is.notes {
			if n.id == id {
				return n
			}
		}
	}
	notFound(w, "Note")
	return nil
}

func (s *Server) handleGetNote(w http.ResponseWriter, r *http.Request, p map[string]string) {
	is := s.lockIssue(w, p)
	if is == nil {
		return
	}
	defer s.mu.Unlock()
	if n := noteLocked(w, is, p); n != nil {
		writeJSON(w, http.StatusOK, s.noteJSONLocked(is, n))
	}
}

// readNote reads the request's parameters and validates the body
// parameter of a note write, answering 400 when either fails.
func readNote(w http.ResponseWriter, r *http.Request) (*form, string, bool) {
	f, ok := readFormOrReject(w, r)
	if !ok {
		return nil, "", false
	}
	body, _, err := f.str("body")
	if err != nil {
		badRequest(w, err.Error())
		return nil, "", false
	}
	if strings.TrimSpace(body) == "" {
		badRequest(w, "body is missing")
		return nil, "", false
	}
	if utf8.RuneCountInString(body) > maxNote {
		fieldError(w, "note", "is too long (maximum is 1000000 characters)")
		return nil, "", false
	}
	return f, body, true
}

func (s *Server) handleCreateNote(w http.ResponseWriter, r *http.Request, p map[string]string) {
	f, body, ok := readNote(w, r)
	if !ok {
		return
	}
	internal, _, err := f.boolean("internal")
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	if !internal {
		internal, _, _ = f.boolean("confidential") // the deprecated name
	}
	is := s.lockIssue(w, p)
	if is == nil {
		return
	}
	defer s.mu.Unlock()
	n := s.addNoteLocked(is, s.botLocked(), body, false, internal, s.clock.Tick())
	writeJSON(w, http.StatusCreated, s.noteJSONLocked(is, n))
}

func (s *Server) handleUpdateNote(w http.ResponseWriter, r *http.Request, p map[string]string) {
	_, body, ok := readNote(w, r)
	if !ok {
		return
	}
	is := s.lockIssue(w, p)
	if is == nil {
		return
	}
	defer s.mu.Unlock()
	n := noteLocked(w, is, p)
	if n == nil {
		return
	}
	if n.system || n.authorID != s.botLocked().id {
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "403 Forbidden"})
		return
	}
	if n.body != body {
		now := s.clock.Tick()
		n.body = body
		n.updatedAt = now
		is.updatedAt = now
		s.emitNoteHookLocked(is, n, s.botLocked(), "update")
	}
	writeJSON(w, http.StatusOK, s.noteJSONLocked(is, n))
}

func (s *Server) handleListLabels(w http.ResponseWriter, r *http.Request, p map[string]string) {
	proj := s.lockProject(w, p)
	if proj == nil {
		return
	}
	defer s.mu.Unlock()
	all := make([]*label, 0, len(proj.labels))
	for _, l := range proj.labels {
		all = append(all, l)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].title < all[j].title })
	out := []any{}
	for _, l := range pageOffset(s, w, r, all) {
		out = append(out, s.labelJSONLocked(l))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleCreateLabel(w http.ResponseWriter, r *http.Request, p map[string]string) {
	f, ok := readFormOrReject(w, r)
	if !ok {
		return
	}
	name, _, _ := f.str("name")
	color, _, _ := f.str("color")
	desc, _, _ := f.str("description")
	if strings.TrimSpace(name) == "" {
		badRequest(w, "name is missing")
		return
	}
	if strings.Contains(name, ",") {
		fieldError(w, "title", "is invalid")
		return
	}
	if color == "" {
		badRequest(w, "color is missing")
		return
	}
	proj := s.lockProject(w, p)
	if proj == nil {
		return
	}
	defer s.mu.Unlock()
	if _, dup := proj.labels[name]; dup {
		writeJSON(w, http.StatusConflict, map[string]string{"message": "Label already exists"})
		return
	}
	s.ids.label++
	l := &label{id: s.ids.label, title: name, color: color, description: desc, createdAt: s.clock.Tick()}
	proj.labels[name] = l
	writeJSON(w, http.StatusCreated, s.labelJSONLocked(l))
}
