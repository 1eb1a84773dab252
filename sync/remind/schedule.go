package remind

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule is a cron schedule read in the wall-clock time of one time zone
// ("CRON_TZ=America/New_York 0 9 * * MON"). Unlike cron's own Next, it
// walks wall-clock time, so a daylight-saving change neither skips nor
// doubles a firing: a time that does not exist on the spring-forward day
// fires at the first instant after the gap, and a time that occurs twice on
// the fall-back day fires at its first occurrence only.
type Schedule struct {
	spec  string
	loc   *time.Location
	wall  *cron.SpecSchedule // the same fields, evaluated in UTC as wall-clock time
	every time.Duration      // @every: fixed periods counted from the zero time, in UTC
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule reads a five-field cron expression or descriptor (@daily,
// @weekly, @monthly), optionally prefixed with CRON_TZ=Zone or TZ=Zone; no
// prefix means UTC. "@every D" (at least a minute) fires at the multiples
// of D in UTC (@every 6h: 00:00, 06:00, 12:00, 18:00 UTC), so its periods
// are fixed and survive restarts.
func ParseSchedule(spec string) (*Schedule, error) { return ParseScheduleIn(spec, time.UTC) }

// ParseScheduleIn is ParseSchedule with def as the time zone of a spec
// without a CRON_TZ= or TZ= prefix.
func ParseScheduleIn(spec string, def *time.Location) (*Schedule, error) {
	if def == nil {
		def = time.UTC
	}
	s := strings.TrimSpace(spec)
	if s == "" {
		return nil, fmt.Errorf("schedule: empty cron expression")
	}
	if rest, ok := strings.CutPrefix(s, "@every"); ok {
		return parseEvery(spec, strings.TrimSpace(rest))
	}
	prefixed := strings.HasPrefix(s, "CRON_TZ=") || strings.HasPrefix(s, "TZ=")
	if !prefixed {
		s = "CRON_TZ=UTC " + s
	}
	parsed, err := cronParser.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", spec, err)
	}
	ss, ok := parsed.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("schedule %q: not a calendar schedule", spec)
	}
	wall := *ss
	wall.Location = time.UTC
	loc := ss.Location
	if !prefixed {
		loc = def
	}
	return &Schedule{spec: spec, loc: loc, wall: &wall}, nil
}

// String returns the expression as written.
func (s *Schedule) String() string { return s.spec }

// Location returns the schedule's time zone.
func (s *Schedule) Location() *time.Location { return s.loc }

// Next returns the first firing strictly after t, or the zero time when
// there is none within five years.
func (s *Schedule) Next(t time.Time) time.Time {
	if s.every > 0 {
		return t.UTC().Truncate(s.every).Add(s.every)
	}
	w := toWall(t, s.loc)
	for i := 0; i < 4; i++ {
		w = s.wall.Next(w)
		if w.IsZero() {
			return time.Time{}
		}
		if real := fromWall(w, s.loc); real.After(t) {
			return real
		}
		// w's first occurrence lies before t (t is inside a repeated
		// fall-back hour): that firing already happened; look further.
	}
	return time.Time{}
}

// Prev returns the last firing at or before t, or the zero time when there
// is none within about five years.
func (s *Schedule) Prev(t time.Time) time.Time {
	for back := time.Hour; back <= 6*366*24*time.Hour; back *= 2 {
		f := s.Next(t.Add(-back))
		if f.IsZero() || f.After(t) {
			continue
		}
		for {
			n := s.Next(f)
			if n.IsZero() || n.After(t) {
				return f
			}
			f = n
		}
	}
	return time.Time{}
}

// Latest returns the last firing in (after, until], or the zero time when
// there is none. It is how a period missed while pmsync was down is found:
// only the latest one counts, never a backlog.
func (s *Schedule) Latest(after, until time.Time) time.Time {
	if !until.After(after) {
		return time.Time{}
	}
	f := s.Prev(until)
	if f.IsZero() || !f.After(after) {
		return time.Time{}
	}
	return f
}

func parseEvery(spec, d string) (*Schedule, error) {
	every, err := time.ParseDuration(d)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", spec, err)
	}
	if every < time.Minute {
		return nil, fmt.Errorf("schedule %q: @every needs at least 1m", spec)
	}
	return &Schedule{spec: spec, loc: time.UTC, every: every}, nil
}

// toWall returns t's wall-clock reading in loc as a UTC time.
func toWall(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}

// fromWall returns the instant at which loc's clocks show the wall time w.
// A wall time in a spring-forward gap maps to the first instant after the
// gap's start by the old offset (02:30 → 03:30 DST); a wall time that
// occurs twice maps to its first occurrence.
func fromWall(w time.Time, loc *time.Location) time.Time {
	var fits []time.Time
	var all []time.Time
	for _, probe := range []time.Duration{-26 * time.Hour, 26 * time.Hour} {
		_, off := w.Add(probe).In(loc).Zone()
		c := w.Add(-time.Duration(off) * time.Second)
		all = append(all, c)
		if toWall(c, loc).Equal(w) {
			fits = append(fits, c)
		}
	}
	if len(fits) > 0 {
		return earliest(fits)
	}
	return latest(all)
}

func earliest(ts []time.Time) time.Time {
	m := ts[0]
	for _, t := range ts[1:] {
		if t.Before(m) {
			m = t
		}
	}
	return m.In(time.UTC)
}

func latest(ts []time.Time) time.Time {
	m := ts[0]
	for _, t := range ts[1:] {
		if t.After(m) {
			m = t
		}
	}
	return m.In(time.UTC)
}
