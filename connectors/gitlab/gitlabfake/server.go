// Package gitlabfake is an HTTP server that speaks the part of GitLab's REST
// v4 API that pmsync uses: projects (by path and by id), issues addressed by
// iid, notes (with internal and system notes), labels (scoped labels are
// exclusive within their scope), users, the list filters and both offset
// and keyset pagination, rate-limit headers with a real budget, latency,
// injected faults (5xx, 429 with Retry-After, a response lost after a
// committed write) and webhook delivery (Issue Hook, Note Hook) with the
// X-Gitlab-Token secret, Idempotency-Key and X-Gitlab-Event-UUID.
//
// The real gitlab client library runs against it in tests, benchmarks and
// `pmsync demo`. It is stateful and safe for concurrent use. Time comes
// from a simulated clock that only moves when Advance is called, plus one
// millisecond for every committed write so that timestamps are strictly
// increasing, as they are on a real server with millisecond precision.
//
// Use New for an in-process http.Handler, or Start for a listening server
// on 127.0.0.1 (URL, Close).
package gitlabfake

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/pmsync/pmsync/connectors/conformance"
	"github.com/pmsync/pmsync/connectors/internal/simkit"
)

// DefaultToken is the access token the simulator accepts when Options.Token
// is empty.
const DefaultToken = "glpat-fake-token"

// DefaultStart is the simulated clock's start when Options.Start is zero.
var DefaultStart = time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)

// KeysetMode says how the issue list treats pagination=keyset.
type KeysetMode int

// The keyset behaviours of GitLab versions.
const (
	// KeysetSupported pages the issue list by cursor (GitLab 18.x) when
	// order_by is id, created_at or updated_at.
	KeysetSupported KeysetMode = iota
	// KeysetIgnored ignores the parameter and pages by offset (older
	// GitLab versions).
	KeysetIgnored
	// KeysetRejected answers 405 "Keyset pagination is not yet available
	// for this type of request".
	KeysetRejected
)

// Options configures a simulator. The zero value is a usable server.
type Options struct {
	// Token is the access token accepted in PRIVATE-TOKEN or as a Bearer
	// token; "" means DefaultToken.
	Token string
	// Projects are project paths ("group/project") created at start, with
	// ids 1, 2, ... in order.
	Projects []string
	// Users are extra usernames known at start, besides the token owner
	// "pmsync-bot" and the people "alice" and "bob".
	Users []string
	// Start is the simulated clock's start; zero means DefaultStart.
	Start time.Time
	// Now, when set, replaces the simulated clock (the demo uses
	// time.Now); Advance then adds an offset to it.
	Now func() time.Time
	// Latency delays every answer (real time, not the simulated clock).
	Latency time.Duration
	// RateLimit is the request budget per minute of the simulated clock;
	// 0 means unlimited (rate-limit headers are then not sent).
	RateLimit int
	// MaxPerPage caps per_page (GitLab caps it at 100, the default).
	MaxPerPage int
	// Keyset selects how pagination=keyset is treated.
	Keyset KeysetMode
	// FreeTier makes scoped labels ordinary labels (no exclusivity within
	// a scope), as on GitLab Free.
	FreeTier bool
	// HookClient sends webhook deliveries; nil means a client with a 10 s
	// timeout.
	HookClient *http.Client
}

// Server is a simulated GitLab instance.
type Server struct {
	opts  Options
	token string

	clock   *simkit.Clock
	faults  simkit.Faults
	latency simkit.Latency

	mu       sync.Mutex
	ids      idCounters
	projects map[int64]*project
	byPath   map[string]*project // lower-case path
	users    map[int64]*user
	byLogin  map[string]*user // lower-case username
	window   rateWindow

	counters simkit.Counters

	hooks hookState

	baseMu  sync.RWMutex
	baseURL string
	httpSrv *httptest.Server
}

type idCounters struct {
	project, issue, note, label, user int64
}

