package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	day := 24 * time.Hour
	cases := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"2m", 2 * time.Minute, ""},
		{"90s", 90 * time.Second, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"7d", 7 * day, ""},
		{"2w", 14 * day, ""},
		{"1d12h", 36 * time.Hour, ""},
		{"1.5d", 36 * time.Hour, ""},
		{"1w2d3h", 9*day + 3*time.Hour, ""},
		{"0", 0, ""},
		{" 14d ", 14 * day, ""},
		{"", 0, "empty duration"},
		{"14", 0, "missing unit"},
		{"-1m", 0, "expected a number"},
		{"3 days", 0, "unknown unit"},
		{"1y", 0, "unknown unit"},
		{"d", 0, "expected a number"},
		{"1..5d", 0, "invalid duration"},
		{"999999999w", 0, "too long"},
		{"9999999999999h", 0, "invalid duration"},
	}
	for _, tc := range cases {
		got, err := ParseDuration(tc.in)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("ParseDuration(%q): got error %v, want %v", tc.in, err, tc.want)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("ParseDuration(%q): got %v, %v; want error containing %q", tc.in, got, err, tc.wantErr)
		case tc.wantErr == "" && got != tc.want:
			t.Errorf("ParseDuration(%q): got %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestFormatDurationRoundTrip(t *testing.T) {
	cases := []struct {
		d    time.Duration
		want string
	}{
		{14 * 24 * time.Hour, "2w"},
		{90 * 24 * time.Hour, "90d"},
		{36 * time.Hour, "36h"},
		{2 * time.Minute, "2m"},
		{150 * time.Second, "2m30s"},
		{10 * time.Millisecond, "10ms"},
		{0, "0s"},
	}
	for _, tc := range cases {
		got := FormatDuration(tc.d)
		if got != tc.want {
			t.Errorf("FormatDuration(%v): got %q, want %q", tc.d, got, tc.want)
		}
		back, err := ParseDuration(got)
		if err != nil || back != tc.d {
			t.Errorf("ParseDuration(FormatDuration(%v)) = %v, %v; want %v", tc.d, back, err, tc.d)
		}
	}
}

func TestParseSchedule(t *testing.T) {
	from := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC) // a Wednesday
	cases := []struct {
		spec     string
		wantNext time.Time
		wantErr  string
	}{
		{"CRON_TZ=UTC 0 8 * * MON", time.Date(2026, 3, 9, 8, 0, 0, 0, time.UTC), ""},
		{"TZ=Europe/Berlin 30 9 1 * *", time.Date(2026, 4, 1, 7, 30, 0, 0, time.UTC), ""},
		{"CRON_TZ=UTC @weekly", time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC), ""},
		{"CRON_TZ=UTC\t0 8 * * *", time.Date(2026, 3, 5, 8, 0, 0, 0, time.UTC), ""},
		{"@every 1h", from.Add(time.Hour), ""},
		{"", time.Time{}, "empty cron schedule"},
		{"0 8 * *", time.Time{}, "expected exactly 5 fields"},
		{"0 8 * * MON *", time.Time{}, "expected exactly 5 fields"},
		{"61 8 * * *", time.Time{}, "above maximum"},
		{"CRON_TZ=Nowhere/City 0 8 * * *", time.Time{}, `unknown time zone "Nowhere/City"`},
		{"CRON_TZ=", time.Time{}, "nothing after the time zone"},
		{"CRON_TZ= 0 8 * * *", time.Time{}, "empty time zone"},
		{"0 0 31 2 *", time.Time{}, "never fires"},
		{"@fortnightly", time.Time{}, "unrecognized descriptor"},
	}
	for _, tc := range cases {
		s, err := ParseSchedule(tc.spec)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseSchedule(%q): got %v, want error containing %q", tc.spec, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSchedule(%q): %v", tc.spec, err)
			continue
		}
		if got := s.Next(from); !got.Equal(tc.wantNext) {
			t.Errorf("ParseSchedule(%q).Next: got %v, want %v", tc.spec, got.UTC(), tc.wantNext)
		}
	}
}
