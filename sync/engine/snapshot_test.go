package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
)

func TestSnapsGetHonoursEventsAndAge(t *testing.T) {
	var s snaps
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	ref := connectors.Ref{Tracker: PlatformID, Key: "PLAT-1"}
	s.put(&connectors.Item{Ref: ref, Title: "read at 5"}, 5, now)
	for _, tc := range []struct {
		need uint64
		age  time.Duration
		ok   bool
	}{
		{need: 4, ok: true}, {need: 5, ok: true}, {need: 6, ok: false},
		{need: 5, age: snapMaxAge, ok: true}, {need: 5, age: snapMaxAge + time.Second, ok: false},
	} {
		if got := s.get(ref, tc.need, now.Add(tc.age)) != nil; got != tc.ok {
			t.Errorf("get(need %d, %v later) found = %v, want %v", tc.need, tc.age, got, tc.ok)
		}
	}
	s.put(&connectors.Item{Ref: ref, Title: "read at 3"}, 3, now)
	if it := s.get(ref, 1, now); it == nil || it.Title != "read at 5" {
		t.Errorf("an older read replaced a newer one: got %+v", it)
	}
	it := s.get(ref, 1, now)
	it.Title = "changed by a caller"
	if again := s.get(ref, 1, now); again.Title != "read at 5" {
		t.Errorf("get returned the kept item itself, not a copy: %q", again.Title)
	}
}

func TestSnapsBounded(t *testing.T) {
	var s snaps
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	big := strings.Repeat("x", 1<<20)
	kept := 0
	for i := 0; i < 64; i++ {
		ref := connectors.Ref{Tracker: PlatformID, Key: "PLAT-" + string(rune('A'+i))}
		s.put(&connectors.Item{Ref: ref, Description: big}, uint64(i+1), now)
		if s.get(ref, 1, now) != nil {
			kept++
		}
	}
	if s.bytes > snapBytes || kept >= 64 || kept < 16 {
		t.Errorf("kept %d reads of 1 MiB (%d bytes), want fewer than 64 and at most %d bytes", kept, s.bytes, snapBytes)
	}
	later := now.Add(snapMaxAge + time.Minute)
	s.put(&connectors.Item{Ref: connectors.Ref{Tracker: PlatformID, Key: "PLAT-new"}}, 100, later)
	if len(s.m) != 1 || s.bytes != itemSize(s.m[connectors.Ref{Tracker: PlatformID, Key: "PLAT-new"}].it) {
		t.Errorf("after snapMaxAge: %d reads, %d bytes kept; want only the new one", len(s.m), s.bytes)
	}
}

func TestSnapsJoinSharesAReadUnderWay(t *testing.T) {
	var s snaps
	ref := connectors.Ref{Tracker: PlatformID, Key: "PLAT-1"}
	p, finish := s.join(ref, 3, 4)
	if p != nil || finish == nil {
		t.Fatalf("first join: got a read under way, want to be the reader")
	}
	waiter, f := s.join(ref, 4, 5)
	if waiter == nil || f != nil {
		t.Fatalf("join of a read under way since event 4: want to wait for it")
	}
	if other, f := s.join(ref, 5, 6); other != nil || f == nil {
		t.Fatalf("join needing event 5 of a read from event 4: want a read of its own")
	} else {
		f(nil, nil)
	}
	finish(&connectors.Item{Ref: ref, Title: "t"}, nil)
	<-waiter.done
	if waiter.it == nil || waiter.it.Title != "t" {
		t.Errorf("waiters see %+v, want the reader's item", waiter.it)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.inflight) != 0 {
		t.Errorf("%d reads still registered as under way after they finished", len(s.inflight))
	}
}
