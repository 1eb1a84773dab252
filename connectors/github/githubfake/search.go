package githubfake

import (
	"net/http"
	"sort"
	"strings"
	"time"
)

const docSearch = "https://docs.github.com/rest/search/search#search-issues-and-pull-requests"

// snapshot is one version of an issue on its way into the search index.
type snapshot struct {
	at time.Time
	v  issue
}

// indexIssue queues the current version of is for the search index, which
// sees it only SearchLag later. Called with f.mu held.
func (f *Fake) indexIssue(is *issue) {
	now := f.clock.Now()
	v := *is
	v.snaps = nil
	v.labels = append([]*label(nil), is.labels...)
	v.comments = append([]*comment(nil), is.comments...)
	is.snaps = append(is.snaps, snapshot{at: now, v: v})
	cut := now.Add(-f.opts.SearchLag)
	k := 0
	for i, s := range is.snaps {
		if !s.at.After(cut) {
			k = i
		}
	}
	is.snaps = is.snaps[k:]
}

// indexed returns the version of is the search index holds now, or nil.
func (f *Fake) indexed(is *issue, now time.Time) *issue {
	cut := now.Add(-f.opts.SearchLag)
	var found *issue
	for i := range is.snaps {
		if !is.snaps[i].at.After(cut) {
			found = &is.snaps[i].v
		}
	}
	if found == nil || found.deleted {
		return nil
	}
	return found
}

// searchQuery is a parsed q parameter.
type searchQuery struct {
	repo, state, typ, author, assignee string
	labels, terms                      []string
	inTitle, inBody                    bool
	updated, created                   []func(time.Time) bool
}

func parseQuery(q string) (searchQuery, bool) {
	sq := searchQuery{}
	for _, tok := range tokenize(q) {
		k, v, isQual := strings.Cut(tok, ":")
		v = strings.Trim(v, `"`)
		if !isQual || strings.HasPrefix(tok, `"`) {
			sq.terms = append(sq.terms, strings.ToLower(strings.Trim(tok, `"`)))
			continue
		}
		switch strings.ToLower(k) {
		case "repo":
			sq.repo = strings.ToLower(v)
		case "is", "type", "state":
			switch v {
			case "issue", "pr":
				sq.typ = v
			case "open", "closed":
				sq.state = v
			}
		case "label":
			sq.labels = append(sq.labels, v)
		case "in":
			for _, w := range strings.Split(v, ",") {
				sq.inTitle = sq.inTitle || w == "title"
				sq.inBody = sq.inBody || w == "body"
			}
		case "author":
			sq.author = v
		case "assignee":
			sq.assignee = v
		case "updated", "created":
			fn, ok := timeFilter(v)
			if !ok {
				return sq, false
			}
			if k == "updated" {
				sq.updated = append(sq.updated, fn)
			} else {
				sq.created = append(sq.created, fn)
			}
		default:
			sq.terms = append(sq.terms, strings.ToLower(tok))
		}
	}
	if !sq.inTitle && !sq.inBody {
		sq.inTitle, sq.inBody = true, true
	}
	return sq, true
}

