package jira

import (
	"strconv"
	"sync"
	"testing"
	"time"

	jira "github.com/andygrunwald/go-jira"
)

func cachedIssue(n int, updated time.Time) *rawIssue {
	return &rawIssue{Issue: jira.Issue{ID: strconv.Itoa(10000 + n), Key: "PLAT-" + strconv.Itoa(n),
		Fields: &jira.IssueFields{Updated: jira.Time(updated)}}}
}

// TestIssueCache: entries are found by key and id while fresh by the
// given clock, replaced by a newer read, dropped by either name, by a newer
// update time, and bounded: a full cache drops stale entries, else the
// oldest.
func TestIssueCache(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var c issueCache
	c.put(t0, cachedIssue(1, t0))
	tests := []struct {
		name string
		at   time.Time
		key  string
		want bool
	}{
		{"by key", t0, "PLAT-1", true},
		{"by id", t0.Add(cacheTTL), "10001", true},
		{"unknown", t0, "PLAT-2", false},
		{"read in the future", t0.Add(-time.Second), "PLAT-1", false},
		{"stale", t0.Add(cacheTTL + time.Millisecond), "PLAT-1", false},
		{"stale entries are gone", t0, "10001", false},
	}
	for _, tc := range tests {
		if got := c.get(tc.at, tc.key) != nil; got != tc.want {
			t.Errorf("%s: get(%s) found %v, want %v", tc.name, tc.key, got, tc.want)
		}
	}
	if c.len() != 0 {
		t.Errorf("len after a stale get: got %d, want 0", c.len())
	}

	c.put(t0, cachedIssue(1, t0))
	newer := cachedIssue(1, t0.Add(time.Second))
	c.put(t0.Add(time.Second), newer)
	if e := c.get(t0.Add(time.Second), "10001"); c.len() != 1 || e == nil || e.raw != newer {
		t.Errorf("a second read: len %d, entry %v; want one entry holding the newer read", c.len(), e)
	}
	c.dropOlder("PLAT-1", t0.Add(time.Second))
	if c.get(t0.Add(time.Second), "PLAT-1") == nil {
		t.Errorf("dropOlder with the same update time dropped the entry")
	}
	c.dropOlder("10001", t0.Add(2*time.Second))
	if c.get(t0.Add(time.Second), "PLAT-1") != nil || c.len() != 0 {
		t.Errorf("dropOlder by id with a newer update time kept the entry (len %d)", c.len())
	}
	c.put(t0, cachedIssue(1, t0))
	c.drop("10001")
	if c.get(t0, "PLAT-1") != nil {
		t.Errorf("drop by id kept the entry under its key")
	}

	// Full: the stale go first, then the oldest.
	for n := range cacheMax {
		c.put(t0.Add(time.Duration(n)*time.Millisecond), cachedIssue(n+1, t0))
	}
	c.put(t0.Add(time.Hour), cachedIssue(cacheMax+1, t0))
	if c.len() != 1 {
		t.Errorf("after a put into a cache full of stale entries: len %d, want 1", c.len())
	}
	for n := range cacheMax + 5 {
		c.put(t0.Add(time.Hour+time.Duration(n)*time.Millisecond), cachedIssue(n+2000, t0))
	}
	if c.len() != cacheMax {
		t.Errorf("len after %d fresh puts: got %d, want the bound %d", cacheMax+5, c.len(), cacheMax)
	}
	now := t0.Add(time.Hour + 2*time.Second)
	if c.get(now, "PLAT-2000") != nil || c.get(now, "PLAT-2005") == nil || c.get(now, "PLAT-"+strconv.Itoa(cacheMax+2004)) == nil {
		t.Errorf("a full cache of fresh entries must drop the oldest")
	}
	if got := len(c.entries); got != 2*c.len() {
		t.Errorf("the map holds %d names for %d entries, want two each", got, c.len())
	}
}

// TestIssueCacheConcurrent runs puts, gets, drops and comment counts from
// many goroutines (for -race) and checks the bound holds.
func TestIssueCacheConcurrent(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var c issueCache
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 600 {
				n := (g*600 + i) % 1500
				at := t0.Add(time.Duration(i) * time.Millisecond)
				c.put(at, cachedIssue(n, t0))
				c.get(at, "PLAT-"+strconv.Itoa(n))
				c.commentAdded("PLAT-" + strconv.Itoa(n))
				if i%7 == 0 {
					c.drop(strconv.Itoa(10000 + n))
				}
			}
		}()
	}
	wg.Wait()
	if n := c.len(); n > cacheMax || len(c.entries) != 2*n {
		t.Errorf("after concurrent use: %d entries under %d names, want at most %d entries, two names each", n, len(c.entries), cacheMax)
	}
}
