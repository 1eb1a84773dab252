package reliability

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/jira/jirafake"
	"github.com/pmsync/pmsync/store"
	"github.com/pmsync/pmsync/sync/engine"
)

// TestMain runs the tests and removes the pmsync binary the kill test
// built.
func TestMain(m *testing.M) {
	code := m.Run()
	RemovePmsyncBinary()
	os.Exit(code)
}

// TestKill9 runs `pmsync serve` (built with the race detector when the
// tests are) as a child process that syncs
// platform items (Jira Data Center) to customers (GitHub, GitLab, Jira
// Cloud) and SIGKILLs it at random points, restarting it each time, while
// people change statuses on both sides. Bar: 0 duplicate mirrors, the
// store passes Check after every kill, 0 lost status changes, 0 text of one
// customer (or internal text) in another's tracker, and after the last
// restart the changes made meanwhile are mirrored within 2 poll intervals.
// Default (make test): 500 items to 3 customers, 50 kills.
// PMSYNC_SOAK_KILLS sets the number of kills (make soak: 1,000);
// PMSYNC_KILL_ITEMS and PMSYNC_KILL_CUSTOMERS (1..3) set the world's size,
// PMSYNC_KILL_LOG=FILE keeps the children's log.
func TestKill9(t *testing.T) {
	items, customers := 500, 3
	k := newKillWorld(t, EnvInt(t, "PMSYNC_KILL_ITEMS", items), EnvInt(t, "PMSYNC_KILL_CUSTOMERS", customers))
	kills := EnvInt(t, "PMSYNC_SOAK_KILLS", 50)
	start := time.Now()
	for i := 0; i < kills; i++ {
		cmd := k.start()
		// Kill anywhere from start-up to well into the sync; people
		// change statuses meanwhile.
		run := time.Duration(k.rng.Int64N(int64(time.Second)))
		if k.rng.IntN(3) == 0 {
			k.personChange()
		}
		<-time.After(run)
		k.kill(cmd)
		if d := k.duplicates(); len(d) > 0 {
			t.Fatalf("after kill %d (%v into the run): duplicates: %v", i+1, run, d)
		}
		k.checkStore(fmt.Sprintf("after kill %d", i+1))
	}
	t.Logf("%d kills in %v", kills, time.Since(start).Round(time.Millisecond))

	// Let one child finish the sync.
	cmd := k.start()
	rep := k.waitConverged(3 * time.Minute)
	if !rep.Converged() {
		k.kill(cmd)
		t.Fatalf("not converged after the kills: %s", rep)
	}
	// The last change and the last kill: a restarted daemon must mirror
	// what changed while it was down within 2 poll intervals.
	changed := 0
	for changed < 5 {
		if k.personChange() {
			changed++
		}
	}
	<-time.After(time.Duration(k.rng.Int64N(int64(k.poll))))
	k.kill(cmd)
	restart := time.Now()
	running := k.runningLines()
	cmd = k.start()
	k.waitRunning(running)
	rep = k.waitConverged(time.Minute)
	took := time.Since(restart)
	k.kill(cmd)
	if !rep.Converged() {
		t.Fatalf("not converged %v after the last restart: %s\nchildren's log (end):\n%s", took.Round(time.Millisecond), rep, k.tail())
	}
	if limit := 2*k.poll + k.startup; took > limit {
		t.Errorf("converged %v after the last restart, want within 2 poll intervals (%v) plus start-up (%v)", took.Round(time.Millisecond), 2*k.poll, k.startup.Round(time.Millisecond))
	}
	t.Logf("converged %v after the last restart (poll interval %v, start-up %v); %d status changes made by people",
		took.Round(time.Millisecond), k.poll, k.startup.Round(time.Millisecond), k.changes)
	k.checkFinal(rep)
}

// killWorld is the parent's side of the kill tests: the simulators, the
// people, and the child's configuration.
type killWorld struct {
	t         *testing.T
	sims      *Sims
	obs       map[string]connectors.Connector
	bin       string        // the pmsync binary
	poll      time.Duration // sync.poll_interval
	storePath string
	cfgPath   string
	env       []string // the secrets the configuration names
	logPath   string
	exp       Expectation
	owner     map[string]string            // customer-owned platform key → the customer
	want      map[string]connectors.Status // the last status a person set, by platform key
	changes   int
	rng       *rand.Rand
	startup   time.Duration // start-up of the latest child waited for
	startedAt time.Time
}

