package jirafake

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/pmsync/pmsync/connectors/conformance"
)

// ServeHTTP answers one API request: latency, authentication, injected
// faults, then the route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.latency.Wait(r.Context()) {
		return
	}
	s.counters.Count(isWrite(r))
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="protected-area"`)
		jiraError(w, http.StatusUnauthorized, []string{"You are not authenticated. Authentication required to perform this operation."}, nil)
		return
	}
	f, ok := s.faults.Take(classify(r), nil)
	if !ok {
		s.route(w, r)
		return
	}
	if f.AfterCommit {
		s.route(httptest.NewRecorder(), r) // the write happens; its answer is lost
		if f.Status == 0 {
			cutConnection(w)
			return
		}
	}
	answerFault(w, f)
}

func (s *Server) authorized(r *http.Request) bool {
	if s.opts.Flavor == Cloud {
		u, p, ok := r.BasicAuth()
		return ok && equal(u, s.opts.Email) && equal(p, s.opts.Token)
	}
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	return ok && equal(tok, s.opts.Token)
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func answerFault(w http.ResponseWriter, f conformance.Fault) {
	for k, vs := range f.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	msg := http.StatusText(status)
	if status == http.StatusTooManyRequests {
		msg = "Rate limit exceeded."
	}
	jiraError(w, status, []string{msg}, nil)
}

// cutConnection drops the connection without an answer, as a proxy reset or
// a crash after the commit would.
func cutConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// apiPath returns the path segments after /rest/api/{2,3}/ and the version.
func apiPath(p string) ([]string, string) {
	for _, v := range []string{"2", "3"} {
		if rest, ok := strings.CutPrefix(p, "/rest/api/"+v+"/"); ok {
			return strings.Split(strings.Trim(rest, "/"), "/"), v
		}
	}
	return nil, ""
}

// classify names the fault class of a request.
func classify(r *http.Request) conformance.Op {
	seg, _ := apiPath(r.URL.Path)
	switch {
	case len(seg) == 0:
		return ""
	case seg[0] == "search":
		return conformance.OpList
	case isBulkFetch(seg):
		return conformance.OpGet
	case seg[0] != "issue":
		return ""
	case len(seg) == 1:
		if r.Method == http.MethodPost {
			return conformance.OpCreate
		}
		return ""
	case len(seg) >= 3 && seg[2] == "comment":
		return conformance.OpComment
	case r.Method == http.MethodGet:
		return conformance.OpGet
	}
	return conformance.OpUpdate
}

// isWrite says whether a request changes state (a POST search is a read).
func isWrite(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost:
		seg, _ := apiPath(r.URL.Path)
		return len(seg) == 0 || (seg[0] != "search" && !isBulkFetch(seg))
	case http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// isBulkFetch says whether the path is issue/bulkfetch (a read sent as POST).
func isBulkFetch(seg []string) bool {
	return len(seg) == 2 && seg[0] == "issue" && seg[1] == "bulkfetch"
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	seg, version := apiPath(r.URL.Path)
	if seg == nil || (version == "3" && seg[0] != "search" && !isBulkFetch(seg)) {
		notFound(w, r)
		return
	}
	m := r.Method
	switch {
	case len(seg) == 1 && seg[0] == "myself" && m == http.MethodGet:
		s.handleMyself(w, r)
	case len(seg) == 1 && seg[0] == "serverInfo" && m == http.MethodGet:
		s.handleServerInfo(w, r)
	case len(seg) == 1 && seg[0] == "priority" && m == http.MethodGet:
		s.handlePriorities(w, r)
	case len(seg) == 1 && seg[0] == "resolution" && m == http.MethodGet:
		s.handleResolutions(w, r)
	case len(seg) == 1 && seg[0] == "search":
		s.handleSearch(w, r)
	case len(seg) == 2 && seg[0] == "search" && seg[1] == "jql":
		s.handleSearchJQL(w, r)
	case len(seg) == 1 && seg[0] == "issue" && m == http.MethodPost:
		s.handleCreate(w, r)
	case isBulkFetch(seg) && version == "3" && m == http.MethodPost:
		s.handleBulkFetch(w, r)
	case len(seg) >= 2 && seg[0] == "issue":
		s.routeIssue(w, r, seg[1], seg[2:])
	default:
		notFound(w, r)
	}
}

func (s *Server) routeIssue(w http.ResponseWriter, r *http.Request, key string, rest []string) {
	m := r.Method
	switch {
	case len(rest) == 0 && m == http.MethodGet:
		s.handleGet(w, r, key)
	case len(rest) == 0 && m == http.MethodPut:
		s.handleEdit(w, r, key)
	case len(rest) == 0 && m == http.MethodDelete:
		s.handleDelete(w, r, key)
	case len(rest) == 1 && rest[0] == "transitions" && m == http.MethodGet:
		s.handleTransitions(w, r, key)
	case len(rest) == 1 && rest[0] == "transitions" && m == http.MethodPost:
		s.handleDoTransition(w, r, key)
	case len(rest) == 1 && rest[0] == "assignee" && m == http.MethodPut:
		s.handleAssign(w, r, key)
	case len(rest) == 1 && rest[0] == "comment" && m == http.MethodGet:
		s.handleListComments(w, r, key)
	case len(rest) == 1 && rest[0] == "comment" && m == http.MethodPost:
		s.handleAddComment(w, r, key)
	case len(rest) == 2 && rest[0] == "comment":
		s.handleComment(w, r, key, rest[1])
	case len(rest) == 1 && rest[0] == "properties" && m == http.MethodGet:
		s.handlePropertyKeys(w, r, key)
	case len(rest) == 2 && rest[0] == "properties":
		s.handleProperty(w, r, key, rest[1])
	case len(rest) == 1 && rest[0] == "remotelink":
		s.handleRemoteLinks(w, r, key)
	default:
		notFound(w, r)
	}
}

func notFound(w http.ResponseWriter, r *http.Request) {
	jiraError(w, http.StatusNotFound, []string{"null for uri: " + r.URL.Path}, nil)
}

// issueNotFound is Jira's answer for an issue that does not exist or that
// the user may not see.
func issueNotFound(w http.ResponseWriter) {
	jiraError(w, http.StatusNotFound, []string{"Issue does not exist or you do not have permission to see it."}, nil)
}

// lockIssue takes s.mu and returns the issue named by key. When there is
// none it answers 404, releases s.mu and returns nil; otherwise the caller
// holds s.mu and must release it.
func (s *Server) lockIssue(w http.ResponseWriter, key string) *issue {
	s.mu.Lock()
	it := s.lookup(key)
	if it == nil {
		s.mu.Unlock()
		issueNotFound(w)
		return nil
	}
	return it
}

// lockIssueForWrite is lockIssue for a write to the issue: it also answers
// the per-issue 429 (and releases s.mu, returning nil) when the issue is
// over its write limit.
func (s *Server) lockIssueForWrite(w http.ResponseWriter, key string) *issue {
	it := s.lockIssue(w, key)
	if it != nil && s.overWriteLimit(w, it.id) {
		s.mu.Unlock()
		return nil
	}
	return it
}

// decodeBody reads r's JSON body into v. When the body is not valid JSON it
// answers 400 with msg and reports false.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, msg string) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		jiraError(w, http.StatusBadRequest, []string{msg}, nil)
		return false
	}
	return true
}

// overWriteLimit records a write to issue id and reports whether it exceeds
// the per-issue limit; it answers the 429 itself. Callers hold s.mu.
func (s *Server) overWriteLimit(w http.ResponseWriter, id int) bool {
	n := s.opts.PerIssueWriteLimit
	if n <= 0 {
		return false
	}
	now := s.clock.Now()
	var recent []time.Time
	for _, t := range s.writeLog[id] {
		if now.Sub(t) < time.Second {
			recent = append(recent, t)
		}
	}
	if len(recent) >= n {
		s.writeLog[id] = recent
		reset := recent[0].Add(time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int((reset.Sub(now)+time.Second-1)/time.Second))))
		w.Header().Set("RateLimit-Reason", "jira-per-issue-on-write")
		w.Header().Set("X-RateLimit-Reset", reset.UTC().Format("2006-01-02T15:04Z"))
		jiraError(w, http.StatusTooManyRequests, []string{"Too many write requests to this issue. Try again later."}, nil)
		return true
	}
	s.writeLog[id] = append(recent, now)
	return false
}
