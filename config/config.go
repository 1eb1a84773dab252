// Package config reads pmsync's YAML configuration, applies defaults,
// validates every value and resolves secrets from environment variables or
// files.
//
// Every problem is reported with the file, line and key path
// ("pmsync.yaml:23: customers[1].tracker.kind: unknown kind ..."); Parse
// collects as many problems as it can in one pass. Secrets never appear in
// the YAML: a key such as token, password or webhook_secret is refused, and
// token_env / token_file name where the value is read from. Resolved
// secrets are held in Secret values that print as [REDACTED].
//
// The key names are a contract with users and their automation: keys may be
// added, never renamed. docs/configuration.md describes every key.
package config

import (
	"log/slog"
	"time"

	"github.com/pmsync/pmsync/connectors"
)

// PlatformID is the tracker id of the platform's tracker; no customer may
// use it.
const PlatformID = "platform"

// Config is a whole, validated pmsync configuration with defaults applied
// and secrets resolved.
type Config struct {
	// File is the name the configuration was read from.
	File string `yaml:"-"`

	Store     Store      `yaml:"store"`
	HTTP      HTTP       `yaml:"http"`
	Sync      Sync       `yaml:"sync"`
	Log       Log        `yaml:"log"`
	Webhooks  Webhooks   `yaml:"webhooks"`
	Platform  Platform   `yaml:"platform"`
	Customers []Customer `yaml:"customers"`
	Reminders Reminders  `yaml:"reminders"`
	// SMTP is nil when the file has no smtp section.
	SMTP *SMTP `yaml:"smtp"`
}

// Store configures the bbolt file.
type Store struct {
	// Path of the bbolt file; relative paths are taken from the config
	// file's directory. Default /var/lib/pmsync/pmsync.db.
	Path string `yaml:"path"`
	// AuditRetention is how long audit entries are kept. Default 90d.
	AuditRetention time.Duration `yaml:"audit_retention"`
}

// HTTP configures the listener of pmsync serve.
type HTTP struct {
	// Listen is host:port. Default 127.0.0.1:8080.
	Listen string `yaml:"listen"`
	// Token is the bearer token the dashboard and /metrics require; it
	// must be set when Listen is not a loopback address.
	Token Secret `yaml:"token"`
}

// Sync configures polling and the work queue.
type Sync struct {
	// PollInterval is the time between incremental polls of each tracker.
	// Default 2m.
	PollInterval time.Duration `yaml:"poll_interval"`
	// PollOverlap is how far before the watermark each poll re-reads.
	// Default 2m.
	PollOverlap time.Duration `yaml:"poll_overlap"`
	// WorkersPerTracker bounds concurrent requests per tracker. Default 8.
	WorkersPerTracker int `yaml:"workers_per_tracker"`
	// RequestsPerSecond is the token-bucket rate per tracker. Default 10.
	RequestsPerSecond float64 `yaml:"requests_per_second"`
	// CreateSettle is how long after a create whose answer was lost a
	// look that does not find the mirror still proves nothing (the
	// tracker may not have finished it). Default 2m.
	CreateSettle time.Duration `yaml:"create_settle"`
	// MarkerKey is the HMAC key for marker ids. Optional; when unset the
	// engine derives markers without a key.
	MarkerKey Secret `yaml:"marker_key"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level"`
	// Format is text or json. Default text.
	Format string `yaml:"format"`
}

// SlogLevel returns Level as a slog.Level (info for an unknown level,
// which validation refuses anyway).
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// Webhooks configures webhook intake.
type Webhooks struct {
	// DeliveryTTL is how long delivery ids are remembered for
	// de-duplication. Default 7d.
	DeliveryTTL time.Duration `yaml:"delivery_ttl"`
}

// Platform is the organisation running pmsync and its tracker.
type Platform struct {
	Name    string  `yaml:"name"`
	Tracker Tracker `yaml:"tracker"`
	// ActionItemLabel marks the platform items pmsync considers. Default
	// postmortem-action.
	ActionItemLabel string `yaml:"action_item_label"`
}

