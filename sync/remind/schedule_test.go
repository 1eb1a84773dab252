package remind

import (
	"strings"
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func mustSchedule(t *testing.T, spec string) *Schedule {
	t.Helper()
	s, err := ParseSchedule(spec)
	if err != nil {
		t.Fatalf("ParseSchedule(%q): %v", spec, err)
	}
	return s
}

// TestScheduleOncePerLocalDay walks a whole year of daily firings at wall
// times that fall into DST gaps and repeats, and checks that every local
// calendar day has exactly one firing.
func TestScheduleOncePerLocalDay(t *testing.T) {
	zones := []string{"America/New_York", "America/Los_Angeles", "Europe/Berlin", "Australia/Lord_Howe", "UTC"}
	times := []string{"30 2", "30 1", "15 2", "45 1", "0 9", "0 0"}
	for _, zone := range zones {
		loc := mustLoc(t, zone)
		for _, hm := range times {
			spec := "CRON_TZ=" + zone + " " + hm + " * * *"
			s := mustSchedule(t, spec)
			start := time.Date(2025, 1, 1, 0, 0, 0, 0, loc)
			end := time.Date(2026, 1, 1, 0, 0, 0, 0, loc)
			perDay := map[string]int{}
			prev := start.Add(-time.Second)
			for f := s.Next(start.Add(-time.Second)); f.Before(end); f = s.Next(f) {
				if !f.After(prev) {
					t.Fatalf("%s: firing %v not after %v", spec, f, prev)
				}
				prev = f
				perDay[f.In(loc).Format(dateLayout)]++
			}
			for d := start; d.Before(end); d = d.AddDate(0, 0, 1) {
				if n := perDay[d.Format(dateLayout)]; n != 1 {
					t.Errorf("%s: %s has %d firings, want 1", spec, d.Format(dateLayout), n)
				}
			}
		}
	}
}

func TestScheduleDSTInstants(t *testing.T) {
	tests := []struct {
		spec  string
		after time.Time
		want  time.Time
	}{
		// 9:00 New York, EST then EDT.
		{"CRON_TZ=America/New_York 0 9 * * MON", time.Date(2025, 3, 4, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 10, 13, 0, 0, 0, time.UTC)},
		{"CRON_TZ=America/New_York 0 9 * * MON", time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 3, 14, 0, 0, 0, time.UTC)},
		// 02:30 does not exist on 2025-03-09: fires at 03:30 EDT.
		{"CRON_TZ=America/New_York 30 2 * * *", time.Date(2025, 3, 8, 12, 0, 0, 0, time.UTC), time.Date(2025, 3, 9, 7, 30, 0, 0, time.UTC)},
		// 01:30 happens twice on 2025-11-02: fires at the first (EDT).
		{"CRON_TZ=America/New_York 30 1 * * *", time.Date(2025, 11, 1, 12, 0, 0, 0, time.UTC), time.Date(2025, 11, 2, 5, 30, 0, 0, time.UTC)},
		// From the first 01:30, the next is the following day, not the repeat.
		{"CRON_TZ=America/New_York 30 1 * * *", time.Date(2025, 11, 2, 5, 30, 0, 0, time.UTC), time.Date(2025, 11, 3, 6, 30, 0, 0, time.UTC)},
		// From inside the repeated hour (01:10 EST), 01:30 already fired.
		{"CRON_TZ=America/New_York 30 1 * * *", time.Date(2025, 11, 2, 6, 10, 0, 0, time.UTC), time.Date(2025, 11, 3, 6, 30, 0, 0, time.UTC)},
		// No prefix means UTC.
		{"0 8 * * MON", time.Date(2025, 3, 4, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 10, 8, 0, 0, 0, time.UTC)},
		{"@monthly", time.Date(2025, 3, 4, 0, 0, 0, 0, time.UTC), time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)},
		// @every counts fixed periods in UTC, whatever the zone.
		{"@every 6h", time.Date(2025, 3, 4, 7, 30, 0, 0, time.UTC), time.Date(2025, 3, 4, 12, 0, 0, 0, time.UTC)},
		{"@every 6h", time.Date(2025, 3, 4, 12, 0, 0, 0, time.UTC), time.Date(2025, 3, 4, 18, 0, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		s := mustSchedule(t, tc.spec)
		if got := s.Next(tc.after); !got.Equal(tc.want) {
			t.Errorf("%s: Next(%v) = %v, want %v", tc.spec, tc.after, got.UTC(), tc.want)
		}
	}
}

func TestSchedulePrevLatest(t *testing.T) {
	s := mustSchedule(t, "CRON_TZ=America/New_York 0 9 * * MON")
	mon := time.Date(2025, 3, 10, 13, 0, 0, 0, time.UTC) // 09:00 EDT
	prevMon := time.Date(2025, 3, 3, 14, 0, 0, 0, time.UTC)
	if got := s.Prev(mon); !got.Equal(mon) {
		t.Errorf("Prev(at a firing) = %v, want %v", got, mon)
	}
	if got := s.Prev(mon.Add(-time.Second)); !got.Equal(prevMon) {
		t.Errorf("Prev(just before) = %v, want %v", got, prevMon)
	}
	// Down from Saturday before to Thursday after: the one missed Monday.
	if got := s.Latest(mon.Add(-2*day), mon.Add(3*day)); !got.Equal(mon) {
		t.Errorf("Latest over 5 days = %v, want %v", got, mon)
	}
	// Down for three weeks: only the latest Monday, not a backlog.
	want := mon.Add(14 * day)
	if got := s.Latest(mon.Add(-day), mon.Add(15*day)); !got.Equal(want) {
		t.Errorf("Latest over 3 weeks = %v, want %v", got, want)
	}
	if got := s.Latest(mon, mon.Add(6*day)); !got.IsZero() {
		t.Errorf("Latest with nothing missed = %v, want zero", got)
	}
	e := mustSchedule(t, "@every 6h")
	from := time.Date(2025, 3, 4, 7, 30, 0, 0, time.UTC)
	if got, want := e.Latest(from, from.Add(11*time.Hour+30*time.Minute)), time.Date(2025, 3, 4, 18, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("@every 6h Latest = %v, want %v", got, want)
	}
}

func TestParseScheduleIn(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	s, err := ParseScheduleIn("0 9 * * MON", berlin)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Next(time.Date(2025, 3, 4, 0, 0, 0, 0, time.UTC)), time.Date(2025, 3, 10, 8, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("unprefixed spec in Berlin: Next = %v, want %v", got, want)
	}
	s, err = ParseScheduleIn("CRON_TZ=UTC 0 9 * * MON", berlin)
	if err != nil {
		t.Fatal(err)
	}
	if s.Location() != time.UTC {
		t.Errorf("prefixed spec: location %v, want UTC (the prefix wins)", s.Location())
	}
}

func TestParseScheduleErrors(t *testing.T) {
	tests := []struct{ spec, want string }{
		{"", "empty"},
		{"@every 10s", "at least 1m"},
		{"@every often", "often"},
		{"0 9 * *", "expected exactly 5 fields"},
		{"CRON_TZ=Mars/Olympus 0 9 * * MON", "Mars/Olympus"},
		{"61 9 * * MON", "61"},
	}
	for _, tc := range tests {
		_, err := ParseSchedule(tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseSchedule(%q): got %v, want an error containing %q", tc.spec, err, tc.want)
		}
	}
}
