package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmsync/pmsync/config"
	"github.com/pmsync/pmsync/store"
)

const examplePath = "../../config/testdata/pmsync.example.yaml"

// exampleEnv is every variable the example configuration names, with
// canary values that must never be printed.
var exampleEnv = map[string]string{
	"PMSYNC_HTTP_TOKEN":       "canary-http-token",
	"PLATFORM_TRACKER_TOKEN":  "canary-platform-token",
	"PLATFORM_TRACKER_USER":   "canary-platform-user",
	"PLATFORM_WEBHOOK_SECRET": "canary-platform-hook",
	"JANECORP_GITHUB_TOKEN":   "canary-janecorp-token",
	"JANECORP_WEBHOOK_SECRET": "canary-janecorp-hook",
	"JANECORP_CHAT_WEBHOOK":   "https://chat.example/canary-hook",
	"SMTP_USER":               "canary-smtp-user",
	"SMTP_PASSWORD":           "canary-smtp-password",
}

func setExampleEnv(t *testing.T) {
	t.Helper()
	for k, v := range exampleEnv {
		t.Setenv(k, v)
	}
}

// runPmsync runs the CLI in-process and returns exit code and output.
func runPmsync(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func assertNoSecrets(t *testing.T, texts ...string) {
	t.Helper()
	for _, text := range texts {
		for name, v := range exampleEnv {
			if strings.Contains(text, v) {
				t.Errorf("output contains the value of %s", name)
			}
		}
	}
}

func TestConfigCheckExample(t *testing.T) {
	setExampleEnv(t)
	t.Setenv(configEnv, "")
	code, out, errOut := runPmsync(t, "config", "check", "--config", examplePath)
	if code != ExitOK {
		t.Fatalf("got exit %d, want %d; stderr:\n%s", code, ExitOK, errOut)
	}
	for _, want := range []string{
		"configuration is valid",
		"tracker platform: jira datacenter PLAT at https://jira.example.com",
		"janecorp (JaneCorp)",
		"tracker janecorp: github janecorp/reliability",
		`digest "CRON_TZ=America/New_York 0 9 * * MON" (America/New_York)`,
		`platform digest "CRON_TZ=UTC 0 8 * * MON"`,
		"token from env JANECORP_GITHUB_TOKEN",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q; got:\n%s", want, out)
		}
	}
	assertNoSecrets(t, out, errOut)
}

func TestConfigFromEnvironment(t *testing.T) {
	setExampleEnv(t)
	t.Setenv(configEnv, examplePath)
	code, out, errOut := runPmsync(t, "config", "check")
	if code != ExitOK {
		t.Fatalf("got exit %d, want %d; stderr:\n%s", code, ExitOK, errOut)
	}
	if !strings.Contains(out, examplePath) {
		t.Errorf("summary does not name the file from $%s; got:\n%s", configEnv, out)
	}
	// --config wins over the environment.
	t.Setenv(configEnv, filepath.Join(t.TempDir(), "missing.yaml"))
	if code, _, errOut := runPmsync(t, "--config", examplePath, "config", "check"); code != ExitOK {
		t.Errorf("with --config and a wrong $%s: got exit %d, want %d; stderr:\n%s", configEnv, code, ExitOK, errOut)
	}
}

