package github

import (
	"container/list"
	"sync"
	"time"

	gh "github.com/google/go-github/v62/github"
)

// DefaultIssueCacheAge is how long an issue the connector has just seen
// stands in for a read in Update.
const DefaultIssueCacheAge = 10 * time.Second

// issueCacheSize caps the issues remembered. Issue bodies may be up to
// 64 KiB, so the worst case is 32 MiB; typical issues are a few KiB.
// Update needs an entry only between the engine's Get and its Update,
// so a few per worker are enough.
const issueCacheSize = 512

// issueCache remembers the raw issue last seen per number, so that an
// Update right after a Get (the engine reads, merges, then writes) needs
// no second read. Entries come from Get, list pages, Create and Edit
// answers, and are good for maxAge by the connector's clock. Entries are
// kept in the order they were stored, oldest first, so that expiry and
// eviction look at the front only. Safe for concurrent use.
//
// The *gh.Issue values are shared, never changed after they are stored.
type issueCache struct {
	now    func() time.Time
	maxAge time.Duration
	size   int

	mu      sync.Mutex
	entries map[int]*list.Element // of *cacheEntry
	order   *list.List            // oldest stored first
}

type cacheEntry struct {
	number int
	issue  *gh.Issue
	at     time.Time // when it was stored, by the connector's clock
}

// newIssueCache returns a cache, or nil (a cache that keeps nothing) when
// maxAge is not positive.
func newIssueCache(now func() time.Time, maxAge time.Duration, size int) *issueCache {
	if maxAge <= 0 || size <= 0 {
		return nil
	}
	return &issueCache{now: now, maxAge: maxAge, size: size, entries: map[int]*list.Element{}, order: list.New()}
}

// get returns the issue stored for number if it is younger than maxAge.
func (c *issueCache) get(number int) *gh.Issue {
	if c == nil {
		return nil
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[number]
	if !ok {
		return nil
	}
	e := el.Value.(*cacheEntry)
	if !c.fresh(e, now) {
		c.remove(el)
		return nil
	}
	return e.issue
}

// fresh reports whether e is younger than maxAge at now. An entry stamped
// after now (a clock that went back) is not trusted.
func (c *issueCache) fresh(e *cacheEntry, now time.Time) bool {
	age := now.Sub(e.at)
	return age >= 0 && age < c.maxAge
}

// put stores issues as the latest seen. Pull requests and issues without
// a number are skipped. An issue older (by updated_at) than the stored
// one does not replace it: a slow read answered after a write must not
// undo what the write's answer said.
func (c *issueCache) put(issues ...*gh.Issue) {
	if c == nil {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, is := range issues {
		if is == nil || is.GetNumber() < 1 || is.IsPullRequest() {
			continue
		}
		n := is.GetNumber()
		if el, ok := c.entries[n]; ok {
			old := el.Value.(*cacheEntry)
			if c.fresh(old, now) && is.GetUpdatedAt().Time.Before(old.issue.GetUpdatedAt().Time) {
				continue
			}
			c.remove(el)
		}
		c.entries[n] = c.order.PushBack(&cacheEntry{number: n, issue: is, at: now})
	}
	c.prune(now)
}

// drop forgets number: after a failed write the issue's state is unknown.
func (c *issueCache) drop(number int) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[number]; ok {
		c.remove(el)
	}
}

// prune removes expired entries from the front, then the oldest entries
// while the cache is over its size.
func (c *issueCache) prune(now time.Time) {
	for el := c.order.Front(); el != nil; el = c.order.Front() {
		if c.order.Len() <= c.size && c.fresh(el.Value.(*cacheEntry), now) {
			return
		}
		c.remove(el)
	}
}

func (c *issueCache) remove(el *list.Element) {
	delete(c.entries, el.Value.(*cacheEntry).number)
	c.order.Remove(el)
}

// len returns how many entries are stored (expired ones included until
// pruned).
func (c *issueCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
