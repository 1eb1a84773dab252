// Package gitlab is pmsync's GitLab Issues connector, built on
// gitlab.com/gitlab-org/api/client-go (the maintained continuation of
// github.com/xanzy/go-gitlab), imported as gl.
//
// Mapping (all names configurable through connectors.LabelScheme, defaults
// from connectors.DefaultGitLabLabels):
//
//   - state opened + no status label → open; opened + `status::in-progress`
//     → in_progress; closed → done; closed + `status::wont-do` → wont_do.
//     GitLab has no close reason, so "won't do" is the wont-do label: the
//     in-progress label with its last segment replaced by "wont-do" (see
//     WontDoLabel). As both are in the same scope, GitLab Premium keeps at
//     most one of them on an issue.
//   - priority `priority::0`..`priority::4`, kind `type::prevent`, incident
//     `incident::ID`, owner `owner::customer`; other labels stay labels.
//   - due date is GitLab's native due_date; assignee is the first
//     assignee's username.
//   - notes are comments; system notes are never comments; internal notes
//     and every note on a confidential issue are Restricted.
//
// Request cost: Update plans its PUT from the issue of an answer at most
// 10 s old when there is one (the engine's Get just before), and returns
// the PUT's answer, so a field change is 1 GET + 1 PUT (see Update for the
// read-modify-write window this widens). Changes carries in its cursor
// the issues it returned within the poll overlap and does not return them
// again until their updated_at moves, so an idle poll is 1 request that
// returns nothing. Items state user_notes_count as CommentCount.
//
// Keys are "group/project#iid". The client library's own retries (it
// retries POST and PUT on 429 and 5xx, which duplicates issues when a
// proxy loses the answer to a committed create) and its client-side rate
// limiter are switched off: the engine retries, after FindByMarker.
package gitlab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/pmsync/pmsync/connectors"
)

// Kind is the tracker kind this package registers.
const Kind = "gitlab"

// DefaultURL is the instance used when connectors.Config.URL is empty.
const DefaultURL = "https://gitlab.com"

// perPage is the page size asked for; GitLab caps it at 100.
const perPage = 100

// maxPages bounds one listing, so a misbehaving server cannot loop us.
const maxPages = 10_000

// Client is a connector for the issues of one GitLab project. It is safe
// for concurrent use.
type Client struct {
	id      string
	project string // as configured: "group/project" or a numeric id
	api     *gl.Client
	http    *http.Client
	labels  scheme
	overlap time.Duration
	now     func() time.Time
	log     *slog.Logger
	secret  []byte

	pathMu sync.Mutex
	path   string // "group/project", resolved once for numeric ids

	rate rateState

	usersMu sync.Mutex
	users   map[string]int64 // lower-case username → id

	confMu       sync.Mutex
	confidential map[int64]bool // iid → last seen confidential flag

	issues *issueCache // raw issues of recent answers, for Update

	noKeyset atomic.Bool // the server refused keyset pagination once
}

var _ connectors.Connector = (*Client)(nil)

// New builds a GitLab connector from cfg. It makes no request: a numeric
// project id is resolved to its path on first use.
func New(cfg connectors.Config) (connectors.Connector, error) {
	return newClient(cfg)
}

var projectRE = regexp.MustCompile(`^([0-9]+|[A-Za-z0-9_.][A-Za-z0-9_.-]*(/[A-Za-z0-9_.][A-Za-z0-9_.-]*)+)$`)

func newClient(cfg connectors.Config) (*Client, error) {
	where := fmt.Sprintf("gitlab: tracker %q", cfg.ID)
	if cfg.Token == "" {
		return nil, fmt.Errorf("%s: token is empty", where)
	}
	if !projectRE.MatchString(cfg.Project) {
		return nil, fmt.Errorf("%s: project %q is neither group/project nor a numeric id", where, cfg.Project)
	}
	base, err := instanceURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	ls, err := newScheme(cfg.Labels.Merge(connectors.DefaultGitLabLabels()))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	c := &Client{
		id: cfg.ID, project: cfg.Project, labels: ls, overlap: cfg.OverlapOrDefault(),
		now: cfg.Clock(), log: cfg.Log().With("tracker", cfg.ID, "kind", Kind),
		secret: []byte(cfg.WebhookSecret), users: map[string]int64{}, confidential: map[int64]bool{},
		issues: newIssueCache(issueCacheMaxAge),
	}
	if !isNumeric(cfg.Project) {
		c.path = cfg.Project
	}
	hc, err := cfg.HTTP()
	if err != nil {
		return nil, err
	}
	c.http = c.wrapHTTP(hc, base)
	c.api, err = gl.NewClient(cfg.Token,
		gl.WithBaseURL(base.String()),
		gl.WithHTTPClient(c.http),
		// Never let the library retry: it would re-send POST and PUT on
		// 429 and 5xx and create duplicates. The engine retries.
		gl.WithoutRetries(),
		gl.WithCustomRetryMax(0),
		// No client-side limiter built from the first RateLimit-Limit
		// header: waiting is the engine's job, driven by RateLimit().
		gl.WithCustomLimiter(noLimit{}),
		gl.WithURLWarningLogger(c.log),
		gl.WithUserAgent("pmsync"),
	)
	if err != nil {
		return nil, fmt.Errorf("%s: building client: %w", where, err)
	}
	return c, nil
}

