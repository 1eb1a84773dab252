package config

import (
	"fmt"
	"net"
	"net/mail"
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
	validateCAFiles(c, cfg, dir)
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
	if s.CreateSettle < 0 || s.CreateSettle > time.Hour {
		c.errf("sync.create_settle", "must be between 0s and 1h, got %s", FormatDuration(s.CreateSettle))
	}
	rate(c, "sync.requests_per_second", s.RequestsPerSecond)
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
