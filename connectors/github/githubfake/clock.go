package githubfake

import (
	"crypto/subtle"
	"time"

	"github.com/pmsync/pmsync/connectors/internal/simkit"
)

// newClock is the fake's notion of now, in UTC: now (when set) or the
// wall clock, shifted by every Advance, or, when start is set and now is
// not, a frozen instant that moves only through Advance.
func newClock(start time.Time, now func() time.Time) *simkit.Clock {
	if now != nil {
		return simkit.NewClock(time.Time{}, func() time.Time { return now().UTC() })
	}
	if start.IsZero() {
		return simkit.NewClock(time.Time{}, func() time.Time { return time.Now().UTC() })
	}
	return simkit.NewClock(start.UTC(), nil)
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
