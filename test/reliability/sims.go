package reliability

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/conformance"
	"github.com/pmsync/pmsync/connectors/github"
	"github.com/pmsync/pmsync/connectors/github/githubfake"
	"github.com/pmsync/pmsync/connectors/gitlab"
	"github.com/pmsync/pmsync/connectors/gitlab/gitlabfake"
	"github.com/pmsync/pmsync/connectors/jira"
	"github.com/pmsync/pmsync/connectors/jira/jirafake"
	"github.com/pmsync/pmsync/sync/engine"
)

// The trackers of a simulated world: the platform on Jira Data Center and
// up to three customers, one on each simulator.
const (
	JaneCorp = "janecorp" // GitHub, repository janecorp/reliability
	Acme     = "acme"     // GitLab, project acme/ops
	Globex   = "globex"   // Jira Cloud, project GLX
)

// SimCustomers lists the simulated customers in the order worlds add them.
var SimCustomers = []string{JaneCorp, Acme, Globex}

// TokenOf is the API token of tracker id: a canary that must never appear
// in a log, an error, a metric or a request to another tracker.
func TokenOf(id string) string { return "TOKEN-CANARY-" + id + "-9b71c3" }

// Backend is what tests drive and count on a simulator.
type Backend interface {
	Inject(f conformance.Fault)
	Count() int
	Requests() int
	Writes() int
	SetLatency(d time.Duration)
}

// SimOptions configure StartSims.
type SimOptions struct {
	// Customers is how many customers (1..3) the world has; default 3.
	Customers int
	// Now is every simulator's clock (GitHub's is kept in step at each
	// request); nil means the wall clock.
	Now func() time.Time
	// Latency delays every simulator answer (real time).
	Latency time.Duration
	// SearchLag is how long the search indexes of GitHub and Jira Cloud
	// lag behind writes; JiraSearchLag, when set, overrides it for Jira.
	SearchLag, JiraSearchLag time.Duration
	// GitHubCreatesPerMinute is GitHub's secondary limit on content
	// creation (the simulator's and the connector's pacing); 0 turns both
	// off, as tests that are not about it want.
	GitHubCreatesPerMinute int
	// PageSize is the page size of listings (default: each simulator's).
	PageSize int
}

// Sims are the simulators of a world, each served over HTTP on 127.0.0.1.
type Sims struct {
	Opts     SimOptions
	IDs      []string // customer ids
	Trackers map[string]*SimTracker
}

// SimTracker is one simulator with what is needed to connect to it.
type SimTracker struct {
	ID      string
	Kind    string // jira-datacenter, jira-cloud, github, gitlab
	URL     string
	Backend Backend
	GitHub  *githubfake.Fake   // set for GitHub
	GitLab  *gitlabfake.Server // set for GitLab
	Jira    *jirafake.Server   // set for Jira
	project string
	now     func() time.Time
	opts    SimOptions
}

// StartSims starts the simulators; they stop at cleanup.
func StartSims(tb testing.TB, o SimOptions) *Sims {
	tb.Helper()
	if o.Customers <= 0 || o.Customers > len(SimCustomers) {
		o.Customers = len(SimCustomers)
	}
	s := &Sims{Opts: o, IDs: SimCustomers[:o.Customers], Trackers: map[string]*SimTracker{}}
	s.Trackers[engine.PlatformID] = startJira(tb, engine.PlatformID, jirafake.DataCenter, "PLAT", o)
	for _, id := range s.IDs {
		switch id {
		case JaneCorp:
			s.Trackers[id] = startGitHub(tb, id, o)
		case Acme:
			s.Trackers[id] = startGitLab(tb, id, o)
		case Globex:
			s.Trackers[id] = startJira(tb, id, jirafake.Cloud, "GLX", o)
		}
	}
	return s
}

func startJira(tb testing.TB, id string, flavor jirafake.Flavor, project string, o SimOptions) *SimTracker {
	fo := jirafake.Options{
		Flavor: flavor, Project: project, Token: TokenOf(id), Email: "bot@" + id + ".example",
		WebhookSecret: HookSecret, SearchLag: o.SearchLag, Latency: o.Latency, PageSize: o.PageSize, Now: o.Now,
	}
	if fo.Now == nil {
		fo.Now = time.Now
	}
	if o.JiraSearchLag != 0 {
		fo.SearchLag = o.JiraSearchLag
	}
	srv := jirafake.Start(fo)
	tb.Cleanup(srv.Close)
	return &SimTracker{ID: id, Kind: "jira-" + string(flavor), URL: srv.URL(), Backend: srv, Jira: srv, project: project, now: srv.Now, opts: o}
}

