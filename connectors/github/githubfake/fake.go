// Package githubfake is an HTTP server that speaks the part of GitHub's REST
// API (version 2022-11-28) that pmsync uses, faithfully enough that the real
// go-github client runs against it: issues and pull requests in one list,
// comments (per issue and repository-wide), labels, milestones with due
// dates, Link-header pagination, ETags with 304 answers that cost no budget,
// `since` filtering at second granularity, a primary rate-limit budget and a
// secondary limit on content creation (each answered in the 403 or the 429
// form), a search endpoint whose index lags behind writes, latency, injected
// faults, a clock that tests advance, and signed webhook deliveries.
//
// Use it in process with httptest (a *Fake is an http.Handler) or
// standalone through Server. It is safe for concurrent use.
package githubfake

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pmsync/pmsync/connectors/conformance"
	"github.com/pmsync/pmsync/connectors/internal/simkit"
)

// Options configures a Fake. The zero value of every field but Token has a
// GitHub-like default.
type Options struct {
	// Token is the only credential accepted, as "Bearer TOKEN" or
	// "token TOKEN". Required.
	Token string
	// Login is the user the token belongs to (default "pmsync-bot").
	Login string
	// Repos are created empty at start ("owner/name").
	Repos []string
	// RateLimit is the primary budget per hour (default 5000).
	RateLimit int
	// RateLimitStatus answers an exhausted primary budget: 403 (default,
	// like most GitHub endpoints) or 429.
	RateLimitStatus int
	// SecondaryPerMinute caps content-creating requests (create issue,
	// create comment) per rolling minute (default 80). Negative disables
	// the content-creation caps, this one and SecondaryPerHour.
	SecondaryPerMinute int
	// SecondaryPerHour caps content-creating requests per rolling hour
	// (default 500, as GitHub documents; negative disables).
	SecondaryPerHour int
	// SecondaryStatus answers the secondary limit: 403 (default) or 429.
	SecondaryStatus int
	// SearchPerMinute is the search budget (default 30).
	SearchPerMinute int
	// SearchLag is how long a write takes to reach the search index.
	SearchLag time.Duration
	// Latency delays every answer.
	Latency time.Duration
	// Start freezes the clock at this instant; it then moves only through
	// Advance. The zero value follows the wall clock (plus any Advance).
	Start time.Time
	// Now, when set, is the clock the fake follows (plus any Advance)
	// instead of Start or the wall clock: a test clock shared with the
	// client.
	Now func() time.Time
	// Assignable lists the logins that can be assigned; nil means anyone.
	// Like GitHub, other logins are dropped silently.
	Assignable []string
	// WebhookURL receives signed deliveries of issues and issue_comment
	// events; WebhookSecret signs them. Both can be set later.
	WebhookURL    string
	WebhookSecret string
	// WebhookDuplicates sends every delivery twice with the same GUID.
	WebhookDuplicates bool
}

// Fake is the simulated GitHub. Create it with New.
type Fake struct {
	opts    Options
	clock   *simkit.Clock
	latency simkit.Latency
	faults  simkit.Faults

	mu     sync.Mutex
	st     *state
	budget budgets
	stats  Stats
	base   string // public base URL seen last ("http://host[/api/v3]/")
	reqSeq int

	hooks *hookQueue
}

// Stats counts what the fake has answered.
type Stats struct {
	Requests         int // every request received
	Writes           int // POST, PUT, PATCH, DELETE requests received
	NotModified      int // 304 answers
	RateLimited      int // primary-limit refusals
	SecondaryLimited int // secondary-limit refusals, per minute or per hour (content-creation violations)
	SearchRequests   int
	ContentCreates   int // issues and comments created
	Faults           int // injected faults served
}

// New builds a Fake. It fails when the options are unusable.
func New(o Options) (*Fake, error) {
	if o.Token == "" {
		return nil, errors.New("githubfake: Options.Token is required")
	}
	if o.Login == "" {
		o.Login = "pmsync-bot"
	}
	if o.RateLimit <= 0 {
		o.RateLimit = 5000
	}
	if o.RateLimitStatus == 0 {
		o.RateLimitStatus = http.StatusForbidden
	}
	if o.SecondaryPerMinute == 0 {
		o.SecondaryPerMinute = 80
	}
	if o.SecondaryPerHour == 0 {
		o.SecondaryPerHour = 500
	}
	if o.SecondaryPerMinute < 0 {
		o.SecondaryPerHour = -1
	}
	if o.SecondaryStatus == 0 {
		o.SecondaryStatus = http.StatusForbidden
	}
	if o.SearchPerMinute <= 0 {
		o.SearchPerMinute = 30
	}
	for _, s := range []int{o.RateLimitStatus, o.SecondaryStatus} {
		if s != http.StatusForbidden && s != http.StatusTooManyRequests {
			return nil, fmt.Errorf("githubfake: limit status %d: want 403 or 429", s)
		}
	}
	f := &Fake{opts: o, clock: newClock(o.Start, o.Now), st: newState(), base: "http://githubfake.invalid/"}
	f.latency.Set(o.Latency)
	for _, full := range o.Repos {
		if _, err := f.CreateRepo(full); err != nil {
			return nil, err
		}
	}
	f.hooks = newHookQueue(o.WebhookURL, o.WebhookSecret, o.WebhookDuplicates)
	return f, nil
}

