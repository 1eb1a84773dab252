// Package github is pmsync's connector for GitHub Issues on github.com and
// GitHub Enterprise Server, built on go-github (imported as gh).
//
// Canonical fields live where GitHub has room for them: status in the
// issue state and state_reason plus an in-progress label; priority, kind,
// incident and owner in labels named by a connectors.LabelScheme; the due
// date in a "Due: YYYY-MM-DD" line of the body (a milestone's due_on is
// read when the body has none); the pmsync marker in an HTML comment at
// the end of the body. Pull requests are never items.
//
// Changes polls the repository's issue list sorted by update time with a
// conditional request, so that a poll that finds nothing costs one request
// answered 304, which GitHub does not charge. FindByMarker reads the list
// endpoints, never the search index, which lags behind writes. Creating
// issues and comments is paced so that GitHub never sees more than its
// secondary limits allow (80 a minute, 500 an hour) in any window. Update
// works on the issue the connector saw a moment ago when there is one, so
// that the engine's Get and one PATCH are the whole cost of a field
// change. The connector never retries a write: it classifies failures and
// leaves retries to the engine.
package github

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v62/github"

	"github.com/pmsync/pmsync/connectors"
)

// Kind is the tracker kind this package registers.
const Kind = "github"

// DefaultURL is the API base used when connectors.Config.URL is empty.
const DefaultURL = "https://api.github.com/"

// GitHub.com's secondary limits on content-creating requests (see
// connectors.GitHubCreatesPerMinute).
const (
	DefaultCreatesPerMinute = connectors.GitHubCreatesPerMinute
	DefaultCreatesPerHour   = connectors.GitHubCreatesPerHour
)

// Options tune a Connector beyond connectors.Config.
type Options struct {
	// CreatesPerMinute caps content-creating requests (new issues and new
	// comments) in any 60 s window: a whole number, 0 means
	// DefaultCreatesPerMinute. Tests raise it.
	CreatesPerMinute float64
	// CreatesPerHour caps them in any hour. 0 means DefaultCreatesPerHour,
	// or, when CreatesPerMinute is raised above its default, the same
	// multiple of DefaultCreatesPerHour (so that raising the minute cap in
	// a test does not leave the hour cap in force).
	CreatesPerHour int
	// Clock measures and waits for the creation caps; nil is the wall
	// clock. connectors.Config.Now is not used for this: it cannot wait.
	Clock Clock
	// IssueCacheAge is how long an issue just read or written stands in
	// for the read Update would make (see Update). 0 means
	// DefaultIssueCacheAge; negative turns the cache off.
	IssueCacheAge time.Duration
	// PageSize is the per_page of list requests (1..100, default 100).
	PageSize int
}

// Connector is one GitHub repository. It is safe for concurrent use.
type Connector struct {
	id          string
	owner, repo string
	client      *gh.Client
	httpc       *http.Client
	labels      connectors.LabelScheme
	secret      []byte
	now         func() time.Time
	log         *slog.Logger
	overlap     time.Duration
	pace        *pacer
	cache       *issueCache
	perPage     int
	findLimit   int // issues FindByMarker reads without a hint

	rateMu  sync.Mutex
	rate    connectors.RateState
	untimed int // rate limits in a row that named no time (see secondaryBackoff)

	labelMu sync.Mutex
	known   map[string]bool // label names (lower case) known to exist; nil until listed
}

var _ connectors.Connector = (*Connector)(nil)

// Factory builds a Connector with the creation limits of cfg and default
// Options otherwise; it is the registry entry.
func Factory(cfg connectors.Config) (connectors.Connector, error) {
	return New(cfg, Options{CreatesPerMinute: float64(cfg.GitHubCreatesPerMinute), CreatesPerHour: cfg.GitHubCreatesPerHour})
}

