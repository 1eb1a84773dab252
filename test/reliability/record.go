package reliability

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// Recorder is an http.RoundTripper that keeps a copy of every request it
// forwards, by the tracker its host belongs to, for leak scans.
type Recorder struct {
	Base  http.RoundTripper
	hosts map[string]string // host:port → tracker id

	mu   sync.Mutex
	reqs map[string][]RecordedRequest
}

// RecordedRequest is one request as sent.
type RecordedRequest struct {
	Method, URL string
	Header      http.Header
	Body        []byte
}

// Text renders a request for scans; withAuth false leaves out the
// headers that carry the tracker's own credential (Authorization, GitLab's
// PRIVATE-TOKEN).
func (r RecordedRequest) Text(withAuth bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", r.Method, r.URL)
	for k, vs := range r.Header {
		if !withAuth && (k == "Authorization" || k == "Private-Token") {
			continue
		}
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(vs, ", "))
	}
	b.Write(r.Body)
	return b.String()
}

// NewRecorder records requests to the simulators of s over base.
func NewRecorder(base http.RoundTripper, s *Sims) *Recorder {
	r := &Recorder{Base: base, hosts: map[string]string{}, reqs: map[string][]RecordedRequest{}}
	for id, t := range s.Trackers {
		if u, err := url.Parse(t.URL); err == nil {
			r.hosts[u.Host] = id
		}
	}
	return r
}

// RoundTrip records req and forwards it.
func (r *Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := RecordedRequest{Method: req.Method, URL: req.URL.String(), Header: req.Header.Clone()}
	if req.Body != nil {
		body, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		rec.Body = body
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	id := r.hosts[req.URL.Host]
	if id == "" {
		id = "unknown:" + req.URL.Host
	}
	r.mu.Lock()
	r.reqs[id] = append(r.reqs[id], rec)
	r.mu.Unlock()
	return r.Base.RoundTrip(req)
}

// Requests returns the requests sent to tracker id (or to unknown hosts,
// under "unknown:HOST").
func (r *Recorder) Requests() map[string][]RecordedRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]RecordedRequest{}
	for id, rs := range r.reqs {
		out[id] = append([]RecordedRequest(nil), rs...)
	}
	return out
}