// instanceURL parses the configured instance URL ("" = gitlab.com),
// dropping a trailing /api/v4 that client-go adds itself.
func instanceURL(raw string) (*url.URL, error) {
	if raw == "" {
		raw = DefaultURL
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("url %q is not an http(s) instance URL", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("url %q must not carry credentials, a query or a fragment", u.Redacted())
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/api/v4")
	return u, nil
}

func isNumeric(s string) bool {
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}

// noLimit is a gl.RateLimiter that never waits.
type noLimit struct{}

func (noLimit) Wait(ctx context.Context) error { return ctx.Err() }

// Kind returns "gitlab".
func (c *Client) Kind() string { return Kind }

// Close releases idle connections.
func (c *Client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}

// pid is the project argument for client-go calls.
func (c *Client) pid() any {
	if n, err := strconv.ParseInt(c.project, 10, 64); err == nil {
		return n
	}
	return c.project
}

// projectPath returns "group/project", asking GitLab once when the project
// was configured by numeric id.
func (c *Client) projectPath(ctx context.Context) (string, error) {
	c.pathMu.Lock()
	defer c.pathMu.Unlock()
	if c.path != "" {
		return c.path, nil
	}
	op := "gitlab: read project " + c.project
	if err := c.guard(op); err != nil {
		return "", err
	}
	p, resp, err := c.api.Projects.GetProject(c.pid(), nil, gl.WithContext(ctx))
	if err != nil {
		return "", c.fail(op, resp, err)
	}
	c.path = p.PathWithNamespace
	return c.path, nil
}

// parseKey checks that key is "group/project#iid" of this project and
// returns the project path and the iid.
func (c *Client) parseKey(ctx context.Context, key string) (string, int64, error) {
	i := strings.LastIndex(key, "#")
	iid, err := strconv.ParseInt(key[i+1:], 10, 64)
	if i <= 0 || err != nil || iid <= 0 {
		return "", 0, connectors.Errorf(connectors.CodeInvalid, "gitlab: parse key", fmt.Errorf("key %q is not group/project#iid", key))
	}
	path, err := c.projectPath(ctx)
	if err != nil {
		return "", 0, err
	}
	if !strings.EqualFold(key[:i], path) {
		return "", 0, connectors.Errorf(connectors.CodeInvalid, "gitlab: parse key", fmt.Errorf("key %q is not in project %s", key, path))
	}
	return path, iid, nil
}

func (c *Client) keyOf(path string, iid int64) string {
	return path + "#" + strconv.FormatInt(iid, 10)
}

func (c *Client) rememberConfidential(iid int64, v bool) {
	c.confMu.Lock()
	c.confidential[iid] = v
	c.confMu.Unlock()
}

// seen records an issue answer GitLab just gave: its confidential flag
// (for comments) and the issue itself (for Update).
func (c *Client) seen(is *gl.Issue) {
	c.rememberConfidential(is.IID, is.Confidential)
	c.issues.put(is, c.now())
}

func (c *Client) knownConfidential(iid int64) bool {
	c.confMu.Lock()
	defer c.confMu.Unlock()
	return c.confidential[iid]
}

// errMessage turns a client-go error into a short cause without the
// request URL: the GitLab error message, at most 200 bytes.
func errMessage(err error) error {
	var er *gl.ErrorResponse
	if errors.As(err, &er) {
		msg := er.Message
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		if msg == "" {
			return nil
		}
		return errors.New(msg)
	}
	if errors.Is(err, gl.ErrNotFound) {
		return nil
	}
	return err
}
