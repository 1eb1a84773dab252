package github_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/conformance"
	"github.com/pmsync/pmsync/connectors/github"
	"github.com/pmsync/pmsync/connectors/github/githubfake"
	"github.com/pmsync/pmsync/internal/testclock"
)

// TestPacingAgainstGitHubLimits creates issues and comments from several
// workers through go-github against the simulator with GitHub's two caps
// (scaled down: 5 a minute, 12 an hour). Connector, pacer and simulator
// share one test clock whose waits pass at once and move it forward, so
// two simulated hours cost no real time. With the connector's caps equal
// to the simulator's, no creation is refused; with the minute cap one
// higher, the simulator refuses, so the check can fail.
func TestPacingAgainstGitHubLimits(t *testing.T) {
	tests := []struct {
		name               string
		workers            int
		perMinute          float64
		wantRefusedAtLeast int
	}{
		{"caps as GitHub's, 4 workers", 4, 5, 0},
		{"minute cap above GitHub's", 1, 6, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := testclock.New(start, true)
			b := newBackend(t, githubfake.Options{Now: clk.Now, SecondaryPerMinute: 5, SecondaryPerHour: 12})
			c, err := github.New(connectors.Config{ID: "janecorp", URL: b.url, Project: testRepo, Token: conformance.Secret, Now: clk.Now},
				github.Options{CreatesPerMinute: tc.perMinute, CreatesPerHour: 12, Clock: clk})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Close() })
			ctx := context.Background()
			var (
				mu      sync.Mutex
				refused int
				wg      sync.WaitGroup
			)
			note := func(err error) {
				switch {
				case err == nil:
				case errors.Is(err, connectors.ErrRateLimited):
					mu.Lock()
					refused++
					mu.Unlock()
				default:
					t.Errorf("create: %v", err)
				}
			}
			for w := range tc.workers {
				wg.Go(func() {
					for i := range 24 / tc.workers / 2 {
						it := item(fmt.Sprintf("w%d-%d", w, i))
						got, err := c.Create(ctx, fmt.Sprintf("w%di%d", w, i), &it)
						note(err)
						if err == nil {
							_, err = c.AddComment(ctx, got.Ref.Key, "", "paced too")
							note(err)
						}
					}
				})
			}
			wg.Wait()
			st := b.Stats()
			if tc.wantRefusedAtLeast == 0 && (st.SecondaryLimited != 0 || refused != 0 || st.ContentCreates != 24) {
				t.Errorf("got %d creations, %d refused (%d errors), want 24 and none refused", st.ContentCreates, st.SecondaryLimited, refused)
			}
			if tc.wantRefusedAtLeast > 0 && st.SecondaryLimited < tc.wantRefusedAtLeast {
				t.Errorf("refusals with a cap above GitHub's: got %d, want at least %d", st.SecondaryLimited, tc.wantRefusedAtLeast)
			}
			// 24 creations at 12 an hour: the last waits for the 12th
			// before it to be an hour old.
			if el := clk.Now().Sub(start); tc.wantRefusedAtLeast == 0 && el < time.Hour {
				t.Errorf("simulated time: got %v, want at least 1h for 24 creations at 12 an hour", el)
			}
		})
	}
}
