package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/store"
	"github.com/pmsync/pmsync/sync/engine"
	"github.com/pmsync/pmsync/test/reliability"
)

// childStoreEnv names the store the memory child measures; the child test
// does nothing without it.
const childStoreEnv = "PMSYNC_BENCH_CHILD_STORE"

// childResult is what the memory child prints after childPrefix.
type childResult struct {
	Links         int     `json:"links"`
	BaselineRSSMB float64 `json:"baseline_rss_mb"` // before the store is opened
	OpenMS        float64 `json:"open_ms"`
	InitMS        float64 `json:"init_ms"`
	StatusMS      float64 `json:"status_ms"`
	StartupMS     float64 `json:"startup_ms"`
	HeapInuseMB   float64 `json:"heap_inuse_mb"`
	RSSMB         float64 `json:"rss_mb"`
	PeakRSSMB     float64 `json:"peak_rss_mb"`
	// RSS split: anonymous memory (Go heap, stacks, runtime) and file
	// pages (bbolt's memory map of the store, the binary).
	RSSAnonMB float64 `json:"rss_anon_mb"`
	RSSFileMB float64 `json:"rss_file_mb"`
	// The daily resync's listing of every link's key (store.LinkOrigins,
	// as the engine's resync reads it): its time and the RSS after it.
	ResyncListMS    float64 `json:"resync_list_ms"`
	ResyncRSSMB     float64 `json:"resync_rss_mb"`
	ResyncRSSAnonMB float64 `json:"resync_rss_anon_mb"`
	ResyncRSSFileMB float64 `json:"resync_rss_file_mb"`
}

const childPrefix = "PMSYNC-BENCH-CHILD "

// benchLink is a link as pmsync stores one for a platform item mirrored to
// customer: both sides' refs, ids, URLs and base fields, a 250-character
// shared summary and two mirrored comments.
func benchLink(customer string, n int) *store.Link {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Second)
	summary := strings.Repeat("Uncached reads regressed p99 latency; add tests. ", 5)
	base := store.Fields{Title: fmt.Sprintf("Add uncached-read latency tests %d", n), Summary: summary,
		Status: connectors.StatusOpen, Priority: connectors.P1, Kind: connectors.KindDetect, Owner: connectors.OwnerPlatform,
		Incident: "INC-2041", Due: "2026-04-01"}
	platID := fmt.Sprint(10000 + n)
	return &store.Link{
		ID: connectors.MarkerID([]byte(reliability.MarkerKey), engine.PlatformID, platID, customer), Customer: customer,
		Origin: connectors.OwnerPlatform, Owner: connectors.OwnerPlatform, State: store.LinkActive,
		Platform: store.Side{Ref: connectors.Ref{Tracker: engine.PlatformID, Key: fmt.Sprintf("PLAT-%d", n)}, ID: platID,
			URL: fmt.Sprintf("https://jira.example.com/browse/PLAT-%d", n), Base: base, UpdatedAt: at, CreatedAt: at},
		Remote: store.Side{Ref: connectors.Ref{Tracker: customer, Key: fmt.Sprint(n + 1)}, ID: fmt.Sprint(900000 + n),
			URL: fmt.Sprintf("https://tracker.%s.example/issues/%d", customer, n+1), Base: base, UpdatedAt: at.Add(time.Minute), CreatedAt: at.Add(time.Minute)},
		Comments: []store.CommentLink{
			{Source: "platform", SourceID: fmt.Sprint(n, "01"), MirrorID: fmt.Sprint(n, "91"), Hash: "9f86d081884c7d659a2feaa0c55ad015"},
			{Source: "customer", SourceID: fmt.Sprint(n, "02"), MirrorID: fmt.Sprint(n, "92"), Hash: "60303ae22b998861bce3b28f33eec1be"},
		},
		CreatedAt: at, UpdatedAt: at.Add(time.Minute),
	}
}

