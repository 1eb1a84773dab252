package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// ParseDuration reads a duration written as Go writes them ("90s", "2m",
// "1h30m") with two more units: d (24 hours) and w (7 days), as in "7d",
// "2w" or "1d12h". Negative durations are refused.
func ParseDuration(s string) (time.Duration, error) {
	in := s
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty duration")
	}
	if s == "0" {
		return 0, nil
	}
	var total time.Duration
	for s != "" {
		num, unit, rest, err := nextDurationTerm(s)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: %v (write e.g. 90s, 2m, 1h30m, 7d or 2w)", in, err)
		}
		var d time.Duration
		switch unit {
		case "d", "w":
			f, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, fmt.Errorf("invalid duration %q", in)
			}
			hours := f * 24
			if unit == "w" {
				hours *= 7
			}
			ns := hours * float64(time.Hour)
			if ns > math.MaxInt64/2 {
				return 0, fmt.Errorf("invalid duration %q: too long", in)
			}
			d = time.Duration(ns)
		default:
			d, err = time.ParseDuration(num + unit)
			if err != nil {
				return 0, fmt.Errorf("invalid duration %q (write e.g. 90s, 2m, 1h30m, 7d or 2w)", in)
			}
		}
		if total > math.MaxInt64/2-d {
			return 0, fmt.Errorf("invalid duration %q: too long", in)
		}
		total += d
		s = rest
	}
	return total, nil
}

// nextDurationTerm splits "12.5h30m" into "12.5", "h" and "30m".
func nextDurationTerm(s string) (num, unit, rest string, err error) {
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	if i == 0 {
		return "", "", "", errors.New("expected a number")
	}
	num = s[:i]
	j := i
	for j < len(s) && !(s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
		j++
	}
	unit = s[i:j]
	switch unit {
	case "ns", "us", "µs", "μs", "ms", "s", "m", "h", "d", "w":
	case "":
		return "", "", "", errors.New("missing unit")
	default:
		return "", "", "", fmt.Errorf("unknown unit %q", unit)
	}
	return num, unit, s[j:], nil
}

// FormatDuration writes d in the shortest of the forms ParseDuration reads,
// preferring whole weeks and days ("2w", "7d", "36h", "2m30s").
func FormatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == 0:
		return "0s"
	case d%(7*day) == 0:
		return fmt.Sprintf("%dw", d/(7*day))
	case d%day == 0:
		return fmt.Sprintf("%dd", d/day)
	}
	s := d.String() // "36h0m0s", "2m30s", "10ms"
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Schedule is a validated cron schedule: five fields (minute hour
// day-of-month month day-of-week), or a descriptor (@daily, @weekly,
// @every 1h), optionally prefixed with CRON_TZ=Zone/Name.
type Schedule struct {
	// Spec is the schedule as written in the file.
	Spec string
	// Location is the time zone the schedule runs in: the CRON_TZ= zone,
	// or the process's local zone when none is written.
	Location *time.Location
	cron     cron.Schedule
}

// Cron returns the parsed schedule for robfig/cron/v3.
func (s Schedule) Cron() cron.Schedule { return s.cron }

// Next returns the first activation after t, or the zero time for a zero
// Schedule.
func (s Schedule) Next(t time.Time) time.Time {
	if s.cron == nil {
		return time.Time{}
	}
	return s.cron.Next(t)
}

// IsZero reports whether no schedule is set.
func (s Schedule) IsZero() bool { return s.cron == nil }

// String returns the spec.
func (s Schedule) String() string { return s.Spec }

// ParseSchedule validates a cron spec with the standard parser of
// robfig/cron/v3 (five fields, descriptors, CRON_TZ= or TZ= prefix). An
// unknown time zone and a schedule that never fires are errors.
func ParseSchedule(spec string) (sched Schedule, err error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return Schedule{}, errors.New("empty cron schedule")
	}
	loc := time.Local
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		eq := strings.IndexByte(spec, '=')
		sp := strings.IndexAny(spec, " \t")
		if sp < 0 {
			return Schedule{}, fmt.Errorf("cron schedule %q: nothing after the time zone (write e.g. \"CRON_TZ=Europe/Berlin 0 9 * * MON\")", spec)
		}
		zone := spec[eq+1 : sp]
		if zone == "" {
			return Schedule{}, fmt.Errorf("cron schedule %q: empty time zone", spec)
		}
		l, lerr := time.LoadLocation(zone)
		if lerr != nil {
			return Schedule{}, fmt.Errorf("cron schedule %q: unknown time zone %q", spec, zone)
		}
		loc = l
		// robfig splits the zone on a space only.
		spec = spec[:sp] + " " + strings.TrimSpace(spec[sp:])
	}
	defer func() {
		// The parser has panicked on malformed input in the past; a bad
		// config must be an error, never a crash.
		if r := recover(); r != nil {
			err = fmt.Errorf("cron schedule %q: malformed", spec)
		}
	}()
	c, err := cron.ParseStandard(spec)
	if err != nil {
		return Schedule{}, fmt.Errorf("cron schedule %q: %v (want five fields: minute hour day-of-month month day-of-week, e.g. \"0 9 * * MON\", or @daily, @weekly, @every 1h)", spec, err)
	}
	if c.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() && c.Next(time.Now()).IsZero() {
		return Schedule{}, fmt.Errorf("cron schedule %q never fires", spec)
	}
	return Schedule{Spec: spec, Location: loc, cron: c}, nil
}
