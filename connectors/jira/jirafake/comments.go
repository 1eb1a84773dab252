package jirafake

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// commentBody is the body of comment writes.
type commentBody struct {
	Body       *string     `json:"body"`
	Visibility *visibility `json:"visibility"`
}

func (s *Server) handleListComments(w http.ResponseWriter, r *http.Request, key string) {
	it := s.lockIssue(w, key)
	if it == nil {
		return
	}
	defer s.mu.Unlock()
	q := r.URL.Query()
	start, _ := strconv.Atoi(q.Get("startAt"))
	asked, _ := strconv.Atoi(q.Get("maxResults"))
	size := s.pageSize(asked)
	list := it.comments
	if q.Get("orderBy") == "-created" {
		list = make([]*comment, len(it.comments))
		for i, c := range it.comments {
			list[len(list)-1-i] = c
		}
	}
	start = min(max0(start), len(list))
	end := min(start+size, len(list))
	base := baseURL(r)
	out := make([]any, 0, end-start)
	for _, c := range list[start:end] {
		out = append(out, s.commentJSON(base, it, c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"startAt": start, "maxResults": size, "total": len(list), "comments": out})
}

func (s *Server) handleAddComment(w http.ResponseWriter, r *http.Request, key string) {
	var body commentBody
	if !decodeBody(w, r, &body, "Can not deserialize the comment: the body is not valid JSON.") {
		return
	}
	if body.Body == nil || *body.Body == "" {
		jiraError(w, http.StatusBadRequest, nil, map[string]string{"comment": "Comment body can not be empty!"})
		return
	}
	it := s.lockIssueForWrite(w, key)
	if it == nil {
		return
	}
	defer s.mu.Unlock()
	base := baseURL(r)
	c := s.addCommentLocked(base, it, s.handle(s.opts.Me), *body.Body, body.Visibility)
	writeJSON(w, http.StatusCreated, s.commentJSON(base, it, c))
}

// addCommentLocked stores a comment, bumps the issue and fires both
// comment_created and jira:issue_updated, as Jira does.
func (s *Server) addCommentLocked(base string, it *issue, author, body string, vis *visibility) *comment {
	now := s.clock.Tick()
	c := &comment{id: s.nextCmt, author: author, updater: author, body: body, visibility: vis, created: now, updated: now}
	s.nextCmt++
	it.comments = append(it.comments, c)
	s.touch(it)
	s.emitComment(base, "comment_created", it, c)
	s.emitIssueComment(base, "issue_commented", it, c)
	return c
}

func (s *Server) handleComment(w http.ResponseWriter, r *http.Request, key, idStr string) {
	var body commentBody
	if r.Method == http.MethodPut {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Body == nil || *body.Body == "" {
			jiraError(w, http.StatusBadRequest, nil, map[string]string{"comment": "Comment body can not be empty!"})
			return
		}
	}
	it := s.lockIssue(w, key)
	if it == nil {
		return
	}
	defer s.mu.Unlock()
	id, _ := strconv.Atoi(idStr)
	idx := -1
	for i, c := range it.comments {
		if c.id == id {
			idx = i
		}
	}
	if idx < 0 {
		jiraError(w, http.StatusNotFound, []string{"Can not find a comment for the id: " + idStr + "."}, nil)
		return
	}
	c, base := it.comments[idx], baseURL(r)
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, s.commentJSON(base, it, c))
	case http.MethodPut:
		if s.overWriteLimit(w, it.id) {
			return
		}
		c.body, c.updater, c.updated = *body.Body, s.handle(s.opts.Me), s.clock.Tick()
		if body.Visibility != nil {
			c.visibility = body.Visibility
		}
		s.touch(it)
		s.emitComment(base, "comment_updated", it, c)
		s.emitIssueComment(base, "issue_comment_edited", it, c)
		writeJSON(w, http.StatusOK, s.commentJSON(base, it, c))
	case http.MethodDelete:
		it.comments = append(it.comments[:idx], it.comments[idx+1:]...)
		s.touch(it)
		s.emitComment(base, "comment_deleted", it, c)
		w.WriteHeader(http.StatusNoContent)
	default:
		notFound(w, r)
	}
}
