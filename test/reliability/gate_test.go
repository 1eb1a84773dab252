package reliability

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/memory"
	"github.com/pmsync/pmsync/sync/engine"
)

// slowLimited is a platform connector whose first Get is slow and then
// answered "rate limited, retry after 10 s"; it records when every later
// request arrives.
type slowLimited struct {
	connectors.Connector
	mu       sync.Mutex
	gets     int
	limited  time.Time // when the 429 was answered
	arrivals []time.Time
}

const gateRetryAfter = 10 * time.Second

func (s *slowLimited) Get(ctx context.Context, key string) (*connectors.Item, error) {
	s.mu.Lock()
	s.gets++
	first := s.gets == 1
	if !first {
		s.arrivals = append(s.arrivals, time.Now())
	}
	s.mu.Unlock()
	if first {
		// Long enough for the other customer's worker to pass the gate
		// and wait for the tracker's only request slot.
		<-time.After(300 * time.Millisecond)
		s.mu.Lock()
		s.limited = time.Now()
		s.mu.Unlock()
		return nil, &connectors.Error{Code: connectors.CodeRateLimited, Op: "memory: get " + key, Status: 429, RetryAfter: gateRetryAfter}
	}
	return s.Connector.Get(ctx, key)
}

// TestGateHoldsRequestsWaitingForASlot has two customers' workers read the
// same platform item (queued as a webhook would: no poll's read to share)
// while the platform tracker allows one request in flight. The first request is answered 429 with Retry-After 10 s while the
// second waits for the request slot; that second request must then wait
// for the Retry-After too, not go out as soon as the slot frees.
func TestGateHoldsRequestsWaitingForASlot(t *testing.T) {
	w := NewMemWorld(t, NewClock(memory.Epoch, true), "acme", "beta")
	var plat *slowLimited
	w.Wrap = func(id string, c connectors.Connector) connectors.Connector {
		if id != engine.PlatformID {
			return c
		}
		plat = &slowLimited{Connector: c}
		return plat
	}
	w.Tune = func(o *engine.Options) {
		o.Clock, o.Now = nil, time.Now // real time: the wait is measured on the wall clock
		o.Platform.Workers = 1
		o.Platform.PollInterval, o.ResyncInterval = -1, -1
		for i := range o.Customers {
			o.Customers[i].Tracker.PollInterval = -1
		}
	}
	key := w.Platform.Open("shared with both", "## Customer summary\nx", ActionLabel, "customer:acme", "customer:beta")
	w.Open()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.Engine.Run(ctx)
	}()
	w.Engine.Enqueue(connectors.Ref{Tracker: engine.PlatformID, Key: key})
	<-time.After(1500 * time.Millisecond)
	cancel()
	<-done

	plat.mu.Lock()
	defer plat.mu.Unlock()
	if plat.limited.IsZero() {
		t.Fatalf("the first Get never returned its 429 (gets: %d)", plat.gets)
	}
	for _, at := range plat.arrivals {
		if d := at.Sub(plat.limited); d < gateRetryAfter {
			t.Errorf("a platform request arrived %v after a 429 with Retry-After %v", d.Round(time.Millisecond), gateRetryAfter)
		}
	}
}
