package simkit

import (
	"sync"
	"time"
)

// Clock is a simulator's notion of now: a frozen instant that moves only
// through Advance and Tick, or, when built with a now function, that
// function's time shifted by every Advance. It is safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	now    func() time.Time
	frozen time.Time
	offset time.Duration
}

// NewClock returns a clock frozen at start, or following now (plus every
// Advance) when now is not nil.
func NewClock(start time.Time, now func() time.Time) *Clock {
	return &Clock{now: now, frozen: start}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nowLocked()
}

func (c *Clock) nowLocked() time.Time {
	if c.now != nil {
		return c.now().Add(c.offset)
	}
	return c.frozen
}

// Tick returns the time of a committed write. A frozen clock first moves
// one millisecond forward, so that writes get strictly increasing times as
// on a real server with millisecond precision; a following clock returns
// its time truncated to the millisecond.
func (c *Clock) Tick() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now != nil {
		return c.nowLocked().Truncate(time.Millisecond)
	}
	c.frozen = c.frozen.Add(time.Millisecond)
	return c.frozen
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now != nil {
		c.offset += d
		return
	}
	c.frozen = c.frozen.Add(d)
}
