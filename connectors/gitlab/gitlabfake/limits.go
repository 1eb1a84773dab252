package gitlabfake

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	"github.com/pmsync/pmsync/connectors/conformance"
)

// rateWindow is the request budget of the current minute.
type rateWindow struct {
	start time.Time
	used  int
}

// admit spends one request of the budget and sets the RateLimit-*
// headers. When the budget is gone it answers 429 with Retry-After (as
// GitLab.com does: plain-text "Retry later") and returns false.
func (s *Server) admit(w http.ResponseWriter) bool {
	s.mu.Lock()
	limit := s.opts.RateLimit
	if limit <= 0 {
		s.mu.Unlock()
		return true
	}
	now := s.clock.Now()
	start := now.Truncate(time.Minute)
	if !start.Equal(s.window.start) {
		s.window = rateWindow{start: start}
	}
	s.window.used++
	used := s.window.used
	reset := start.Add(time.Minute)
	s.mu.Unlock()

	h := w.Header()
	remaining := max(limit-used, 0)
	h.Set("RateLimit-Limit", strconv.Itoa(limit))
	h.Set("RateLimit-Observed", strconv.Itoa(min(used, limit+1)))
	h.Set("RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("RateLimit-ResetTime", reset.UTC().Format(http.TimeFormat))
	if used <= limit {
		return true
	}
	wait := int(reset.Sub(now).Round(time.Second) / time.Second)
	if wait < 1 {
		wait = 1
	}
	h.Set("Retry-After", strconv.Itoa(wait))
	h.Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write([]byte("Retry later\n"))
	return false
}

// serveFault answers with the fault. With AfterCommit the request is
// carried out first and its real answer thrown away: a lost response.
// Status 0 cuts the connection instead of answering.
func (s *Server) serveFault(w http.ResponseWriter, r *http.Request, rt matched, f conformance.Fault) {
	if f.AfterCommit {
		rec := httptest.NewRecorder()
		rt.handler(s, rec, r, rt.params)
	}
	if f.Status == 0 {
		panic(http.ErrAbortHandler)
	}
	for k, vs := range f.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	switch {
	case f.Status == http.StatusTooManyRequests:
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte("Retry later\n"))
	case f.Status >= 500:
		// GitLab's front proxies answer HTML for gateway errors.
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte("<html><body><h1>" + strconv.Itoa(f.Status) + " " + http.StatusText(f.Status) + "</h1></body></html>\n"))
	default:
		writeJSON(w, f.Status, map[string]string{"message": strconv.Itoa(f.Status) + " " + http.StatusText(f.Status)})
	}
}
