package github_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/conformance"
	"github.com/pmsync/pmsync/connectors/github"
	"github.com/pmsync/pmsync/connectors/github/githubfake"
)

// createGap spaces the seeded issues as a large first sync does: creates
// paced at GitHub's secondary limit of 80 a minute.
const createGap = 750 * time.Millisecond

// seedBurst creates n issues ("seed0000" is #1) createGap apart, as a
// first sync would.
func seedBurst(tb testing.TB, c *github.Connector, b *backend, n int) {
	tb.Helper()
	for i := range n {
		mustCreate(tb, c, fmt.Sprintf("seed%04d", i), item(fmt.Sprintf("seeded %d", i)))
		b.Advance(createGap)
	}
}

// TestFindByMarkerCost counts the requests FindByMarker makes in a
// repository of 500 issues created in a burst (80 a minute, so about 160
// of them in the last two minutes): the issue just created is on the
// first page, and a marker no issue carries stops at the time bound.
func TestFindByMarkerCost(t *testing.T) {
	ctx := context.Background()
	c, b := setup(t, githubfake.Options{SecondaryPerMinute: -1, RateLimit: 1 << 20}, github.Options{}, nil)
	seedBurst(t, c, b, 500)
	hint := connectors.FindHint{CreatedAfter: b.Now().Add(-time.Minute)}
	target := mustCreate(t, c, marker(1), item("just created"))

	tests := []struct {
		name      string
		marker    string
		hint      connectors.FindHint
		wantKey   string // "" wants ErrNotFound
		wantCalls int
	}{
		{"just created, hint now-1m", marker(1), hint, target.Ref.Key, 1},
		{"missing, hint now-1m", marker(2), hint, "", 2},
		{"just created, no hint", marker(1), connectors.FindHint{}, target.Ref.Key, 1},
		{"created 30s before the hint, within the skew allowance", "seed0380", hint, testRepo + "#381", 2},
		{"created 2m before the hint, outside the window", "seed0260", hint, "", 2},
		{"missing, no hint, every page read", marker(2), connectors.FindHint{}, "", 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := b.Requests()
			got, err := c.FindByMarker(ctx, tt.marker, tt.hint)
			calls := b.Requests() - before
			switch {
			case tt.wantKey == "" && !errors.Is(err, connectors.ErrNotFound):
				t.Errorf("FindByMarker(%s): got %v, %v; want ErrNotFound", tt.marker, got, err)
			case tt.wantKey != "" && err != nil:
				t.Errorf("FindByMarker(%s): got %v, want %s", tt.marker, err, tt.wantKey)
			case tt.wantKey != "" && (got.Ref.Key != tt.wantKey || got.Marker != tt.marker):
				t.Errorf("FindByMarker(%s): got %s marker %q, want %s", tt.marker, got.Ref.Key, got.Marker, tt.wantKey)
			}
			if calls != tt.wantCalls {
				t.Errorf("FindByMarker(%s): got %d requests, want %d", tt.marker, calls, tt.wantCalls)
			}
			t.Logf("%d requests", calls)
		})
	}
}

// TestFindByMarkerUnhintedLimit: without a time hint the walk stops after
// the newest FindUnhintedLimit issues and says it could not tell, rather
// than claim an absence (which would let the caller create a duplicate).
func TestFindByMarkerUnhintedLimit(t *testing.T) {
	ctx := context.Background()
	_, b := setup(t, githubfake.Options{SecondaryPerMinute: -1}, github.Options{}, nil)
	c, err := github.New(connectors.Config{ID: "janecorp", URL: b.url, Project: testRepo, Token: conformance.Secret, Now: b.Now},
		github.Options{CreatesPerMinute: 1e6, PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	github.SetFindUnhintedLimit(c, 25)
	seedBurst(t, c, b, 40)
	before := b.Requests()
	_, err = c.FindByMarker(ctx, "seed0002", connectors.FindHint{})
	if err == nil || errors.Is(err, connectors.ErrNotFound) || !errors.Is(err, connectors.ErrInvalid) {
		t.Errorf("FindByMarker past the limit: got %v, want ErrInvalid (not ErrNotFound)", err)
	}
	if calls := b.Requests() - before; calls != 3 {
		t.Errorf("FindByMarker past the limit: got %d requests, want 3 (30 issues, the first page past 25)", calls)
	}
	if got, err := c.FindByMarker(ctx, "seed0020", connectors.FindHint{}); err != nil || got.Marker != "seed0020" {
		t.Errorf("FindByMarker within the limit: got %v, %v; want seed0020", got, err)
	}
	if _, err := c.FindByMarker(ctx, "seed0002", connectors.FindHint{CreatedAfter: start}); err != nil {
		t.Errorf("FindByMarker with a hint: got %v, want the hint to lift the limit", err)
	}
}