func TestConfigCheckBroken(t *testing.T) {
	setExampleEnv(t)
	example, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		old, new  string // edit of the example
		unsetEnv  string
		wantInErr string
	}{
		{"bad kind", "kind: github", "kind: gitlub", "", `pmsync.yaml:33: customers[0].tracker.kind: unknown kind "gitlub"`},
		{"unknown key", "poll_overlap: 2m", "poll_overlapp: 2m", "", "pmsync.yaml:12: sync.poll_overlapp: unknown key"},
		{"literal token", "token_env: JANECORP_GITHUB_TOKEN", "token: canary-janecorp-token", "", "pmsync.yaml:36: customers[0].tracker.auth.token: a secret must never be written"},
		{"bad cron", "0 9 * * MON", "0 9 * MON", "", "pmsync.yaml:44: customers[0].digest.schedule: cron schedule"},
		{"bad duration", "stale_after: 14d", "stale_after: 14days", "", "reminders.stale_after: invalid duration"},
		{"unset env", "", "", "JANECORP_GITHUB_TOKEN", "customers[0].tracker.auth.token_env: environment variable JANECORP_GITHUB_TOKEN is not set"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := string(example)
			if tc.old != "" {
				if !strings.Contains(doc, tc.old) {
					t.Fatalf("example has no %q", tc.old)
				}
				doc = strings.Replace(doc, tc.old, tc.new, 1)
			}
			if tc.unsetEnv != "" {
				t.Setenv(tc.unsetEnv, "")
				os.Unsetenv(tc.unsetEnv)
			}
			path := filepath.Join(t.TempDir(), "pmsync.yaml")
			if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runPmsync(t, "config", "check", "--config", path)
			if code != ExitUsage {
				t.Fatalf("got exit %d, want %d; stdout:\n%s", code, ExitUsage, out)
			}
			if !strings.Contains(errOut, tc.wantInErr) {
				t.Errorf("stderr lacks %q; got:\n%s", tc.wantInErr, errOut)
			}
			if !strings.Contains(errOut, "invalid configuration") {
				t.Errorf("stderr lacks the summary line; got:\n%s", errOut)
			}
			assertNoSecrets(t, out, errOut)
		})
	}
}

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown flag", []string{"version", "--bogus"}, "unknown flag: --bogus"},
		{"extra argument", []string{"version", "now"}, "unknown command"},
		{"config without subcommand", []string{"config"}, "config needs a subcommand"},
		{"no command", []string{}, "no command given"},
		{"missing config file", []string{"config", "check", "--config", "/nonexistent/pmsync.yaml"}, "/nonexistent/pmsync.yaml"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runPmsync(t, tc.args...)
			if code != ExitUsage {
				t.Errorf("got exit %d, want %d; stderr:\n%s", code, ExitUsage, errOut)
			}
			if !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("stderr lacks %q; got:\n%s", tc.wantErr, errOut)
			}
		})
	}
}

// TestRuntimeFailureExitsOne runs a command whose work fails (writing
// to a broken stdout) and checks the exit code is ExitFailure, not usage.
func TestRuntimeFailureExitsOne(t *testing.T) {
	var errb bytes.Buffer
	code := run(context.Background(), []string{"version"}, failingWriter{}, &errb)
	if code != ExitFailure {
		t.Errorf("got exit %d, want %d; stderr:\n%s", code, ExitFailure, errb.String())
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("stdout closed") }

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, errOut := runPmsync(t, args...)
		if code != ExitOK {
			t.Fatalf("%v: got exit %d, want 0; stderr:\n%s", args, code, errOut)
		}
		if !strings.HasPrefix(out, "pmsync dev (commit ") {
			t.Errorf("%v: got %q, want it to start with %q", args, out, "pmsync dev (commit ")
		}
	}
}

func TestExitCode(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want int
	}{
		{"success", nil, ExitOK},
		{"runtime failure", errors.New("github: create issue in o/r: 502"), ExitFailure},
		{"usage", usageErrorf("--customer is required"), ExitUsage},
		{"invalid config", fmt.Errorf("reload: %w", config.ErrorList{{File: "f", Line: 1, Msg: "x"}}), ExitUsage},
		{"config read failure", configError(errors.New("config: read f: no such file")), ExitUsage},
		{"store locked", fmt.Errorf("serve: open store: %w", store.ErrLocked), ExitStoreLocked},
		{"explicit code", withExitCode(ExitStoreLocked, errors.New("busy")), ExitStoreLocked},
	}
	for _, tc := range cases {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}
}
