package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pmsync/pmsync/store"
)

// freeLoopbackAddr returns a loopback address with a port nothing listens
// on (the test's own listener is closed before it returns).
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestReportFromRunningServe: while `pmsync serve` holds the store,
// `pmsync report` gets the report from it over HTTP, with the bearer
// token of the configuration.
func TestReportFromRunningServe(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pmsync.yaml")
	addr := freeLoopbackAddr(t)
	t.Setenv("SERVE_HTTP_TOKEN", "report-bearer-token")
	text := strings.Replace(serveConfig(t, dir), "  listen: 127.0.0.1:0\n", "  listen: "+addr+"\n  token_env: SERVE_HTTP_TOKEN\n", 1)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	exit := make(chan int, 1)
	go func() { exit <- run(ctx, []string{"--config", path, "serve"}, &stdout, &stderr) }()
	defer func() {
		cancel()
		select {
		case <-exit:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop within 30 s")
		}
	}()
	waitFor(t, "the listener", func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	month := time.Now().UTC().Format("2006-01")
	code, out, errOut := runPmsync(t, "--config", path, "report", "--customer", "janecorp", "--month", month)
	if code != ExitOK || !strings.Contains(out, "## Totals") {
		t.Fatalf("report while serve runs: exit %d\nstdout:\n%s\nstderr:\n%s\nwant 0 and the Markdown report", code, out, errOut)
	}
	code, out, _ = runPmsync(t, "--config", path, "report", "--customer", "janecorp", "--month", month, "--format", "html")
	if code != ExitOK || !strings.Contains(out, "<html") {
		t.Errorf("report --format html while serve runs: exit %d, want 0 and an HTML page", code)
	}
	if strings.Contains(out+errOut, "report-bearer-token") {
		t.Errorf("the report's output shows the bearer token")
	}
	code, out, errOut = runPmsync(t, "--config", path, "digest", "--platform", "--dry-run")
	if code != ExitOK || !strings.Contains(out, "CUSTOMERS") {
		t.Errorf("digest --platform --dry-run while serve runs: exit %d\nstdout:\n%s\nstderr:\n%s\nwant 0 and the text digest", code, out, errOut)
	}
	code, _, errOut = runPmsync(t, "--config", path, "digest", "--customer", "janecorp")
	if code != ExitStoreLocked || !strings.Contains(errOut, "--dry-run") {
		t.Errorf("digest send while serve runs: exit %d, stderr:\n%s\nwant %d pointing at --dry-run", code, errOut, ExitStoreLocked)
	}
}

// TestReportLockedWithoutServe: another process holds the store and
// nothing answers on http.listen: exit 3, naming both failures.
func TestReportLockedWithoutServe(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pmsync.yaml")
	text := strings.Replace(serveConfig(t, dir), "  listen: 127.0.0.1:0\n", "  listen: "+freeLoopbackAddr(t)+"\n", 1)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(dir, "pmsync.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	code, _, errOut := runPmsync(t, "--config", path, "report", "--customer", "janecorp", "--month", "2026-10")
	if code != ExitStoreLocked || !strings.Contains(errOut, "asking the running pmsync serve instead failed") {
		t.Errorf("report on a locked store with no serve answering: exit %d, stderr:\n%s\nwant %d naming both failures", code, errOut, ExitStoreLocked)
	}
}
