package githubfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pmsync/pmsync/connectors/conformance"
)

// reply is an answer before encoding.
type reply struct {
	status  int
	body    any    // JSON-encoded by encode; nil for no body
	raw     []byte // body once encoded
	header  http.Header
	noCount bool // costs no rate-limit budget
}

func ok(status int, body any) *reply {
	return &reply{status: status, body: body, header: http.Header{}}
}

// fieldError is one entry of a 422 answer's "errors".
type fieldError struct {
	Resource string `json:"resource"`
	Code     string `json:"code"`
	Field    string `json:"field"`
	Message  string `json:"message,omitempty"`
}

type errorBody struct {
	Message          string       `json:"message"`
	Errors           []fieldError `json:"errors,omitempty"`
	DocumentationURL string       `json:"documentation_url"`
	Status           string       `json:"status"`
}

// errorReply is an error shaped like GitHub's.
func errorReply(status int, msg, doc string, errs ...fieldError) *reply {
	return ok(status, errorBody{Message: msg, Errors: errs, DocumentationURL: doc, Status: strconv.Itoa(status)})
}

func notFound() *reply { return errorReply(http.StatusNotFound, "Not Found", docRoot) }

func invalid(resource, field, code, msg, doc string) *reply {
	return errorReply(http.StatusUnprocessableEntity, "Validation Failed", doc,
		fieldError{Resource: resource, Code: code, Field: field, Message: msg})
}

// route is a parsed request path.
type route struct {
	op             conformance.Op
	res            resource
	createsContent bool
	kind           string // which handler
	repoName       string // "owner/name", or "" with repoID
	repoID         int64
	number         int    // issue or milestone number
	commentID      int64  // comment id
	name           string // label name
	bad            bool   // a number in the path did not parse
}

// parseRoute classifies a request by method and (escaped) path.
func parseRoute(method, escaped string) route {
	var seg []string
	for _, s := range strings.Split(strings.Trim(escaped, "/"), "/") {
		u, err := url.PathUnescape(s)
		if err != nil {
			u = s
		}
		seg = append(seg, u)
	}
	rt := route{op: conformance.OpAny, res: resCore, kind: "unknown"}
	switch {
	case len(seg) == 1 && seg[0] == "rate_limit":
		rt.kind, rt.res = "rate_limit", ""
		return rt
	case len(seg) == 2 && seg[0] == "search" && seg[1] == "issues":
		rt.kind, rt.res, rt.op = "search", resSearch, conformance.OpList
		return rt
	case len(seg) >= 3 && seg[0] == "repos":
		rt.repoName = seg[1] + "/" + seg[2]
		seg = seg[3:]
	case len(seg) >= 2 && seg[0] == "repositories":
		id, err := strconv.ParseInt(seg[1], 10, 64)
		rt.repoID, rt.bad = id, err != nil
		seg = seg[2:]
	default:
		return rt
	}
	rt.classifyRepoPath(method, seg)
	return rt
}

func (rt *route) classifyRepoPath(method string, seg []string) {
	num := func(s string) int {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			rt.bad = true
		}
		return n
	}
	n := len(seg)
	switch {
	case n == 0:
		rt.kind, rt.op = "repo", conformance.OpGet
	case seg[0] == "issues" && n == 1:
		rt.kind, rt.op = "issues", conformance.OpList
		if method == http.MethodPost {
			rt.op, rt.createsContent = conformance.OpCreate, true
		}
	case seg[0] == "issues" && seg[1] == "comments":
		rt.op = conformance.OpComment
		switch n {
		case 2:
			rt.kind = "repo_comments"
		case 3:
			rt.kind = "comment"
			id, err := strconv.ParseInt(seg[2], 10, 64)
			rt.commentID, rt.bad = id, err != nil
		}
	case seg[0] == "issues":
		rt.number = num(seg[1])
		switch {
		case n == 2:
			rt.kind, rt.op = "issue", conformance.OpGet
			if method != http.MethodGet {
				rt.op = conformance.OpUpdate
			}
		case n == 3 && seg[2] == "comments":
			rt.kind, rt.op = "issue_comments", conformance.OpComment
			rt.createsContent = method == http.MethodPost
		case seg[2] == "labels" && n <= 4:
			rt.kind, rt.op = "issue_labels", conformance.OpUpdate
			if n == 4 {
				rt.name = seg[3]
			}
		case n == 3 && seg[2] == "lock":
			rt.kind, rt.op = "lock", conformance.OpUpdate
		}
	case seg[0] == "labels" && n <= 2:
		rt.kind = "labels"
		if n == 2 {
			rt.name = seg[1]
		}
	case seg[0] == "milestones" && n <= 2:
		rt.kind = "milestones"
		if n == 2 {
			rt.number = num(seg[1])
		}
	}
}

