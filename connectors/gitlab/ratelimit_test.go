package gitlab

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/conformance"
	"github.com/pmsync/pmsync/connectors/gitlab/gitlabfake"
)

// TestNoClientSideLimiter: client-go builds a limiter from the first
// RateLimit-Limit header (2/3 of it, per second) and would make the
// connector wait on its own. With a 60/min budget the library's limiter
// needs more than a second for the third request; a deadline of one
// second makes that an error, so passing proves there is no limiter.
func TestNoClientSideLimiter(t *testing.T) {
	c, _ := setup(t, gitlabfake.Options{RateLimit: 60})
	key := mustCreate(t, c, marker(1), connectors.Item{Title: "t", Status: connectors.StatusOpen}).Ref.Key
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	for i := range 8 {
		if _, err := c.Get(ctx, key); err != nil {
			t.Fatalf("Get #%d: %v", i, err)
		}
	}
	if got := c.RateLimit(); got.Limit != 60 || got.Remaining != 60-9 {
		t.Errorf("RateLimit: got limit %d remaining %d, want 60 and %d", got.Limit, got.Remaining, 60-9)
	}
}

func TestRateLimitBudget(t *testing.T) {
	c, srv := setup(t, gitlabfake.Options{RateLimit: 3})
	key := mustCreate(t, c, marker(1), connectors.Item{Title: "t", Status: connectors.StatusOpen}).Ref.Key
	for i := range 2 {
		if _, err := c.Get(t.Context(), key); err != nil {
			t.Fatalf("Get #%d within the budget: %v", i, err)
		}
	}
	now := srv.Now()
	reset := now.Truncate(time.Minute).Add(time.Minute)
	_, err := c.Get(t.Context(), key)
	if !errors.Is(err, connectors.ErrRateLimited) {
		t.Fatalf("Get over the budget: got %v, want rate limited", err)
	}
	wantWait := reset.Sub(now).Round(time.Second)
	if got, _ := connectors.RetryAfterOf(err); got != wantWait {
		t.Errorf("RetryAfter: got %v, want %v", got, wantWait)
	}
	st := c.RateLimit()
	if st.Limit != 3 || st.Remaining != 0 || !st.Reset.Equal(reset) || !st.BlockedUntil.Equal(now.Add(wantWait)) {
		t.Errorf("RateLimit: got %+v, want limit 3, remaining 0, reset %v, blocked until %v", st, reset, now.Add(wantWait))
	}
	r0 := srv.Requests()
	_, err = c.Get(t.Context(), key)
	if !errors.Is(err, connectors.ErrRateLimited) || srv.Requests() != r0 {
		t.Errorf("Get while blocked: got %v and %d requests, want rate limited and no request", err, srv.Requests()-r0)
	}
	srv.Advance(wantWait)
	if _, err := c.Get(t.Context(), key); err != nil {
		t.Errorf("Get after the reset: %v", err)
	}
}

func TestRateLimitedWithoutRetryAfter(t *testing.T) {
	tests := []struct {
		name   string
		header func(now time.Time) http.Header
		want   time.Duration
	}{
		{"RateLimit-Reset", func(now time.Time) http.Header {
			return http.Header{"Ratelimit-Reset": {strconv.FormatInt(now.Add(30*time.Second).Unix(), 10)}}
		}, 30 * time.Second},
		{"RateLimit-ResetTime", func(now time.Time) http.Header {
			return http.Header{"Ratelimit-Resettime": {now.Add(45 * time.Second).UTC().Format(http.TimeFormat)}}
		}, 45 * time.Second},
		{"nothing", func(time.Time) http.Header { return nil }, defaultRateWait},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, srv := setup(t, gitlabfake.Options{})
			// The simulated clock stands on a whole second until a write.
			srv.Inject(conformance.Fault{Op: conformance.OpList, Status: 429, Header: tc.header(srv.Now())})
			_, err := c.Changes(t.Context(), "")
			if got, ok := connectors.RetryAfterOf(err); !ok || got != tc.want {
				t.Errorf("RetryAfter: got %v (%v), want %v; err %v", got, ok, tc.want, err)
			}
		})
	}
}
