package engine

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/pmsync/pmsync/connectors"
)

// Write actions, as they appear in plans, logs and the audit log.
const (
	ActionCreate      = "create"       // create a mirror
	ActionAdopt       = "adopt"        // record a mirror found by its marker (store only)
	ActionUpdate      = "update"       // change fields of an item
	ActionComment     = "comment"      // add a comment
	ActionEditComment = "edit_comment" // edit a mirrored comment
	ActionUnshare     = "unshare"      // comment on and close a mirror that is no longer shared
	ActionReshare     = "reshare"      // reopen a mirror that is shared again
	ActionConflict    = "conflict"     // a change on the side without authority lost
	ActionBroken      = "broken"       // a side was deleted or became inaccessible
	ActionRestored    = "restored"     // a broken link's sides are both readable again
	ActionError       = "error"        // an item could not be synced (after the last attempt)
)

// Write is one write to a tracker that a sync made or, in a dry run, would
// make. It names fields, never their values.
type Write struct {
	Tracker  string         `json:"tracker"`
	Customer string         `json:"customer"`
	Link     string         `json:"link,omitempty"` // "" for a mirror not yet created
	Ref      connectors.Ref `json:"ref"`            // the item written; Key is "" for a create
	Action   string         `json:"action"`
	Fields   []string       `json:"fields,omitempty"`
}

func (w Write) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-12s %-14s", w.Action, w.Customer)
	if w.Ref.Key != "" {
		fmt.Fprintf(&b, " %s", w.Ref.Key)
	} else {
		b.WriteString(" (new item)")
	}
	if len(w.Fields) > 0 {
		fmt.Fprintf(&b, " [%s]", strings.Join(w.Fields, ", "))
	}
	if w.Link != "" {
		fmt.Fprintf(&b, " link %s", w.Link)
	}
	return b.String()
}

// Failure is an item SyncOnce could not reconcile.
type Failure struct {
	Customer string         `json:"customer"`
	Origin   connectors.Ref `json:"origin"`
	Error    string         `json:"error"`
}

// Plan lists the writes of one SyncOnce: made, or only planned when DryRun.
type Plan struct {
	DryRun   bool      `json:"dry_run"`
	Writes   []Write   `json:"writes"`
	Failures []Failure `json:"failures,omitempty"`
	// Reconciled counts the work keys processed.
	Reconciled int `json:"reconciled"`

	mu sync.Mutex
}

func (p *Plan) add(w Write) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.Writes = append(p.Writes, w)
	p.mu.Unlock()
}

func (p *Plan) reconciled() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.Reconciled++
	p.mu.Unlock()
}

func (p *Plan) fail(f Failure) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.Failures = append(p.Failures, f)
	p.mu.Unlock()
}

// ByTracker groups the writes by the tracker written to, trackers sorted
// with the platform first.
func (p *Plan) ByTracker() map[string][]Write {
	out := map[string][]Write{}
	for _, w := range p.Writes {
		out[w.Tracker] = append(out[w.Tracker], w)
	}
	return out
}

// Count returns how many writes go to tracker ("" for all).
func (p *Plan) Count(tracker string) int {
	n := 0
	for _, w := range p.Writes {
		if tracker == "" || w.Tracker == tracker {
			n++
		}
	}
	return n
}

// sortWrites orders writes by tracker (platform first), customer, item and
// action, so that printed plans are stable.
func (p *Plan) sortWrites() {
	sort.SliceStable(p.Writes, func(i, j int) bool {
		a, b := p.Writes[i], p.Writes[j]
		if a.Tracker != b.Tracker {
			if a.Tracker == PlatformID || b.Tracker == PlatformID {
				return a.Tracker == PlatformID
			}
			return a.Tracker < b.Tracker
		}
		if a.Customer != b.Customer {
			return a.Customer < b.Customer
		}
		return a.Ref.Key < b.Ref.Key
	})
	sort.SliceStable(p.Failures, func(i, j int) bool {
		return p.Failures[i].Origin.String() < p.Failures[j].Origin.String()
	})
}

// Format prints the plan for people, grouped by tracker.
func (p *Plan) Format(w io.Writer) error {
	verb := "wrote"
	if p.DryRun {
		verb = "would write"
	}
	groups := p.ByTracker()
	var ids []string
	for id := range groups {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if ids[i] == PlatformID || ids[j] == PlatformID {
			return ids[i] == PlatformID
		}
		return ids[i] < ids[j]
	})
	var b strings.Builder
	fmt.Fprintf(&b, "pmsync %s %d %s (%d items reconciled)\n", verb, len(p.Writes), plural(len(p.Writes), "change", "changes"), p.Reconciled)
	for _, id := range ids {
		ws := groups[id]
		fmt.Fprintf(&b, "\ntracker %s: %d %s\n", id, len(ws), plural(len(ws), "write", "writes"))
		for _, x := range ws {
			fmt.Fprintf(&b, "  %s\n", x)
		}
	}
	if len(p.Failures) > 0 {
		fmt.Fprintf(&b, "\n%d %s failed:\n", len(p.Failures), plural(len(p.Failures), "item", "items"))
		for _, f := range p.Failures {
			fmt.Fprintf(&b, "  %s for %s: %s\n", f.Origin, f.Customer, f.Error)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
