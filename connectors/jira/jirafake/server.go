// Package jirafake is an HTTP server that behaves like Jira Cloud or Jira
// Data Center for the part of the REST API v2 that pmsync uses: issues
// (create 201, edit 204 with the edit screen's rules, get with a fields
// filter and entity properties, Cloud's version 3 bulk fetch), workflow
// transitions with screens and a
// required resolution, comments with visibility, remote links, priorities,
// users with a time zone (/myself), JQL search and webhooks.
//
// The two flavours differ where the real products differ: Cloud answers the
// removed /rest/api/2/search with 410 Gone and serves /search/jql with
// nextPageToken/isLast, whose index lags writes by Options.SearchLag
// (reconcileIssues gives read-after-write for the ids it names); Data Center
// serves /search with startAt/maxResults/total and no lag. Cloud names users
// by accountId and authenticates with basic auth (e-mail + API token); Data
// Center names them by name and takes a personal access token as Bearer.
// Cloud webhooks are signed (X-Hub-Signature: sha256=…) and carry
// X-Atlassian-Webhook-Identifier; Data Center ones carry the secret in the
// URL query.
//
// JQL is a subset: clauses joined by AND on project, labels, key, created
// and updated (dates minute-grained and read in the API user's time zone),
// and ORDER BY updated, created, key. Anything else is a 400 as Jira gives
// for a query it cannot parse.
//
// Time comes from a simulated clock that moves when Advance is called, plus
// one millisecond for every committed write so that timestamps strictly
// increase. Faults (conformance.Fault), latency and a per-issue write limit
// (429 with RateLimit-Reason: jira-per-issue-on-write) make the connector's
// error paths testable. The server is safe for concurrent use.
package jirafake

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // user time zones must resolve on hosts without zoneinfo

	"github.com/pmsync/pmsync/connectors/conformance"
	"github.com/pmsync/pmsync/connectors/internal/simkit"
)

// Flavor is the Jira product the simulator behaves like.
type Flavor string

// The two flavours.
const (
	Cloud      Flavor = "cloud"
	DataCenter Flavor = "datacenter"
)

// Default credentials and clock.
const (
	DefaultEmail = "pmsync-bot@example.com"
	DefaultToken = "jira-fake-token"
)

// DefaultStart is the simulated clock's start when Options.Start is zero.
var DefaultStart = time.Date(2026, time.March, 2, 8, 59, 30, 0, time.UTC)

// User is a person known to the simulator.
type User struct {
	AccountID   string // Cloud identity
	Name        string // Data Center login
	DisplayName string
	Email       string
	TimeZone    string // IANA zone of the user's profile
}

// Options configures a simulator. The zero value is a Cloud site with
// project PLAT, the default workflow and an API user in Australia/Brisbane.
type Options struct {
	Flavor Flavor
	// Project is the project key (default "PLAT"); its id is 10000.
	Project string
	// Me is the API user; its TimeZone is how JQL dates are read.
	// HideTimeZone leaves timeZone out of /myself (some Data Center users
	// have none set and inherit the server's).
	Me           User
	HideTimeZone bool
	// Users are further people (assignees, comment authors); alice and bob
	// exist when it is nil.
	Users []User
	// Email and Token are the accepted credentials (Cloud: basic auth with
	// Email and Token; Data Center: Bearer Token).
	Email, Token string
	// Workflow is the project's workflow (default DefaultWorkflow()).
	Workflow *Workflow
	// Priorities from highest to lowest (default Highest..Lowest);
	// DefaultPriority is given to new issues (default "Medium").
	Priorities      []string
	DefaultPriority string
	// Resolutions known to the site (default Done, Fixed, Won't Do,
	// Won't Fix, Duplicate, Cannot Reproduce).
	Resolutions []string
	// SearchLag is how long (simulated clock) Cloud's search index lags
	// writes. Data Center ignores it.
	SearchLag time.Duration
	// PageSize caps maxResults of searches and comment lists (default 50).
	PageSize int
	// EmbeddedComments caps how many comments an issue's comment field
	// embeds (0: all of them); its total still counts every comment.
	EmbeddedComments int
	// PerIssueWriteLimit is how many writes one issue takes per simulated
	// second before 429 jira-per-issue-on-write; 0 means no limit.
	PerIssueWriteLimit int
	// Latency delays every answer (real time), honouring the request context.
	Latency time.Duration
	// Start is the simulated clock's start; Now, when set, replaces the
	// simulated clock (the demo uses time.Now) and Advance adds to it.
	Start time.Time
	Now   func() time.Time
	// WebhookURL receives deliveries (nothing is sent when empty);
	// WebhookSecret signs them (Cloud) or is added as ?secret= (DC).
	WebhookURL    string
	WebhookSecret string
	// WebhookClient posts deliveries (default: a client with a 10 s timeout).
	WebhookClient *http.Client
}

