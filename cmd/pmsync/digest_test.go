package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/store"
)

// digestConfig writes the example configuration with its store in a temp
// dir and janecorp's digest going to chat only, seeds the store with two
// JaneCorp links, and returns the config path and the store path.
func digestConfig(t *testing.T) (cfgPath, dbPath string) {
	t.Helper()
	setExampleEnv(t)
	t.Setenv(configEnv, "")
	example, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(string(example), "path: /var/lib/pmsync/pmsync.db", "path: pmsync.db", 1)
	doc = strings.Replace(doc, "email: [sre-leads@janecorp.example]", "", 1)
	dir := t.TempDir()
	cfgPath = filepath.Join(dir, "pmsync.yaml")
	if err := os.WriteFile(cfgPath, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	dbPath = filepath.Join(dir, "pmsync.db")
	db, err := store.Open(dbPath, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now()
	for i, title := range []string{"add uncached-read latency tests", "document cache tiers"} {
		prio := connectors.Priority([]string{"P1", "P3"}[i])
		f := store.Fields{Title: title, Status: connectors.StatusOpen, Priority: prio, Incident: "INC-2041", Owner: connectors.OwnerPlatform}
		key := []string{"PLAT-7", "PLAT-8"}[i]
		l := &store.Link{ID: []string{"aaaaaaaaaaaaaaaaaaaaaaa1", "aaaaaaaaaaaaaaaaaaaaaaa2"}[i], Customer: "janecorp",
			Origin: connectors.OwnerPlatform, Owner: connectors.OwnerPlatform,
			Platform: store.Side{Ref: connectors.Ref{Tracker: "platform", Key: key}, URL: "https://jira.example.com/browse/" + key,
				Base: f, CreatedAt: now.Add(-60 * 24 * time.Hour), UpdatedAt: now.Add(-time.Hour)},
			Remote: store.Side{Ref: connectors.Ref{Tracker: "janecorp", Key: "janecorp/reliability#" + key[5:]},
				URL: "https://github.com/janecorp/reliability/issues/" + key[5:], Base: f,
				CreatedAt: now.Add(-60 * 24 * time.Hour), UpdatedAt: now.Add(-time.Hour)}}
		if err := db.PutLink(l); err != nil {
			t.Fatal(err)
		}
	}
	return cfgPath, dbPath
}

func TestDigestDryRun(t *testing.T) {
	cfg, _ := digestConfig(t)
	for _, tc := range []struct {
		args []string
		want []string
		not  []string
	}{
		{[]string{"--customer", "janecorp"}, []string{"Action-item digest: JaneCorp", "add uncached-read latency tests", "janecorp/reliability#7", "overdue"}, []string{"PLAT-", "jira.example.com"}},
		{[]string{"--customer", "janecorp", "--format", "md"}, []string{"# Action-item digest: JaneCorp", "| add uncached-read latency tests |"}, []string{"PLAT-"}},
		{[]string{"--customer", "janecorp", "--format", "html"}, []string{"<!DOCTYPE html>", `href="https://github.com/janecorp/reliability/issues/7"`}, []string{"PLAT-"}},
		{[]string{"--platform"}, []string{"Action-item digest: Example Cloud, all customers", "PLAT-7", "JaneCorp (janecorp): 2 open, 1 critical, 1 overdue"}, nil},
	} {
		args := append([]string{"--config", cfg, "digest", "--dry-run"}, tc.args...)
		code, out, errOut := runPmsync(t, args...)
		if code != ExitOK {
			t.Fatalf("%v: exit %d, want 0; stderr:\n%s", tc.args, code, errOut)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, w, out)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(out, n) {
				t.Errorf("%v: output contains %q, which a customer must never see", tc.args, n)
			}
		}
		assertNoSecrets(t, out, errOut)
	}
}

func TestDigestSendNowToChat(t *testing.T) {
	cfg, _ := digestConfig(t)
	var mu sync.Mutex
	var bodies []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
	}))
	defer hook.Close()
	t.Setenv("JANECORP_CHAT_WEBHOOK", hook.URL+"/hook")
	code, out, errOut := runPmsync(t, "--config", cfg, "digest", "--customer", "janecorp")
	if code != ExitOK {
		t.Fatalf("exit %d, want 0; stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "sent     chat") {
		t.Errorf("output %q, want a line saying the chat recipient was sent", out)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 1 || !strings.Contains(bodies[0], `"text":"Action items for JaneCorp: 1 open critical, 1 overdue"`) {
		t.Errorf("webhook bodies: got %v, want one JaneCorp digest", bodies)
	}
}

func TestDigestSendFailureExitsOne(t *testing.T) {
	cfg, _ := digestConfig(t)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) }))
	defer hook.Close()
	t.Setenv("JANECORP_CHAT_WEBHOOK", hook.URL+"/hook-secret-path")
	code, out, errOut := runPmsync(t, "--config", cfg, "digest", "--customer", "janecorp")
	if code != ExitFailure {
		t.Fatalf("exit %d, want %d; stdout:\n%s", code, ExitFailure, out)
	}
	if !strings.Contains(errOut, "chat webhook: answered 403") || strings.Contains(errOut+out, "hook-secret-path") {
		t.Errorf("stderr %q: want the 403 named and the webhook URL hidden", errOut)
	}
}

func TestReportCommand(t *testing.T) {
	cfg, _ := digestConfig(t)
	month := time.Now().Format("2006-01")
	for _, f := range []string{"md", "html"} {
		code, out, errOut := runPmsync(t, "--config", cfg, "report", "--customer", "janecorp", "--month", month, "--format", f)
		if code != ExitOK {
			t.Fatalf("%s: exit %d, want 0; stderr:\n%s", f, code, errOut)
		}
		if !strings.Contains(out, "Monthly action-item review: JaneCorp and Example Cloud") || !strings.Contains(out, "add uncached-read latency tests") {
			t.Errorf("%s report lacks its heading or items:\n%s", f, out)
		}
		if strings.Contains(out, "PLAT-") {
			t.Errorf("%s report contains a platform key", f)
		}
	}
}

func TestDigestReportUsageErrors(t *testing.T) {
	cfg, _ := digestConfig(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"digest"}, "--customer ID or --platform"},
		{[]string{"digest", "--customer", "janecorp", "--platform"}, "--dry-run"},
		{[]string{"digest", "--customer", "janecorp", "--dry-run", "--format", "pdf"}, "--format"},
		{[]string{"digest", "--customer", "initech", "--dry-run"}, `"initech"`},
		{[]string{"report", "--customer", "janecorp"}, "--month"},
		{[]string{"report", "--customer", "janecorp", "--month", "March"}, "YYYY-MM"},
		{[]string{"report", "--customer", "janecorp", "--month", "2025-03", "--format", "text"}, "md or html"},
	} {
		code, _, errOut := runPmsync(t, append([]string{"--config", cfg}, tc.args...)...)
		if code != ExitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d naming %s", tc.args, code, errOut, ExitUsage, tc.want)
		}
	}
}

func TestDigestStoreLocked(t *testing.T) {
	cfg, dbPath := digestConfig(t)
	db, err := store.Open(dbPath, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	code, _, errOut := runPmsync(t, "--config", cfg, "digest", "--customer", "janecorp", "--dry-run")
	if code != ExitStoreLocked {
		t.Errorf("exit %d, want %d; stderr:\n%s", code, ExitStoreLocked, errOut)
	}
}