// BenchmarkMemory100kLinks builds a store of PMSYNC_BENCH_LINKS links
// (default 100,000, spread over the three customers), then starts a fresh
// process (this test binary, running TestMemoryChild) that opens it,
// builds the engine over the three simulators, asks for Status, runs the
// engine and measures. It reports start-up time (store open + engine init
// + first Status; bar < 1 s), heap in use after GC and RSS (bar < 100 MB),
// and the store's bytes per link.
func BenchmarkMemory100kLinks(b *testing.B) {
	n := reliability.EnvInt(b, "PMSYNC_BENCH_LINKS", 100000)
	path := filepath.Join(b.TempDir(), "pmsync.db")
	db, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				if err := db.PutLink(benchLink(reliability.SimCustomers[i%3], i/3)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatalf("fill the store: %v", err)
	}
	st := db.Stats()
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	if st.Links != n {
		b.Fatalf("store holds %d links, want %d", st.Links, n)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestMemoryChild$", "-test.v")
	cmd.Env = append(os.Environ(), childStoreEnv+"="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("memory child: %v\n%s", err, out)
	}
	var res childResult
	found := false
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if line, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), childPrefix); ok {
			if err := json.Unmarshal([]byte(line), &res); err != nil {
				b.Fatalf("memory child result %q: %v", line, err)
			}
			found = true
		}
	}
	if !found || res.Links != n {
		b.Fatalf("memory child reported %d links (found %v), want %d:\n%s", res.Links, found, n, out)
	}
	b.Logf("child: %+v", res)
	report(b, "store", map[string]float64{
		"file-B/link": float64(st.FileSize) / float64(n), "data-B/link": float64(st.DataSize) / float64(n),
		"links": float64(n),
	})
	report(b, "startup", map[string]float64{
		"startup-ms": res.StartupMS, "open-ms": res.OpenMS, "init-ms": res.InitMS, "status-ms": res.StatusMS,
	})
	report(b, "memory", map[string]float64{
		"heap-MB": res.HeapInuseMB, "rss-MB": res.RSSMB, "peak-rss-MB": res.PeakRSSMB, "base-rss-MB": res.BaselineRSSMB,
		"rss-anon-MB": res.RSSAnonMB, "rss-file-MB": res.RSSFileMB,
	})
	report(b, "resync-list", map[string]float64{"ms": res.ResyncListMS, "rss-MB": res.ResyncRSSMB,
		"rss-anon-MB": res.ResyncRSSAnonMB, "rss-file-MB": res.ResyncRSSFileMB})
}

// TestMemoryChild is the process BenchmarkMemory100kLinks starts; without
// PMSYNC_BENCH_CHILD_STORE it returns at once.
func TestMemoryChild(t *testing.T) {
	path := os.Getenv(childStoreEnv)
	if path == "" {
		t.Skip("runs only as BenchmarkMemory100kLinks's child")
	}
	sims := reliability.StartSims(t, reliability.SimOptions{})
	conns := map[string]connectors.Connector{}
	for _, id := range trackers {
		conns[id] = sims.Trackers[id].Conn(t, nil, reliability.Discard)
	}
	runtime.GC()
	var res childResult
	res.BaselineRSSMB = procMB(t, "VmRSS")

	start := time.Now()
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	opened := time.Now()
	o := sims.EngineOptions(conns)
	o.Store, o.Logger = db, reliability.Discard
	// As `pmsync serve` runs: default poll and resync intervals.
	o.Platform.PollInterval, o.ResyncInterval = 0, 0
	for i := range o.Customers {
		o.Customers[i].Tracker.PollInterval = 0
	}
	e, err := engine.New(o)
	if err != nil {
		t.Fatal(err)
	}
	inited := time.Now()
	status := e.Status()
	done := time.Now()
	if status.Error != "" {
		t.Fatalf("Status: %s", status.Error)
	}
	for _, c := range status.Customers {
		res.Links += c.Links
	}
	res.OpenMS = ms(opened.Sub(start))
	res.InitMS = ms(inited.Sub(opened))
	res.StatusMS = ms(done.Sub(inited))
	res.StartupMS = ms(done.Sub(start))

	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- e.Run(ctx) }()
	// Let the first polls of the (empty) trackers happen, then look again
	// as the dashboard would.
	time.Sleep(time.Second)
	_ = e.Status()
	runtime.GC()
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	res.HeapInuseMB = float64(mem.HeapInuse) / (1 << 20)
	res.RSSMB = procMB(t, "VmRSS")
	res.PeakRSSMB = procMB(t, "VmHWM")
	res.RSSAnonMB = procMB(t, "RssAnon")
	res.RSSFileMB = procMB(t, "RssFile")
	cancel()
	if err := <-ran; err != nil {
		t.Fatalf("Run: %v", err)
	}
	listed := time.Now()
	var keys []connectors.Ref
	for _, c := range reliability.SimCustomers {
		if err := db.LinkOrigins(c, engine.PlatformID, func(_ string, origin connectors.Ref) error {
			keys = append(keys, origin)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	res.ResyncListMS = ms(time.Since(listed))
	res.ResyncRSSMB = procMB(t, "VmRSS")
	res.ResyncRSSAnonMB, res.ResyncRSSFileMB = procMB(t, "RssAnon"), procMB(t, "RssFile")
	if len(keys) != res.Links {
		t.Fatalf("LinkOrigins listed %d links, Status counted %d", len(keys), res.Links)
	}
	line, _ := json.Marshal(res)
	fmt.Println(childPrefix + string(line))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// procMB reads a "kB" field of /proc/self/status in MiB.
func procMB(t *testing.T, field string) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatalf("read /proc/self/status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatalf("/proc/self/status %s %q: %v", field, v, err)
			}
			return float64(kb) / 1024
		}
	}
	t.Fatalf("/proc/self/status has no %s", field)
	return 0
}
