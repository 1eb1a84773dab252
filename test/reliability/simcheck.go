package reliability

import (
	"context"
	"fmt"
	"sort"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/sync/engine"
)

// Expectation is what a converged world must show: the origin items that
// must each have exactly one mirror on the other side.
type Expectation struct {
	// Platform origin items (read from the platform) and the customers
	// each is shared with.
	Platform map[string][]string // platform key → customer ids
	// Inbound customer items, by customer id.
	Inbound map[string][]string // customer id → keys
}

// SimReport is what CheckSims found.
type SimReport struct {
	Duplicates []string // a marker on more than one item or comment
	Missing    []string // an origin without its mirror
	Differ     []string // a mirror whose title or status differs from its origin
	Snapshots  map[string]*Snapshot
}

// Converged reports whether nothing is missing, duplicated or different.
func (r *SimReport) Converged() bool {
	return len(r.Duplicates) == 0 && len(r.Missing) == 0 && len(r.Differ) == 0
}

func (r *SimReport) String() string {
	return fmt.Sprintf("duplicates %d %v; missing %d %v; differ %d %v",
		len(r.Duplicates), head(r.Duplicates), len(r.Missing), head(r.Missing), len(r.Differ), head(r.Differ))
}

func head(s []string) []string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}

// CheckSims reads every tracker through its observer connector (one
// without faults) and compares the world with exp: every origin has
// exactly one mirror (found by the marker pmsync derives for it) whose
// title and status are the origin's, and no marker is on two items.
func CheckSims(ctx context.Context, sims *Sims, observers map[string]connectors.Connector, exp Expectation, withComments bool) (*SimReport, error) {
	rep := &SimReport{Snapshots: map[string]*Snapshot{}}
	for id, c := range observers {
		s, err := sims.Trackers[id].Observe(ctx, c, withComments)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		rep.Snapshots[id] = s
		rep.Duplicates = append(rep.Duplicates, s.Duplicates(id)...)
	}
	byKey := func(id string) map[string]connectors.Item {
		m := map[string]connectors.Item{}
		for _, it := range rep.Snapshots[id].Items {
			m[it.Ref.Key] = it
		}
		return m
	}
	byMarker := func(id string) map[string]connectors.Item {
		m := map[string]connectors.Item{}
		for _, it := range rep.Snapshots[id].Items {
			if it.Marker != "" {
				m[it.Marker] = it
			}
		}
		return m
	}
	compare := func(origin connectors.Item, from, to string) {
		marker := connectors.MarkerID([]byte(MarkerKey), from, origin.ID, to)
		m, ok := byMarker(to)[marker]
		switch {
		case !ok:
			rep.Missing = append(rep.Missing, fmt.Sprintf("%s %s has no mirror in %s", from, origin.Ref.Key, to))
		case m.Title != origin.Title || m.Status != origin.Status:
			rep.Differ = append(rep.Differ, fmt.Sprintf("%s %s (%q, %s) vs %s %s (%q, %s)",
				from, origin.Ref.Key, origin.Title, origin.Status, to, m.Ref.Key, m.Title, m.Status))
		}
	}
	plat := byKey(engine.PlatformID)
	for key, customers := range exp.Platform {
		it, ok := plat[key]
		if !ok {
			rep.Missing = append(rep.Missing, "platform item "+key+" itself")
			continue
		}
		for _, c := range customers {
			compare(it, engine.PlatformID, c)
		}
	}
	for c, keys := range exp.Inbound {
		items := byKey(c)
		for _, key := range keys {
			it, ok := items[key]
			if !ok {
				rep.Missing = append(rep.Missing, c+" item "+key+" itself")
				continue
			}
			compare(it, c, engine.PlatformID)
		}
	}
	for _, s := range [][]string{rep.Duplicates, rep.Missing, rep.Differ} {
		sort.Strings(s)
	}
	return rep, nil
}
