package bench

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pmsync/pmsync/sync/engine"
	"github.com/pmsync/pmsync/test/reliability"
)

// BenchmarkWebhookLatency measures, with no simulated API latency, the
// time from a platform webhook reaching pmsync's handler to the mirror's
// update having been written (the write's answer received), over
// PMSYNC_BENCH_SAMPLES title edits (default 300) spread over the three
// customers, one at a time. Bar: p99 under 50 ms.
func BenchmarkWebhookLatency(b *testing.B) {
	samples := reliability.EnvInt(b, "PMSYNC_BENCH_SAMPLES", 300)
	w := newWorld(b, reliability.SimOptions{}, nil, nil)
	keys := map[string]string{}
	for _, c := range w.sims.IDs {
		keys[c] = w.seed(b, 1, c)[0]
	}
	w.converge(b, b.Context(), 1, 4)

	var received atomic.Int64 // unix ns of the latest delivery's arrival
	hooks := w.e.WebhookHandler()
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		received.Store(time.Now().UnixNano())
		hooks.ServeHTTP(rw, r)
	}))
	defer srv.Close()
	written := make(chan time.Time, 16)
	var want atomic.Value // tracker whose update ends the sample
	want.Store("")
	w.m.setOnWrite(func(tracker, action string, at time.Time) {
		if tracker == want.Load().(string) && action == engine.ActionUpdate {
			written <- at
		}
	})
	stop := w.run(b)
	defer stop()

	plat := w.sims.Trackers[engine.PlatformID].Jira
	lat := make([]time.Duration, 0, samples)
	for i := 0; i < samples; i++ {
		c := w.sims.IDs[i%len(w.sims.IDs)]
		key := keys[c]
		if err := plat.EditTitle(key, fmt.Sprintf("latency sample %d", i)); err != nil {
			b.Fatal(err)
		}
		body, err := plat.WebhookBody(key)
		if err != nil {
			b.Fatal(err)
		}
		req, err := plat.SignedRequest(srv.URL+engine.WebhookPath+engine.PlatformID, body, fmt.Sprint("bench-", i), true)
		if err != nil {
			b.Fatal(err)
		}
		want.Store(c)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatalf("sample %d: deliver: %v", i, err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			b.Fatalf("sample %d: webhook answered %d, want 202", i, resp.StatusCode)
		}
		select {
		case at := <-written:
			lat = append(lat, at.Sub(time.Unix(0, received.Load())))
		case <-time.After(10 * time.Second):
			b.Fatalf("sample %d (%s): no mirror update within 10 s", i, c)
		}
		want.Store("")
		// Let the reconciles of the other customers (which only read)
		// finish, so samples do not overlap.
		if !waitFor(5*time.Second, func() bool { return w.e.Status().QueueDepth == 0 }) {
			b.Fatalf("sample %d: queue not drained", i)
		}
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		i := int(p*float64(len(lat))+0.5) - 1
		i = max(0, min(i, len(lat)-1))
		return float64(lat[i]) / float64(time.Millisecond)
	}
	report(b, "webhook-to-mirror", map[string]float64{
		"p50-ms": pct(0.50), "p99-ms": pct(0.99), "max-ms": float64(lat[len(lat)-1]) / float64(time.Millisecond),
		"samples": float64(len(lat)),
	})
}
