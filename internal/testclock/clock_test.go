package testclock

import (
	"testing"
	"time"
)

var start = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func TestManualTimersFireOnAdvance(t *testing.T) {
	c := New(start, false)
	ch := c.After(10 * time.Second)
	if d, ok := c.NextTimer(); !ok || d != 10*time.Second || c.Timers() != 1 {
		t.Fatalf("NextTimer: got %v,%v with %d timers; want 10s,true with 1", d, ok, c.Timers())
	}
	c.Advance(9 * time.Second)
	select {
	case <-ch:
		t.Fatal("timer fired before it was due")
	default:
	}
	c.Advance(time.Second)
	select {
	case got := <-ch:
		if !got.Equal(start.Add(10 * time.Second)) {
			t.Errorf("fired at %v, want %v", got, start.Add(10*time.Second))
		}
	default:
		t.Fatal("due timer did not fire")
	}
	if c.Timers() != 0 {
		t.Errorf("fired timer still pending")
	}
}

func TestAutoClockMovesOnAfter(t *testing.T) {
	c := New(start, true)
	<-c.After(time.Minute)
	if got := c.Now(); !got.Equal(start.Add(time.Minute)) {
		t.Errorf("auto clock at %v, want %v", got, start.Add(time.Minute))
	}
}
