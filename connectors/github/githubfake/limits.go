package githubfake

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pmsync/pmsync/connectors/conformance"
)

// Documentation URLs GitHub puts in error bodies. go-github recognises a
// secondary limit by the suffix "secondary-rate-limits".
const (
	docRoot      = "https://docs.github.com/rest"
	docPrimary   = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit"
	docSecondary = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)

// budgets holds the rate-limit windows. Guarded by Fake.mu.
type budgets struct {
	coreStart, searchStart time.Time
	coreUsed, searchUsed   int
	creates                []time.Time // content creations in the rolling hour, oldest first
}

// resource names a rate-limit budget; "" is a request that costs nothing.
type resource string

const (
	resCore   resource = "core"
	resSearch resource = "search"
)

// window returns the limit, used count and reset of res, starting a new
// window when the old one is over.
func (f *Fake) window(res resource, now time.Time) (limit int, used *int, reset time.Time) {
	b := &f.budget
	switch res {
	case resSearch:
		if b.searchStart.IsZero() || !now.Before(b.searchStart.Add(time.Minute)) {
			b.searchStart, b.searchUsed = now, 0
		}
		return f.opts.SearchPerMinute, &b.searchUsed, b.searchStart.Add(time.Minute)
	default:
		if b.coreStart.IsZero() || !now.Before(b.coreStart.Add(time.Hour)) {
			b.coreStart, b.coreUsed = now, 0
		}
		return f.opts.RateLimit, &b.coreUsed, b.coreStart.Add(time.Hour)
	}
}

// admit applies the primary and secondary limits before a request is
// handled. It returns a refusal, or nil and the budget the request costs.
// Called with f.mu held.
func (f *Fake) admit(rt route) (*reply, resource) {
	if rt.res == "" {
		return nil, ""
	}
	now := f.clock.Now()
	limit, used, _ := f.window(rt.res, now)
	if *used >= limit {
		f.stats.RateLimited++
		msg := "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID."
		rep := errorReply(f.opts.RateLimitStatus, msg, docPrimary)
		rep.noCount = true
		return rep, rt.res
	}
	if rt.createsContent {
		if wait, refused := f.contentLimited(now); refused {
			f.stats.SecondaryLimited++
			secs := int((wait + time.Second - 1) / time.Second)
			if secs < 1 {
				secs = 1
			}
			msg := "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID."
			rep := errorReply(f.opts.SecondaryStatus, msg, docSecondary)
			rep.header.Set("Retry-After", strconv.Itoa(secs))
			return rep, rt.res
		}
	}
	return nil, rt.res
}

// contentLimited applies the caps on content creation per rolling minute
// and per rolling hour. When a cap is reached it says how long until the
// creation that fills it leaves its window (the longer wait when both
// are). Called with f.mu held.
func (f *Fake) contentLimited(now time.Time) (wait time.Duration, refused bool) {
	f.pruneCreates(now)
	c := f.budget.creates
	for _, l := range []struct {
		n      int
		window time.Duration
	}{{f.opts.SecondaryPerMinute, time.Minute}, {f.opts.SecondaryPerHour, time.Hour}} {
		if l.n <= 0 {
			continue
		}
		from := sort.Search(len(c), func(i int) bool { return c[i].After(now.Add(-l.window)) })
		if len(c)-from < l.n {
			continue
		}
		refused = true
		// Below the cap again once all but n-1 of the window's creations
		// have left it.
		wait = max(wait, c[len(c)-l.n].Add(l.window).Sub(now))
	}
	return wait, refused
}

// pruneCreates forgets content creations older than an hour.
func (f *Fake) pruneCreates(now time.Time) {
	c := f.budget.creates
	i := 0
	for i < len(c) && !c[i].After(now.Add(-time.Hour)) {
		i++
	}
	f.budget.creates = c[i:]
}

// noteCreate records one content creation for the secondary limits.
// Called with f.mu held.
func (f *Fake) noteCreate() {
	now := f.clock.Now()
	f.pruneCreates(now)
	f.budget.creates = append(f.budget.creates, now)
	f.stats.ContentCreates++
}