func startGitHub(tb testing.TB, id string, o SimOptions) *SimTracker {
	gho := githubfake.Options{
		Token: TokenOf(id), Repos: []string{"janecorp/reliability"}, SearchLag: o.SearchLag,
		Latency: o.Latency, SecondaryPerMinute: o.GitHubCreatesPerMinute, RateLimit: 1 << 30,
	}
	if gho.SecondaryPerMinute == 0 {
		gho.SecondaryPerMinute = -1
	}
	// The simulator follows the world's clock, as the connector and the
	// chaos transport in front of it do: a clock that caught up only when
	// a request reached the simulator lagged behind while faults kept
	// requests away, and stretched every Retry-After the connector read.
	gho.Now = o.Now
	f, err := githubfake.New(gho)
	if err != nil {
		tb.Fatalf("githubfake.New: %v", err)
	}
	srv := httptest.NewServer(f)
	tb.Cleanup(func() { srv.Close(); _ = f.Close() })
	return &SimTracker{ID: id, Kind: "github", URL: srv.URL + "/", Backend: f, GitHub: f, project: "janecorp/reliability", now: f.Now, opts: o}
}

func startGitLab(tb testing.TB, id string, o SimOptions) *SimTracker {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	srv := gitlabfake.Start(gitlabfake.Options{Token: TokenOf(id), Projects: []string{"acme/ops"}, Now: now, Latency: o.Latency, MaxPerPage: o.PageSize})
	tb.Cleanup(srv.Close)
	return &SimTracker{ID: id, Kind: "gitlab", URL: srv.URL(), Backend: srv, GitLab: srv, project: "acme/ops", now: srv.Now, opts: o}
}

// Project is the tracker's project, repository or project key.
func (t *SimTracker) Project() string { return t.project }

// Config is the connector configuration of the tracker with client hc
// (nil: a client with a 10 s timeout).
func (t *SimTracker) Config(hc *http.Client, logger *slog.Logger) connectors.Config {
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	cfg := connectors.Config{
		ID: t.ID, URL: t.URL, Project: t.Project(), Token: TokenOf(t.ID), WebhookSecret: HookSecret,
		HTTPClient: hc, Logger: logger, Now: t.now,
	}
	switch t.Kind {
	case "github":
		cfg.Kind = github.Kind
	case "gitlab":
		cfg.Kind = gitlab.Kind
	default:
		cfg.Kind = jira.Kind
		cfg.Flavor = strings.TrimPrefix(t.Kind, "jira-")
		cfg.User = "bot@" + t.ID + ".example"
	}
	return cfg
}

