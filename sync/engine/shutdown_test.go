package engine

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// countingMetrics counts finished reconciles.
type countingMetrics struct {
	noMetrics
	reconciled atomic.Int64
}

func (m *countingMetrics) Reconciled(string, time.Duration, error) { m.reconciled.Add(1) }

// TestRunStopsTakingWorkWhenCancelled queues 60 items whose platform
// answers take 40 ms, cancels Run while they are being worked on, and
// wants Run to finish only the reconciles in flight: no key is taken from
// the queue after the cancel, and no request reaches a tracker after Run
// returned.
func TestRunStopsTakingWorkWhenCancelled(t *testing.T) {
	const items, workers = 60, 4
	m := &countingMetrics{}
	w := newWorldClock(t, newFakeClock(false), func(o *Options) {
		o.Workers = workers
		o.Metrics = m
	}, "jane")
	for i := 0; i < items; i++ {
		w.plat.Open(fmt.Sprintf("item %d", i), "", actionL, "customer:jane")
	}
	w.plat.SetLatency(40 * time.Millisecond)
	requests := func() int { return w.plat.Requests() + w.cust["jane"].Requests() }

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.eng.Run(ctx) }()
	waitFor(t, "the first reconciles", func() bool { return m.reconciled.Load() >= workers })
	atCancel := m.reconciled.Load()
	cancel()
	start := time.Now()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	took := time.Since(start)
	atReturn := requests()
	finished := m.reconciled.Load() - atCancel

	if inFlight := int64(ReconcilesPerWorker * workers); finished > inFlight {
		t.Errorf("%d reconciles finished after the cancel, want at most %d (those in flight)", finished, inFlight)
	}
	if took > 2*time.Second {
		t.Errorf("Run took %v to return after the cancel, want the time of the reconciles in flight", took.Round(time.Millisecond))
	}
	<-time.After(100 * time.Millisecond)
	if got := requests(); got != atReturn {
		t.Errorf("%d requests reached a tracker after Run returned, want 0", got-atReturn)
	}
	if n := w.cust["jane"].Count(); n >= items {
		t.Errorf("jane has %d mirrors: the whole queue was worked through at shutdown", n)
	}
}