// takeFault pops the first queued fault for op in the given phase.
func (f *Fake) takeFault(op conformance.Op, afterCommit bool) (conformance.Fault, bool) {
	ft, ok := f.faults.Take(op, func(ft conformance.Fault) bool { return ft.AfterCommit == afterCommit })
	if ok {
		f.mu.Lock()
		f.stats.Faults++
		f.mu.Unlock()
	}
	return ft, ok
}

// serveFault answers with an injected status, or cuts the connection.
func (f *Fake) serveFault(w http.ResponseWriter, r *http.Request, prefix string, ft conformance.Fault) {
	if ft.Status == 0 {
		resetConn(w)
		return
	}
	rep := errorReply(ft.Status, http.StatusText(ft.Status), docRoot)
	for k, vs := range ft.Header {
		for _, v := range vs {
			rep.header.Add(k, v)
		}
	}
	rep.noCount = true
	f.finishCounted(w, r, prefix, rep, resCore)
}

// resetConn closes the client's connection with a TCP reset and no answer.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// finish writes a reply that costs no budget.
func (f *Fake) finish(w http.ResponseWriter, r *http.Request, prefix string, rep *reply) {
	rep.noCount = true
	f.finishCounted(w, r, prefix, rep, "")
}

// encode turns rep.body into JSON bytes. A body built from the model holds
// pointers into shared state, so a handler's reply must be encoded before
// f.mu is released (ServeHTTP does it); replies that hold only their own
// values may be encoded later. It is idempotent.
func (rep *reply) encode() *reply {
	if rep.body == nil || rep.raw != nil {
		return rep
	}
	raw, err := json.Marshal(rep.body)
	if err != nil {
		rep = errorReply(http.StatusInternalServerError, "githubfake: encode answer: "+err.Error(), docRoot)
		raw, _ = json.Marshal(rep.body)
	}
	rep.raw, rep.body = raw, nil
	return rep
}

// finishCounted encodes rep (if not yet encoded), answers 304 to a matching
// If-None-Match (at no cost), charges res otherwise, and writes the
// rate-limit headers. It takes f.mu only for the budget, so rep must not
// refer to the model any more.
func (f *Fake) finishCounted(w http.ResponseWriter, r *http.Request, prefix string, rep *reply, res resource) {
	rep = rep.encode()
	body := rep.raw
	h := w.Header()
	for k, vs := range rep.header {
		h[k] = vs
	}
	status := rep.status
	if r.Method == http.MethodGet && status == http.StatusOK {
		sum := sha256.Sum256(append(append([]byte{}, body...), rep.header.Get("Link")...))
		etag := `"` + hex.EncodeToString(sum[:16]) + `"`
		h.Set("ETag", etag)
		if etagMatch(r.Header.Get("If-None-Match"), etag) {
			status, body = http.StatusNotModified, nil
		}
	}

	f.mu.Lock()
	now := f.clock.Now()
	f.reqSeq++
	reqID := f.reqSeq
	if status == http.StatusNotModified {
		f.stats.NotModified++
	}
	if res != "" {
		limit, used, reset := f.window(res, now)
		if status != http.StatusNotModified && !rep.noCount {
			*used++
		}
		rem := limit - *used
		if rem < 0 {
			rem = 0
		}
		h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(rem))
		h.Set("X-RateLimit-Used", strconv.Itoa(*used))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		h.Set("X-RateLimit-Resource", string(res))
	}
	f.mu.Unlock()

	h.Set("Date", now.Format(http.TimeFormat))
	h.Set("X-GitHub-Request-Id", "FAKE:"+strconv.Itoa(reqID))
	h.Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	if body != nil {
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(status)
	if body != nil && r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// etagMatch reports whether an If-None-Match value names etag (weak
// comparison, lists and "*" allowed).
func etagMatch(inm, etag string) bool {
	if inm == "" {
		return false
	}
	strip := func(s string) string { return strings.TrimPrefix(strings.TrimSpace(s), "W/") }
	for _, v := range strings.Split(inm, ",") {
		if v = strings.TrimSpace(v); v == "*" || strip(v) == strip(etag) {
			return true
		}
	}
	return false
}
