package gitlabfake

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxOffsetTotal is the result size above which GitLab stops sending
// X-Total and X-Total-Pages.
const maxOffsetTotal = 10_000

// perPage reads per_page: default 20, capped at the server's maximum.
func (s *Server) perPage(q url.Values) int {
	n, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || n <= 0 {
		n = 20
	}
	if n > s.opts.MaxPerPage {
		n = s.opts.MaxPerPage
	}
	return n
}

// linkTo is the request's URL with the query parameters in set replaced.
func linkTo(r *http.Request, set map[string]string) string {
	q := r.URL.Query()
	for k, v := range set {
		q.Set(k, v)
	}
	return "http://" + r.Host + r.URL.EscapedPath() + "?" + q.Encode()
}

// pageOffset cuts one page out of all and sets GitLab's offset pagination
// headers (X-Page, X-Per-Page, X-Next-Page, X-Prev-Page, X-Total,
// X-Total-Pages and Link).
func pageOffset[T any](s *Server, w http.ResponseWriter, r *http.Request, all []T) []T {
	q := r.URL.Query()
	per := s.perPage(q)
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page <= 0 {
		page = 1
	}
	total := len(all)
	pages := (total + per - 1) / per
	if pages == 0 {
		pages = 1
	}
	h := w.Header()
	h.Set("X-Page", strconv.Itoa(page))
	h.Set("X-Per-Page", strconv.Itoa(per))
	h.Set("X-Next-Page", "")
	h.Set("X-Prev-Page", "")
	var links []string
	if page < pages {
		h.Set("X-Next-Page", strconv.Itoa(page+1))
		links = append(links, fmt.Sprintf(`<%s>; rel="next"`, linkTo(r, map[string]string{"page": strconv.Itoa(page + 1)})))
	}
	if page > 1 {
		h.Set("X-Prev-Page", strconv.Itoa(page-1))
		links = append(links, fmt.Sprintf(`<%s>; rel="prev"`, linkTo(r, map[string]string{"page": strconv.Itoa(page - 1)})))
	}
	links = append(links, fmt.Sprintf(`<%s>; rel="first"`, linkTo(r, map[string]string{"page": "1"})))
	if total <= maxOffsetTotal {
		h.Set("X-Total", strconv.Itoa(total))
		h.Set("X-Total-Pages", strconv.Itoa(pages))
		links = append(links, fmt.Sprintf(`<%s>; rel="last"`, linkTo(r, map[string]string{"page": strconv.Itoa(pages)})))
	}
	h.Set("Link", strings.Join(links, ", "))
	start := (page - 1) * per
	if start >= total {
		return nil
	}
	end := min(start+per, total)
	return all[start:end]
}

// pageIssues pages a sorted issue list by keyset (a cursor after the last
// row's order value and id) when asked and supported, else by offset.
func (s *Server) pageIssues(w http.ResponseWriter, r *http.Request, flt issueFilter, all []*issue) ([]*issue, bool) {
	q := r.URL.Query()
	if q.Get("pagination") != "keyset" || s.opts.Keyset == KeysetIgnored {
		return pageOffset(s, w, r, all), true
	}
	if s.opts.Keyset == KeysetRejected || (flt.orderBy != "created_at" && flt.orderBy != "updated_at") {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "Keyset pagination is not yet available for this type of request"})
		return nil, false
	}
	start := 0
	if c := q.Get("cursor"); c != "" {
		at, id, err := decodeCursor(c)
		if err != nil {
			badRequest(w, "cursor is invalid")
			return nil, false
		}
		start = len(all)
		for i, is := range all {
			probe := &issue{id: id, createdAt: at, updatedAt: at}
			if flt.less(probe, is) {
				start = i
				break
			}
		}
	}
	per := s.perPage(q)
	end := min(start+per, len(all))
	page := all[start:end]
	if end < len(all) && len(page) > 0 {
		last := page[len(page)-1]
		at := last.createdAt
		if flt.orderBy == "updated_at" {
			at = last.updatedAt
		}
		next := linkTo(r, map[string]string{"cursor": encodeCursor(at, last.id)})
		w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next"`, next))
	}
	return page, true
}

func encodeCursor(at time.Time, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixMicro(), 10) + ":" + strconv.FormatInt(id, 10)))
}

func decodeCursor(c string) (time.Time, int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, 0, err
	}
	a, bID, ok := strings.Cut(string(b), ":")
	if !ok {
		return time.Time{}, 0, fmt.Errorf("bad cursor")
	}
	us, err1 := strconv.ParseInt(a, 10, 64)
	id, err2 := strconv.ParseInt(bID, 10, 64)
	if err1 != nil || err2 != nil {
		return time.Time{}, 0, fmt.Errorf("bad cursor")
	}
	return time.UnixMicro(us).UTC(), id, nil
}
