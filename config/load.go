package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pmsync/pmsync/connectors"
)

// The defaults applied to keys the file leaves out.
const (
	DefaultStorePath         = "/var/lib/pmsync/pmsync.db"
	DefaultListen            = "127.0.0.1:8080"
	DefaultPollInterval      = 2 * time.Minute
	DefaultPollOverlap       = 2 * time.Minute
	DefaultWorkersPerTracker = 8
	DefaultRequestsPerSecond = 10.0
	DefaultCreateSettle      = 2 * time.Minute
	DefaultAuditRetention    = 90 * 24 * time.Hour
	DefaultDeliveryTTL       = 7 * 24 * time.Hour
	DefaultStaleAfter        = 14 * 24 * time.Hour
	DefaultActionItemLabel   = "postmortem-action"
	DefaultInboundLabel      = "share-with-platform"
	DefaultCommentPrefix     = "[customer]"
	DefaultSelectLabelPrefix = "customer:" // + customer id
	DefaultJiraIssueType     = "Task"
)

// DefaultDueAfter is reminders.due_after when the file has none.
func DefaultDueAfter() map[connectors.Priority]time.Duration {
	const day = 24 * time.Hour
	return map[connectors.Priority]time.Duration{connectors.P0: 7 * day, connectors.P1: 30 * day, connectors.P2: 90 * day}
}

// DefaultJiraPriorities maps P0..P4 to Jira's stock priority names.
func DefaultJiraPriorities() map[connectors.Priority]string {
	return map[connectors.Priority]string{
		connectors.P0: "Highest", connectors.P1: "High", connectors.P2: "Medium",
		connectors.P3: "Low", connectors.P4: "Lowest",
	}
}

// defaults returns a Config holding every top-level default; the file is
// decoded over it.
func defaults() *Config {
	return &Config{
		Store: Store{Path: DefaultStorePath, AuditRetention: DefaultAuditRetention},
		HTTP:  HTTP{Listen: DefaultListen},
		Sync: Sync{
			PollInterval:      DefaultPollInterval,
			PollOverlap:       DefaultPollOverlap,
			WorkersPerTracker: DefaultWorkersPerTracker,
			RequestsPerSecond: DefaultRequestsPerSecond,
			CreateSettle:      DefaultCreateSettle,
		},
		Log:      Log{Level: "info", Format: "text"},
		Webhooks: Webhooks{DeliveryTTL: DefaultDeliveryTTL},
		Platform: Platform{ActionItemLabel: DefaultActionItemLabel},
		Reminders: Reminders{
			Critical:   []connectors.Priority{connectors.P0, connectors.P1},
			DueAfter:   DefaultDueAfter(),
			StaleAfter: DefaultStaleAfter,
		},
	}
}

// Load reads, validates and resolves the configuration file at path, with
// secrets from the process environment.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: read %s: %w", path, err)
	}
	return Parse(data, path, os.LookupEnv)
}

