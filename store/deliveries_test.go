package store

import (
	"strconv"
	"testing"
	"time"
)

func TestDeliveriesExpire(t *testing.T) {
	clk := newClock()
	db := openTest(t, Options{Now: clk.Now})
	record := func(tracker, id string, ttl time.Duration) bool {
		t.Helper()
		fresh, err := db.RecordDelivery(tracker, id, ttl)
		if err != nil {
			t.Fatalf("RecordDelivery(%s, %s): %v", tracker, id, err)
		}
		return fresh
	}
	steps := []struct {
		advance     time.Duration
		tracker, id string
		ttl         time.Duration
		want        bool
	}{
		{0, "platform", "d1", time.Hour, true},
		{0, "platform", "d1", time.Hour, false},                // redelivery
		{0, "acme", "d1", time.Hour, true},                     // same id, other tracker
		{59 * time.Minute, "platform", "d1", time.Hour, false}, // still within ttl
		{time.Minute, "platform", "d1", time.Hour, true},       // expired: fresh again, for another hour
		{30 * time.Minute, "platform", "d1", time.Hour, false},
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		if got := record(s.tracker, s.id, s.ttl); got != s.want {
			t.Errorf("step %d: RecordDelivery(%s, %s) = %v; want %v", i, s.tracker, s.id, got, s.want)
		}
	}
	if _, err := db.RecordDelivery("platform", "d2", 0); err == nil {
		t.Errorf("RecordDelivery with ttl 0 succeeded; want an error")
	}

	// Pruning: acme/d1 expired 30 minutes ago, platform/d1 lives 30 more.
	record("platform", "short", time.Minute)
	record("platform", "long", 24*time.Hour)
	clk.Advance(2 * time.Minute)
	n, err := db.PruneDeliveries()
	if err != nil || n != 2 {
		t.Errorf("PruneDeliveries = %d, %v; want 2 (acme/d1, short)", n, err)
	}
	if s := db.Stats(); s.Deliveries != 2 {
		t.Errorf("deliveries after prune = %d; want 2", s.Deliveries)
	}
	if err := db.Check(); err != nil {
		t.Errorf("Check after prune: %v", err)
	}
	if record("platform", "long", time.Hour) {
		t.Errorf("a delivery that did not expire became fresh after pruning")
	}
	if !record("acme", "d1", time.Hour) {
		t.Errorf("a pruned delivery is not fresh")
	}
	clk.Advance(48 * time.Hour)
	if n, err := db.PruneDeliveries(); err != nil || n != 3 {
		t.Errorf("PruneDeliveries after 2 days = %d, %v; want 3", n, err)
	}
}

func TestPruneDeliveriesInChunks(t *testing.T) {
	clk := newClock()
	db := openTest(t, Options{Now: clk.Now, NoSync: true})
	defer func(n int) { pruneChunk = n }(pruneChunk)
	pruneChunk = 10
	total := 3*pruneChunk + 7
	for i := 0; i < total; i++ {
		if _, err := db.RecordDelivery("platform", "d"+strconv.Itoa(i), time.Minute); err != nil {
			t.Fatalf("RecordDelivery: %v", err)
		}
	}
	clk.Advance(time.Hour)
	if n, err := db.PruneDeliveries(); err != nil || n != total {
		t.Errorf("PruneDeliveries = %d, %v; want %d", n, err, total)
	}
	if s := db.Stats(); s.Deliveries != 0 {
		t.Errorf("deliveries after prune = %d; want 0", s.Deliveries)
	}
}

func TestWatermarks(t *testing.T) {
	db := openTest(t, Options{})
	if c, err := db.Watermark("platform"); err != nil || c != "" {
		t.Errorf("Watermark before any = %q, %v; want empty", c, err)
	}
	for _, c := range []string{"a", "b", ""} {
		if err := db.SetWatermark("platform", c); err != nil {
			t.Fatalf("SetWatermark(%q): %v", c, err)
		}
		if got, err := db.Watermark("platform"); err != nil || got != c {
			t.Errorf("Watermark = %q, %v; want %q", got, err, c)
		}
	}
	if err := db.SetWatermark("", "x"); err == nil {
		t.Errorf("SetWatermark with no tracker succeeded; want an error")
	}
}
