package config

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// testEnv is the environment the broken-config cases see.
var testEnv = map[string]string{
	"PLATFORM_TOKEN": "plat-secret-canary",
	"JANECORP_TOKEN": "jane-secret-canary",
	"ACME_TOKEN":     "acme-secret-canary",
	"EMPTY_VAR":      "   ",
	"HTTP_TOKEN":     "http-secret-canary",
}

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
}

// platformYAML is a valid platform section that most cases reuse.
const platformYAML = `platform:
  name: Example Cloud
  tracker:
    kind: jira
    url: https://jira.example.com
    flavor: datacenter
    project: PLAT
    auth:
      token_env: PLATFORM_TOKEN
`

// customerYAML is a valid customers section.
const customerYAML = `customers:
  - id: janecorp
    tracker:
      kind: github
      project: janecorp/reliability
      auth:
        token_env: JANECORP_TOKEN
`

// markedLine returns the 1-based line of doc that carries the "# <-"
// marker: the line the error must point at.
func markedLine(t *testing.T, doc string) int {
	t.Helper()
	for i, l := range strings.Split(doc, "\n") {
		if strings.Contains(l, "# <-") {
			return i + 1
		}
	}
	t.Fatalf("case has no '# <-' marker line")
	return 0
}

func TestBrokenConfigs(t *testing.T) {
	cases := []struct {
		name     string
		doc      string
		wantPath string
		wantMsg  string
	}{
		{"unknown key", platformYAML + "sync:\n  pol_interval: 2m # <-\n", "sync.pol_interval", `unknown key "pol_interval" (did you mean poll_interval?)`},
		{"unknown top-level key", "stores: {} # <-\n" + platformYAML, "stores", `unknown key "stores"`},
		{"bad kind", platformYAML + "customers:\n  - id: janecorp\n    tracker:\n      kind: gitlub # <-\n      project: a/b\n      auth: {token_env: JANECORP_TOKEN}\n",
			"customers[0].tracker.kind", `unknown kind "gitlub" (want github, gitlab or jira)`},
		{"duplicate customer id", platformYAML + customerYAML + "  - id: janecorp # <-\n    tracker: {kind: github, project: janecorp/other, auth: {token_env: JANECORP_TOKEN}}\n",
			"customers[1].id", `duplicate customer id "janecorp" (also customers[0], line 11)`},
		{"literal token", platformYAML + "customers:\n  - id: janecorp\n    tracker:\n      kind: github\n      project: janecorp/reliability\n      auth:\n        token: ghp_abcdef123456 # <-\n",
			"customers[0].tracker.auth.token", "set token_env: VARIABLE_NAME, or in a file and set token_file"},
		{"literal webhook secret", platformYAML + "customers:\n  - id: janecorp\n    tracker:\n      kind: github\n      project: janecorp/reliability\n      auth: {token_env: JANECORP_TOKEN}\n      webhook_secret: hunter2 # <-\n",
			"customers[0].tracker.webhook_secret", "set webhook_secret_env"},
		{"literal smtp password", platformYAML + "smtp:\n  host: smtp.example.com\n  from: pmsync@example.com\n  password: hunter2 # <-\n",
			"smtp.password", "set password_env"},
		{"token in the wrong place", platformYAML + customerYAML + "http:\n  token: abc # <-\n", "http.token", "set token_env"},
		{"token pasted into token_env", platformYAML + "customers:\n  - id: janecorp\n    tracker:\n      kind: github\n      project: janecorp/reliability\n      auth:\n        token_env: ghp_16C7e42F292c6912E7710c838347Ae178B4a # <-\n",
			"customers[0].tracker.auth.token_env", "not an environment variable name"},
		{"bad cron", platformYAML + customerYAML + "    digest:\n      schedule: \"0 25 * * MON\" # <-\n      email: [a@example.com]\nsmtp: {host: smtp.example.com, from: p@example.com}\n",
			"customers[0].digest.schedule", "cron schedule"},
		{"cron never fires", platformYAML + "reminders:\n  platform_digest:\n    schedule: \"0 9 30 2 *\" # <-\n    chat_webhook_env: HTTP_TOKEN\n",
			"reminders.platform_digest.schedule", "never fires"},
		{"cron zone without fields", platformYAML + "reminders:\n  platform_digest:\n    schedule: \"CRON_TZ=UTC\" # <-\n    chat_webhook_env: HTTP_TOKEN\n",
			"reminders.platform_digest.schedule", "nothing after the time zone"},
		{"unknown time zone", platformYAML + "reminders:\n  platform_digest:\n    schedule: \"CRON_TZ=Mars/Olympus 0 9 * * MON\" # <-\n    chat_webhook_env: HTTP_TOKEN\n",
			"reminders.platform_digest.schedule", `unknown time zone "Mars/Olympus"`},
		{"bad duration", platformYAML + "reminders:\n  stale_after: 2 weeks # <-\n", "reminders.stale_after", `invalid duration "2 weeks"`},
		{"duration without unit", platformYAML + "sync:\n  poll_interval: 120 # <-\n", "sync.poll_interval", `missing unit`},
		{"duration too short", platformYAML + "sync:\n  poll_interval: 10ms # <-\n", "sync.poll_interval", "must be at least 1s"},
		{"bad priority key", platformYAML + "reminders:\n  due_after:\n    P7: 3d # <-\n", "reminders.due_after.P7", `unknown priority "P7"`},
		{"missing project", platformYAML + "customers:\n  - id: janecorp\n    tracker: # <-\n      kind: github\n      auth: {token_env: JANECORP_TOKEN}\n",
			"customers[0].tracker.project", "required: owner/repo"},
		{"bad github project", platformYAML + "customers:\n  - id: janecorp\n    tracker:\n      kind: github\n      project: janecorp # <-\n      auth: {token_env: JANECORP_TOKEN}\n",
			"customers[0].tracker.project", "not a GitHub owner/repo"},
		{"bad jira key", "platform:\n  name: X\n  tracker:\n    kind: jira\n    url: https://jira.example.com\n    flavor: datacenter\n    project: plat # <-\n    auth: {token_env: PLATFORM_TOKEN}\n",
			"platform.tracker.project", "not a Jira project key"},
		{"bad customer id", platformYAML + "customers:\n  - id: Jane_Corp # <-\n    tracker: {kind: github, project: a/b, auth: {token_env: JANECORP_TOKEN}}\n",
			"customers[0].id", `"Jane_Corp" is not a valid customer id`},
		{"customer named platform", platformYAML + "customers:\n  - id: platform # <-\n    tracker: {kind: github, project: a/b, auth: {token_env: JANECORP_TOKEN}}\n",
			"customers[0].id", "reserved for the platform"},
		{"jira without flavor", "platform:\n  name: X\n  tracker: # <-\n    kind: jira\n    url: https://jira.example.com\n    project: PLAT\n    auth: {token_env: PLATFORM_TOKEN}\n",
			"platform.tracker.flavor", "required for kind jira: cloud or datacenter"},
		{"jira cloud without user", "platform:\n  name: X\n  tracker:\n    kind: jira\n    url: https://x.atlassian.net\n    flavor: cloud\n    project: PLAT\n    auth: # <-\n      token_env: PLATFORM_TOKEN\n",
			"platform.tracker.auth.user", "set auth.user_env"},
		{"jira without url", "platform:\n  name: X\n  tracker: # <-\n    kind: jira\n    flavor: datacenter\n    project: PLAT\n    auth: {token_env: PLATFORM_TOKEN}\n",
			"platform.tracker.url", "required for kind jira"},
		{"relative url", "platform:\n  name: X\n  tracker:\n    kind: jira\n    url: jira.example.com # <-\n    flavor: datacenter\n    project: PLAT\n    auth: {token_env: PLATFORM_TOKEN}\n",
			"platform.tracker.url", "absolute http:// or https:// URL"},
		{"url with credentials", "platform:\n  name: X\n  tracker:\n    kind: jira\n    url: https://bob:pw@jira.example.com # <-\n    flavor: datacenter\n    project: PLAT\n    auth: {token_env: PLATFORM_TOKEN}\n",
			"platform.tracker.url", "must not carry credentials"},
		{"flavor on github", platformYAML + "customers:\n  - id: janecorp\n    tracker:\n      kind: github\n      flavor: cloud # <-\n      project: a/b\n      auth: {token_env: JANECORP_TOKEN}\n",
			"customers[0].tracker.flavor", "only used with kind jira"},
		{"no token", platformYAML + "customers:\n  - id: janecorp\n    tracker:\n      kind: github\n      project: a/b\n      auth: {} # <-\n",
			"customers[0].tracker.auth.token", "required: set auth.token_env"},
		{"both env and file", platformYAML + "http:\n  token_env: HTTP_TOKEN\n  token_file: /run/secrets/http # <-\n", "http.token_file", "set token_env or token_file, not both"},
		{"non-loopback listen without token", platformYAML + "http:\n  listen: 0.0.0.0:8080 # <-\n", "http.listen", "set http.token_env"},
		{"listen without port", platformYAML + "http:\n  listen: localhost # <-\n", "http.listen", "want host:port"},
		{"env var unset", platformYAML + "customers:\n  - id: janecorp\n    tracker:\n      kind: github\n      project: a/b\n      auth:\n        token_env: NOT_SET_ANYWHERE # <-\n",
			"customers[0].tracker.auth.token_env", "environment variable NOT_SET_ANYWHERE is not set"},
		{"env var empty", platformYAML + "customers:\n  - id: janecorp\n    tracker:\n      kind: github\n      project: a/b\n      auth:\n        token_env: EMPTY_VAR # <-\n",
			"customers[0].tracker.auth.token_env", "environment variable EMPTY_VAR is empty"},
		{"secret file missing", platformYAML + "http:\n  token_file: /nonexistent/pmsync-token # <-\n", "http.token_file", "/nonexistent/pmsync-token"},
		{"wrong type: list for map", platformYAML + "customers:\n  - id: janecorp\n    tracker: # <-\n      - kind: github\n", "customers[0].tracker", "want a map of keys, got a list"},
		{"wrong type: map for list", platformYAML + "customers: # <-\n  id: janecorp\n", "customers", "want a list, got a map"},
		{"wrong type: string for int", platformYAML + "sync:\n  workers_per_tracker: many # <-\n", "sync.workers_per_tracker", `want an integer, got the string "many"`},
		{"wrong type: bool for string", platformYAML + customerYAML + "    share:\n      select_label: true # <-\n", "customers[0].share.select_label", "want a string, got true/false"},
		{"bad email", platformYAML + customerYAML + "    digest:\n      schedule: \"@weekly\"\n      email:\n        - sre-leads.janecorp.example # <-\nsmtp: {host: smtp.example.com, from: p@example.com}\n",
			"customers[0].digest.email[0]", `invalid e-mail address "sre-leads.janecorp.example"`},
		{"email without smtp", platformYAML + customerYAML + "    digest:\n      schedule: \"@weekly\"\n      email: [a@example.com] # <-\n",
			"customers[0].digest.email", "need an smtp section"},
		{"digest without recipient", platformYAML + customerYAML + "    digest: # <-\n      schedule: \"@weekly\"\n", "customers[0].digest", "no recipient"},
		{"bad share description", platformYAML + customerYAML + "    share:\n      description: everything # <-\n", "customers[0].share.description", `unknown value "everything" (want none, summary or full)`},
		{"empty comment prefix", platformYAML + customerYAML + "    share:\n      comment_prefix: \"\" # <-\n", "customers[0].share.comment_prefix", "would share every platform comment"},
		{"two customers on one project", platformYAML + customerYAML + "  - id: acme\n    tracker:\n      kind: github\n      project: JaneCorp/Reliability # <-\n      auth: {token_env: ACME_TOKEN}\n",
			"customers[1].tracker.project", `the same project as customer "janecorp"`},
		{"shared select label", platformYAML + customerYAML + "  - id: acme\n    tracker: {kind: github, project: acme/rel, auth: {token_env: ACME_TOKEN}}\n    share:\n      select_label: customer:janecorp # <-\n",
			"customers[1].share.select_label", `also customer "janecorp"'s select label`},
		{"jira labels priority", "platform:\n  name: X\n  tracker:\n    kind: jira\n    url: https://jira.example.com\n    flavor: datacenter\n    project: PLAT\n    auth: {token_env: PLATFORM_TOKEN}\n    labels:\n      priority: # <-\n        P1: p1\n",
			"platform.tracker.labels.priority", "Jira has native priorities"},
		{"duplicate priority names", "platform:\n  name: X\n  tracker:\n    kind: jira\n    url: https://jira.example.com\n    flavor: datacenter\n    project: PLAT\n    auth: {token_env: PLATFORM_TOKEN}\n    priorities:\n      P0: Blocker\n      P1: blocker # <-\n",
			"platform.tracker.priorities.P1", `"blocker" is also the name of P0`},
		{"issue_type on gitlab", platformYAML + "customers:\n  - id: janecorp\n    tracker:\n      kind: gitlab\n      project: group/proj\n      issue_type: Bug # <-\n      auth: {token_env: JANECORP_TOKEN}\n",
			"customers[0].tracker.issue_type", "only used with kind jira"},
		{"creates_per_minute on gitlab", platformYAML + "customers:\n  - id: janecorp\n    tracker:\n      kind: gitlab\n      project: group/proj\n      creates_per_minute: 100 # <-\n      auth: {token_env: JANECORP_TOKEN}\n",
			"customers[0].tracker.creates_per_minute", "only used with kind github"},
		{"creates_per_minute zero", platformYAML + "customers:\n  - id: janecorp\n    tracker:\n      kind: github\n      project: a/b\n      creates_per_minute: 0 # <-\n      auth: {token_env: JANECORP_TOKEN}\n",
			"customers[0].tracker.creates_per_minute", "must be from 1 to 100000, got 0"},
		{"creates_per_hour too high", platformYAML + "customers:\n  - id: janecorp\n    tracker:\n      kind: github\n      project: a/b\n      creates_per_hour: 9000000 # <-\n      auth: {token_env: JANECORP_TOKEN}\n",
			"customers[0].tracker.creates_per_hour", "must be from 1 to 6000000, got 9000000"},
		{"key written twice", platformYAML + "sync:\n  poll_interval: 2m\n  poll_interval: 3m # <-\n", "sync.poll_interval", "key written twice (first on line 11)"},
		{"bad log level", platformYAML + "log:\n  level: verbose # <-\n", "log.level", `unknown value "verbose" (want debug, info, warn or error)`},
		{"bad smtp tls", platformYAML + "smtp:\n  host: smtp.example.com\n  from: p@example.com\n  tls: ssl # <-\n", "smtp.tls", `unknown value "ssl"`},
		{"missing platform", "# <-\n" + customerYAML, "platform", "required"},
		{"workers zero", platformYAML + "sync:\n  workers_per_tracker: 0 # <-\n", "sync.workers_per_tracker", "must be from 1 to 256, got 0"},
		{"create settle negative", platformYAML + "sync:\n  create_settle: -5s # <-\n", "sync.create_settle", `invalid duration "-5s"`},
		{"create settle too long", platformYAML + "sync:\n  create_settle: 2h # <-\n", "sync.create_settle", "must be between 0s and 1h, got 2h"},
		{"yaml syntax error", platformYAML + "sync:\n  poll_interval: [2m # <-\n", "", "invalid YAML"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantLine := markedLine(t, tc.doc)
			cfg, err := Parse([]byte(tc.doc), "pmsync.yaml", lookup(testEnv))
			if err == nil {
				t.Fatalf("got no error (config %+v), want one at line %d naming %q", cfg, wantLine, tc.wantPath)
			}
			t.Logf("%v", err)
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("got error of type %T, want ErrorList", err)
			}
			found := false
			for _, e := range list {
				if e.Path == tc.wantPath && strings.Contains(e.Msg, tc.wantMsg) && (e.Line == wantLine || tc.wantPath == "" && e.Line >= wantLine-1 && e.Line <= wantLine+1) {
					found = true
				}
			}
			if !found {
				t.Fatalf("got errors:\n%v\nwant one at line %d, path %q, containing %q", err, wantLine, tc.wantPath, tc.wantMsg)
			}
			if tc.wantPath != "" && !strings.Contains(err.Error(), "pmsync.yaml:"+strconv.Itoa(wantLine)+": "+tc.wantPath+": ") {
				t.Errorf("got text %q, want it to contain %q", err.Error(), "pmsync.yaml:"+strconv.Itoa(wantLine)+": "+tc.wantPath)
			}
			for _, v := range testEnv {
				if strings.TrimSpace(v) != "" && strings.Contains(err.Error(), v) {
					t.Errorf("error text leaks secret value %q: %v", v, err)
				}
			}
			for _, leak := range []string{"ghp_", "hunter2", "bob:pw"} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("error text echoes the literal secret %q: %v", leak, err)
				}
			}
		})
	}
}