// dispatch runs the handler of rt. Called with f.mu held.
func (f *Fake) dispatch(r *http.Request, rt route) *reply {
	u := urlsFor(f.base)
	switch rt.kind {
	case "rate_limit":
		return f.rateLimitStatus()
	case "search":
		return f.search(r, u)
	case "unknown":
		return notFound()
	}
	if rt.bad {
		return notFound()
	}
	rp := f.st.repos[strings.ToLower(rt.repoName)]
	if rt.repoName == "" {
		rp = f.st.byID[rt.repoID]
	}
	if rp == nil {
		return notFound()
	}
	h := handler{f: f, r: r, u: u, rp: rp, rt: rt}
	switch rt.kind {
	case "repo":
		return h.only(http.MethodGet, func() *reply { return ok(http.StatusOK, u.repo(rp)) })
	case "issues":
		return h.issues()
	case "issue":
		return h.issue()
	case "issue_comments":
		return h.issueComments()
	case "repo_comments":
		return h.only(http.MethodGet, h.repoComments)
	case "comment":
		return h.comment()
	case "issue_labels":
		return h.issueLabels()
	case "lock":
		return h.lock()
	case "labels":
		return h.labels()
	case "milestones":
		return h.milestones()
	}
	return notFound()
}

// handler carries one request through a repository handler.
type handler struct {
	f  *Fake
	r  *http.Request
	u  urls
	rp *repo
	rt route
}

func (h handler) only(method string, fn func() *reply) *reply {
	if h.r.Method != method {
		return notFound()
	}
	return fn()
}

// decode reads a JSON object body into raw fields, so that null and absent
// can be told apart.
func (h handler) decode() (map[string]json.RawMessage, *reply) {
	data, err := io.ReadAll(io.LimitReader(h.r.Body, 4<<20))
	if err != nil {
		return nil, errorReply(http.StatusBadRequest, "Problems reading body", docRoot)
	}
	fields := map[string]json.RawMessage{}
	if len(strings.TrimSpace(string(data))) == 0 {
		return fields, nil
	}
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, errorReply(http.StatusBadRequest, "Problems parsing JSON", docRoot)
	}
	return fields, nil
}

// str reads an optional string field; present reports whether it was sent
// (null counts as sent, with ok false).
func str(fields map[string]json.RawMessage, key string) (v string, present, isStr bool) {
	raw, present := fields[key]
	if !present {
		return "", false, false
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", true, false
	}
	return v, true, true
}

func strList(fields map[string]json.RawMessage, key string) ([]string, bool, bool) {
	raw, present := fields[key]
	if !present {
		return nil, false, false
	}
	var v []string
	if err := json.Unmarshal(raw, &v); err != nil {
		// GitHub also accepts label objects {"name": ...}.
		var objs []struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(raw, &objs); err != nil {
			return nil, true, false
		}
		for _, o := range objs {
			v = append(v, o.Name)
		}
	}
	return v, true, true
}

func isNull(raw json.RawMessage) bool { return strings.TrimSpace(string(raw)) == "null" }
