package github

import (
	"fmt"
	"sync"
	"testing"
	"time"

	gh "github.com/google/go-github/v62/github"

	"github.com/pmsync/pmsync/internal/testclock"
)

// cached builds an issue updated at the given offset from paceStart.
func cached(n int, title string, updated time.Duration) *gh.Issue {
	return &gh.Issue{Number: gh.Int(n), Title: gh.String(title),
		UpdatedAt: &gh.Timestamp{Time: paceStart.Add(updated)}}
}

func TestIssueCacheAge(t *testing.T) {
	tests := []struct {
		name  string
		after time.Duration
		hit   bool
	}{
		{"just stored", 0, true},
		{"just before the max age", 10*time.Second - time.Nanosecond, true},
		{"at the max age", 10 * time.Second, false},
		{"clock went back", -time.Second, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := testclock.New(paceStart, false)
			c := newIssueCache(clk.Now, 10*time.Second, 8)
			c.put(cached(1, "one", 0))
			if tc.after < 0 {
				clk = testclock.New(paceStart.Add(tc.after), false)
				c.now = clk.Now
			} else {
				clk.Advance(tc.after)
			}
			if got := c.get(1); (got != nil) != tc.hit {
				t.Errorf("get after %v: got %v, want hit %v", tc.after, got, tc.hit)
			}
			if !tc.hit && c.len() != 0 {
				t.Errorf("entries after a stale get: got %d, want 0 (dropped)", c.len())
			}
		})
	}
}

// TestIssueCacheOrder: a slower answer with an older updated_at does not
// replace a fresh entry; a newer or equal one does, and so does anything
// once the entry has expired.
func TestIssueCacheOrder(t *testing.T) {
	clk := testclock.New(paceStart, false)
	c := newIssueCache(clk.Now, 10*time.Second, 8)
	c.put(cached(1, "edited", 5*time.Second))
	c.put(cached(1, "read before the edit", 3*time.Second))
	if got := c.get(1).GetTitle(); got != "edited" {
		t.Errorf("after an older answer: got %q, want %q", got, "edited")
	}
	c.put(cached(1, "same second, later answer", 5*time.Second))
	if got := c.get(1).GetTitle(); got != "same second, later answer" {
		t.Errorf("after an answer of the same second: got %q, want it", got)
	}
	clk.Advance(10 * time.Second)
	c.put(cached(1, "old but the entry expired", time.Second))
	if got := c.get(1).GetTitle(); got != "old but the entry expired" {
		t.Errorf("after expiry: got %q, want the new answer", got)
	}
	c.drop(1)
	if got := c.get(1); got != nil {
		t.Errorf("after drop: got %v, want nothing", got)
	}
}

// TestIssueCacheBounds: the cache holds at most its size, evicting the
// oldest, and forgets expired entries when it stores new ones; pull
// requests are never stored; a zero age turns it off.
func TestIssueCacheBounds(t *testing.T) {
	clk := testclock.New(paceStart, false)
	c := newIssueCache(clk.Now, 10*time.Second, 3)
	for n := 1; n <= 5; n++ {
		c.put(cached(n, fmt.Sprint(n), 0))
		clk.Advance(time.Second)
	}
	if c.len() != 3 || c.get(1) != nil || c.get(2) != nil || c.get(5) == nil {
		t.Errorf("after 5 puts into 3 places: %d entries, want 3 (3, 4, 5)", c.len())
	}
	clk.Advance(8 * time.Second) // 3 and 4 expire, 5 is 9s old
	c.put(cached(6, "6", 0))
	if c.len() != 2 {
		t.Errorf("after expiry and one put: got %d entries, want 2 (5, 6)", c.len())
	}
	pr := cached(7, "a pull request", 0)
	pr.PullRequestLinks = &gh.PullRequestLinks{URL: gh.String("https://api.github.com/repos/acme/widgets/pulls/7")}
	c.put(pr, nil, &gh.Issue{})
	if c.get(7) != nil || c.len() != 2 {
		t.Errorf("pull request or issue without number stored: %d entries", c.len())
	}
	off := newIssueCache(clk.Now, 0, 3)
	off.put(cached(1, "x", 0))
	if off.get(1) != nil || off.len() != 0 {
		t.Errorf("cache with age 0 kept an issue")
	}
}

// TestIssueCacheConcurrent hammers the cache from several goroutines; run
// with -race.
func TestIssueCacheConcurrent(t *testing.T) {
	clk := testclock.New(paceStart, false)
	c := newIssueCache(clk.Now, 10*time.Second, 16)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 500 {
				n := (w*7+i)%40 + 1
				switch i % 4 {
				case 0, 1:
					c.put(cached(n, "x", time.Duration(i)*time.Millisecond))
				case 2:
					if is := c.get(n); is != nil && is.GetNumber() != n {
						t.Errorf("get(%d) returned issue %d", n, is.GetNumber())
					}
				case 3:
					c.drop(n)
				}
				if i%100 == 0 {
					clk.Advance(time.Second)
				}
			}
		})
	}
	wg.Wait()
	if n := c.len(); n > 16 {
		t.Errorf("entries: got %d, want at most 16", n)
	}
}
