package reliability

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/memory"
	"github.com/pmsync/pmsync/sync/engine"
)

// RestrictedCanaryOf is the text of restricted comments written in tracker
// id: it must never appear in any other tracker.
func RestrictedCanaryOf(id string) string { return RestrictedCanary + "-" + id }

// MemDuplicates lists every pmsync marker that more than one item of tr
// carries, and every comment marker that appears more than once on one
// item: each is a duplicate mirror (or mirrored comment) that crash-safe
// creation must make impossible.
func MemDuplicates(name string, tr *memory.Tracker) []string {
	var out []string
	items := map[string][]string{}
	for _, k := range tr.Keys() {
		is, ok := tr.Issue(k)
		if !ok {
			continue
		}
		if m, _ := connectors.ExtractMarker(is.Body); m != "" {
			items[m] = append(items[m], k)
		}
		notes, _ := tr.Notes(k)
		seen := map[string]int{}
		for _, n := range notes {
			if m, _ := connectors.ExtractMarker(n.Body); m != "" {
				seen[m]++
			}
		}
		for m, c := range seen {
			if c > 1 {
				out = append(out, fmt.Sprintf("%s %s: comment marker %s on %d comments", name, k, m, c))
			}
		}
	}
	for m, keys := range items {
		if len(keys) > 1 {
			sort.Strings(keys)
			out = append(out, fmt.Sprintf("%s: marker %s on %d items %v", name, m, len(keys), keys))
		}
	}
	sort.Strings(out)
	return out
}

// MemDump renders every item and comment of a tracker as text, for leak
// scans and failure messages.
func MemDump(tr *memory.Tracker) string {
	var b strings.Builder
	keys := tr.Keys()
	sort.Strings(keys)
	for _, k := range keys {
		is, _ := tr.Issue(k)
		fmt.Fprintf(&b, "%s [%s/%s] %q labels=%v due=%s assignee=%s\n  body=%q\n", is.Key, is.State, is.Reason, is.Title, is.Labels, is.Due, is.Assignee, is.Body)
		ns, _ := tr.Notes(k)
		for _, n := range ns {
			fmt.Fprintf(&b, "  note %s by %s restricted=%v system=%v: %q\n", n.ID, n.Author, n.Restricted, n.System, n.Body)
		}
	}
	return b.String()
}

// ForbiddenIn returns the canaries that must never appear in tracker id of
// a world with customers ids: internal text and other customers' text in a
// customer's tracker, and every other tracker's restricted comments.
func ForbiddenIn(id string, ids []string) []string {
	var out []string
	if id != engine.PlatformID {
		out = append(out, InternalCanary, RestrictedCanaryOf(engine.PlatformID))
	}
	for _, other := range ids {
		if other == id {
			continue
		}
		out = append(out, RestrictedCanaryOf(other))
		if id != engine.PlatformID {
			out = append(out, CustomerCanary(other))
		}
	}
	return out
}

// Leaks returns the canaries found in text.
func Leaks(text string, canaries ...string) []string {
	var out []string
	for _, c := range canaries {
		if c != "" && strings.Contains(text, c) {
			out = append(out, c)
		}
	}
	return out
}

// CheckMemWorld checks the invariants that must hold after every step:
// no duplicate mirror or mirrored comment in any tracker, and no text in
// a tracker that must never reach it. It returns one line per violation.
func CheckMemWorld(w *MemWorld) []string {
	var out []string
	for _, id := range w.Trackers() {
		tr := w.Tracker(id)
		out = append(out, MemDuplicates(id, tr)...)
		if leaks := Leaks(MemDump(tr), ForbiddenIn(id, w.IDs)...); len(leaks) > 0 {
			out = append(out, fmt.Sprintf("tracker %s holds %v", id, leaks))
		}
	}
	return out
}