// Close stops webhook delivery. The Fake still answers requests.
func (f *Fake) Close() error {
	f.hooks.close()
	return nil
}

// Now is the fake's clock.
func (f *Fake) Now() time.Time { return f.clock.Now() }

// Advance moves the clock forward by d.
func (f *Fake) Advance(d time.Duration) {
	if d > 0 {
		f.clock.Advance(d)
	}
}

// SetLatency changes the delay of every answer.
func (f *Fake) SetLatency(d time.Duration) { f.latency.Set(d) }

// Stats returns the counters.
func (f *Fake) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

// Requests returns how many requests the fake has received.
func (f *Fake) Requests() int { return f.Stats().Requests }

// Writes returns how many write requests the fake has received.
func (f *Fake) Writes() int { return f.Stats().Writes }

// Inject queues a fault for the next matching requests.
func (f *Fake) Inject(ft conformance.Fault) {
	f.faults.Inject(ft)
}

// Server runs a Fake on a loopback TCP port.
type Server struct {
	*Fake
	// Addr is the listen address; "" means 127.0.0.1 on a free port.
	Addr string

	ln  net.Listener
	srv *http.Server
}

// NewServer builds a Fake wrapped in a Server that is not yet started.
func NewServer(o Options) (*Server, error) {
	f, err := New(o)
	if err != nil {
		return nil, err
	}
	return &Server{Fake: f}, nil
}

// Start listens and serves in the background.
func (s *Server) Start() error {
	addr := s.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("githubfake: listen on %s: %w", addr, err)
	}
	s.ln = ln
	s.srv = &http.Server{Handler: s.Fake, ReadHeaderTimeout: 10 * time.Second}
	s.Fake.mu.Lock()
	s.Fake.base = s.URL()
	s.Fake.mu.Unlock()
	go func() { _ = s.srv.Serve(ln) }()
	return nil
}

// URL is the API base URL to give a client, with a trailing slash.
func (s *Server) URL() string {
	if s.ln == nil {
		return ""
	}
	return "http://" + s.ln.Addr().String() + "/"
}

// Close stops the listener, open connections and webhook delivery.
func (s *Server) Close() error {
	var err error
	if s.srv != nil {
		err = s.srv.Close()
	}
	s.Fake.Close()
	return err
}

// ServeHTTP answers one API request.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	write := r.Method != http.MethodGet && r.Method != http.MethodHead
	f.mu.Lock()
	f.stats.Requests++
	if write {
		f.stats.Writes++
	}
	f.mu.Unlock()

	if !f.latency.Wait(r.Context()) {
		return
	}
	prefix, path := splitPrefix(r.URL.EscapedPath())
	if !f.authorized(r) {
		f.finish(w, r, prefix, errorReply(http.StatusUnauthorized, "Bad credentials", docRoot))
		return
	}
	rt := parseRoute(r.Method, path)
	if ft, ok := f.takeFault(rt.op, false); ok {
		f.serveFault(w, r, prefix, ft)
		return
	}
	f.mu.Lock()
	f.base = baseURL(r, prefix)
	rep, counted := f.admit(rt)
	if rep == nil {
		rep = f.dispatch(r, rt)
	}
	// The reply points into the model (issues, milestones, labels); encode
	// it while no one else can change them.
	rep = rep.encode()
	f.mu.Unlock()

	// A fault "after commit" lets the write happen and loses the answer.
	if ft, ok := f.takeFault(rt.op, true); ok {
		f.serveFault(w, r, prefix, ft)
		return
	}
	f.finishCounted(w, r, prefix, rep, counted)
}

func (f *Fake) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	for _, scheme := range []string{"Bearer ", "bearer ", "token ", "Token "} {
		if tok, ok := strings.CutPrefix(h, scheme); ok {
			return constantTimeEqual(tok, f.opts.Token)
		}
	}
	return false
}

// splitPrefix strips the GitHub Enterprise "/api/v3" prefix.
func splitPrefix(p string) (prefix, rest string) {
	if rest, ok := strings.CutPrefix(p, "/api/v3"); ok && (rest == "" || rest[0] == '/') {
		if rest == "" {
			rest = "/"
		}
		return "/api/v3", rest
	}
	return "", p
}

func baseURL(r *http.Request, prefix string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + prefix + "/"
}
