package gitlab

import (
	"strings"
	"sync"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"
)

var cacheT0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func cachedIssue(iid int64, title string, updated time.Time) *gl.Issue {
	return &gl.Issue{ID: 1000 + iid, IID: iid, Title: title, UpdatedAt: &updated}
}

func TestIssueCacheFreshness(t *testing.T) {
	tests := []struct {
		name  string
		after time.Duration // from the put to the get
		ok    bool
	}{
		{"at once", 0, true},
		{"at the max age", issueCacheMaxAge, true},
		{"just past the max age", issueCacheMaxAge + time.Nanosecond, false},
		{"clock went back", -time.Second, false},
	}
	for _, tc := range tests {
		c := newIssueCache(issueCacheMaxAge)
		is := cachedIssue(7, "t", cacheT0)
		c.put(is, cacheT0)
		got, ok := c.get(7, cacheT0.Add(tc.after))
		if ok != tc.ok || (ok && got != is) {
			t.Errorf("%s: get = %v, %v; want found %v", tc.name, got, ok, tc.ok)
		}
		if _, ok := c.get(8, cacheT0); ok {
			t.Errorf("%s: get of an iid never put found something", tc.name)
		}
	}
}

// TestIssueCacheKeepsNewerAnswer: a list page read before a write but
// handled after it must not replace the write's answer.
func TestIssueCacheKeepsNewerAnswer(t *testing.T) {
	tests := []struct {
		name      string
		second    time.Time // updated_at of the second answer
		wantTitle string
	}{
		{"older answer ignored", cacheT0.Add(-time.Millisecond), "first"},
		{"same version replaces", cacheT0, "second"},
		{"newer answer replaces", cacheT0.Add(time.Millisecond), "second"},
	}
	for _, tc := range tests {
		c := newIssueCache(issueCacheMaxAge)
		c.put(cachedIssue(1, "first", cacheT0), cacheT0)
		c.put(cachedIssue(1, "second", tc.second), cacheT0.Add(time.Second))
		got, ok := c.get(1, cacheT0.Add(time.Second))
		if !ok || got.Title != tc.wantTitle {
			t.Errorf("%s: got %v (found %v), want title %q", tc.name, got, ok, tc.wantTitle)
		}
	}
	// Once the kept answer is stale, any answer replaces it.
	c := newIssueCache(issueCacheMaxAge)
	c.put(cachedIssue(1, "first", cacheT0), cacheT0)
	later := cacheT0.Add(time.Minute)
	c.put(cachedIssue(1, "older but fresh", cacheT0.Add(-time.Second)), later)
	if got, ok := c.get(1, later); !ok || got.Title != "older but fresh" {
		t.Errorf("after the kept answer went stale: got %v (found %v), want the new answer", got, ok)
	}
}

func TestIssueCacheDrop(t *testing.T) {
	c := newIssueCache(issueCacheMaxAge)
	c.put(cachedIssue(1, "a", cacheT0), cacheT0)
	c.put(cachedIssue(2, "b", cacheT0), cacheT0)
	c.drop(1)
	c.drop(99) // unknown: no effect
	if _, ok := c.get(1, cacheT0); ok {
		t.Errorf("get after drop: found, want nothing")
	}
	if _, ok := c.get(2, cacheT0); !ok {
		t.Errorf("get of another iid after drop: nothing, want it")
	}
	if c.bytes != issueSize(cachedIssue(2, "b", cacheT0)) {
		t.Errorf("bytes after drop = %d, want the size of the one issue left", c.bytes)
	}
}

// TestIssueCacheBounds: the cache holds at most issueCacheEntries issues
// and issueCacheBytes bytes, evicting the oldest; a huge issue is not
// kept at all.
func TestIssueCacheBounds(t *testing.T) {
	c := newIssueCache(issueCacheMaxAge)
	n := issueCacheEntries + 50
	for i := range n {
		at := cacheT0.Add(time.Duration(i) * time.Millisecond)
		c.put(cachedIssue(int64(i+1), "t", at), at)
	}
	now := cacheT0.Add(time.Duration(n) * time.Millisecond)
	if got := c.len(); got != issueCacheEntries {
		t.Errorf("entries after %d puts = %d, want %d", n, got, issueCacheEntries)
	}
	if _, ok := c.get(1, now); ok {
		t.Errorf("the oldest issue is still kept, want it evicted")
	}
	if _, ok := c.get(int64(n), now); !ok {
		t.Errorf("the newest issue is not kept")
	}

	c = newIssueCache(issueCacheMaxAge)
	big := strings.Repeat("x", issueCacheBytes/10) // fits the per-issue share
	for i := range 20 {
		at := cacheT0.Add(time.Duration(i) * time.Millisecond)
		is := cachedIssue(int64(i+1), "t", at)
		is.Description = big
		c.put(is, at)
	}
	if c.bytes > issueCacheBytes {
		t.Errorf("bytes = %d, want at most %d", c.bytes, issueCacheBytes)
	}
	if got := c.len(); got == 0 || got >= 20 {
		t.Errorf("entries of large issues = %d, want some evicted and some kept", got)
	}
	huge := cachedIssue(500, "t", cacheT0)
	huge.Description = strings.Repeat("y", issueCacheBytes/4)
	c.put(huge, cacheT0)
	if _, ok := c.get(500, cacheT0); ok {
		t.Errorf("an issue of a quarter of the byte budget was kept, want it refused")
	}
	// Stale entries go first when room is needed.
	c = newIssueCache(issueCacheMaxAge)
	c.put(cachedIssue(1, "stale", cacheT0), cacheT0)
	fresh := cacheT0.Add(time.Hour)
	for i := range issueCacheEntries {
		c.put(cachedIssue(int64(i+2), "t", fresh), fresh)
	}
	if got := c.len(); got != issueCacheEntries {
		t.Errorf("entries = %d, want %d", got, issueCacheEntries)
	}
	if _, ok := c.get(2, fresh); !ok {
		t.Errorf("a fresh issue was evicted while a stale one was kept")
	}
}

// TestIssueCacheConcurrent runs puts, gets and drops from many goroutines
// (for -race) and checks the byte count stays exact.
func TestIssueCacheConcurrent(t *testing.T) {
	c := newIssueCache(issueCacheMaxAge)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				iid := int64((g*131 + i) % 400)
				at := cacheT0.Add(time.Duration(i) * time.Millisecond)
				switch i % 3 {
				case 0:
					c.put(cachedIssue(iid+1, "t", at), at)
				case 1:
					c.get(iid+1, at)
				default:
					c.drop(iid + 1)
				}
			}
		}()
	}
	wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	sum := 0
	for _, e := range c.entries {
		sum += e.size
	}
	if sum != c.bytes || len(c.entries) > issueCacheEntries {
		t.Errorf("after concurrent use: %d entries, bytes %d, sum of sizes %d; want bytes = sum and at most %d entries",
			len(c.entries), c.bytes, sum, issueCacheEntries)
	}
}
