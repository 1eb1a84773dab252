package gitlabfake

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/pmsync/pmsync/connectors/conformance"
)

// Request classes beyond the conformance ones, for fault injection.
const (
	opDelete  conformance.Op = "delete"
	opLabel   conformance.Op = "label"
	opProject conformance.Op = "project"
	opUser    conformance.Op = "user"
)

type handlerFunc func(s *Server, w http.ResponseWriter, r *http.Request, p map[string]string)

type route struct {
	method  string
	pattern []string // literal segments, or {name}
	op      conformance.Op
	handler handlerFunc
}

// matched is a route with its path parameters.
type matched struct {
	route
	params map[string]string
}

var routes = []route{
	{http.MethodGet, seg("user"), opUser, (*Server).handleCurrentUser},
	{http.MethodGet, seg("users"), opUser, (*Server).handleUsers},
	{http.MethodGet, seg("projects/{id}"), opProject, (*Server).handleProject},
	{http.MethodGet, seg("projects/{id}/issues"), conformance.OpList, (*Server).handleListIssues},
	{http.MethodPost, seg("projects/{id}/issues"), conformance.OpCreate, (*Server).handleCreateIssue},
	{http.MethodGet, seg("projects/{id}/issues/{iid}"), conformance.OpGet, (*Server).handleGetIssue},
	{http.MethodPut, seg("projects/{id}/issues/{iid}"), conformance.OpUpdate, (*Server).handleUpdateIssue},
	{http.MethodDelete, seg("projects/{id}/issues/{iid}"), opDelete, (*Server).handleDeleteIssue},
	{http.MethodGet, seg("projects/{id}/issues/{iid}/notes"), conformance.OpComment, (*Server).handleListNotes},
	{http.MethodPost, seg("projects/{id}/issues/{iid}/notes"), conformance.OpComment, (*Server).handleCreateNote},
	{http.MethodGet, seg("projects/{id}/issues/{iid}/notes/{note}"), conformance.OpComment, (*Server).handleGetNote},
	{http.MethodPut, seg("projects/{id}/issues/{iid}/notes/{note}"), conformance.OpComment, (*Server).handleUpdateNote},
	{http.MethodGet, seg("projects/{id}/labels"), opLabel, (*Server).handleListLabels},
	{http.MethodPost, seg("projects/{id}/labels"), opLabel, (*Server).handleCreateLabel},
}

func seg(p string) []string { return strings.Split(p, "/") }

// match finds the route for r. Path segments are split on the escaped
// path, so a project path sent as "group%2Fproject" stays one segment.
func match(r *http.Request) (matched, bool) {
	path, ok := strings.CutPrefix(r.URL.EscapedPath(), "/api/v4/")
	if !ok {
		return matched{}, false
	}
	parts := strings.Split(strings.TrimSuffix(path, "/"), "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return matched{}, false
		}
		parts[i] = u
	}
	for _, rt := range routes {
		if rt.method != r.Method || len(rt.pattern) != len(parts) {
			continue
		}
		params := map[string]string{}
		ok := true
		for i, want := range rt.pattern {
			if strings.HasPrefix(want, "{") {
				params[strings.Trim(want, "{}")] = parts[i]
			} else if want != parts[i] {
				ok = false
				break
			}
		}
		if ok {
			return matched{route: rt, params: params}, true
		}
	}
	return matched{}, false
}
