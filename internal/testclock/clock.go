// Package testclock is the movable clock that pmsync's engine, reliability
// and benchmark tests share.
package testclock

import (
	"sort"
	"sync"
	"time"
)

// Clock is a clock tests move: an engine.Clock, and a connector, store or
// simulator clock through Now. In auto mode every After fires at once and moves the clock
// forward by its duration, so backoffs and poll intervals cost no real
// time; in manual mode timers fire only on Advance.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	auto   bool
	timers []clockTimer
}

type clockTimer struct {
	at time.Time
	ch chan time.Time
}

// New returns a clock at start.
func New(start time.Time, auto bool) *Clock { return &Clock{now: start, auto: auto} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that receives the time once d has passed on the
// clock.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if c.auto {
		if d > 0 {
			c.now = c.now.Add(d)
		}
		ch <- c.now
		return ch
	}
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.timers = append(c.timers, clockTimer{at: c.now.Add(d), ch: ch})
	return ch
}

// Advance moves the clock forward and fires the timers that are due.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.at.After(c.now) {
			kept = append(kept, t)
			continue
		}
		t.ch <- c.now
	}
	c.timers = kept
}

// NextTimer returns how far the earliest pending timer is, and false when
// none is pending.
func (c *Clock) NextTimer() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return 0, false
	}
	at := make([]time.Time, len(c.timers))
	for i, t := range c.timers {
		at[i] = t.at
	}
	sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
	return at[0].Sub(c.now), true
}

// Timers returns how many timers wait.
func (c *Clock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}
