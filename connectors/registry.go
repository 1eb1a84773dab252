package connectors

import (
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Config is everything a connector needs to reach one tracker. The config
// package reads it from YAML; secrets arrive here already resolved from env
// or files and must never be logged or put in an error.
type Config struct {
	ID      string // tracker id: "platform" or the customer id
	Kind    string // github | gitlab | jira | memory
	URL     string // API base (GitHub), instance URL (GitLab), site URL (Jira); "" = public default
	Flavor  string // jira only: cloud | datacenter
	Project string // GitHub owner/repo, GitLab group/project or numeric id, Jira project key
	Token   string // API token / PAT
	User    string // Jira Cloud: account e-mail for basic auth
	// WebhookSecret authenticates deliveries. Empty means webhooks for this
	// tracker are refused.
	WebhookSecret string
	Labels        LabelScheme
	// JiraIssueType is the issue type of created Jira items (default "Task").
	JiraIssueType string
	// JiraPriorities maps canonical priorities to Jira priority names
	// (default Highest, High, Medium, Low, Lowest).
	JiraPriorities map[Priority]string
	// JiraDoneTransition / JiraWontDoResolution override transition and
	// resolution names chosen by status category.
	JiraDoneTransition   string
	JiraWontDoResolution string
	// GitHubCreatesPerMinute and GitHubCreatesPerHour are the secondary
	// limits on content creation the GitHub connector paces itself to; 0
	// means GitHubCreatesPerMinute / GitHubCreatesPerHour (the hourly one
	// scaled with a raised per-minute limit).
	GitHubCreatesPerMinute int
	GitHubCreatesPerHour   int
	// Overlap is how far before the cursor each incremental poll re-reads
	// (clock skew, coarse timestamps). Default 2 minutes.
	Overlap time.Duration
	// HTTPClient is the client to use; nil means a client with sane
	// timeouts. Tests put simulators behind it.
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// GitHub.com's secondary limits on content-creating requests (new issues
// and new comments): "no more than 80 content-generating requests per
// minute and no more than 500 per hour". GitHub Enterprise Server admins
// set their own.
const (
	GitHubCreatesPerMinute = 80
	GitHubCreatesPerHour   = 500
)

// Clock returns c.Now or time.Now.
func (c Config) Clock() func() time.Time {
	if c.Now != nil {
		return c.Now
	}
	return time.Now
}

// Log returns c.Logger or a logger that discards.
func (c Config) Log() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Client returns c.HTTPClient or a client with a 30 s timeout.
func (c Config) Client() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// OverlapOrDefault returns c.Overlap or 2 minutes.
func (c Config) OverlapOrDefault() time.Duration {
	if c.Overlap > 0 {
		return c.Overlap
	}
	return 2 * time.Minute
}

// Factory builds a connector from its config.
type Factory func(Config) (Connector, error)

var (
	regMu    sync.RWMutex
	registry = map[string]Factory{}
)

// Register makes a tracker kind available. It is called from the one list
// in connectors/all; registering a kind twice panics.
func Register(kind string, f Factory) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[kind]; dup {
		panic("connectors: kind registered twice: " + kind)
	}
	registry[kind] = f
}

// New builds the connector for cfg.Kind.
func New(cfg Config) (Connector, error) {
	regMu.RLock()
	f, ok := registry[cfg.Kind]
	regMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("connectors: tracker %q: unknown kind %q (known: %v)", cfg.ID, cfg.Kind, Registered())
	}
	return f(cfg)
}

// Registered lists the registered tracker kinds, sorted.
func Registered() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]string, 0, len(registry))
	for k := range registry {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
