package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/github"
	"github.com/pmsync/pmsync/connectors/github/githubfake"
	"github.com/pmsync/pmsync/connectors/gitlab"
	"github.com/pmsync/pmsync/connectors/gitlab/gitlabfake"
	"github.com/pmsync/pmsync/store"
	"github.com/pmsync/pmsync/sync/engine"
)

// The crash test runs the engine in a child process (this test binary,
// re-run with crashEnv set) and kills it with SIGKILL at random points.
const (
	crashEnv      = "PMSYNC_CRASH_CHILD" // the store path, in the child
	crashURLsEnv  = "PMSYNC_CRASH_URLS"  // platform, jane and beta base URLs
	crashToken    = "crash-test-token"
	crashItems    = 200
	crashPlatRepo = "example/platform"
	crashJaneRepo = "jane/reliability"
	crashBetaProj = "beta/ops"
)

// crashConnectors builds the three connectors over the simulators.
func crashConnectors(urls []string) (map[string]connectors.Connector, error) {
	plat, err := github.New(connectors.Config{ID: engine.PlatformID, Kind: "github", URL: urls[0], Project: crashPlatRepo, Token: crashToken},
		github.Options{CreatesPerMinute: 1e6})
	if err != nil {
		return nil, err
	}
	jane, err := gitlab.New(connectors.Config{ID: "jane", Kind: "gitlab", URL: urls[1], Project: crashJaneRepo, Token: crashToken})
	if err != nil {
		return nil, err
	}
	beta, err := gitlab.New(connectors.Config{ID: "beta", Kind: "gitlab", URL: urls[2], Project: crashBetaProj, Token: crashToken})
	if err != nil {
		return nil, err
	}
	return map[string]connectors.Connector{engine.PlatformID: plat, "jane": jane, "beta": beta}, nil
}

// TestCrashChild is the child side: sync until a pass writes nothing. It
// is skipped unless TestKill9Restart runs it.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("the child of TestKill9Restart")
	}
	var urls []string
	for _, u := range bytes.Split([]byte(os.Getenv(crashURLsEnv)), []byte(" ")) {
		urls = append(urls, string(u))
	}
	conns, err := crashConnectors(urls)
	if err != nil {
		t.Fatal(err)
	}
	// NoSync: a SIGKILL loses no write that reached the kernel (only a
	// power cut would), and skipping fsync keeps 50 kills within the test
	// budget.
	db, err := store.Open(path, store.Options{Timeout: 10 * time.Second, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	eng, err := engine.New(engine.Options{
		Store:     db,
		Platform:  engine.Tracker{Name: "Example Cloud", Conn: conns[engine.PlatformID], RequestsPerSecond: -1},
		Customers: []engine.Customer{{ID: "jane", Tracker: engine.Tracker{Conn: conns["jane"], RequestsPerSecond: -1}}, {ID: "beta", Tracker: engine.Tracker{Conn: conns["beta"], RequestsPerSecond: -1}}},
		MarkerKey: []byte("crash-key"),
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		p, err := eng.SyncOnce(context.Background(), false)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Writes) == 0 && len(p.Failures) == 0 {
			return
		}
	}
	t.Fatal("no convergence in 10 passes")
}

// inFlight counts the requests a handler is answering.
type inFlight struct {
	h http.Handler
	n atomic.Int64
}

func (f *inFlight) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.n.Add(1)
	defer f.n.Add(-1)
	f.h.ServeHTTP(w, r)
}

// wait returns once no request is being answered.
func (f *inFlight) wait(t *testing.T) {
	deadline := time.Now().Add(10 * time.Second)
	for f.n.Load() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the simulator kept answering a killed child for 10 s")
		}
		<-time.After(time.Millisecond)
	}
}

