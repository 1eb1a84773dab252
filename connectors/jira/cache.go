package jira

import (
	"sync"
	"time"
)

// The engine reconciles an issue by reading it (Get), merging, then writing
// (Update). Update needs the issue as it is to compute labels and the
// workflow walk, and to return the item as stored, while Jira's edit
// answers 204 without a body. So the connector keeps the raw issue it last
// read per key for a short time (cacheTTL by the connector's clock) and
// Update works from that: one PUT after the engine's Get, no read before or
// after. Without a fresh entry Update reads the issue first.
//
// An entry is dropped when anything says the issue may have changed since
// it was read: a failed write to it, a webhook naming it, a Changes row
// newer than it. Entries are never made from searches (Cloud's index lags).
const (
	cacheTTL = 10 * time.Second
	cacheMax = 1024
)

// issueCache is the bounded, concurrency-safe map of raw issues last read,
// reachable by key and by id.
type issueCache struct {
	mu      sync.Mutex
	entries map[string]*cacheEntry // by key and by id
	n       int                    // distinct entries
}

type cacheEntry struct {
	raw *rawIssue // never changed once stored
	at  time.Time // connector clock when the issue was read
}

func (e *cacheEntry) names() []string { return []string{e.raw.Key, e.raw.ID} }

// get returns the fresh entry for key (or id) at now, or nil.
func (c *issueCache) get(now time.Time, key string) *cacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil {
		return nil
	}
	if !fresh(e, now) {
		c.dropLocked(e)
		return nil
	}
	return e
}

// latest returns the entry for key (or id) whatever its age, or nil.
func (c *issueCache) latest(key string) *cacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entries[key]
}

func fresh(e *cacheEntry, now time.Time) bool {
	age := now.Sub(e.at)
	return age >= 0 && age <= cacheTTL
}

// put stores raw as read at at, replacing any entry for its key or id.
// When the cache is full it first drops stale entries, then the oldest.
func (c *issueCache) put(at time.Time, raw *rawIssue) {
	if raw == nil || raw.Key == "" || raw.ID == "" || raw.Fields == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]*cacheEntry{}
	}
	for _, name := range []string{raw.Key, raw.ID} {
		if old := c.entries[name]; old != nil {
			c.dropLocked(old)
		}
	}
	if c.n >= cacheMax {
		c.evictLocked(at)
	}
	e := &cacheEntry{raw: raw, at: at}
	for _, name := range e.names() {
		c.entries[name] = e
	}
	c.n++
}

// evictLocked drops stale entries and, if none was, the oldest one.
func (c *issueCache) evictLocked(now time.Time) {
	var oldest *cacheEntry
	dropped := false
	for _, e := range c.entries {
		if c.entries[e.raw.Key] != e {
			continue // already dropped in this loop
		}
		switch {
		case !fresh(e, now):
			c.dropLocked(e)
			dropped = true
		case oldest == nil || e.at.Before(oldest.at):
			oldest = e
		}
	}
	if !dropped && oldest != nil {
		c.dropLocked(oldest)
	}
}

func (c *issueCache) dropLocked(e *cacheEntry) {
	removed := false
	for _, name := range e.names() {
		if c.entries[name] == e {
			delete(c.entries, name)
			removed = true
		}
	}
	if removed {
		c.n--
	}
}

// drop forgets the issue named by key or id.
func (c *issueCache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[key]; e != nil {
		c.dropLocked(e)
	}
}

// dropOlder forgets the issue named by key when the entry is older than
// updated (someone changed it after it was read).
func (c *issueCache) dropOlder(key string, updated time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[key]; e != nil && time.Time(e.raw.Fields.Updated).Before(updated) {
		c.dropLocked(e)
	}
}

// len returns the number of distinct entries.
func (c *issueCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// commentAdded counts a comment pmsync added to the cached issue, so that
// an item Update returns from the entry states it.
func (c *issueCache) commentAdded(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil || e.raw.Comments < 0 {
		return
	}
	r := *e.raw
	r.Comments++
	ne := &cacheEntry{raw: &r, at: e.at}
	for _, name := range ne.names() {
		c.entries[name] = ne
	}
}
