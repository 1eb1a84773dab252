package simkit

import (
	"context"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors/conformance"
)

func TestFaultsTake(t *testing.T) {
	afterCommit := func(f conformance.Fault) bool { return f.AfterCommit }
	tests := []struct {
		name   string
		inject []conformance.Fault
		op     conformance.Op
		keep   func(conformance.Fault) bool
		want   []int // statuses of successive takes; 0 means none taken
	}{
		{"times zero means once", []conformance.Fault{{Op: conformance.OpGet, Status: 503}}, conformance.OpGet, nil, []int{503, 0}},
		{"times counts down", []conformance.Fault{{Op: conformance.OpGet, Status: 502, Times: 2}}, conformance.OpGet, nil, []int{502, 502, 0}},
		{"other op is left alone", []conformance.Fault{{Op: conformance.OpCreate, Status: 500}}, conformance.OpGet, nil, []int{0}},
		{"any matches every op", []conformance.Fault{{Op: conformance.OpAny, Status: 429}}, conformance.OpList, nil, []int{429, 0}},
		{"unclassified meets only any", []conformance.Fault{{Op: "", Status: 500}, {Op: conformance.OpAny, Status: 503}}, "", nil, []int{503, 0}},
		{"first match in order", []conformance.Fault{{Op: conformance.OpGet, Status: 500}, {Op: conformance.OpAny, Status: 503}}, conformance.OpGet, nil, []int{500, 503, 0}},
		{"keep filters", []conformance.Fault{{Op: conformance.OpCreate, Status: 500}, {Op: conformance.OpCreate, Status: 502, AfterCommit: true}}, conformance.OpCreate, afterCommit, []int{502, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var fs Faults
			for _, f := range tc.inject {
				fs.Inject(f)
			}
			for i, want := range tc.want {
				f, ok := fs.Take(tc.op, tc.keep)
				got := 0
				if ok {
					got = f.Status
				}
				if got != want {
					t.Fatalf("take %d: got status %d, want %d", i+1, got, want)
				}
			}
		})
	}
}

func TestClock(t *testing.T) {
	start := time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)
	wall := start.Add(time.Hour + 1500*time.Microsecond)
	tests := []struct {
		name     string
		now      func() time.Time
		wantNow  time.Time // after Advance(time.Minute)
		wantTick time.Time // the next Tick
	}{
		{"frozen", nil, start.Add(time.Minute), start.Add(time.Minute + time.Millisecond)},
		{"following", func() time.Time { return wall }, wall.Add(time.Minute), wall.Add(time.Minute).Truncate(time.Millisecond)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewClock(start, tc.now)
			c.Advance(time.Minute)
			if got := c.Now(); !got.Equal(tc.wantNow) {
				t.Fatalf("Now: got %v, want %v", got, tc.wantNow)
			}
			if got := c.Tick(); !got.Equal(tc.wantTick) {
				t.Fatalf("Tick: got %v, want %v", got, tc.wantTick)
			}
		})
	}
}

func TestLatencyWait(t *testing.T) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		d    time.Duration
		ctx  context.Context
		want bool
	}{
		{"no delay ignores a gone client", 0, done, true},
		{"delay waits", time.Millisecond, context.Background(), true},
		{"gone client ends the wait", time.Hour, done, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var l Latency
			l.Set(tc.d)
			if got := l.Wait(tc.ctx); got != tc.want {
				t.Fatalf("Wait: got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCounters(t *testing.T) {
	var c Counters
	for _, write := range []bool{false, true, true} {
		c.Count(write)
	}
	if got, want := c.Requests(), 3; got != want {
		t.Fatalf("Requests: got %d, want %d", got, want)
	}
	if got, want := c.Writes(), 2; got != want {
		t.Fatalf("Writes: got %d, want %d", got, want)
	}
	c.Reset()
	if c.Requests() != 0 || c.Writes() != 0 {
		t.Fatalf("after Reset: got %d requests and %d writes, want 0 and 0", c.Requests(), c.Writes())
	}
}
