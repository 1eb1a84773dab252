package gitlabfake

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// issueFilter is the parsed query of GET /projects/:id/issues.
type issueFilter struct {
	state                       string
	updatedAfter, updatedBefore time.Time
	createdAfter, createdBefore time.Time
	orderBy, sort               string
	iids                        []int64
	labels                      []string
	search                      string
	in                          string
}

func parseIssueFilter(w http.ResponseWriter, r *http.Request) (issueFilter, bool) {
	q := r.URL.Query()
	flt := issueFilter{state: "all", orderBy: "created_at", sort: "desc", in: "title,description"}
	if v := q.Get("state"); v != "" {
		if v != "opened" && v != "closed" && v != "all" {
			badRequest(w, "state does not have a valid value")
			return flt, false
		}
		flt.state = v
	}
	for name, dst := range map[string]*time.Time{
		"updated_after": &flt.updatedAfter, "updated_before": &flt.updatedBefore,
		"created_after": &flt.createdAfter, "created_before": &flt.createdBefore,
	} {
		if v := q.Get(name); v != "" {
			t, err := parseQueryTime(v)
			if err != nil {
				badRequest(w, name+" is invalid")
				return flt, false
			}
			*dst = t
		}
	}
	if v := q.Get("order_by"); v != "" {
		switch v {
		case "created_at", "updated_at", "title", "due_date":
			flt.orderBy = v
		default:
			badRequest(w, "order_by does not have a valid value")
			return flt, false
		}
	}
	if v := q.Get("sort"); v != "" {
		if v != "asc" && v != "desc" {
			badRequest(w, "sort does not have a valid value")
			return flt, false
		}
		flt.sort = v
	}
	for _, v := range q["iids[]"] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			badRequest(w, "iids is invalid")
			return flt, false
		}
		flt.iids = append(flt.iids, n)
	}
	if v := q.Get("labels"); v != "" {
		flt.labels = cleanList(strings.Split(v, ","))
	}
	flt.search = q.Get("search")
	if v := q.Get("in"); v != "" {
		flt.in = v
	}
	return flt, true
}

func (flt issueFilter) keep(is *issue) bool {
	switch {
	case flt.state != "all" && is.state != flt.state,
		!flt.updatedAfter.IsZero() && is.updatedAt.Before(flt.updatedAfter),
		!flt.updatedBefore.IsZero() && is.updatedAt.After(flt.updatedBefore),
		!flt.createdAfter.IsZero() && is.createdAt.Before(flt.createdAfter),
		!flt.createdBefore.IsZero() && is.createdAt.After(flt.createdBefore),
		len(flt.iids) > 0 && !containsID(flt.iids, is.iid):
		return false
	}
	for _, l := range flt.labels {
		if !containsFold(is.labels, l) {
			return false
		}
	}
	if flt.search != "" {
		s := strings.ToLower(flt.search)
		inTitle := strings.Contains(flt.in, "title") && strings.Contains(strings.ToLower(is.title), s)
		inDesc := strings.Contains(flt.in, "description") && strings.Contains(strings.ToLower(is.description), s)
		if !inTitle && !inDesc {
			return false
		}
	}
	return true
}

func containsFold(list []string, v string) bool {
	for _, l := range list {
		if strings.EqualFold(l, v) {
			return true
		}
	}
	return false
}

// less orders two issues by the filter's order_by and sort, ties by id.
func (flt issueFilter) less(a, b *issue) bool {
	var c int
	switch flt.orderBy {
	case "updated_at":
		c = a.updatedAt.Compare(b.updatedAt)
	case "title":
		c = strings.Compare(a.title, b.title)
	case "due_date":
		c = strings.Compare(a.due, b.due)
	default:
		c = a.createdAt.Compare(b.createdAt)
	}
	if c == 0 {
		c = cmpInt(a.id, b.id)
	}
	if flt.sort == "desc" {
		return c > 0
	}
	return c < 0
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
