package githubfake

import (
	"crypto/subtle"
	"sync"
	"time"
)

// clock is the fake's notion of now: the wall clock shifted by every
// Advance, or a frozen instant that moves only through Advance.
type clock struct {
	mu     sync.Mutex
	frozen bool
	base   time.Time
	offset time.Duration
}

func newClock(start time.Time) *clock {
	if start.IsZero() {
		return &clock{}
	}
	return &clock{frozen: true, base: start}
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen {
		return c.base.Add(c.offset).UTC()
	}
	return time.Now().Add(c.offset).UTC()
}

func (c *clock) advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// stamp is a GitHub timestamp: UTC, whole seconds.
func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// ghTime formats t the way GitHub does ("2024-05-01T10:15:30Z").
func ghTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// ghTimePtr formats t, or returns nil (JSON null) for the zero time.
func ghTimePtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := ghTime(t)
	return &s
}

func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
