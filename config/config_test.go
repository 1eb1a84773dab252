package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
)

// exampleEnv sets every variable the example configuration names.
var exampleEnv = map[string]string{
	"PMSYNC_HTTP_TOKEN":       "canary-http-token",
	"PLATFORM_TRACKER_TOKEN":  "canary-platform-token",
	"PLATFORM_TRACKER_USER":   "bot@example.com",
	"PLATFORM_WEBHOOK_SECRET": "canary-platform-hook",
	"JANECORP_GITHUB_TOKEN":   "canary-janecorp-token",
	"JANECORP_WEBHOOK_SECRET": "canary-janecorp-hook",
	"JANECORP_CHAT_WEBHOOK":   "https://chat.example/hooks/canary",
	"SMTP_USER":               "canary-smtp-user",
	"SMTP_PASSWORD":           "canary-smtp-password",
}

func loadExample(t *testing.T) *Config {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "pmsync.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(data, "pmsync.example.yaml", lookup(exampleEnv))
	if err != nil {
		t.Fatalf("example config: %v", err)
	}
	return cfg
}

func TestExampleLoads(t *testing.T) {
	cfg := loadExample(t)
	day := 24 * time.Hour
	checks := []struct {
		name      string
		got, want any
	}{
		{"store.path", cfg.Store.Path, "/var/lib/pmsync/pmsync.db"},
		{"store.audit_retention", cfg.Store.AuditRetention, 90 * day},
		{"http.listen", cfg.HTTP.Listen, "127.0.0.1:8080"},
		{"http.token", cfg.HTTP.Token.Value(), "canary-http-token"},
		{"sync.poll_interval", cfg.Sync.PollInterval, 2 * time.Minute},
		{"sync.poll_overlap", cfg.Sync.PollOverlap, 2 * time.Minute},
		{"sync.workers_per_tracker", cfg.Sync.WorkersPerTracker, 8},
		{"sync.create_settle", cfg.Sync.CreateSettle, 2 * time.Minute},
		{"log.level", cfg.Log.Level, "info"},
		{"webhooks.delivery_ttl", cfg.Webhooks.DeliveryTTL, 7 * day},
		{"platform.name", cfg.Platform.Name, "Example Cloud"},
		{"platform.tracker.id", cfg.Platform.Tracker.ID, "platform"},
		{"platform.tracker.kind", cfg.Platform.Tracker.Kind, "jira"},
		{"platform.tracker.flavor", cfg.Platform.Tracker.Flavor, "datacenter"},
		{"platform.tracker.project", cfg.Platform.Tracker.Project, "PLAT"},
		{"platform.tracker.issue_type", cfg.Platform.Tracker.IssueType, "Task"},
		{"platform.tracker.auth.token", cfg.Platform.Tracker.Auth.Token.Value(), "canary-platform-token"},
		{"platform.tracker.webhook_secret", cfg.Platform.Tracker.WebhookSecret.Value(), "canary-platform-hook"},
		{"platform.action_item_label", cfg.Platform.ActionItemLabel, "postmortem-action"},
		{"customers", len(cfg.Customers), 1},
		{"customers[0].id", cfg.Customers[0].ID, "janecorp"},
		{"customers[0].tracker.id", cfg.Customers[0].Tracker.ID, "janecorp"},
		{"customers[0].tracker.workers", cfg.Customers[0].Tracker.Workers, 8},
		{"customers[0].tracker.requests_per_second", cfg.Customers[0].Tracker.RequestsPerSecond, 10.0},
		{"customers[0].share.select_label", cfg.Customers[0].Share.SelectLabel, "customer:janecorp"},
		{"customers[0].share.comment_prefix", cfg.Customers[0].Share.CommentPrefix, "[customer]"},
		{"customers[0].digest.schedule", cfg.Customers[0].Digest.Schedule.Spec, "CRON_TZ=America/New_York 0 9 * * MON"},
		{"customers[0].digest.schedule zone", cfg.Customers[0].Digest.Schedule.Location.String(), "America/New_York"},
		{"customers[0].digest.email", cfg.Customers[0].Digest.Email, []string{"sre-leads@janecorp.example"}},
		{"customers[0].digest.chat_webhook", cfg.Customers[0].Digest.ChatWebhook.Value(), "https://chat.example/hooks/canary"},
		{"reminders.critical", cfg.Reminders.Critical, []connectors.Priority{connectors.P0, connectors.P1}},
		{"reminders.due_after", cfg.Reminders.DueAfter, map[connectors.Priority]time.Duration{"P0": 7 * day, "P1": 30 * day, "P2": 90 * day}},
		{"reminders.stale_after", cfg.Reminders.StaleAfter, 14 * day},
		{"reminders.overdue_comment", cfg.Reminders.OverdueComment, true},
		{"reminders.platform_digest.schedule zone", cfg.Reminders.PlatformDigest.Schedule.Location.String(), "UTC"},
		{"smtp.port", cfg.SMTP.Port, 587},
		{"smtp.tls", cfg.SMTP.TLS, "starttls"},
		{"smtp.password", cfg.SMTP.Password.Value(), "canary-smtp-password"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	next := cfg.Customers[0].Digest.Schedule.Next(time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC))
	if want := time.Date(2026, 3, 9, 13, 0, 0, 0, time.UTC); !next.Equal(want) {
		t.Errorf("next digest: got %v, want %v (Monday 09:00 New York, EDT)", next.UTC(), want)
	}
}

// TestDefaults checks every default on the smallest valid file.
func TestDefaults(t *testing.T) {
	doc := platformYAML + customerYAML + "    digest:\n      schedule: \"@weekly\"\n      email: [a@example.com]\nsmtp:\n  host: mail.example.com\n  from: pmsync@example.com\n  tls: tls\n"
	cfg, err := Parse([]byte(doc), "/etc/pmsync/pmsync.yaml", lookup(testEnv))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	cu := cfg.Customers[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"store.path", cfg.Store.Path, DefaultStorePath},
		{"http.listen", cfg.HTTP.Listen, "127.0.0.1:8080"},
		{"sync.requests_per_second", cfg.Sync.RequestsPerSecond, 10.0},
		{"log.format", cfg.Log.Format, "text"},
		{"log level", cfg.Log.SlogLevel(), slog.LevelInfo},
		{"customer name", cu.Name, "janecorp"},
		{"select_label", cu.Share.SelectLabel, "customer:janecorp"},
		{"inbound_label", cu.Share.InboundLabel, "share-with-platform"},
		{"description", cu.Share.Description, "summary"},
		{"comment_prefix", cu.Share.CommentPrefix, "[customer]"},
		{"smtp.port for tls", cfg.SMTP.Port, 465},
		{"reminders.stale_after", cfg.Reminders.StaleAfter, 14 * 24 * time.Hour},
		{"platform digest", cfg.Reminders.PlatformDigest == nil, true},
		{"marker key", cfg.Sync.MarkerKey.IsSet(), false},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

// TestOverrides checks that values in the file replace the defaults,
// including lists and maps as a whole, and relative paths.
func TestOverrides(t *testing.T) {
	doc := `store:
  path: data/pmsync.db
  audit_retention: 1w
sync:
  requests_per_second: 2.5
  workers_per_tracker: 4
  marker_key_env: MARKER_KEY
log: {level: debug, format: json}
http:
  listen: "[::]:9000"
  token_env: HTTP_TOKEN
` + platformYAML + `    workers: 2
customers:
  - id: acme
    name: ACME Corp
    tracker:
      kind: gitlab
      url: https://gitlab.acme.example
      project: "4711"
      requests_per_second: 0.5
      auth: {token_env: ACME_TOKEN}
    share:
      select_label: share:acme
      description: none
reminders:
  critical: [P0]
  due_after: {P0: 36h}
`
	env := map[string]string{"MARKER_KEY": "k", "HTTP_TOKEN": "t", "PLATFORM_TOKEN": "p", "ACME_TOKEN": "a"}
	cfg, err := Parse([]byte(doc), "/etc/pmsync/pmsync.yaml", lookup(env))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"store.path", cfg.Store.Path, "/etc/pmsync/data/pmsync.db"},
		{"audit_retention", cfg.Store.AuditRetention, 7 * 24 * time.Hour},
		{"log level", cfg.Log.SlogLevel(), slog.LevelDebug},
		{"platform workers", cfg.Platform.Tracker.Workers, 2},
		{"platform rps", cfg.Platform.Tracker.RequestsPerSecond, 2.5},
		{"acme workers", cfg.Customers[0].Tracker.Workers, 4},
		{"acme rps", cfg.Customers[0].Tracker.RequestsPerSecond, 0.5},
		{"acme select", cfg.Customers[0].Share.SelectLabel, "share:acme"},
		{"acme inbound", cfg.Customers[0].Share.InboundLabel, "share-with-platform"},
		{"critical", cfg.Reminders.Critical, []connectors.Priority{connectors.P0}},
		{"due_after", cfg.Reminders.DueAfter, map[connectors.Priority]time.Duration{"P0": 36 * time.Hour}},
		{"marker key", cfg.Sync.MarkerKey.Value(), "k"},
		{"IsCritical(P1)", cfg.Reminders.IsCritical(connectors.P1), false},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

// TestGitHubCreationLimits checks the defaults of creates_per_minute and
// creates_per_hour (GitHub.com's limits, the hourly one scaled with a
// raised per-minute limit) and that they reach the connector's config.
func TestGitHubCreationLimits(t *testing.T) {
	for _, tc := range []struct {
		name, keys         string
		perMinute, perHour int
	}{
		{"defaults", "", 80, 500},
		{"per minute raised", "      creates_per_minute: 160\n", 160, 1000},
		{"per minute lowered", "      creates_per_minute: 40\n", 40, 500},
		{"both", "      creates_per_minute: 1000\n      creates_per_hour: 20000\n", 1000, 20000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := platformYAML + "customers:\n  - id: janecorp\n    tracker:\n      kind: github\n      url: https://github.example.com/api/v3/\n      project: a/b\n      auth: {token_env: JANECORP_TOKEN}\n" + tc.keys
			cfg, err := Parse([]byte(doc), "pmsync.yaml", lookup(map[string]string{"PLATFORM_TOKEN": "pt", "JANECORP_TOKEN": "jt"}))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			cc, err := cfg.Connector("janecorp")
			if err != nil {
				t.Fatal(err)
			}
			if got, want := [2]int{cc.GitHubCreatesPerMinute, cc.GitHubCreatesPerHour}, [2]int{tc.perMinute, tc.perHour}; got != want {
				t.Errorf("per minute, per hour: got %v, want %v", got, want)
			}
		})
	}
}

func TestConnector(t *testing.T) {
	doc := `platform:
  name: X
  tracker:
    kind: jira
    url: https://x.atlassian.net
    flavor: cloud
    project: PLAT
    auth: {token_env: PLATFORM_TOKEN, user_env: JIRA_USER}
    priorities: {P0: Blocker}
    done_transition: Close
    labels: {incident_prefix: "pm-"}
customers:
  - id: acme
    tracker:
      kind: gitlab
      project: acme/ops/reliability
      auth: {token_env: ACME_TOKEN}
      webhook_secret_env: ACME_HOOK
      labels:
        priority: {P1: sev::1}
        in_progress: doing
sync:
  poll_overlap: 5m
`
	env := map[string]string{"PLATFORM_TOKEN": "pt", "JIRA_USER": "bot@x", "ACME_TOKEN": "at", "ACME_HOOK": "ah"}
	cfg, err := Parse([]byte(doc), "pmsync.yaml", lookup(env))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	p, err := cfg.Connector("platform")
	if err != nil {
		t.Fatal(err)
	}
	wantPrio := DefaultJiraPriorities()
	wantPrio[connectors.P0] = "Blocker"
	wantJiraLabels := connectors.LabelScheme{KindPrefix: "type-", IncidentPrefix: "pm-", OwnerPrefix: "owner-"}
	a, err := cfg.Connector("acme")
	if err != nil {
		t.Fatal(err)
	}
	wantGL := connectors.DefaultGitLabLabels()
	wantGL.Priority[connectors.P1] = "sev::1"
	wantGL.InProgress = "doing"
	checks := []struct {
		name      string
		got, want any
	}{
		{"platform id", p.ID, "platform"},
		{"platform kind", p.Kind, "jira"},
		{"platform flavor", p.Flavor, "cloud"},
		{"platform token", p.Token, "pt"},
		{"platform user", p.User, "bot@x"},
		{"platform priorities", p.JiraPriorities, wantPrio},
		{"platform issue type", p.JiraIssueType, "Task"},
		{"platform done transition", p.JiraDoneTransition, "Close"},
		{"platform labels", p.Labels, wantJiraLabels},
		{"platform overlap", p.Overlap, 5 * time.Minute},
		{"acme id", a.ID, "acme"},
		{"acme project", a.Project, "acme/ops/reliability"},
		{"acme url", a.URL, ""},
		{"acme token", a.Token, "at"},
		{"acme webhook secret", a.WebhookSecret, "ah"},
		{"acme labels", a.Labels, wantGL},
		{"acme jira priorities", a.JiraPriorities == nil, true},
		{"acme creation limits", [2]int{a.GitHubCreatesPerMinute, a.GitHubCreatesPerHour}, [2]int{0, 0}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %+v, want %+v", c.name, c.got, c.want)
		}
	}
	if _, err := cfg.Connector("nobody"); err == nil || !strings.Contains(err.Error(), `no tracker "nobody"`) {
		t.Errorf("got %v, want an error naming the unknown tracker", err)
	}
	if got, want := cfg.TrackerIDs(), []string{"platform", "acme"}; !reflect.DeepEqual(got, want) {
		t.Errorf("TrackerIDs: got %v, want %v", got, want)
	}
}

// TestSecretsNeverPrinted renders the whole config in every way a program
// might log it and checks that no secret value appears.
func TestSecretsNeverPrinted(t *testing.T) {
	cfg := loadExample(t)
	var out strings.Builder
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		fmt.Fprintf(&out, verb+"\n", *cfg)
		fmt.Fprintf(&out, verb+"\n", cfg.Platform.Tracker)
		fmt.Fprintf(&out, verb+"\n", cfg.Platform.Tracker.Auth.Token)
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out.Write(js)
	slog.New(slog.NewTextHandler(&out, nil)).Info("config", "cfg", cfg, "token", cfg.HTTP.Token)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("config", "token", cfg.HTTP.Token, "smtp", cfg.SMTP)
	for name, v := range exampleEnv {
		if name == "PLATFORM_TRACKER_USER" {
			continue // an e-mail address, not a secret that could leak by itself
		}
		if strings.Contains(out.String(), v) {
			t.Errorf("secret %s leaked in rendered config", name)
		}
	}
	if !strings.Contains(out.String(), redacted) {
		t.Errorf("got no %s in rendered config, want the secrets shown redacted", redacted)
	}
	if got := cfg.Platform.Tracker.Auth.Token.Source(); got != "env PLATFORM_TRACKER_TOKEN" {
		t.Errorf("Source: got %q, want %q", got, "env PLATFORM_TRACKER_TOKEN")
	}
}

// TestEverySecretKeyIsASecret walks the config types: any field whose
// yaml name suggests a credential must be a Secret, so that it can only
// come from env or a file.
func TestEverySecretKeyIsASecret(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type, string)
	walk = func(ty reflect.Type, path string) {
		for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice || ty.Kind() == reflect.Map {
			ty = ty.Elem()
		}
		if ty.Kind() != reflect.Struct || seen[ty] || ty == secretType || ty == scheduleType {
			return
		}
		seen[ty] = true
		for i := 0; i < ty.NumField(); i++ {
			f := ty.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			if secretish[name] && f.Type != secretType {
				t.Errorf("%s.%s: got type %s, want config.Secret", path, name, f.Type)
			}
			walk(f.Type, path+"."+name)
		}
	}
	walk(reflect.TypeOf(Config{}), "")
	if !seen[reflect.TypeOf(Auth{})] {
		t.Fatalf("walk did not reach Auth; the test checks nothing")
	}
}