// TestSeveralErrorsAtOnce shows that Parse reports every problem it finds,
// in line order, rather than stopping at the first.
func TestSeveralErrorsAtOnce(t *testing.T) {
	doc := platformYAML + `sync:
  poll_interval: soon
  workers_per_tracker: -1
customers:
  - id: Bad!
    tracker: {kind: gitlub, project: x}
`
	_, err := Parse([]byte(doc), "pmsync.yaml", lookup(testEnv))
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("got %v, want an ErrorList", err)
	}
	want := []string{"sync.poll_interval", "sync.workers_per_tracker", "customers[0].id", "customers[0].tracker.kind"}
	if len(list) != len(want) {
		t.Fatalf("got %d errors:\n%v\nwant %d", len(list), err, len(want))
	}
	for i, p := range want {
		if list[i].Path != p {
			t.Errorf("error %d: got path %q, want %q", i, list[i].Path, p)
		}
		if i > 0 && list[i].Line < list[i-1].Line {
			t.Errorf("errors not in line order: %v", err)
		}
	}
}

// TestSecretFromFile reads a secret from a file relative to the config
// file, trimmed.
func TestSecretFromFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "jane.token"), []byte("  from-file-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "empty.token"), []byte("\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := platformYAML + "customers:\n  - id: janecorp\n    tracker:\n      kind: github\n      project: a/b\n      auth: {token_file: jane.token}\n"
	cfg, err := Parse([]byte(doc), filepath.Join(dir, "pmsync.yaml"), lookup(testEnv))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := cfg.Customers[0].Tracker.Auth.Token.Value(); got != "from-file-token" {
		t.Errorf("got token %q, want %q", got, "from-file-token")
	}
	doc = strings.Replace(doc, "jane.token", "empty.token", 1)
	_, err = Parse([]byte(doc), filepath.Join(dir, "pmsync.yaml"), lookup(testEnv))
	if err == nil || !strings.Contains(err.Error(), "customers[0].tracker.auth.token_file: secret file") || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("got %v, want an error saying the secret file is empty", err)
	}
}