// Tracker is one configured connection to an issue tracker.
type Tracker struct {
	// ID is "platform" or the customer id; it is not written in the file.
	ID string `yaml:"-"`
	// Kind is github, gitlab or jira.
	Kind string `yaml:"kind"`
	// URL is the API base (GitHub), instance URL (GitLab) or site URL
	// (Jira). Empty means https://api.github.com/ or https://gitlab.com;
	// Jira requires it.
	URL string `yaml:"url"`
	// Flavor is cloud or datacenter; Jira only.
	Flavor string `yaml:"flavor"`
	// Project is owner/repo, group/project (or a numeric id) or a Jira
	// project key.
	Project       string `yaml:"project"`
	Auth          Auth   `yaml:"auth"`
	WebhookSecret Secret `yaml:"webhook_secret"`
	// Labels overrides label names; every key is optional and replaces the
	// kind's default (connectors.DefaultGitHubLabels and friends).
	Labels connectors.LabelScheme `yaml:"labels"`
	// Jira only: issue type of created items (default Task), priority
	// names for P0..P4, and names overriding the done transition and the
	// wont_do resolution.
	IssueType        string                         `yaml:"issue_type"`
	Priorities       map[connectors.Priority]string `yaml:"priorities"`
	DoneTransition   string                         `yaml:"done_transition"`
	WontDoResolution string                         `yaml:"wont_do_resolution"`
	// GitHub only: the secondary limits on content creation (new issues
	// and comments) that pmsync paces itself to, per minute and per hour.
	// Default 80 and 500, GitHub.com's; set them to a GitHub Enterprise
	// Server's own limits. After Parse they hold the effective values.
	CreatesPerMinute int `yaml:"creates_per_minute"`
	CreatesPerHour   int `yaml:"creates_per_hour"`
	// CAFile is a PEM bundle of certificate authorities that the tracker's
	// TLS certificate may chain to besides the system's: for a Jira Data
	// Center, GitLab self-managed or GitHub Enterprise Server certified by
	// an internal CA. It applies to this tracker only. A relative path is
	// taken from the config file's directory; after Parse it is absolute.
	CAFile string `yaml:"ca_file"`
	// Workers and RequestsPerSecond override the sync defaults for this
	// tracker; after Parse they always hold the effective values.
	Workers           int     `yaml:"workers"`
	RequestsPerSecond float64 `yaml:"requests_per_second"`
}

// Auth holds a tracker's credentials.
type Auth struct {
	// Token is the API token: a GitHub PAT or installation token, a GitLab
	// access token, a Jira API token (Cloud) or personal access token (DC).
	Token Secret `yaml:"token"`
	// User is the account e-mail for Jira Cloud basic auth.
	User Secret `yaml:"user"`
}

// Customer is one tenant.
type Customer struct {
	// ID is [a-z0-9-]+, unique, and not "platform".
	ID string `yaml:"id"`
	// Name is shown in attributions and digests. Default: the id.
	Name    string  `yaml:"name"`
	Tracker Tracker `yaml:"tracker"`
	Share   Share   `yaml:"share"`
	// Digest is nil when the customer gets no digest.
	Digest *Digest `yaml:"digest"`
}

// Share says what crosses between the platform and one customer.
type Share struct {
	// SelectLabel picks the platform items shared with the customer.
	// Default customer:<id>.
	SelectLabel string `yaml:"select_label"`
	// InboundLabel picks the customer items mirrored to the platform.
	// Default share-with-platform.
	InboundLabel string `yaml:"inbound_label"`
	// Description is none, summary or full. Default summary.
	Description string `yaml:"description"`
	// CommentPrefix marks platform comments that are mirrored. Default
	// "[customer]".
	CommentPrefix string `yaml:"comment_prefix"`
}

// The values of Share.Description.
const (
	DescriptionNone    = "none"
	DescriptionSummary = "summary"
	DescriptionFull    = "full"
)

// Digest is a scheduled summary and its recipients.
type Digest struct {
	Schedule Schedule `yaml:"schedule"`
	// Email lists recipients, each valid for net/mail.
	Email []string `yaml:"email"`
	// ChatWebhook is a Slack-compatible incoming-webhook URL.
	ChatWebhook Secret `yaml:"chat_webhook"`
}

// Reminders configures the reminder policy and the platform digest.
type Reminders struct {
	// Critical lists the priorities that count as critical. Default P0, P1.
	Critical []connectors.Priority `yaml:"critical"`
	// DueAfter gives items without a due date one, counted from creation.
	// Default P0 7d, P1 30d, P2 90d. A map in the file replaces the default.
	DueAfter map[connectors.Priority]time.Duration `yaml:"due_after"`
	// StaleAfter is how long without an update makes an item stale.
	// Default 14d.
	StaleAfter time.Duration `yaml:"stale_after"`
	// OverdueComment turns on one reminder comment per overdue critical
	// item per week.
	OverdueComment bool `yaml:"overdue_comment"`
	// PlatformDigest is nil when the platform team gets no digest.
	PlatformDigest *Digest `yaml:"platform_digest"`
}

// SMTP configures e-mail delivery.
type SMTP struct {
	Host string `yaml:"host"`
	// Port defaults to 587 (starttls), 465 (tls) or 25 (none).
	Port int `yaml:"port"`
	// From is the sender address.
	From     string `yaml:"from"`
	User     Secret `yaml:"user"`
	Password Secret `yaml:"password"`
	// TLS is starttls, tls or none. Default starttls.
	TLS string `yaml:"tls"`
}
