package reliability

import (
	"time"

	"github.com/pmsync/pmsync/internal/testclock"
)

// Clock is the movable test clock (see internal/testclock): in auto mode
// every After fires at once and moves the clock forward by its duration, so
// backoffs and poll intervals cost no real time; in manual mode timers fire
// only on Advance.
type Clock = testclock.Clock

// NewClock returns a clock at start.
func NewClock(start time.Time, auto bool) *Clock { return testclock.New(start, auto) }