// Server is a simulated Jira site. Use New for an http.Handler or Start for
// a listener on 127.0.0.1.
type Server struct {
	opts Options
	loc  *time.Location

	clock   *simkit.Clock
	faults  simkit.Faults
	latency simkit.Latency

	mu        sync.Mutex
	issues    map[int]*issue
	byKey     map[string]int
	nextNum   int
	nextID    int
	nextCmt   int
	nextLink  int
	users     map[string]User // by handle: accountId (Cloud) or name (DC)
	writeLog  map[int][]time.Time
	jqls      []string
	outbox    []*Delivery
	delivered []*Delivery

	counters simkit.Counters

	flushMu  sync.Mutex
	ts       *httptest.Server
	stop     context.CancelFunc
	wake     chan struct{}
	deliverW sync.WaitGroup
}

// New returns a simulator with opts; it panics on an invalid workflow or
// time zone, which are programming errors in a test or the demo.
func New(opts Options) *Server {
	opts = withDefaults(opts)
	loc, err := time.LoadLocation(opts.Me.TimeZone)
	if err != nil {
		panic("jirafake: user time zone: " + err.Error())
	}
	if err := opts.Workflow.validate(); err != nil {
		panic("jirafake: " + err.Error())
	}
	s := &Server{
		opts:     opts,
		loc:      loc,
		clock:    simkit.NewClock(opts.Start, opts.Now),
		issues:   map[int]*issue{},
		byKey:    map[string]int{},
		nextNum:  1,
		nextID:   10001,
		nextCmt:  10100,
		nextLink: 10000,
		users:    map[string]User{},
		writeLog: map[int][]time.Time{},
		wake:     make(chan struct{}, 1),
	}
	for _, u := range append([]User{opts.Me}, opts.Users...) {
		s.users[s.handle(u)] = u
	}
	s.latency.Set(opts.Latency)
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	if opts.WebhookURL != "" {
		s.deliverW.Add(1)
		go s.deliverLoop(ctx)
	}
	return s
}

