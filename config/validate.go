package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pmsync/pmsync/connectors"
)

var (
	customerIDRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	githubRepoRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$`)
	gitlabPathRE   = regexp.MustCompile(`^[A-Za-z0-9_.][A-Za-z0-9_.-]*(/[A-Za-z0-9_.][A-Za-z0-9_.-]*)+$`)
	gitlabIDRE     = regexp.MustCompile(`^[1-9][0-9]{0,18}$`)
	jiraKeyRE      = regexp.MustCompile(`^[A-Z][A-Z0-9_]+$`)
	trackerKinds   = []string{"github", "gitlab", "jira"}
	jiraFlavors    = []string{"cloud", "datacenter"}
	descriptions   = []string{DescriptionNone, DescriptionSummary, DescriptionFull}
	logLevels      = []string{"debug", "info", "warn", "error"}
	logFormats     = []string{"text", "json"}
	smtpTLSModes   = []string{"starttls", "tls", "none"}
	defaultURLHost = map[string]string{"github": "https://api.github.com", "gitlab": "https://gitlab.com"}
)

// validate checks every value of cfg, fills in defaults that depend on
// other keys, and makes store.path absolute against dir.
func validate(c *collector, cfg *Config, dir string) {
	validateStore(c, cfg, dir)
	validateHTTP(c, &cfg.HTTP)
	validateSync(c, &cfg.Sync)
	oneOf(c, "log.level", cfg.Log.Level, logLevels)
	oneOf(c, "log.format", cfg.Log.Format, logFormats)
	atLeast(c, "webhooks.delivery_ttl", cfg.Webhooks.DeliveryTTL, time.Minute)

	p := &cfg.Platform
	if _, written := c.lines["platform"]; !written {
		c.errf("platform", "required: the platform's name and tracker")
	} else {
		if strings.TrimSpace(p.Name) == "" {
			c.errf("platform.name", "required: the platform's name, shown to customers")
		}
		validateTracker(c, "platform.tracker", PlatformID, &p.Tracker, &cfg.Sync)
		notEmpty(c, "platform.action_item_label", p.ActionItemLabel)
	}
	validateCustomers(c, cfg)
	validateReminders(c, &cfg.Reminders)
	validateSMTP(c, cfg)
}

func validateStore(c *collector, cfg *Config, dir string) {
	if strings.TrimSpace(cfg.Store.Path) == "" {
		c.errf("store.path", "must not be empty")
	} else if !filepath.IsAbs(cfg.Store.Path) {
		cfg.Store.Path = filepath.Join(dir, cfg.Store.Path)
	}
	atLeast(c, "store.audit_retention", cfg.Store.AuditRetention, time.Hour)
}

func validateHTTP(c *collector, h *HTTP) {
	host, port, err := net.SplitHostPort(h.Listen)
	if err != nil {
		c.errf("http.listen", "want host:port such as 127.0.0.1:8080, got %q", clip(h.Listen))
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		c.errf("http.listen", "port %q is not a number from 0 to 65535", clip(port))
	}
	if !Loopback(host) && !h.Token.IsSet() {
		c.errf("http.listen", "%s is not a loopback address, so the dashboard and /metrics need a bearer token: set http.token_env (or http.token_file)", h.Listen)
	}
}

// Loopback reports whether a listen host only accepts local connections.
func Loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validateSync(c *collector, s *Sync) {
	atLeast(c, "sync.poll_interval", s.PollInterval, time.Second)
	if s.PollOverlap < 0 || s.PollOverlap > 24*time.Hour {
		c.errf("sync.poll_overlap", "must be between 0s and 24h, got %s", FormatDuration(s.PollOverlap))
	}
	between(c, "sync.workers_per_tracker", s.WorkersPerTracker, 1, 256)
	rate(c, "sync.requests_per_second", s.RequestsPerSecond)
}

func validateTracker(c *collector, path, id string, t *Tracker, s *Sync) {
	t.ID = id
	if !oneOf(c, join(path, "kind"), t.Kind, trackerKinds) {
		return // the other checks depend on the kind
	}
	jira := t.Kind == "jira"
	if t.URL != "" {
		if err := checkURL(t.URL); err != nil {
			c.errf(join(path, "url"), "%v", err)
		}
	} else if jira {
		c.errf(join(path, "url"), "required for kind jira: the site URL, e.g. https://example.atlassian.net")
	}
	switch {
	case jira && t.Flavor == "":
		c.errf(join(path, "flavor"), "required for kind jira: cloud or datacenter")
	case jira:
		oneOf(c, join(path, "flavor"), t.Flavor, jiraFlavors)
	case t.Flavor != "":
		c.errf(join(path, "flavor"), "only used with kind jira; remove it")
	}
	checkProject(c, join(path, "project"), t.Kind, t.Project)
	if !t.Auth.Token.IsSet() {
		c.errf(join(path, "auth.token"), "required: set auth.token_env (or auth.token_file) to where the API token is")
	}
	switch {
	case jira && t.Flavor == "cloud" && !t.Auth.User.IsSet():
		c.errf(join(path, "auth.user"), "Jira Cloud needs the account e-mail: set auth.user_env (or auth.user_file)")
	case t.Auth.User.IsSet() && !jira:
		// Jira Data Center ignores it (a personal access token is enough).
		c.errf(join(path, "auth.user"), "only used by Jira Cloud (basic auth); remove it")
	}
	validateLabels(c, join(path, "labels"), t)
	validateJiraOptions(c, path, t)
	if _, written := c.lines[join(path, "workers")]; written {
		between(c, join(path, "workers"), t.Workers, 1, 256)
	} else {
		t.Workers = s.WorkersPerTracker
	}
	if _, written := c.lines[join(path, "requests_per_second")]; written {
		rate(c, join(path, "requests_per_second"), t.RequestsPerSecond)
	} else {
		t.RequestsPerSecond = s.RequestsPerSecond
	}
}

func checkProject(c *collector, path, kind, project string) {
	switch {
	case project == "":
		want := map[string]string{"github": "owner/repo", "gitlab": "group/project or a numeric project id", "jira": "a project key such as PLAT"}[kind]
		c.errf(path, "required: %s", want)
	case kind == "github" && !githubRepoRE.MatchString(project):
		c.errf(path, "%q is not a GitHub owner/repo", clip(project))
	case kind == "gitlab" && !gitlabPathRE.MatchString(project) && !gitlabIDRE.MatchString(project):
		c.errf(path, "%q is not a GitLab group/project path or numeric project id", clip(project))
	case kind == "jira" && !jiraKeyRE.MatchString(project):
		c.errf(path, "%q is not a Jira project key (upper-case letter, then upper-case letters, digits or _)", clip(project))
	}
}

// checkURL accepts absolute http(s) URLs without credentials, query or
// fragment.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL: %q", clip(s))
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("want an absolute http:// or https:// URL, got %q", clip(s))
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("URL %q has no host", clip(s))
	case u.User != nil:
		return fmt.Errorf("URL must not carry credentials; use auth.token_env")
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return fmt.Errorf("URL %q must not have a query or fragment", clip(s))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("URL %q has an invalid port", clip(s))
		}
	}
	return nil
}

func validateLabels(c *collector, path string, t *Tracker) {
	l := t.Labels
	if t.Kind == "jira" {
		if len(l.Priority) > 0 {
			c.errf(join(path, "priority"), "Jira has native priorities: map them with priorities: instead")
		}
		if l.InProgress != "" {
			c.errf(join(path, "in_progress"), "Jira has native statuses: in_progress is not a label there")
		}
	}
	for _, k := range []struct{ key, val string }{
		{"kind_prefix", l.KindPrefix}, {"in_progress", l.InProgress},
		{"incident_prefix", l.IncidentPrefix}, {"owner_prefix", l.OwnerPrefix},
	} {
		if _, written := c.lines[join(path, k.key)]; written && strings.TrimSpace(k.val) == "" {
			c.errf(join(path, k.key), "must not be empty (remove the key to keep the default)")
		}
	}
	uniqueNames(c, join(path, "priority"), l.Priority)
}

func validateJiraOptions(c *collector, path string, t *Tracker) {
	if t.Kind != "jira" {
		for key, set := range map[string]bool{
			"issue_type": t.IssueType != "", "priorities": len(t.Priorities) > 0,
			"done_transition": t.DoneTransition != "", "wont_do_resolution": t.WontDoResolution != "",
		} {
			if set {
				c.errf(join(path, key), "only used with kind jira; remove it")
			}
		}
		return
	}
	if t.IssueType == "" {
		t.IssueType = DefaultJiraIssueType
	}
	uniqueNames(c, join(path, "priorities"), t.Priorities)
}

// uniqueNames checks that a priority → name map has non-empty names that
// are all different (otherwise the mapping back is ambiguous).
func uniqueNames(c *collector, path string, m map[connectors.Priority]string) {
	seen := map[string]connectors.Priority{}
	for _, p := range connectors.Priorities {
		name, ok := m[p]
		if !ok {
			continue
		}
		kp := join(path, string(p))
		if strings.TrimSpace(name) == "" {
			c.errf(kp, "must not be empty")
			continue
		}
		if other, dup := seen[strings.ToLower(name)]; dup {
			c.errf(kp, "%q is also the name of %s; each priority needs its own", clip(name), other)
		}
		seen[strings.ToLower(name)] = p
	}
}

func validateCustomers(c *collector, cfg *Config) {
	ids := map[string]string{}       // id → path of first use
	selectors := map[string]string{} // select label → customer id
	trackers := map[string]string{}  // tracker identity → owner description
	if key := trackerIdentity(&cfg.Platform.Tracker); key != "" {
		trackers[key] = "the platform"
	}
	for i := range cfg.Customers {
		cu := &cfg.Customers[i]
		path := index("customers", i)
		switch {
		case cu.ID == "":
			c.errf(join(path, "id"), "required: a customer id ([a-z0-9-]+)")
		case cu.ID == PlatformID:
			c.errf(join(path, "id"), "%q is reserved for the platform's tracker", PlatformID)
		case !customerIDRE.MatchString(cu.ID):
			c.errf(join(path, "id"), "%q is not a valid customer id: lower-case letters, digits and -, starting with a letter or digit, at most 63 characters", clip(cu.ID))
		default:
			if first, dup := ids[cu.ID]; dup {
				c.errf(join(path, "id"), "duplicate customer id %q (also %s, line %d)", cu.ID, first, c.line(join(first, "id")))
			} else {
				ids[cu.ID] = path
			}
		}
		if cu.Name == "" {
			cu.Name = cu.ID
		}
		validateTracker(c, join(path, "tracker"), cu.ID, &cu.Tracker, &cfg.Sync)
		if key := trackerIdentity(&cu.Tracker); key != "" {
			if other, dup := trackers[key]; dup {
				c.errf(join(path, "tracker.project"), "the same project as %s; every customer needs its own tracker project", other)
			} else {
				trackers[key] = fmt.Sprintf("customer %q", cu.ID)
			}
		}
		validateShare(c, join(path, "share"), cu, selectors)
		if cu.Digest != nil {
			validateDigest(c, join(path, "digest"), cu.Digest)
		}
	}
}

// trackerIdentity names the project a tracker points at, so that two
// trackers on one project (a tenant leak) are refused.
func trackerIdentity(t *Tracker) string {
	if t.Kind == "" || t.Project == "" {
		return ""
	}
	base := t.URL
	if base == "" {
		base = defaultURLHost[t.Kind]
	}
	base = strings.TrimRight(strings.ToLower(base), "/")
	base = strings.TrimSuffix(base, "/api/v3")
	return t.Kind + "|" + base + "|" + strings.ToLower(t.Project)
}

func validateShare(c *collector, path string, cu *Customer, selectors map[string]string) {
	s := &cu.Share
	if _, written := c.lines[join(path, "select_label")]; !written {
		s.SelectLabel = DefaultSelectLabelPrefix + cu.ID
	}
	if _, written := c.lines[join(path, "inbound_label")]; !written {
		s.InboundLabel = DefaultInboundLabel
	}
	if _, written := c.lines[join(path, "description")]; !written {
		s.Description = DescriptionSummary
	}
	if _, written := c.lines[join(path, "comment_prefix")]; !written {
		s.CommentPrefix = DefaultCommentPrefix
	}
	if notEmpty(c, join(path, "select_label"), s.SelectLabel) {
		key := strings.ToLower(s.SelectLabel)
		if other, dup := selectors[key]; dup && cu.ID != "" && other != cu.ID {
			c.errf(join(path, "select_label"), "%q is also customer %q's select label; each customer needs its own", clip(s.SelectLabel), other)
		} else {
			selectors[key] = cu.ID
		}
	}
	notEmpty(c, join(path, "inbound_label"), s.InboundLabel)
	oneOf(c, join(path, "description"), s.Description, descriptions)
	if strings.TrimSpace(s.CommentPrefix) == "" {
		c.errf(join(path, "comment_prefix"), "must not be empty: an empty prefix would share every platform comment")
	}
}

func validateDigest(c *collector, path string, d *Digest) {
	if d.Schedule.IsZero() {
		if _, written := c.lines[join(path, "schedule")]; !written {
			c.errf(join(path, "schedule"), "required: a cron schedule such as \"CRON_TZ=Europe/Berlin 0 9 * * MON\"")
		}
	}
	if len(d.Email) == 0 && !d.ChatWebhook.IsSet() {
		c.errf(path, "no recipient: set email (a list of addresses) or chat_webhook_env")
	}
	seen := map[string]bool{}
	for i, e := range d.Email {
		p := index(join(path, "email"), i)
		a, err := mail.ParseAddress(e)
		if err != nil {
			c.errf(p, "invalid e-mail address %q: %v", clip(e), err)
			continue
		}
		if seen[strings.ToLower(a.Address)] {
			c.errf(p, "%s is listed twice", a.Address)
		}
		seen[strings.ToLower(a.Address)] = true
	}
}

func validateReminders(c *collector, r *Reminders) {
	seen := map[connectors.Priority]bool{}
	for i, p := range r.Critical {
		if p != "" && seen[p] {
			c.errf(index("reminders.critical", i), "%s is listed twice", p)
		}
		seen[p] = true
	}
	for _, p := range connectors.Priorities {
		if d, ok := r.DueAfter[p]; ok {
			atLeast(c, join("reminders.due_after", string(p)), d, time.Hour)
		}
	}
	atLeast(c, "reminders.stale_after", r.StaleAfter, time.Hour)
	if r.PlatformDigest != nil {
		validateDigest(c, "reminders.platform_digest", r.PlatformDigest)
	}
}

func validateSMTP(c *collector, cfg *Config) {
	needed := ""
	if d := cfg.Reminders.PlatformDigest; d != nil && len(d.Email) > 0 {
		needed = "reminders.platform_digest.email"
	}
	for i, cu := range cfg.Customers {
		if cu.Digest != nil && len(cu.Digest.Email) > 0 && needed == "" {
			needed = join(index("customers", i), "digest.email")
		}
	}
	s := cfg.SMTP
	if s == nil {
		if needed != "" {
			c.errf(needed, "e-mail recipients need an smtp section (host, from)")
		}
		return
	}
	if s.TLS == "" {
		s.TLS = "starttls"
	}
	if _, written := c.lines["smtp.port"]; written {
		between(c, "smtp.port", s.Port, 1, 65535)
	}
	if oneOf(c, "smtp.tls", s.TLS, smtpTLSModes) && s.Port == 0 {
		s.Port = map[string]int{"starttls": 587, "tls": 465, "none": 25}[s.TLS]
	}
	if strings.TrimSpace(s.Host) == "" {
		c.errf("smtp.host", "required: the SMTP server's host name")
	} else if strings.ContainsAny(s.Host, ":/ ") {
		c.errf("smtp.host", "want a host name only (the port goes in smtp.port), got %q", clip(s.Host))
	}
	if s.From == "" {
		c.errf("smtp.from", "required: the sender address")
	} else if _, err := mail.ParseAddress(s.From); err != nil {
		c.errf("smtp.from", "invalid e-mail address %q: %v", clip(s.From), err)
	}
	if s.User.IsSet() != s.Password.IsSet() {
		c.errf("smtp", "set both user_env and password_env (or their _file forms) for SMTP auth, or neither")
	}
}

// oneOf reports whether v is in allowed, and records an error if not.
func oneOf(c *collector, path, v string, allowed []string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	what := "value"
	if strings.HasSuffix(path, "kind") {
		what = "kind"
	}
	if v == "" {
		c.errf(path, "required (want %s)", orList(allowed))
	} else {
		c.errf(path, "unknown %s %q (want %s)", what, clip(v), orList(allowed))
	}
	return false
}

func orList(xs []string) string {
	if len(xs) == 1 {
		return xs[0]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " or " + xs[len(xs)-1]
}

func notEmpty(c *collector, path, v string) bool {
	if strings.TrimSpace(v) == "" {
		c.errf(path, "must not be empty")
		return false
	}
	return true
}

func atLeast(c *collector, path string, d, lo time.Duration) {
	if d < lo {
		c.errf(path, "must be at least %s, got %s", FormatDuration(lo), FormatDuration(d))
	}
}

func between(c *collector, path string, v, lo, hi int) {
	if v < lo || v > hi {
		c.errf(path, "must be from %d to %d, got %d", lo, hi, v)
	}
}

func rate(c *collector, path string, v float64) {
	if !(v > 0 && v <= 10000) {
		c.errf(path, "must be more than 0 and at most 10000 requests per second, got %v", v)
	}
}
