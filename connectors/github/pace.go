package github

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/pmsync/pmsync/connectors"
)

// Clock is what the content-creation pacer measures time and waits with.
// testclock.Clock satisfies it.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

// wallClock is the real clock.
type wallClock struct{}

func (wallClock) Now() time.Time                         { return time.Now() }
func (wallClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// paceMargin is added to every pacing window. It covers the time between
// GitHub counting a create (when it handles the request) and pmsync
// seeing the answer, which the pacer's record already errs on, plus any
// rounding on GitHub's side.
const paceMargin = time.Second

// paceLimit allows n content-creating requests in any window.
type paceLimit struct {
	n      int
	window time.Duration
}

// pacer keeps content-creating requests (new issues, new comments) within
// GitHub's secondary limits: no more than n of them in any window, for
// each limit.
//
// It records for each create the time its answer arrived, or its failure
// (a request that failed without an answer may still have been counted by
// GitHub, so it counts too). A new create is sent only when, for every
// limit, the creates still in flight plus those that completed within the
// last window (plus paceMargin) are fewer than n. GitHub counts a create
// no later than its answer arrives and no earlier than it is sent, so the
// creates GitHub counts in any window never exceed n, whatever the
// latency, without relying on GitHub's clock. Bursts of up to n go at
// once.
type pacer struct {
	clock  Clock
	limits []paceLimit
	margin time.Duration
	keep   time.Duration // the longest window plus margin
	most   int           // the largest n

	mu       sync.Mutex
	done     []time.Time // completion times, oldest first, within keep
	inFlight int
	wake     chan struct{} // closed when a create completes
}

func newPacer(clock Clock, margin time.Duration, limits ...paceLimit) *pacer {
	p := &pacer{clock: clock, limits: limits, margin: margin, wake: make(chan struct{})}
	for _, l := range limits {
		p.keep = max(p.keep, l.window+margin)
		p.most = max(p.most, l.n)
	}
	return p
}

// acquire waits until one more create may be sent and reserves it. The
// caller sends the create and then calls release exactly once, when the
// answer (or the failure) is in. A wait that would end after ctx's
// deadline fails at once, as a temporary error, without waiting.
func (p *pacer) acquire(ctx context.Context, op string) (release func(), err error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, connectors.Errorf(connectors.CodeTemporary, op, contextErr(err))
		}
		p.mu.Lock()
		now := p.clock.Now()
		p.prune(now)
		wait, full := p.waitLocked(now)
		if !full && wait <= 0 {
			p.inFlight++
			p.mu.Unlock()
			var once sync.Once
			return func() { once.Do(p.complete) }, nil
		}
		wake := p.wake
		p.mu.Unlock()

		var timer <-chan time.Time
		if !full {
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
				return nil, connectors.Errorf(connectors.CodeTemporary, op,
					fmt.Errorf("creation pacing: next create allowed in %v: %w", wait.Round(time.Millisecond), context.DeadlineExceeded))
			}
			timer = p.clock.After(wait)
		}
		select {
		case <-ctx.Done():
			return nil, connectors.Errorf(connectors.CodeTemporary, op, contextErr(ctx.Err()))
		case <-wake:
		case <-timer:
		}
	}
}

// waitLocked says how long until a create may go (wait), or that creates
// in flight fill a limit and only a completion can free a place (full).
func (p *pacer) waitLocked(now time.Time) (wait time.Duration, full bool) {
	for _, l := range p.limits {
		if p.inFlight >= l.n {
			full = true
			continue
		}
		// Fewer than k creates may have completed within the window: the
		// k-th most recent must be at least window+margin in the past.
		k := l.n - p.inFlight
		if len(p.done) < k {
			continue
		}
		if d := p.done[len(p.done)-k].Add(l.window + p.margin).Sub(now); d > wait {
			wait = d
		}
	}
	return wait, full
}

// complete records a create's completion now and wakes the waiters.
func (p *pacer) complete() {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	p.inFlight--
	i := len(p.done)
	p.done = append(p.done, now)
	for ; i > 0 && p.done[i-1].After(now); i-- {
		p.done[i] = p.done[i-1]
	}
	p.done[i] = now
	p.prune(now)
	close(p.wake)
	p.wake = make(chan struct{})
}

// prune forgets completions that no limit looks at any more: older than
// the longest window (plus margin), or beyond the largest n.
func (p *pacer) prune(now time.Time) {
	i := 0
	for i < len(p.done) && !p.done[i].After(now.Add(-p.keep)) {
		i++
	}
	i = max(i, len(p.done)-p.most)
	if i > 0 {
		p.done = append(p.done[:0], p.done[i:]...)
	}
}

// state returns the creates in flight and the completions remembered.
func (p *pacer) state() (inFlight, remembered int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inFlight, len(p.done)
}
