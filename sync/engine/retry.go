package engine

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/pmsync/pmsync/connectors"
)

// In-place retries. A reconcile makes many requests (both sides read, a
// look for a marker that may take several, comments listed on both
// sides), so under a tracker that fails a third of its answers a retry of
// the whole reconcile would rarely succeed. Reads are idempotent: each is
// tried again where it failed, a few times, before the reconcile fails.
// Writes are not: a write whose answer was lost may have been applied, so
// it fails the reconcile, and the next attempt works from fresh reads (a
// create looks for its marker first). The connectors do not retry; this
// and the work queue are the engine's only retry layers.
const (
	// readAttempts bounds the tries of one read that fail other than by
	// rate limiting (5xx, resets, timeouts).
	readAttempts = 5
	// maxRateWaits bounds the waits for the gate (a 429 with
	// Retry-After, the gate closed by another call) within one call.
	maxRateWaits = 12
	// maxRetryWait is the longest wait in place; a longer one (a long
	// Retry-After) fails the call, so that the work goes back to the
	// queue with a retry time and holds no worker.
	maxRetryWait = 5 * time.Second
	// retryBase is the first backoff of a read that failed.
	retryBase = 200 * time.Millisecond
)

type stopKey struct{}

// withStop returns a context whose in-place waits end when stop is closed:
// a reconcile runs on a context of its own, so that it finishes at
// shutdown, but it need not wait out a Retry-After then.
func withStop(ctx context.Context, stop <-chan struct{}) context.Context {
	return context.WithValue(ctx, stopKey{}, stop)
}

// stopOf returns the stop channel of ctx, nil when it has none.
func stopOf(ctx context.Context) <-chan struct{} {
	stop, _ := ctx.Value(stopKey{}).(<-chan struct{})
	return stop
}

// pause waits d on the engine clock. It reports false when ctx ended or
// the engine is stopping first.
func (g *guarded) pause(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	select {
	case <-ctx.Done():
		return false
	case <-stopOf(ctx):
		return false
	case <-g.clock.After(d):
		return true
	}
}

// retryWait is the wait before the next try of a call that failed with
// err: at least its Retry-After and the gate's remaining wait, at least
// the backoff, plus up to a tenth as jitter. It reports false when the
// wait is longer than maxRetryWait.
func (g *guarded) retryWait(err error, backoff time.Duration) (time.Duration, bool) {
	wait := backoff
	if ra, ok := connectors.RetryAfterOf(err); ok && ra > wait {
		wait = ra
	}
	if gw := g.BlockedUntil().Sub(g.clock.Now()); gw > wait {
		wait = gw
	}
	if wait > maxRetryWait {
		return 0, false
	}
	return wait + rand.N(wait/10+1), true
}

// retryBackoff is the backoff after n failed tries of a read: half to all
// of retryBase·2ⁿ⁻¹.
func retryBackoff(n int) time.Duration {
	d := retryBase << min(max(n-1, 0), 10)
	return d/2 + rand.N(d/2+1)
}

// read makes an idempotent call (Get, Changes, FindByMarker,
// ListComments), trying it again in place after a failure that may pass:
// at most readAttempts failed tries, waits for rate limits not counted
// (up to maxRateWaits), every wait at least the tracker's Retry-After and
// through the gate, none longer than maxRetryWait.
func (g *guarded) read(ctx context.Context, op string, alone bool, f func(context.Context) error) error {
	failures, waits := 0, 0
	for {
		err := g.call(ctx, op, false, alone, f)
		if err == nil || ctx.Err() != nil || !connectors.Retryable(err) {
			return err
		}
		var backoff time.Duration
		if connectors.CodeOf(err) == connectors.CodeRateLimited {
			if waits++; waits > maxRateWaits {
				return err
			}
		} else {
			if failures++; failures >= readAttempts {
				return err
			}
			backoff = retryBackoff(failures)
		}
		wait, ok := g.retryWait(err, backoff)
		if !ok || !g.pause(ctx, wait) {
			return err
		}
	}
}

// write makes a call that changes the tracker. It is tried again only
// when the gate or the connector's transport held it back, since then
// nothing was sent; any other failure is returned (the write may have been
// applied).
func (g *guarded) write(ctx context.Context, op string, f func(context.Context) error) error {
	for waits := 0; ; waits++ {
		err := g.call(ctx, op, true, false, f)
		if !notSent(err) || waits >= maxRateWaits || ctx.Err() != nil {
			return err
		}
		wait, ok := g.retryWait(err, 0)
		if !ok || !g.pause(ctx, wait) {
			return err
		}
	}
}
