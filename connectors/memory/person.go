package memory

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// The methods in this file act on the tracker as a person (or an admin)
// would, without a connector: they make no API request and are never
// failed or delayed. Each one that changes an item moves its UpdatedAt to
// the tracker's now.

// Open creates an item as a person would and returns its key.
func (tr *Tracker) Open(title, body string, labels ...string) string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.insertLocked(Issue{Title: title, Body: body, State: StateOpen, Labels: labels}).iss.Key
}

// Modify edits an item in place as a person would; fn sees a copy whose
// Key, ID and times are not kept. It returns an error when key does not
// exist.
func (tr *Tracker) Modify(key string, fn func(*Issue)) error {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	r, ok := tr.items[key]
	if !ok {
		return errNoItem(key)
	}
	is := r.iss.clone()
	fn(&is)
	is.Key, is.ID, is.CreatedAt, is.UpdatedAt = r.iss.Key, r.iss.ID, r.iss.CreatedAt, r.iss.UpdatedAt
	r.iss = is.clone()
	tr.touchLocked(r)
	return nil
}

// EditTitle changes an item's title as a person would.
func (tr *Tracker) EditTitle(key, title string) error {
	return tr.Modify(key, func(is *Issue) { is.Title = title })
}

// EditBody replaces an item's body as a person would (a careless person
// may remove the marker).
func (tr *Tracker) EditBody(key, body string) error {
	return tr.Modify(key, func(is *Issue) { is.Body = body })
}

// AddLabel adds a label unless the item has it (case-insensitive).
func (tr *Tracker) AddLabel(key, label string) error {
	return tr.Modify(key, func(is *Issue) {
		if !slices.ContainsFunc(is.Labels, func(l string) bool { return strings.EqualFold(l, label) }) {
			is.Labels = append(is.Labels, label)
		}
	})
}

// RemoveLabel removes a label (case-insensitive).
func (tr *Tracker) RemoveLabel(key, label string) error {
	return tr.Modify(key, func(is *Issue) {
		is.Labels = slices.DeleteFunc(is.Labels, func(l string) bool { return strings.EqualFold(l, label) })
	})
}

// Close closes an item with reason ReasonCompleted or ReasonNotPlanned.
func (tr *Tracker) Close(key, reason string) error {
	return tr.Modify(key, func(is *Issue) { is.State, is.Reason = StateClosed, reason })
}

// Reopen opens a closed item.
func (tr *Tracker) Reopen(key string) error {
	return tr.Modify(key, func(is *Issue) { is.State, is.Reason = StateOpen, "" })
}

// Delete removes an item as an admin would.
func (tr *Tracker) Delete(key string) error {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if _, ok := tr.items[key]; !ok {
		return errNoItem(key)
	}
	delete(tr.items, key)
	tr.notifyLocked(key)
	return nil
}

// AddComment adds a comment as a person would; restricted makes it one
// that must never cross to another tracker.
func (tr *Tracker) AddComment(key, author, body string, restricted bool) error {
	return tr.addNote(key, author, body, restricted, false)
}

// AddSystemNote adds a tracker-generated note; it is never a Comment.
func (tr *Tracker) AddSystemNote(key, body string) error {
	return tr.addNote(key, "system", body, false, true)
}

func (tr *Tracker) addNote(key, author, body string, restricted, system bool) error {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	r, ok := tr.items[key]
	if !ok {
		return errNoItem(key)
	}
	tr.addNoteLocked(r, author, body, restricted, system)
	return nil
}

// Shared trackers, by name, for the "memory" kind built from config.
var (
	sharedMu sync.Mutex
	shared   = map[string]*Tracker{}
)

// Shared returns the process-wide tracker called name, creating it with a
// real-time clock (time.Now) on first use. Every connector that Factory
// builds with Config.Project == name uses it, so a daemon and a test in one
// process (or two daemons started one after the other) see one tracker.
func Shared(name string) *Tracker {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	tr, ok := shared[name]
	if !ok {
		tr = NewTracker(Options{Name: name, Now: time.Now})
		shared[name] = tr
	}
	return tr
}

// Share makes tr the shared tracker called name (replacing any earlier
// one), so a test can configure it (clock, faults, page size) before a
// connector is built from config.
func Share(name string, tr *Tracker) {
	sharedMu.Lock()
	shared[name] = tr
	sharedMu.Unlock()
}

// Unshare forgets the shared tracker called name.
func Unshare(name string) {
	sharedMu.Lock()
	delete(shared, name)
	sharedMu.Unlock()
}
