package store

import (
	"reflect"
	"testing"
	"time"
)

func TestAuditOrderScopeAndRetention(t *testing.T) {
	clk := newClock()
	db := openTest(t, Options{Now: clk.Now})
	t0 := clk.Now()
	// Recorded out of time order: the log is ordered by time, then by seq.
	events := []AuditEvent{
		{Time: t0.Add(2 * time.Hour), Customer: "acme", Action: "update", Fields: []string{"status"}},
		{Time: t0, Customer: "acme", Action: "create"},
		{Time: t0.Add(time.Hour), Customer: "bolt", Action: "create"},
		{Customer: "acme", Action: "comment"}, // time from the clock: t0
		{Time: t0.Add(3 * time.Hour), Action: "poll-error", Tracker: "platform"},
	}
	for _, e := range events {
		if err := db.Audit(e); err != nil {
			t.Fatalf("Audit(%s): %v", e.Action, err)
		}
	}
	actions := func(es []AuditEvent) []string {
		out := []string{}
		for _, e := range es {
			out = append(out, e.Customer+":"+e.Action)
		}
		return out
	}
	tests := []struct {
		name     string
		customer string
		all      bool
		since    time.Time
		limit    int
		want     []string
	}{
		{"acme", "acme", false, time.Time{}, 0, []string{"acme:create", "acme:comment", "acme:update"}},
		{"acme limit", "acme", false, time.Time{}, 2, []string{"acme:create", "acme:comment"}},
		{"acme since", "acme", false, t0.Add(time.Minute), 0, []string{"acme:update"}},
		{"bolt", "bolt", false, time.Time{}, 0, []string{"bolt:create"}},
		{"platform-wide", "", false, time.Time{}, 0, []string{":poll-error"}},
		{"all", "", true, time.Time{}, 0, []string{"acme:create", "acme:comment", "bolt:create", "acme:update", ":poll-error"}},
		{"all limit", "", true, time.Time{}, 3, []string{"acme:create", "acme:comment", "bolt:create"}},
		{"unknown customer", "zed", false, time.Time{}, 0, []string{}},
	}
	for _, tt := range tests {
		var got []AuditEvent
		var err error
		if tt.all {
			got, err = db.AuditLogAll(tt.since, tt.limit)
		} else {
			got, err = db.AuditLog(tt.customer, tt.since, tt.limit)
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if a := actions(got); !reflect.DeepEqual(a, tt.want) {
			t.Errorf("%s: got %v; want %v", tt.name, a, tt.want)
		}
	}
	all, _ := db.AuditLogAll(time.Time{}, 0)
	seen := map[uint64]bool{}
	for _, e := range all {
		if e.Seq == 0 || seen[e.Seq] {
			t.Errorf("event %s has seq %d, zero or repeated", e.Action, e.Seq)
		}
		seen[e.Seq] = true
	}
	if all[1].Seq <= all[0].Seq {
		t.Errorf("two events at the same time: seq %d then %d; want increasing", all[0].Seq, all[1].Seq)
	}

	// Retention: everything before t0+90m goes, of every customer.
	n, err := db.PruneAudit(t0.Add(90 * time.Minute))
	if err != nil || n != 3 {
		t.Errorf("PruneAudit = %d, %v; want 3", n, err)
	}
	left, _ := db.AuditLogAll(time.Time{}, 0)
	if a, want := actions(left), []string{"acme:update", ":poll-error"}; !reflect.DeepEqual(a, want) {
		t.Errorf("after PruneAudit: %v; want %v", a, want)
	}
	if err := db.Audit(AuditEvent{Customer: "acme"}); err == nil {
		t.Errorf("Audit with no Action succeeded; want an error")
	}
}

func TestPruneAuditInChunks(t *testing.T) {
	clk := newClock()
	db := openTest(t, Options{Now: clk.Now, NoSync: true})
	defer func(n int) { pruneChunk = n }(pruneChunk)
	pruneChunk = 4
	for i := 0; i < 11; i++ {
		c := []string{"", "acme", "bolt"}[i%3]
		if err := db.Audit(AuditEvent{Customer: c, Action: "x"}); err != nil {
			t.Fatalf("Audit: %v", err)
		}
	}
	clk.Advance(time.Second)
	if err := db.Audit(AuditEvent{Customer: "acme", Action: "kept"}); err != nil {
		t.Fatalf("Audit: %v", err)
	}
	if n, err := db.PruneAudit(clk.Now()); err != nil || n != 11 {
		t.Errorf("PruneAudit = %d, %v; want 11", n, err)
	}
	if s := db.Stats(); s.AuditEvents != 1 {
		t.Errorf("audit events left = %d; want 1", s.AuditEvents)
	}
}