// Conn builds a connector on the tracker with client hc (nil: a plain
// client) and logger (nil: discard); it is closed at cleanup.
func (t *SimTracker) Conn(tb testing.TB, hc *http.Client, logger *slog.Logger) connectors.Connector {
	tb.Helper()
	c, err := t.NewConn(hc, logger)
	if err != nil {
		tb.Fatalf("connector for %s: %v", t.ID, err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// NewConn builds a connector on the tracker with client hc and logger.
func (t *SimTracker) NewConn(hc *http.Client, logger *slog.Logger) (connectors.Connector, error) {
	cfg := t.Config(hc, logger)
	switch t.Kind {
	case "github":
		cpm := float64(t.opts.GitHubCreatesPerMinute)
		if cpm <= 0 {
			cpm = 1e9
		}
		return github.New(cfg, github.Options{CreatesPerMinute: cpm})
	case "gitlab":
		return gitlab.New(cfg)
	}
	return jira.New(cfg)
}

// EngineOptions returns engine options for the world with the given
// connectors (by tracker id).
func (s *Sims) EngineOptions(conns map[string]connectors.Connector) engine.Options {
	o := engine.Options{
		Platform: engine.Tracker{
			Name: "Example Cloud", Conn: conns[engine.PlatformID], ActionItemLabel: ActionLabel,
			InternalURLs: []string{s.Trackers[engine.PlatformID].URL, "wiki.example.internal"},
			KeyPattern:   engine.KeyPattern("jira", "PLAT"), RequestsPerSecond: -1, PollInterval: -1,
		},
		MarkerKey:      []byte(MarkerKey),
		ResyncInterval: -1,
	}
	for _, id := range s.IDs {
		o.Customers = append(o.Customers, engine.Customer{
			ID: id, Name: strings.ToUpper(id[:1]) + id[1:],
			Tracker: engine.Tracker{Conn: conns[id], RequestsPerSecond: -1, PollInterval: -1},
			Share:   engine.Share{CommentPrefix: CommentPrefix},
		})
	}
	return o
}

// Snapshot is everything an observer reads from one tracker.
type Snapshot struct {
	Items    []connectors.Item
	Comments map[string][]connectors.Comment // by item key; only when asked
}

// Observe reads every item of tracker t through conn (a connector without
// faults), with comments when withComments. The items of a Jira Cloud
// site whose search lags are listed from the simulator and read one by one.
func (t *SimTracker) Observe(ctx context.Context, conn connectors.Connector, withComments bool) (*Snapshot, error) {
	snap := &Snapshot{Comments: map[string][]connectors.Comment{}}
	if t.Kind == "jira-cloud" && (t.opts.SearchLag > 0 || t.opts.JiraSearchLag > 0) {
		for _, k := range t.Jira.Keys() {
			it, err := conn.Get(ctx, k)
			if errors.Is(err, connectors.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("observe: get %s: %w", k, err)
			}
			snap.Items = append(snap.Items, *it)
		}
	} else {
		ch, err := conn.Changes(ctx, "")
		if err != nil {
			return nil, fmt.Errorf("observe: list items: %w", err)
		}
		snap.Items = dedupe(ch.Items)
	}
	if withComments {
		for _, it := range snap.Items {
			cs, err := conn.ListComments(ctx, it.Ref.Key)
			if err != nil {
				return nil, fmt.Errorf("observe: comments of %s: %w", it.Ref.Key, err)
			}
			snap.Comments[it.Ref.Key] = cs
		}
	}
	return snap, nil
}

// dedupe keeps the last copy of each item of a listing (listings may
// repeat an item that changed while being read).
func dedupe(items []connectors.Item) []connectors.Item {
	idx := map[string]int{}
	var out []connectors.Item
	for _, it := range items {
		if i, ok := idx[it.Ref.Key]; ok {
			out[i] = it
			continue
		}
		idx[it.Ref.Key] = len(out)
		out = append(out, it)
	}
	return out
}

// Duplicates lists the markers carried by more than one item of a
// snapshot, and comment markers repeated on one item.
func (s *Snapshot) Duplicates(tracker string) []string {
	var out []string
	byMarker := map[string][]string{}
	for _, it := range s.Items {
		if it.Marker != "" {
			byMarker[it.Marker] = append(byMarker[it.Marker], it.Ref.Key)
		}
	}
	for m, keys := range byMarker {
		if len(keys) > 1 {
			out = append(out, fmt.Sprintf("%s: marker %s on %d items %v", tracker, m, len(keys), keys))
		}
	}
	for key, cs := range s.Comments {
		seen := map[string]int{}
		for _, c := range cs {
			if c.Marker != "" {
				seen[c.Marker]++
			}
		}
		for m, n := range seen {
			if n > 1 {
				out = append(out, fmt.Sprintf("%s %s: comment marker %s on %d comments", tracker, key, m, n))
			}
		}
	}
	return out
}

// Text renders a snapshot for leak scans.
func (s *Snapshot) Text() string {
	var b strings.Builder
	for _, it := range s.Items {
		fmt.Fprintf(&b, "%s %q %q %v %s %s\n", it.Ref.Key, it.Title, it.Description, it.Labels, it.Assignee, it.Incident)
		for _, c := range s.Comments[it.Ref.Key] {
			fmt.Fprintf(&b, "  %s: %q\n", c.Author, c.Body)
		}
	}
	return b.String()
}

// Discard is a logger that drops everything.
var Discard = slog.New(slog.NewTextHandler(io.Discard, nil))
