// Package jira is pmsync's connector for Jira Cloud and Jira Data Center,
// built on github.com/andygrunwald/go-jira v1.16.0 with hand-written calls
// where the library is behind the API (Cloud's /search/jql, entity
// properties, transitions with their screen fields, paged comments).
//
// Both flavours use REST API v2, whose descriptions and comments are wiki
// markup; MarkdownToWiki and WikiToMarkdown convert pmsync's Markdown.
// Cloud authenticates with basic auth (account e-mail and API token) and
// names users by accountId; Data Center takes a personal access token as
// Bearer and names users by login name. Item.Assignee is that accountId or
// name.
//
// Field mapping:
//   - status: by the status category (new → open, indeterminate →
//     in_progress, done → done, or wont_do when the resolution is one of
//     the won't-do resolutions: Won't Do, Won't Fix, Duplicate, Cannot
//     Reproduce, Declined, Cancelled, or Config.JiraWontDoResolution).
//     Changing it walks the workflow's transitions (see status.go).
//   - priority: Jira priority names, Config.JiraPriorities (default
//     Highest, High, Medium, Low, Lowest for P0..P4). A priority not in the
//     map reads as unset; writing an unset priority sends null, which Jira
//     answers by applying the project's default priority.
//   - due: the native duedate field.
//   - kind, incident, owner: labels. Jira labels cannot hold spaces, so the
//     default scheme is "type-<kind>", "incident-<id>" and
//     "owner-<platform|customer>"; Config.Labels overrides the prefixes
//     (its priority and in-progress names are ignored: Jira has native
//     fields for both).
//   - marker: an issue entity property "pmsync" holding {"marker": id} and
//     a label "pmsync-<id>", both written by the create request itself.
//     Comments carry "{anchor:pmsync-<id>}" on their last line, a wiki macro
//     that renders nothing.
//
// Every read asks for the comment field, whose total is Item.CommentCount.
// Changes polls JQL "updated >= <cursor>" (see changes.go): minute-grained,
// read in the API user's time zone, with an overlap and de-duplication on
// (id, updated). Update works from the issue as last read, kept for 10 s,
// so that after the engine's Get a field change is one PUT (see cache.go
// and update.go). FindByMarker does not trust the search index alone and
// resumes where a failed call stopped (see find.go). No write is retried
// here; retries belong to the engine, after a FindByMarker.
package jira

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // users' time zones must resolve on hosts without zoneinfo

	jira "github.com/andygrunwald/go-jira"

	"github.com/pmsync/pmsync/connectors"
)

// Kind is the tracker kind this package registers.
const Kind = "jira"

// The two flavours.
const (
	FlavorCloud      = "cloud"
	FlavorDataCenter = "datacenter"
)

// markerProperty is the issue entity property that carries the marker.
const markerProperty = "pmsync"

// markerLabelPrefix + marker id is the label that carries the marker.
const markerLabelPrefix = "pmsync-"

var projectKeyRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,254}$`)

// DefaultLabels is the label scheme for Jira: prefixes without spaces or
// colons, no priority or in-progress labels (native fields carry those).
func DefaultLabels() connectors.LabelScheme {
	return connectors.DefaultJiraLabels()
}

// DefaultPriorities maps P0..P4 to Jira's default priority names.
func DefaultPriorities() map[connectors.Priority]string {
	return map[connectors.Priority]string{
		connectors.P0: "Highest", connectors.P1: "High", connectors.P2: "Medium", connectors.P3: "Low", connectors.P4: "Lowest",
	}
}

// wontDoResolutions are resolutions that read as wont_do (case-insensitive).
var wontDoResolutions = []string{"Won't Do", "Won't Fix", "Duplicate", "Cannot Reproduce", "Declined", "Cancelled", "Canceled", "Rejected", "Invalid"}

// doneResolutions are tried, in order, for a transition to done.
var doneResolutions = []string{"Done", "Fixed", "Resolved", "Complete", "Completed"}

// Connector is one Jira project.
type Connector struct {
	id        string
	flavor    string
	project   string
	site      string // site URL without trailing slash
	client    *jira.Client
	httpc     *http.Client
	now       func() time.Time
	log       *slog.Logger
	labels    connectors.LabelScheme
	prio      map[connectors.Priority]string
	issueType string
	doneName  string // configured transition name for done
	wontDo    string // configured won't-do resolution
	overlap   time.Duration
	indexLag  time.Duration // how long search may lag a write (Cloud)
	hookKey   []byte        // webhook secret; nil refuses every delivery

	mu      sync.Mutex
	loc     *time.Location // the API user's zone, nil until read
	rate    connectors.RateState
	highest int                  // highest issue number seen in the project
	keys    map[string]string    // issue id → key, for webhooks naming only the id
	recent  map[string]time.Time // ids this connector wrote lately (Cloud reconcile)
	finds   map[string]findState // what unfinished FindByMarker calls learned, by marker

	cache issueCache // raw issues last read, for Update (see cache.go)
}

var _ connectors.Connector = (*Connector)(nil)

// New builds a connector from cfg; a bad value is an error naming it.
func New(cfg connectors.Config) (*Connector, error) {
	what := fmt.Sprintf("jira: tracker %q", cfg.ID)
	u, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%s: url must be the site's http(s) URL, got %q", what, cfg.URL)
	}
	if u.User != nil || u.RawQuery != "" {
		return nil, fmt.Errorf("%s: url must not hold credentials or a query", what)
	}
	if !projectKeyRE.MatchString(cfg.Project) {
		return nil, fmt.Errorf("%s: project must be a Jira project key such as PLAT, got %q", what, cfg.Project)
	}
	if cfg.Token == "" {
		return nil, fmt.Errorf("%s: token is empty (an API token for cloud, a personal access token for datacenter)", what)
	}
	c := &Connector{
		id: cfg.ID, flavor: cfg.Flavor, project: cfg.Project, site: u.String(),
		now: cfg.Clock(), log: cfg.Log().With("tracker", cfg.ID, "kind", Kind),
		issueType: cfg.JiraIssueType, doneName: cfg.JiraDoneTransition, wontDo: cfg.JiraWontDoResolution,
		overlap: cfg.OverlapOrDefault(), recent: map[string]time.Time{}, keys: map[string]string{}, finds: map[string]findState{},
		rate: connectors.RateState{Remaining: -1},
	}
	if cfg.WebhookSecret != "" {
		c.hookKey = []byte(cfg.WebhookSecret)
	}
	if c.issueType == "" {
		c.issueType = "Task"
	}
	if cfg.Flavor == FlavorCloud {
		c.indexLag = cloudIndexLag
	}
	if c.labels, err = jiraLabels(cfg.Labels); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if c.prio, err = jiraPriorities(cfg.JiraPriorities); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	base, err := cfg.HTTP()
	if err != nil {
		return nil, err
	}
	var auth http.RoundTripper
	inner := &observer{c: c, next: transportOf(base)}
	switch cfg.Flavor {
	case FlavorCloud:
		if cfg.User == "" {
			return nil, fmt.Errorf("%s: user (the account e-mail) is required for flavor cloud", what)
		}
		auth = &jira.BasicAuthTransport{Username: cfg.User, Password: cfg.Token, Transport: inner}
	case FlavorDataCenter:
		auth = &jira.PATAuthTransport{Token: cfg.Token, Transport: inner}
	default:
		return nil, fmt.Errorf("%s: flavor must be cloud or datacenter, got %q", what, cfg.Flavor)
	}
	c.httpc = &http.Client{Transport: auth, Timeout: base.Timeout, CheckRedirect: connectors.SameHostRedirects(u), Jar: base.Jar}
	if c.client, err = jira.NewClient(c.httpc, c.site+"/"); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return c, nil
}

// Factory is the connectors.Factory for kind "jira".
func Factory(cfg connectors.Config) (connectors.Connector, error) {
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func transportOf(c *http.Client) http.RoundTripper {
	if c.Transport != nil {
		return c.Transport
	}
	return http.DefaultTransport
}

func jiraLabels(cfg connectors.LabelScheme) (connectors.LabelScheme, error) {
	s := cfg.Merge(DefaultLabels())
	s.Priority, s.InProgress = nil, ""
	for name, p := range map[string]string{"kind_prefix": s.KindPrefix, "incident_prefix": s.IncidentPrefix, "owner_prefix": s.OwnerPrefix} {
		if strings.ContainsAny(p, " \t\n") {
			return s, fmt.Errorf("labels.%s %q: Jira labels cannot contain spaces", name, p)
		}
		if strings.HasPrefix(markerLabelPrefix, strings.ToLower(p)) || strings.HasPrefix(strings.ToLower(p), markerLabelPrefix) {
			return s, fmt.Errorf("labels.%s %q clashes with the marker label prefix %q", name, p, markerLabelPrefix)
		}
	}
	return s, nil
}

func jiraPriorities(cfg map[connectors.Priority]string) (map[connectors.Priority]string, error) {
	out := DefaultPriorities()
	for p, name := range cfg {
		if p == "" || !p.Valid() {
			return nil, fmt.Errorf("jira_priorities: %q is not a priority (P0..P4)", p)
		}
		if strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("jira_priorities.%s: the Jira priority name is empty", p)
		}
		out[p] = name
	}
	seen := map[string]connectors.Priority{}
	for _, p := range connectors.Priorities {
		k := strings.ToLower(out[p])
		if q, dup := seen[k]; dup {
			return nil, fmt.Errorf("jira_priorities: %s and %s both map to %q", q, p, out[p])
		}
		seen[k] = p
	}
	return out, nil
}

// Kind returns "jira".
func (c *Connector) Kind() string { return Kind }

// RateLimit reports the last known rate-limit state.
func (c *Connector) RateLimit() connectors.RateState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rate
}

// Close releases idle connections.
func (c *Connector) Close() error {
	c.httpc.CloseIdleConnections()
	return nil
}

// op names an operation for errors: "jira: get PLAT-12".
func (c *Connector) op(format string, args ...any) string {
	return "jira: " + fmt.Sprintf(format, args...)
}

// maxKnownIDs bounds the id → key map; when full it starts over.
const maxKnownIDs = 100000

// noteKey remembers the highest issue number seen, for FindByMarker, and
// which key an issue id has, for webhooks that name only the id.
func (c *Connector) noteKey(id, key string) {
	n := keyNumber(c.project, key)
	if n == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if n > c.highest {
		c.highest = n
	}
	if id != "" {
		if len(c.keys) >= maxKnownIDs {
			c.keys = map[string]string{}
		}
		c.keys[id] = key
	}
}

// keyOfID returns the key of an issue id seen before, or the id itself.
func (c *Connector) keyOfID(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if key, ok := c.keys[id]; ok {
		return key
	}
	return id
}

// noteWrite remembers an issue id this connector wrote, so that Cloud
// searches can ask for read-after-write on it (reconcileIssues).
func (c *Connector) noteWrite(id string) {
	if id == "" || c.flavor != FlavorCloud {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recent[id] = c.now()
}

// keyNumber returns n of "PROJECT-n", 0 for another project or a bad key.
func keyNumber(project, key string) int {
	rest, ok := strings.CutPrefix(key, project+"-")
	if !ok || rest == "" || len(rest) > 9 {
		return 0
	}
	n := 0
	for _, r := range rest {
		if r < '0' || r > '9' {
			return 0
		}
		n = n*10 + int(r-'0')
	}
	return n
}