// New returns a simulator to use as an http.Handler (in process).
func New(opts Options) *Server {
	s := &Server{
		opts:     opts,
		token:    opts.Token,
		projects: map[int64]*project{},
		byPath:   map[string]*project{},
		users:    map[int64]*user{},
		byLogin:  map[string]*user{},
		baseURL:  "http://gitlab.example.com",
	}
	if s.token == "" {
		s.token = DefaultToken
	}
	if s.opts.MaxPerPage <= 0 || s.opts.MaxPerPage > 100 {
		s.opts.MaxPerPage = 100
	}
	start := opts.Start
	if start.IsZero() {
		start = DefaultStart
	}
	var now func() time.Time
	if opts.Now != nil {
		now = func() time.Time { return opts.Now().UTC() }
	}
	s.clock = simkit.NewClock(start.UTC(), now)
	s.latency.Set(opts.Latency)
	s.hooks.init(opts.HookClient)
	s.mu.Lock()
	s.addUserLocked("pmsync-bot", "pmsync bot")
	s.addUserLocked("alice", "Alice Adams")
	s.addUserLocked("bob", "Bob Brown")
	for _, u := range opts.Users {
		s.addUserLocked(u, u)
	}
	for _, p := range opts.Projects {
		s.addProjectLocked(p)
	}
	s.mu.Unlock()
	return s
}

// Start returns a simulator listening on 127.0.0.1 on a free port.
func Start(opts Options) *Server {
	s := New(opts)
	s.httpSrv = httptest.NewServer(s)
	s.SetBaseURL(s.httpSrv.URL)
	return s
}

// URL is the instance URL ("http://127.0.0.1:PORT") of a started server,
// or the base URL used in web_url fields of an in-process one.
func (s *Server) URL() string {
	s.baseMu.RLock()
	defer s.baseMu.RUnlock()
	return s.baseURL
}

// SetBaseURL sets the instance URL used in web_url fields and payloads.
func (s *Server) SetBaseURL(u string) {
	s.baseMu.Lock()
	s.baseURL = strings.TrimRight(u, "/")
	s.baseMu.Unlock()
}

// Close stops a started server and waits for webhook deliveries in flight.
func (s *Server) Close() {
	s.hooks.close()
	if s.httpSrv != nil {
		s.httpSrv.Close()
	}
}

// Token returns the accepted access token.
func (s *Server) Token() string { return s.token }

// Now returns the simulator's current time.
func (s *Server) Now() time.Time { return s.clock.Now() }

// Advance moves the clock forward by d.
func (s *Server) Advance(d time.Duration) { s.clock.Advance(d) }

// SetLatency delays every later answer by d (0 turns latency off).
func (s *Server) SetLatency(d time.Duration) { s.latency.Set(d) }

// Requests returns how many API requests the simulator has received.
func (s *Server) Requests() int { return s.counters.Requests() }

// Writes returns how many write requests (POST, PUT, PATCH, DELETE) the
// simulator has received.
func (s *Server) Writes() int { return s.counters.Writes() }

// ResetCounters sets the request and write counters to zero.
func (s *Server) ResetCounters() {
	s.counters.Reset()
}

// ServeHTTP answers one API request: count, delay, authenticate, route,
// apply the rate limit and any injected fault, then handle it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.counters.Count(isWrite(r.Method))
	if !s.latency.Wait(r.Context()) {
		return
	}
	// The Date header tells the server's (simulated) time, as a real
	// server's tells its clock.
	w.Header().Set("Date", s.Now().Format(http.TimeFormat))
	if !s.authenticated(r) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "401 Unauthorized"})
		return
	}
	rt, ok := match(r)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "404 Not Found"})
		return
	}
	if !s.admit(w) {
		return
	}
	if f, ok := s.faults.Take(rt.op, nil); ok {
		s.serveFault(w, r, rt, f)
		return
	}
	rt.handler(s, w, r, rt.params)
}

func isWrite(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

func (s *Server) authenticated(r *http.Request) bool {
	if tok := r.Header.Get("Private-Token"); tok != "" {
		return tok == s.token
	}
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
		return strings.TrimPrefix(a, "Bearer ") == s.token
	}
	return false
}

// Inject queues a fault for the next matching requests.
func (s *Server) Inject(f conformance.Fault) { s.faults.Inject(f) }