func newKillWorld(t *testing.T, items, customers int) *killWorld {
	t.Helper()
	dir := t.TempDir()
	k := &killWorld{
		t: t, sims: StartSims(t, SimOptions{Customers: customers}), obs: map[string]connectors.Connector{},
		exp:   Expectation{Platform: map[string][]string{}, Inbound: map[string][]string{}},
		owner: map[string]string{}, want: map[string]connectors.Status{},
		rng:     rand.New(rand.NewPCG(uint64(EnvInt(t, "PMSYNC_KILL_SEED", 9)), 99)),
		logPath: filepath.Join(dir, "child.log"), storePath: filepath.Join(dir, "pmsync.db"), poll: 5 * time.Second,
	}
	for id, st := range k.sims.Trackers {
		k.obs[id] = st.Conn(t, &http.Client{Timeout: 10 * time.Second}, Discard)
	}
	if f := os.Getenv("PMSYNC_KILL_LOG"); f != "" { // keep the children's log
		t.Cleanup(func() {
			if b, err := os.ReadFile(k.logPath); err == nil {
				_ = os.WriteFile(f, b, 0o600)
			}
		})
	}
	var err error
	if k.bin, err = PmsyncBinary(raceEnabled); err != nil {
		t.Fatal(err)
	}
	if k.cfgPath, k.env, err = k.sims.ServeConfig(ServeOptions{
		// The simulators' searches do not lag here, so a look that misses
		// a mirror 10 s after its create was sent proves it was not made;
		// the default 2 minutes would only add waiting.
		Dir: dir, PollInterval: k.poll, Workers: 8, CreateSettle: 10 * time.Second,
	}); err != nil {
		t.Fatal(err)
	}
	plat := k.sims.Trackers[engine.PlatformID].Jira
	ids := k.sims.IDs
	for i := 0; i < items; i++ {
		title := fmt.Sprintf("plat item %d", i)
		labels := []string{ActionLabel}
		shared := ids
		switch i % 10 {
		case 3: // owned by one customer, who changes its status
			shared = ids[(i/10)%len(ids) : (i/10)%len(ids)+1]
			labels = append(labels, "owner-customer")
		case 7: // shared with one customer only
			shared = ids[(i/10)%len(ids) : (i/10)%len(ids)+1]
		}
		if len(shared) == 1 {
			title += " " + scopeCanary(shared[0])
		}
		for _, c := range shared {
			labels = append(labels, "customer:"+c)
		}
		desc := fmt.Sprintf("%s %d\n\n## Customer summary\nWe fix %d.", InternalCanary, i, i)
		key, err := plat.CreateIssue("", jirafake.IssueInput{Summary: &title, Description: &desc, Labels: &labels})
		if err != nil {
			t.Fatal(err)
		}
		k.exp.Platform[key] = shared
		if i%10 == 3 {
			k.owner[key] = shared[0]
		}
	}
	return k
}

// scopeCanary is in the titles of items shared with customer c only.
func scopeCanary(c string) string { return "SCOPE-CANARY-" + c }