// TestKill9Restart syncs 200 platform items (on a GitHub simulator) to 2
// customers (on GitLab simulators) in a child process killed with SIGKILL at random
// points 50 times (PMSYNC_SOAK_KILLS sets how many), while platform
// statuses change between runs; then lets a last child finish. Bar: no
// duplicate mirror, every status change arrived, converged.
func TestKill9Restart(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("in the child")
	}
	kills := 50
	if v, err := strconv.Atoi(os.Getenv("PMSYNC_SOAK_KILLS")); err == nil && v > 0 {
		kills = v
	}
	serve := func(h *httptest.Server) string { t.Cleanup(h.Close); return h.URL }
	plat, err := githubfake.New(githubfake.Options{Token: crashToken, Repos: []string{crashPlatRepo}, RateLimit: 1 << 30, SecondaryPerMinute: -1})
	if err != nil {
		t.Fatal(err)
	}
	jane := gitlabfake.New(gitlabfake.Options{Token: crashToken, Projects: []string{crashJaneRepo}, Now: time.Now})
	t.Cleanup(jane.Close)
	beta := gitlabfake.New(gitlabfake.Options{Token: crashToken, Projects: []string{crashBetaProj}, Now: time.Now})
	t.Cleanup(beta.Close)
	idle := &inFlight{h: plat}
	urls := []string{serve(httptest.NewServer(idle)) + "/", serve(httptest.NewServer(jane)), serve(httptest.NewServer(beta))}
	jane.SetBaseURL(urls[1])
	beta.SetBaseURL(urls[2])
	conns, err := crashConnectors(urls)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var keys []string
	for i := 0; i < crashItems; i++ {
		it, err := conns[engine.PlatformID].Create(ctx, "", &connectors.Item{Title: fmt.Sprintf("Action item %d", i),
			Status: connectors.StatusOpen, Labels: []string{"postmortem-action", "customer:jane", "customer:beta"}})
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, it.Ref.Key)
	}

	dbPath := filepath.Join(t.TempDir(), "pmsync.db")
	run := func(kill time.Duration) (killed bool, out []byte) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), crashEnv+"="+dbPath, crashURLsEnv+"="+urls[0]+" "+urls[1]+" "+urls[2])
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		if kill > 0 {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("child failed before its kill: %v\n%s", err, buf.Bytes())
				}
				return false, buf.Bytes()
			case <-time.After(kill):
				_ = cmd.Process.Kill() // SIGKILL
				<-done
				return true, buf.Bytes()
			}
		}
		if err := <-done; err != nil {
			t.Fatalf("final child failed: %v\n%s", err, buf.Bytes())
		}
		return false, buf.Bytes()
	}

	rng := rand.New(rand.NewPCG(42, 1))
	want := map[string]string{} // platform key → state
	killed := 0
	for i := 0; i < kills; i++ {
		if k, _ := run(time.Duration(20+rng.IntN(400)) * time.Millisecond); k {
			killed++
		}
		idle.wait(t)             // requests of the killed child may still be answered
		for j := 0; j < 3; j++ { // the platform moves on between runs
			key := keys[rng.IntN(len(keys))]
			state := []string{"open", "closed"}[rng.IntN(2)]
			if err := plat.SetState(key, state, map[string]string{"open": "", "closed": "completed"}[state]); err != nil {
				t.Fatal(err)
			}
			want[key] = state
		}
	}
	finalStart := time.Now()
	t.Logf("before the last run: jane %d, beta %d mirrors", jane.Count(), beta.Count())
	run(0)
	t.Logf("final run took %v", time.Since(finalStart))
	t.Logf("%d of %d runs were killed mid-sync", killed, kills)

	// No duplicates: exactly one mirror per item and customer.
	for id, c := range map[string]connectors.Connector{"jane": conns["jane"], "beta": conns["beta"]} {
		ch, err := c.Changes(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		markers := map[string]bool{}
		for _, it := range ch.Items {
			if it.Marker == "" || markers[it.Marker] {
				t.Errorf("%s: item %s has an empty or repeated marker", id, it.Ref.Key)
			}
			markers[it.Marker] = true
		}
		if len(ch.Items) != crashItems {
			t.Errorf("%s has %d items, want %d (no duplicate, none missing)", id, len(ch.Items), crashItems)
		}
	}
	// No lost status change: every mirror has its item's final status.
	db, err := store.Open(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Errorf("store check: %v", err)
	}
	if in, err := db.Intents(); err != nil || len(in) != 0 {
		t.Errorf("open intents after convergence: %d (err %v)", len(in), err)
	}
	for key, state := range want {
		links, err := db.LinksByRef(connectors.Ref{Tracker: engine.PlatformID, Key: key})
		if err != nil || len(links) != 2 {
			t.Fatalf("links of %s: %d (err %v), want 2", key, len(links), err)
		}
		for _, l := range links {
			m, err := conns[l.Customer].Get(ctx, l.Remote.Ref.Key)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Status.Closed(); got != (state == "closed") {
				t.Errorf("%s mirror of %s is %s, want the platform's last state %s", l.Customer, key, m.Status, state)
			}
		}
	}
}
