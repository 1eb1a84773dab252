package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors/github/githubfake"
	"github.com/pmsync/pmsync/connectors/gitlab/gitlabfake"
	"github.com/pmsync/pmsync/store"
)

// syncBuffer is an output the test reads while pmsync writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serveConfig is a configuration with the platform on a GitLab simulator
// and one customer on a GitHub simulator.
func serveConfig(t *testing.T, dir string) string {
	t.Helper()
	gl := gitlabfake.Start(gitlabfake.Options{Token: "serve-gitlab-token", Projects: []string{"plat/ops"}, Now: time.Now})
	t.Cleanup(gl.Close)
	gh, err := githubfake.NewServer(githubfake.Options{Token: "serve-github-token", Repos: []string{"janecorp/reliability"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := gh.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gh.Close() })
	t.Setenv("SERVE_GITLAB_TOKEN", "serve-gitlab-token")
	t.Setenv("SERVE_GITHUB_TOKEN", "serve-github-token")
	return fmt.Sprintf(`store:
  path: %s
http:
  listen: 127.0.0.1:0
sync:
  poll_interval: 1s
platform:
  name: Example Cloud
  tracker:
    kind: gitlab
    url: %s
    project: plat/ops
    auth:
      token_env: SERVE_GITLAB_TOKEN
customers:
  - id: janecorp
    name: JaneCorp
    tracker:
      kind: github
      url: %s
      project: janecorp/reliability
      auth:
        token_env: SERVE_GITHUB_TOKEN
`, filepath.Join(dir, "pmsync.db"), gl.URL(), gh.URL())
}

var listenRE = regexp.MustCompile(`msg="pmsync serving" listen=(\S+)`)

// waitFor polls cond until it is true or 15 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestServeSignals runs `pmsync serve` in-process with the real signal
// wiring: SIGHUP with a broken configuration is refused and the daemon
// keeps serving; a second serve on the same store exits 3; cancelling the
// context (what SIGTERM does in main) exits 0 with a store that passes
// Check.
func TestServeSignals(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pmsync.yaml")
	good := serveConfig(t, dir)
	if err := os.WriteFile(path, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	exit := make(chan int, 1)
	go func() { exit <- run(ctx, []string{"--config", path, "serve"}, &stdout, &stderr) }()

	var base string
	waitFor(t, "the listener", func() bool {
		m := listenRE.FindStringSubmatch(stderr.String())
		if m != nil {
			base = "http://" + m[1]
		}
		return m != nil
	})
	get := func(p string) int {
		resp, err := http.Get(base + p)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	waitFor(t, "ready", func() bool { return get("/readyz") == http.StatusOK })

	if err := os.WriteFile(path, []byte(strings.Replace(good, "kind: github", "kind: githib", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatalf("send SIGHUP: %v", err)
	}
	waitFor(t, "the refused reload in the log", func() bool {
		return strings.Contains(stderr.String(), "configuration reload refused")
	})
	if !strings.Contains(stderr.String(), "customers[0].tracker.kind") {
		t.Errorf("the refusal does not name the key:\n%s", stderr.String())
	}
	if code := get("/readyz"); code != http.StatusOK {
		t.Errorf("GET /readyz after a refused reload: got %d, want 200", code)
	}
	if code := get("/"); code != http.StatusOK {
		t.Errorf("GET / after a refused reload: got %d, want 200", code)
	}

	if err := os.WriteFile(path, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runPmsync(t, "--config", path, "serve")
	if code != ExitStoreLocked {
		t.Errorf("a second serve on the same store: got exit %d, want %d; stderr:\n%s", code, ExitStoreLocked, errOut)
	}

	cancel()
	select {
	case code := <-exit:
		if code != ExitOK {
			t.Errorf("serve after cancel: got exit %d, want 0; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30 s of cancel")
	}
	db, err := store.Open(filepath.Join(dir, "pmsync.db"), store.Options{})
	if err != nil {
		t.Fatalf("reopen store: %v", err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Errorf("store.Check after serve stopped: %v", err)
	}
	for _, secret := range []string{"serve-gitlab-token", "serve-github-token"} {
		if strings.Contains(stderr.String(), secret) || strings.Contains(stdout.String(), secret) {
			t.Errorf("serve printed a token")
		}
	}
}