// start starts a daemon child.
func (k *killWorld) start() *exec.Cmd {
	k.t.Helper()
	logf, err := os.OpenFile(k.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		k.t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(k.bin, "serve", "--config", k.cfgPath)
	cmd.Env = append(os.Environ(), k.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		k.t.Fatalf("start child: %v", err)
	}
	k.startedAt = time.Now()
	return cmd
}

// kill SIGKILLs a child and reaps it.
func (k *killWorld) kill(cmd *exec.Cmd) {
	k.t.Helper()
	_ = cmd.Process.Signal(syscall.SIGKILL)
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && !(ws.Signaled() && ws.Signal() == syscall.SIGKILL) {
		k.t.Fatalf("child exited on its own before the kill (%v); its log:\n%s", err, k.tail())
	}
}

// runningLines counts the children that logged their start.
func (k *killWorld) runningLines() int {
	b, _ := os.ReadFile(k.logPath)
	return strings.Count(string(b), "msg=\"pmsync serving\"")
}

// waitRunning waits until a child more than before logged its start and
// records how long the start-up took.
func (k *killWorld) waitRunning(before int) {
	k.t.Helper()
	for k.runningLines() <= before {
		if time.Since(k.startedAt) > 30*time.Second {
			k.t.Fatalf("the child did not start within 30 s; its log:\n%s", k.tail())
		}
		<-time.After(5 * time.Millisecond)
	}
	k.startup = time.Since(k.startedAt)
}

// tail returns the end of the children's log.
func (k *killWorld) tail() string {
	b, _ := os.ReadFile(k.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// checkStore opens the store the children use and runs Check on it.
func (k *killWorld) checkStore(when string) {
	k.t.Helper()
	db, err := store.Open(k.storePath, store.Options{Logger: Discard, Timeout: 5 * time.Second})
	if err != nil {
		k.t.Fatalf("%s: open store: %v", when, err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		k.t.Fatalf("%s: store Check: %v", when, err)
	}
}

// duplicates counts items per marker in every customer tracker, from the
// simulators' own state.
func (k *killWorld) duplicates() []string {
	var out []string
	for _, id := range k.sims.IDs {
		st := k.sims.Trackers[id]
		markers := map[string]int{}
		if st.Jira != nil {
			for _, key := range st.Jira.Keys() {
				is, ok := st.Jira.Issue(key)
				if !ok {
					continue
				}
				for _, l := range is.Labels {
					if m, ok := strings.CutPrefix(l, "pmsync-"); ok {
						markers[m]++
					}
				}
			}
		} else {
			snap, err := st.Observe(context.Background(), k.obs[id], false)
			if err != nil {
				k.t.Fatalf("observe %s: %v", id, err)
			}
			for _, it := range snap.Items {
				if it.Marker != "" {
					markers[it.Marker]++
				}
			}
		}
		for m, n := range markers {
			if n > 1 {
				out = append(out, fmt.Sprintf("%s: marker %s on %d items", id, m, n))
			}
		}
	}
	return out
}

// personChange changes the status of a random item as a person would: a
// platform-owned item on the platform, a customer-owned one on its
// customer's mirror (once that exists). It reports whether it changed one.
func (k *killWorld) personChange() bool {
	keys := make([]string, 0, len(k.exp.Platform))
	for key := range k.exp.Platform {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	key := keys[k.rng.IntN(len(keys))]
	s := []connectors.Status{connectors.StatusOpen, connectors.StatusInProgress, connectors.StatusDone, connectors.StatusWontDo}[k.rng.IntN(4)]
	ctx := context.Background()
	c, owned := k.owner[key]
	if !owned {
		if _, err := connectors.SetStatus(ctx, k.obs[engine.PlatformID], key, s); err != nil {
			k.t.Fatalf("person: set %s to %s: %v", key, s, err)
		}
		k.want[key] = s
		k.changes++
		return true
	}
	it, err := k.obs[engine.PlatformID].Get(ctx, key)
	if err != nil {
		k.t.Fatalf("person: read %s: %v", key, err)
	}
	marker := connectors.MarkerID([]byte(MarkerKey), engine.PlatformID, it.ID, c)
	snap, err := k.sims.Trackers[c].Observe(ctx, k.obs[c], false)
	if err != nil {
		k.t.Fatalf("person: observe %s: %v", c, err)
	}
	for _, m := range snap.Items {
		if m.Marker == marker {
			if _, err := connectors.SetStatus(ctx, k.obs[c], m.Ref.Key, s); err != nil {
				k.t.Fatalf("person: set %s %s to %s: %v", c, m.Ref.Key, s, err)
			}
			k.want[key] = s
			k.changes++
			return true
		}
	}
	return false
}

// waitConverged checks the world every 200 ms until it is converged or
// timeout passes, and returns the last report. It notes how long the
// child took to start serving.
func (k *killWorld) waitConverged(timeout time.Duration) *SimReport {
	k.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		rep, err := CheckSims(context.Background(), k.sims, k.obs, k.exp, false)
		if err != nil {
			k.t.Fatal(err)
		}
		if rep.Converged() && len(k.lost(rep)) == 0 {
			return rep
		}
		if time.Now().After(deadline) {
			rep.Differ = append(rep.Differ, k.lost(rep)...)
			return rep
		}
		<-time.After(200 * time.Millisecond)
	}
}

// lost lists the status changes people made that the platform does not
// show.
func (k *killWorld) lost(rep *SimReport) []string {
	var out []string
	plat := map[string]connectors.Item{}
	for _, it := range rep.Snapshots[engine.PlatformID].Items {
		plat[it.Ref.Key] = it
	}
	for key, s := range k.want {
		if got := plat[key].Status; got != s {
			out = append(out, fmt.Sprintf("%s: status %s, a person set %s (owner %q)", key, got, s, k.owner[key]))
		}
	}
	return out
}

// checkFinal checks the converged world for foreign text and the
// children's logs for secrets.
func (k *killWorld) checkFinal(rep *SimReport) {
	k.t.Helper()
	for _, c := range k.sims.IDs {
		var forbidden []string
		forbidden = append(forbidden, InternalCanary)
		for _, other := range k.sims.IDs {
			if other != c {
				forbidden = append(forbidden, scopeCanary(other))
			}
		}
		if leaks := Leaks(rep.Snapshots[c].Text(), forbidden...); len(leaks) > 0 {
			k.t.Errorf("customer %s's tracker holds %v", c, leaks)
		}
	}
	logs, _ := os.ReadFile(k.logPath)
	secrets := []string{HookSecret, TokenOf(engine.PlatformID)}
	for _, c := range k.sims.IDs {
		secrets = append(secrets, TokenOf(c))
	}
	if leaks := Leaks(string(logs), secrets...); len(leaks) > 0 {
		k.t.Errorf("the children's logs hold %v", leaks)
	}
	// The children run with the race detector when the tests do.
	for _, bad := range []string{"WARNING: DATA RACE", "panic:", "level=ERROR"} {
		if i := strings.Index(string(logs), bad); i >= 0 {
			k.t.Errorf("the children's log has %q:\n%s", bad, string(logs[i:min(len(logs), i+3000)]))
		}
	}
}
