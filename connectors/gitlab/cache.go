package gitlab

import (
	"sync"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"
)

// Bounds of the issue cache.
const (
	// issueCacheMaxAge is how long an issue answer stands in for a read
	// in Update.
	issueCacheMaxAge = 10 * time.Second
	// issueCacheEntries and issueCacheBytes bound the cache: at most that
	// many issues, and that many bytes of titles and descriptions.
	issueCacheEntries = 256
	issueCacheBytes   = 4 << 20
	// issueCacheOverhead is the counted size of an issue besides its title
	// and description (labels, users, URLs).
	issueCacheOverhead = 1 << 10
)

// issueCache keeps the raw issue of the last answer that carried it (a
// get, a list page, a create or an update), per iid, for a short time, so
// that Update can plan its PUT without reading the issue again right
// after the engine read it. It is safe for concurrent use and bounded in
// entries and bytes; an issue too large for a fair share of the byte
// budget is not kept. Cached issues are shared: nobody may modify them.
type issueCache struct {
	mu      sync.Mutex
	maxAge  time.Duration
	entries map[int64]cacheEntry // by iid
	bytes   int
}

type cacheEntry struct {
	is   *gl.Issue
	at   time.Time // when the answer carrying it arrived (connector clock)
	size int
}

func newIssueCache(maxAge time.Duration) *issueCache {
	return &issueCache{maxAge: maxAge, entries: map[int64]cacheEntry{}}
}

func issueSize(is *gl.Issue) int {
	return len(is.Title) + len(is.Description) + issueCacheOverhead
}

func updatedAt(is *gl.Issue) time.Time {
	if is.UpdatedAt == nil {
		return time.Time{}
	}
	return *is.UpdatedAt
}

// fresh reports whether an entry stored at at may still be used at now.
// A clock that went back makes every entry stale.
func (c *issueCache) fresh(at, now time.Time) bool {
	return !now.Before(at) && now.Sub(at) <= c.maxAge
}

// put remembers is as seen at now. An answer older than the one kept
// (an earlier updated_at: a list page read before a write but handled
// after it) does not replace it.
func (c *issueCache) put(is *gl.Issue, now time.Time) {
	if is == nil || is.IID <= 0 {
		return
	}
	size := issueSize(is)
	c.mu.Lock()
	defer c.mu.Unlock()
	old, had := c.entries[is.IID]
	if had && c.fresh(old.at, now) && updatedAt(old.is).After(updatedAt(is)) {
		return
	}
	c.removeLocked(is.IID)
	if size > issueCacheBytes/8 {
		return
	}
	c.entries[is.IID] = cacheEntry{is: is, at: now, size: size}
	c.bytes += size
	if len(c.entries) > issueCacheEntries || c.bytes > issueCacheBytes {
		c.evictLocked(now)
	}
}

// get returns the issue kept for iid if it is fresh at now.
func (c *issueCache) get(iid int64, now time.Time) (*gl.Issue, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[iid]
	if !ok {
		return nil, false
	}
	if !c.fresh(e.at, now) {
		c.removeLocked(iid)
		return nil, false
	}
	return e.is, true
}

// drop forgets iid: the issue changed in a way no answer showed us (a
// note was added, a webhook said so) or a write failed.
func (c *issueCache) drop(iid int64) {
	c.mu.Lock()
	c.removeLocked(iid)
	c.mu.Unlock()
}

// len returns how many issues are kept.
func (c *issueCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

func (c *issueCache) removeLocked(iid int64) {
	if e, ok := c.entries[iid]; ok {
		c.bytes -= e.size
		delete(c.entries, iid)
	}
}

// evictLocked removes stale entries, then the oldest ones, until the
// cache is within its bounds.
func (c *issueCache) evictLocked(now time.Time) {
	for iid, e := range c.entries {
		if !c.fresh(e.at, now) {
			c.removeLocked(iid)
		}
	}
	for len(c.entries) > issueCacheEntries || c.bytes > issueCacheBytes {
		var oldest int64
		var at time.Time
		for iid, e := range c.entries {
			if oldest == 0 || e.at.Before(at) || (e.at.Equal(at) && iid < oldest) {
				oldest, at = iid, e.at
			}
		}
		c.removeLocked(oldest)
	}
}
