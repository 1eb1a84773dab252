package jirafake

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// searchParams are the parameters of both search endpoints, from the query
// string (GET) or the JSON body (POST).
type searchParams struct {
	JQL           string
	StartAt       int
	MaxResults    int
	NextPageToken string
	Fields        []string
	Properties    []string
	Reconcile     []int
}

func readSearchParams(r *http.Request) (searchParams, error) {
	var p searchParams
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		p.JQL = q.Get("jql")
		p.StartAt, _ = strconv.Atoi(q.Get("startAt"))
		p.MaxResults, _ = strconv.Atoi(q.Get("maxResults"))
		p.NextPageToken = q.Get("nextPageToken")
		p.Fields = parseList(strings.Join(q["fields"], ","))
		p.Properties = parseList(strings.Join(q["properties"], ","))
		for _, v := range parseList(strings.Join(q["reconcileIssues"], ",")) {
			id, err := strconv.Atoi(v)
			if err != nil {
				return p, errors.New("reconcileIssues must be issue ids")
			}
			p.Reconcile = append(p.Reconcile, id)
		}
		return p, nil
	}
	if r.Method != http.MethodPost {
		return p, errors.New("method not allowed")
	}
	var body struct {
		JQL           string          `json:"jql"`
		StartAt       int             `json:"startAt"`
		MaxResults    int             `json:"maxResults"`
		NextPageToken *string         `json:"nextPageToken"`
		Fields        json.RawMessage `json:"fields"`
		Properties    json.RawMessage `json:"properties"`
		Reconcile     []int           `json:"reconcileIssues"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		return p, errors.New("request body is not valid JSON")
	}
	p.JQL, p.StartAt, p.MaxResults, p.Reconcile = body.JQL, body.StartAt, body.MaxResults, body.Reconcile
	if body.NextPageToken != nil {
		p.NextPageToken = *body.NextPageToken
	}
	p.Fields = stringsOrList(body.Fields)
	p.Properties = stringsOrList(body.Properties)
	return p, nil
}

// stringsOrList reads a JSON array of strings or a comma-separated string.
func stringsOrList(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return parseList(s)
	}
	return nil
}

// lockSearch reads a search's parameters, takes s.mu, records the JQL and
// parses it. On bad parameters or JQL it answers 400 and reports false with
// s.mu released; otherwise the caller holds s.mu and must release it.
func (s *Server) lockSearch(w http.ResponseWriter, r *http.Request) (searchParams, *jqlQuery, bool) {
	p, err := readSearchParams(r)
	if err != nil {
		jiraError(w, http.StatusBadRequest, []string{err.Error()}, nil)
		return p, nil, false
	}
	s.mu.Lock()
	s.jqls = append(s.jqls, p.JQL)
	q, err := s.parseJQL(p.JQL, s.loc, s.clock.Now())
	if err != nil {
		s.mu.Unlock()
		jiraError(w, http.StatusBadRequest, []string{err.Error()}, nil)
		return p, nil, false
	}
	return p, q, true
}

// handleSearch is the old search: gone on Cloud, offset-paged on DC.
func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	if s.opts.Flavor == Cloud {
		jiraError(w, http.StatusGone, []string{"The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"}, nil)
		return
	}
	p, q, ok := s.lockSearch(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	hits := s.matchLocked(q, nil)
	max := s.pageSize(p.MaxResults)
	start := min(max0(p.StartAt), len(hits))
	end := min(start+max, len(hits))
	base := baseURL(r)
	want := navigable // the default is *navigable
	if len(p.Fields) > 0 {
		want = fieldSet(p.Fields)
	}
	issues := make([]any, 0, end-start)
	for _, it := range hits[start:end] {
		issues = append(issues, s.issueJSON(base, it, want, p.Properties))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"expand": "schema,names", "startAt": start, "maxResults": max, "total": len(hits), "issues": issues,
	})
}

// navigable is the default field set of a search: everything but comments.
var navigable = map[string]bool{
	"summary": true, "description": true, "issuetype": true, "project": true, "status": true, "resolution": true,
	"resolutiondate": true, "priority": true, "labels": true, "duedate": true, "assignee": true, "reporter": true,
	"creator": true, "created": true, "updated": true,
}

// handleSearchJQL is Cloud's enhanced search: token-paged, eventually
// consistent, ids only unless fields are asked for.
func (s *Server) handleSearchJQL(w http.ResponseWriter, r *http.Request) {
	if s.opts.Flavor != Cloud {
		notFound(w, r)
		return
	}
	p, q, ok := s.lockSearch(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	if !q.bounded {
		jiraError(w, http.StatusBadRequest, []string{"Unbounded JQL queries are not allowed here. Please add a search restriction to your query."}, nil)
		return
	}
	if len(p.Reconcile) > 50 {
		jiraError(w, http.StatusBadRequest, []string{"reconcileIssues accepts at most 50 issue ids."}, nil)
		return
	}
	hits := s.matchLocked(q, p.Reconcile)
	if p.NextPageToken != "" {
		after, err := decodePageToken(p.NextPageToken, p.JQL)
		if err != nil {
			jiraError(w, http.StatusBadRequest, []string{"The provided next page token is invalid or expired."}, nil)
			return
		}
		i := 0
		for i < len(hits) && !q.less(after, hits[i]) {
			i++
		}
		hits = hits[i:]
	}
	max := s.pageSize(p.MaxResults)
	page := hits[:min(max, len(hits))]
	base := baseURL(r)
	issues := make([]any, 0, len(page))
	for _, it := range page {
		if len(p.Fields) == 0 {
			issues = append(issues, map[string]any{"id": strconv.Itoa(it.id)})
			continue
		}
		issues = append(issues, s.issueJSON(base, it, fieldSet(p.Fields), p.Properties))
	}
	out := map[string]any{"issues": issues, "isLast": len(page) == len(hits)}
	if len(page) < len(hits) {
		out["nextPageToken"] = encodePageToken(page[len(page)-1], p.JQL)
	}
	writeJSON(w, http.StatusOK, out)
}

// matchLocked returns the issues the index (or, for reconcile ids, the
// database) has matching q, in the query's order.
func (s *Server) matchLocked(q *jqlQuery, reconcile []int) []*issue {
	var hits []*issue
	for _, it := range s.issues {
		view := s.indexed(it)
		if slices.Contains(reconcile, it.id) {
			view = it
			if it.deleted {
				view = nil
			}
		}
		if view != nil && q.match(view) {
			hits = append(hits, view)
		}
	}
	slices.SortFunc(hits, func(a, b *issue) int {
		switch {
		case q.less(a, b):
			return -1
		case q.less(b, a):
			return 1
		}
		return 0
	})
	return hits
}

func (s *Server) pageSize(asked int) int {
	if asked <= 0 {
		asked = 50
	}
	return min(asked, s.opts.PageSize)
}

func max0(n int) int { return max(n, 0) }

// pageToken is the keyset position after which the next page starts.
type pageToken struct {
	Updated int64  `json:"u"`
	Created int64  `json:"c"`
	Num     int    `json:"n"`
	ID      int    `json:"i"`
	Query   string `json:"q"`
}

func queryHash(jql string) string {
	h := sha256.Sum256([]byte(jql))
	return hex.EncodeToString(h[:6])
}

func encodePageToken(last *issue, jql string) string {
	b, _ := json.Marshal(pageToken{Updated: last.updated.UnixMilli(), Created: last.created.UnixMilli(), Num: last.num, ID: last.id, Query: queryHash(jql)})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageToken(tok, jql string) (*issue, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return nil, err
	}
	var t pageToken
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, err
	}
	if t.Query != queryHash(jql) {
		return nil, errors.New("token belongs to another query")
	}
	return &issue{updated: time.UnixMilli(t.Updated), created: time.UnixMilli(t.Created), num: t.Num, id: t.ID}, nil
}