// maxConfigSize bounds the file Parse accepts.
const maxConfigSize = 4 << 20

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Parse reads a configuration from data. name is used in error messages
// and its directory is the base of relative paths (store.path, *_file).
// env looks up environment variables (os.LookupEnv in production). The
// error, if any, is an ErrorList naming the line and key path of every
// problem found.
func Parse(data []byte, name string, env func(string) (string, bool)) (*Config, error) {
	c := newCollector(name)
	if len(data) > maxConfigSize {
		c.add(0, "", "file larger than %d bytes", maxConfigSize)
		return nil, c.result()
	}
	root, err := parseYAML(data)
	if err != nil {
		line, msg := 0, err.Error()
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		c.add(line, "", "invalid YAML: %s", msg)
		return nil, c.result()
	}
	cfg := defaults()
	cfg.File = name
	d := &decoder{c: c}
	if root == nil {
		c.add(1, "", "empty configuration: at least platform is required")
		return nil, c.result()
	}
	d.value(root, "", reflect.ValueOf(cfg).Elem())
	dir := filepath.Dir(name)
	validate(c, cfg, dir)
	resolveSecrets(c, reflect.ValueOf(cfg), env, dir)
	if err := c.result(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// parseYAML returns the root node of the single document in data, or nil
// for an empty file.
func parseYAML(data []byte) (root *yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, fmt.Errorf("yaml: malformed document")
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := extra.Line
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("yaml: line %d: a second YAML document (---); pmsync reads one", line)
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		if isNull(doc.Content[0]) {
			return nil, nil
		}
		return doc.Content[0], nil
	}
	return nil, nil
}

// Customer returns the customer with the given id.
func (c *Config) Customer(id string) (*Customer, bool) {
	for i := range c.Customers {
		if c.Customers[i].ID == id {
			return &c.Customers[i], true
		}
	}
	return nil, false
}

// Tracker returns the tracker with id "platform" or a customer id.
func (c *Config) Tracker(id string) (*Tracker, bool) {
	if id == PlatformID {
		return &c.Platform.Tracker, true
	}
	if cu, ok := c.Customer(id); ok {
		return &cu.Tracker, true
	}
	return nil, false
}

// TrackerIDs lists every tracker id: "platform" first, then the customers
// in file order.
func (c *Config) TrackerIDs() []string {
	ids := []string{PlatformID}
	for _, cu := range c.Customers {
		ids = append(ids, cu.ID)
	}
	return ids
}

// DefaultLabels returns the label scheme of a tracker kind before any
// override: GitHub's, GitLab's scoped labels, or for Jira (which has native
// priority and status) only the kind, incident and owner prefixes.
func DefaultLabels(kind string) connectors.LabelScheme {
	switch kind {
	case "gitlab":
		return connectors.DefaultGitLabLabels()
	case "jira":
		return connectors.DefaultJiraLabels()
	}
	return connectors.DefaultGitHubLabels()
}

// Connector builds the connectors.Config of the tracker with id "platform"
// or a customer id: secrets resolved, labels merged over the kind's
// defaults, Jira options filled in, the poll overlap, and the certificate
// authorities of ca_file (read again, so that a reload sees a renewed
// bundle). HTTPClient, Logger and Now are left for the caller.
func (c *Config) Connector(trackerID string) (connectors.Config, error) {
	t, ok := c.Tracker(trackerID)
	if !ok {
		return connectors.Config{}, fmt.Errorf("config: no tracker %q (known: %v)", trackerID, c.TrackerIDs())
	}
	cc := connectors.Config{
		ID:            trackerID,
		Kind:          t.Kind,
		URL:           t.URL,
		Flavor:        t.Flavor,
		Project:       t.Project,
		Token:         t.Auth.Token.Value(),
		User:          t.Auth.User.Value(),
		WebhookSecret: t.WebhookSecret.Value(),
		Labels:        t.Labels.Merge(DefaultLabels(t.Kind)),
		Overlap:       c.Sync.PollOverlap,
	}
	if t.Kind == "jira" {
		cc.JiraIssueType = t.IssueType
		cc.JiraPriorities = DefaultJiraPriorities()
		for p, name := range t.Priorities {
			cc.JiraPriorities[p] = name
		}
		cc.JiraDoneTransition = t.DoneTransition
		cc.JiraWontDoResolution = t.WontDoResolution
	}
	if t.Kind == "github" {
		cc.GitHubCreatesPerMinute, cc.GitHubCreatesPerHour = t.CreatesPerMinute, t.CreatesPerHour
	}
	if t.CAFile != "" {
		roots, err := loadCAFile(t.CAFile)
		if err != nil {
			return connectors.Config{}, fmt.Errorf("config: tracker %q: ca_file: %w", trackerID, err)
		}
		cc.RootCAs = roots
	}
	return cc, nil
}

// IsCritical reports whether p is one of the configured critical priorities.
func (r Reminders) IsCritical(p connectors.Priority) bool {
	for _, c := range r.Critical {
		if c == p {
			return true
		}
	}
	return false
}