func withDefaults(o Options) Options {
	if o.Flavor == "" {
		o.Flavor = Cloud
	}
	if o.Project == "" {
		o.Project = "PLAT"
	}
	if o.Me.DisplayName == "" {
		o.Me = User{AccountID: "557058:0d6e1b3c-pmsync-bot", Name: "pmsync-bot", DisplayName: "pmsync bot",
			Email: DefaultEmail, TimeZone: "Australia/Brisbane"}
	}
	if o.Me.TimeZone == "" {
		o.Me.TimeZone = "UTC"
	}
	if o.Users == nil {
		o.Users = []User{
			{AccountID: "712020:5f1e-alice", Name: "alice", DisplayName: "Alice Ng", Email: "alice@example.com", TimeZone: "Europe/Berlin"},
			{AccountID: "712020:9c3a-bob", Name: "bob", DisplayName: "Bob Okafor", Email: "bob@example.com", TimeZone: "America/Los_Angeles"},
		}
	}
	if o.Email == "" {
		o.Email = DefaultEmail
	}
	if o.Token == "" {
		o.Token = DefaultToken
	}
	if o.Workflow == nil {
		o.Workflow = DefaultWorkflow()
	}
	if len(o.Priorities) == 0 {
		o.Priorities = []string{"Highest", "High", "Medium", "Low", "Lowest"}
	}
	if o.DefaultPriority == "" {
		o.DefaultPriority = "Medium"
	}
	if len(o.Resolutions) == 0 {
		o.Resolutions = []string{"Done", "Fixed", "Won't Do", "Won't Fix", "Duplicate", "Cannot Reproduce"}
	}
	if o.PageSize <= 0 {
		o.PageSize = 50
	}
	if o.Start.IsZero() {
		o.Start = DefaultStart
	}
	if o.WebhookClient == nil {
		o.WebhookClient = &http.Client{Timeout: 10 * time.Second}
	}
	return o
}

// Start returns a simulator listening on 127.0.0.1.
func Start(opts Options) *Server {
	s := New(opts)
	s.ts = httptest.NewServer(s)
	return s
}

// URL is the site URL of a started server.
func (s *Server) URL() string {
	if s.ts == nil {
		return ""
	}
	return s.ts.URL
}

// Close stops the listener and the webhook deliverer.
func (s *Server) Close() {
	s.stop()
	s.deliverW.Wait()
	if s.ts != nil {
		s.ts.Close()
	}
}

// Flavor returns the simulated product.
func (s *Server) Flavor() Flavor { return s.opts.Flavor }

// Project returns the project key.
func (s *Server) Project() string { return s.opts.Project }

// Credentials returns the accepted user (Cloud e-mail) and token.
func (s *Server) Credentials() (user, token string) { return s.opts.Email, s.opts.Token }

// Me returns the API user.
func (s *Server) Me() User { return s.opts.Me }

// Users returns the handles (accountId on Cloud, name on DC) of the people
// other than the API user.
func (s *Server) Users() []string {
	out := make([]string, 0, len(s.opts.Users))
	for _, u := range s.opts.Users {
		out = append(out, s.handle(u))
	}
	return out
}

func (s *Server) handle(u User) string {
	if s.opts.Flavor == Cloud {
		return u.AccountID
	}
	return u.Name
}

// Now returns the simulated time.
func (s *Server) Now() time.Time { return s.clock.Now() }

// Advance moves the simulated clock forward.
func (s *Server) Advance(d time.Duration) { s.clock.Advance(d) }

// SetLatency delays every answer by d (0 turns latency off).
func (s *Server) SetLatency(d time.Duration) { s.latency.Set(d) }

// SetSearchLag changes Cloud's index lag.
func (s *Server) SetSearchLag(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.SearchLag = d
}

// Requests returns how many API requests the simulator has answered.
func (s *Server) Requests() int { return s.counters.Requests() }

// Writes returns how many write requests (creates, edits, transitions,
// comments, properties, deletes) it has answered. Searches sent as POST
// are reads and not counted.
func (s *Server) Writes() int { return s.counters.Writes() }

// JQLs returns every JQL query received, oldest first.
func (s *Server) JQLs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.jqls...)
}

// Inject queues a fault for the next matching requests.
func (s *Server) Inject(f conformance.Fault) { s.faults.Inject(f) }

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// jiraError answers Jira's error shape.
func jiraError(w http.ResponseWriter, status int, messages []string, fields map[string]string) {
	if messages == nil {
		messages = []string{}
	}
	if fields == nil {
		fields = map[string]string{}
	}
	writeJSON(w, status, map[string]any{"errorMessages": messages, "errors": fields})
}

func baseURL(r *http.Request) string {
	return "http://" + r.Host
}

func isSearchPath(p string) bool {
	return strings.HasSuffix(p, "/search") || strings.HasSuffix(p, "/search/jql")
}
