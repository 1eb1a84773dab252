package daemon_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmsync/pmsync/config"
	"github.com/pmsync/pmsync/connectors/jira/jirafake"
	"github.com/pmsync/pmsync/sync/daemon"
	"github.com/pmsync/pmsync/sync/demo"
)

// lockedBuffer is a log sink the test can read while the daemon writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// harness is a daemon over the demo's simulators, with its configuration
// in a file that tests may rewrite before a reload.
type harness struct {
	t       *testing.T
	sims    *demo.Simulators
	dir     string
	cfgPath string
	env     map[string]string
	logs    *lockedBuffer
	d       *daemon.Daemon
	stop    context.CancelFunc
}

// options adjust a harness before its daemon starts.
type options struct {
	poll     time.Duration
	edit     func(yaml string) string // rewrites the configuration text
	env      map[string]string        // extra environment for secrets
	progress time.Duration
	drain    time.Duration
	rps      int    // sync.requests_per_second, 0 for the default
	dir      string // reuse a store directory
	sims     *demo.Simulators
}

// start runs the simulators and a daemon over them.
func start(t *testing.T, o options) *harness {
	t.Helper()
	if o.poll == 0 {
		o.poll = time.Second
	}
	if o.dir == "" {
		o.dir = t.TempDir()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	h := &harness{t: t, dir: o.dir, cfgPath: filepath.Join(o.dir, "pmsync.yaml"), env: o.env, logs: &lockedBuffer{}, sims: o.sims}
	if h.sims == nil {
		if h.sims, err = demo.StartSimulators("http://" + ln.Addr().String()); err != nil {
			t.Fatalf("start simulators: %v", err)
		}
		t.Cleanup(h.sims.Close)
	}
	text := string(h.sims.ConfigText(filepath.Join(o.dir, "pmsync.db"), ln.Addr().String(), o.poll))
	if o.rps > 0 {
		text = strings.Replace(text, "\nsync:\n", fmt.Sprintf("\nsync:\n  requests_per_second: %d\n", o.rps), 1)
	}
	if o.edit != nil {
		text = o.edit(text)
	}
	h.write(text)
	cfg, err := h.load()
	if err != nil {
		t.Fatalf("load configuration: %v", err)
	}
	h.d, err = daemon.New(daemon.Options{
		Config: cfg, Load: h.load, Listener: ln, ProgressEvery: o.progress, DrainTimeout: o.drain,
		Logger: slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatalf("daemon.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	if err := h.d.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		h.shutdown()
		if t.Failed() || os.Getenv("PMSYNC_TEST_LOG") != "" {
			t.Logf("daemon log:\n%s", h.logs.String())
		}
	})
	return h
}

// shutdown stops the daemon as SIGTERM does and waits for it.
func (h *harness) shutdown() error {
	h.stop()
	return h.d.Wait()
}

func (h *harness) write(text string) {
	h.t.Helper()
	if err := os.WriteFile(h.cfgPath, []byte(text), 0o600); err != nil {
		h.t.Fatalf("write configuration: %v", err)
	}
}

// load reads the configuration file as pmsync serve does on SIGHUP.
func (h *harness) load() (*config.Config, error) {
	data, err := os.ReadFile(h.cfgPath)
	if err != nil {
		return nil, err
	}
	return config.Parse(data, h.cfgPath, func(k string) (string, bool) {
		if v, ok := h.env[k]; ok {
			return v, true
		}
		return demo.LookupEnv(k)
	})
}

// get requests path of the daemon with optional headers.
func (h *harness) get(path string, header ...string) (int, string) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.d.URL()+path, nil)
	if err != nil {
		h.t.Fatalf("request %s: %v", path, err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// eventually polls cond until it returns "" or timeout passes; the last
// message is the failure.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msg := cond()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %s", what, timeout, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fileItems files n platform action items shared with the given customers.
func (h *harness) fileItems(n int, customers ...string) []string {
	h.t.Helper()
	var keys []string
	for i := range n {
		title := fmt.Sprintf("Action item %03d", i)
		prio := "High"
		labels := []string{"postmortem-action", "incident:INC-7"}
		for _, c := range customers {
			labels = append(labels, "customer:"+c)
		}
		key, err := h.sims.Jira.CreateIssue("", jirafake.IssueInput{Summary: &title, Priority: &prio, Labels: &labels})
		if err != nil {
			h.t.Fatalf("create item: %v", err)
		}
		keys = append(keys, key)
	}
	return keys
}

// links counts the links of customer in the running daemon's store.
func (h *harness) links(customer string) int {
	ls, err := h.d.Store().Links(customer)
	if err != nil {
		return -1
	}
	return len(ls)
}

func itoa(n int) string { return strconv.Itoa(n) }

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return string(b)
}

func contains(s string, subs ...string) string {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return fmt.Sprintf("%q not in:\n%s", sub, s)
		}
	}
	return ""
}
