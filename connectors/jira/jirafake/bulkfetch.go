package jirafake

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// maxBulkFetch is how many issues one bulk fetch may name when it asks for
// a multi-valued field such as comment (Jira Cloud's default limit; this
// simulator applies it to every request).
const maxBulkFetch = 100

// handleBulkFetch is Cloud's POST /rest/api/3/issue/bulkfetch: the issues
// named by id or key, read from the database like a get (no index lag), in
// ascending id order. Issues that do not exist are left out, without an
// error; more than maxBulkFetch names is a 400. Version 3 renders
// description and comment bodies as Atlassian Document Format.
func (s *Server) handleBulkFetch(w http.ResponseWriter, r *http.Request) {
	if s.opts.Flavor != Cloud {
		notFound(w, r)
		return
	}
	var body struct {
		IssueIdsOrKeys []string        `json:"issueIdsOrKeys"`
		Fields         json.RawMessage `json:"fields"`
		Properties     json.RawMessage `json:"properties"`
	}
	if !decodeBody(w, r, &body, "Can not deserialize the request: the body is not valid JSON.") {
		return
	}
	switch n := len(body.IssueIdsOrKeys); {
	case n == 0:
		jiraError(w, http.StatusBadRequest, []string{"issueIdsOrKeys must not be empty."}, nil)
		return
	case n > maxBulkFetch:
		jiraError(w, http.StatusBadRequest, []string{"Bulk fetch supports up to 100 issues per request."}, nil)
		return
	}
	fields := stringsOrList(body.Fields)
	if len(fields) == 0 {
		fields = []string{"*navigable"}
	}
	want := fieldSet(fields)
	if slices.Contains(fields, "*navigable") {
		want = navigable
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var hits []*issue
	for _, name := range body.IssueIdsOrKeys {
		if it := s.lookup(name); it != nil && !slices.Contains(hits, it) {
			hits = append(hits, it)
		}
	}
	slices.SortFunc(hits, func(a, b *issue) int { return a.id - b.id })
	base := baseURL(r)
	issues := make([]any, 0, len(hits))
	for _, it := range hits {
		out := s.issueJSON(base, it, want, stringsOrList(body.Properties))
		adfFields(out["fields"].(map[string]any))
		issues = append(issues, out)
	}
	writeJSON(w, http.StatusOK, map[string]any{"expand": "schema,names", "issues": issues, "issueErrors": []any{}})
}

// adfFields turns the rich-text fields of a version 2 rendering into the
// Atlassian Document Format of version 3: one paragraph per line.
func adfFields(f map[string]any) {
	if d, ok := f["description"].(*string); ok && d != nil {
		f["description"] = adf(*d)
	}
	if c, ok := f["comment"].(map[string]any); ok {
		cs, _ := c["comments"].([]any)
		for _, cm := range cs {
			if m, ok := cm.(map[string]any); ok {
				if b, ok := m["body"].(string); ok {
					m["body"] = adf(b)
				}
			}
		}
	}
}

func adf(text string) map[string]any {
	var paras []any
	for _, line := range strings.Split(text, "\n") {
		p := map[string]any{"type": "paragraph", "content": []any{}}
		if line != "" {
			p["content"] = []any{map[string]any{"type": "text", "text": line}}
		}
		paras = append(paras, p)
	}
	return map[string]any{"type": "doc", "version": 1, "content": paras}
}