// tokenize splits on spaces outside double quotes.
func tokenize(q string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range q {
		switch {
		case r == '"':
			quoted = !quoted
			cur.WriteRune(r)
		case r == ' ' && !quoted:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// timeFilter reads ">=T", ">T", "<=T", "<T", "T..T" or "T".
func timeFilter(v string) (func(time.Time) bool, bool) {
	if a, b, ok := strings.Cut(v, ".."); ok {
		lo, err1 := parseSince(a)
		hi, err2 := parseSince(b)
		return func(t time.Time) bool { return !t.Before(lo) && !t.After(hi) }, err1 == nil && err2 == nil
	}
	for _, op := range []string{">=", "<=", ">", "<"} {
		if rest, ok := strings.CutPrefix(v, op); ok {
			t, err := parseSince(rest)
			cmp := map[string]func(time.Time) bool{
				">=": func(x time.Time) bool { return !x.Before(t) }, "<=": func(x time.Time) bool { return !x.After(t) },
				">": func(x time.Time) bool { return x.After(t) }, "<": func(x time.Time) bool { return x.Before(t) },
			}[op]
			return cmp, err == nil
		}
	}
	t, err := parseSince(v)
	return func(x time.Time) bool { return x.Truncate(24 * time.Hour).Equal(t.Truncate(24 * time.Hour)) }, err == nil
}

// score says how well is matches, 0 for no match.
func (sq searchQuery) score(is *issue) float64 {
	if (sq.repo != "" && strings.ToLower(is.repo.fullName()) != sq.repo) ||
		(sq.state != "" && is.state != sq.state) ||
		(sq.typ == "issue" && is.pr) || (sq.typ == "pr" && !is.pr) ||
		(sq.author != "" && !strings.EqualFold(sq.author, is.user)) ||
		!hasLabels(is, sq.labels) {
		return 0
	}
	if sq.assignee != "" && !containsFold(is.assignees, sq.assignee) {
		return 0
	}
	for _, f := range sq.updated {
		if !f(is.updated) {
			return 0
		}
	}
	for _, f := range sq.created {
		if !f(is.created) {
			return 0
		}
	}
	score := 1.0
	title, body := strings.ToLower(is.title), strings.ToLower(deref(is.body))
	for _, t := range sq.terms {
		hit := false
		if sq.inTitle && strings.Contains(title, t) {
			score, hit = score+2, true
		}
		if sq.inBody && strings.Contains(body, t) {
			score, hit = score+1, true
		}
		if !hit {
			return 0
		}
	}
	return score
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// search answers GET /search/issues from the lagging index.
func (f *Fake) search(r *http.Request, u urls) *reply {
	if r.Method != http.MethodGet {
		return notFound()
	}
	f.stats.SearchRequests++
	q := r.URL.Query()
	sq, valid := parseQuery(q.Get("q"))
	if q.Get("q") == "" || !valid {
		return errorReply(http.StatusUnprocessableEntity, "Validation Failed", docSearch,
			fieldError{Resource: "Search", Field: "q", Code: "invalid"})
	}
	type hit struct {
		is    *issue
		score float64
	}
	var hits []hit
	now := f.clock.Now()
	for _, rp := range f.st.repos {
		for _, live := range rp.issues {
			if is := f.indexed(live, now); is != nil {
				if s := sq.score(is); s > 0 {
					hits = append(hits, hit{is, s})
				}
			}
		}
	}
	asc := q.Get("order") == "asc"
	sortBy := q.Get("sort")
	sort.SliceStable(hits, func(i, j int) bool {
		a, b := hits[i], hits[j]
		switch sortBy {
		case "updated":
			if !a.is.updated.Equal(b.is.updated) {
				return a.is.updated.Before(b.is.updated) == asc
			}
		case "created":
			if !a.is.created.Equal(b.is.created) {
				return a.is.created.Before(b.is.created) == asc
			}
		default:
			if a.score != b.score {
				return a.score > b.score
			}
		}
		return a.is.id > b.is.id
	})
	h := handler{f: f, r: r, u: u}
	lo, hi, rep := h.page(len(hits))
	if rep != nil {
		return rep
	}
	items := []*issueJSON{}
	for _, x := range hits[lo:hi] {
		j := u.issue(x.is)
		s := x.score
		j.Score = &s
		items = append(items, j)
	}
	res := ok(http.StatusOK, map[string]any{"total_count": len(hits), "incomplete_results": false, "items": items})
	h.setLink(res, len(hits))
	return res
}

// rateLimitStatus answers GET /rate_limit, which costs nothing.
func (f *Fake) rateLimitStatus() *reply {
	now := f.clock.Now()
	res := map[string]any{}
	for _, name := range []resource{resCore, resSearch} {
		limit, used, reset := f.window(name, now)
		res[string(name)] = map[string]int64{"limit": int64(limit), "used": int64(*used),
			"remaining": int64(max(0, limit-*used)), "reset": reset.Unix()}
	}
	return ok(http.StatusOK, map[string]any{"resources": res, "rate": res["core"]})
}