// New checks cfg and builds a Connector.
func New(cfg connectors.Config, opts Options) (*Connector, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("github: tracker %q: "+format, append([]any{cfg.ID}, a...)...)
	}
	owner, repo, ok := strings.Cut(cfg.Project, "/")
	if !ok || owner == "" || repo == "" || strings.ContainsAny(repo, "/# ") || strings.ContainsAny(owner, "# ") {
		return nil, fail("project %q is not owner/repo", cfg.Project)
	}
	if cfg.Token == "" {
		return nil, fail("token is empty")
	}
	perMinute, perHour, err := createCaps(opts)
	if err != nil {
		return nil, fail("%v", err)
	}
	if opts.Clock == nil {
		opts.Clock = wallClock{}
	}
	if opts.IssueCacheAge == 0 {
		opts.IssueCacheAge = DefaultIssueCacheAge
	}
	if opts.PageSize == 0 {
		opts.PageSize = 100
	}
	if opts.PageSize < 1 || opts.PageSize > 100 {
		return nil, fail("page size %d is not within 1..100", opts.PageSize)
	}
	c := &Connector{
		id: cfg.ID, owner: owner, repo: repo,
		labels:  cfg.Labels.Merge(connectors.DefaultGitHubLabels()),
		secret:  []byte(cfg.WebhookSecret),
		now:     cfg.Clock(),
		log:     cfg.Log().With("tracker", cfg.ID, "kind", Kind),
		overlap: cfg.OverlapOrDefault(),
		pace: newPacer(opts.Clock, paceMargin,
			paceLimit{n: perMinute, window: time.Minute}, paceLimit{n: perHour, window: time.Hour}),
		perPage:   opts.PageSize,
		findLimit: findUnhintedLimit,
		rate:      connectors.RateState{Remaining: -1},
	}
	apiURL := DefaultURL
	if cfg.URL != "" {
		apiURL = cfg.URL
	}
	u, err := url.Parse(apiURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fail("url %q is not an http(s) URL", cfg.URL)
	}
	base, err := cfg.HTTP()
	if err != nil {
		return nil, err
	}
	// go-github sets Authorization in a transport of its own, so a
	// redirect to another host would carry the token: SameHostRedirects.
	c.httpc = &http.Client{Transport: &observer{base: base.Transport, c: c}, Timeout: base.Timeout,
		CheckRedirect: connectors.SameHostRedirects(u), Jar: base.Jar}
	client := gh.NewClient(c.httpc).WithAuthToken(cfg.Token)
	client.UserAgent = "pmsync"
	if cfg.URL != "" {
		if client, err = client.WithEnterpriseURLs(cfg.URL, cfg.URL); err != nil {
			return nil, fail("url %q: %v", cfg.URL, err)
		}
	}
	c.client = client
	c.cache = newIssueCache(c.now, opts.IssueCacheAge, issueCacheSize)
	return c, nil
}

// createCaps checks and defaults the content-creation caps.
func createCaps(o Options) (perMinute, perHour int, err error) {
	m := o.CreatesPerMinute
	switch {
	case m == 0:
		m = DefaultCreatesPerMinute
	case m < 1 || m != math.Trunc(m) || m > math.MaxInt32:
		return 0, 0, fmt.Errorf("creates per minute %v is not a whole number in 1..%d", m, math.MaxInt32)
	}
	perMinute = int(m)
	switch {
	case o.CreatesPerHour < 0:
		return 0, 0, fmt.Errorf("creates per hour %d is negative", o.CreatesPerHour)
	case o.CreatesPerHour > 0:
		perHour = o.CreatesPerHour
	case perMinute > DefaultCreatesPerMinute:
		perHour = int(int64(DefaultCreatesPerHour) * int64(perMinute) / DefaultCreatesPerMinute)
	default:
		perHour = DefaultCreatesPerHour
	}
	return perMinute, perHour, nil
}

// Kind returns "github".
func (c *Connector) Kind() string { return Kind }

// Close releases idle connections.
func (c *Connector) Close() error {
	c.httpc.CloseIdleConnections()
	return nil
}

// ref says where this connector's items live.
func (c *Connector) ref() repoRef { return repoRef{tracker: c.id, owner: c.owner, repo: c.repo} }

func (c *Connector) full() string { return c.owner + "/" + c.repo }

// number reads a key: "owner/repo#12" (this repository only), "#12" or "12".
func (c *Connector) number(op, key string) (int, error) {
	rest := key
	if full, num, ok := strings.Cut(key, "#"); ok {
		if full != "" && !strings.EqualFold(full, c.full()) {
			return 0, connectors.Errorf(connectors.CodeInvalid, op, fmt.Errorf("key %q belongs to another repository than %s", key, c.full()))
		}
		rest = num
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 1 {
		return 0, connectors.Errorf(connectors.CodeInvalid, op, fmt.Errorf("key %q is not owner/repo#number", key))
	}
	return n, nil
}

// noPreflight is go-github's own context key (the unexported
// bypassRateLimitCheck, the zero value of the key type it exports
// SleepUntilPrimaryRateLimitResetWhenRateLimited in). With it, go-github
// does not refuse requests on its own after a rate-limit answer: that
// refusal runs on the wall clock, while pmsync decides when to send again
// from RateLimit().BlockedUntil on the connector's clock, which tests move.
// TestPrimaryRateLimit proves the key still works.
var noPreflight = reflect.Zero(reflect.TypeOf(gh.SleepUntilPrimaryRateLimitResetWhenRateLimited)).Interface()

func (c *Connector) ctx(ctx context.Context) context.Context {
	return context.WithValue(ctx, noPreflight, true)
}
