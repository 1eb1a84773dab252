package simkit

import (
	"context"
	"sync/atomic"
	"time"
)

// Latency is the real-time delay of every answer. The zero value is no
// delay; it is safe for concurrent use.
type Latency struct {
	d atomic.Int64 // nanoseconds
}

// Set changes the delay (0 turns it off).
func (l *Latency) Set(d time.Duration) { l.d.Store(int64(d)) }

// Wait sleeps for the delay and reports true, or reports false as soon as
// ctx is done (the client is gone and the request must not be answered).
func (l *Latency) Wait(ctx context.Context) bool {
	d := time.Duration(l.d.Load())
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Counters count the requests and writes a simulator has received. The
// zero value is zero; they are safe for concurrent use.
type Counters struct {
	requests, writes atomic.Int64
}

// Count records one request, and one write when write is true.
func (c *Counters) Count(write bool) {
	c.requests.Add(1)
	if write {
		c.writes.Add(1)
	}
}

// Requests returns how many requests were counted.
func (c *Counters) Requests() int { return int(c.requests.Load()) }

// Writes returns how many writes were counted.
func (c *Counters) Writes() int { return int(c.writes.Load()) }

// Reset sets both counts to zero.
func (c *Counters) Reset() {
	c.requests.Store(0)
	c.writes.Store(0)
}
