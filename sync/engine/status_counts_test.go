package engine

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"testing"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/store"
)

// fullDecodeCounts counts the links of customer as Status did before link
// summaries: by decoding every link. It is the reference the summary-based
// counts must equal.
func fullDecodeCounts(t *testing.T, db *store.DB, critical []connectors.Priority, id, name string) CustomerStatus {
	t.Helper()
	links, err := db.Links(id)
	if err != nil {
		t.Fatalf("Links(%s): %v", id, err)
	}
	cs := CustomerStatus{ID: id, Name: name}
	for _, l := range links {
		cs.Links++
		cs.Conflicts += l.Conflicts
		if l.LastError != "" {
			cs.Errors++
		}
		switch l.State {
		case store.LinkUnshared:
			cs.Unshared++
			continue
		case store.LinkBroken:
			cs.Broken++
			cs.BrokenLinks = append(cs.BrokenLinks, BrokenLink{Link: l.ID, Platform: l.Platform.Ref, Remote: l.Remote.Ref, Reason: l.BrokenReason})
			continue
		}
		cs.Active++
		owner := linkSide(l, sideOf(l.Owner)).Base
		origin := linkSide(l, sideOf(l.Origin)).Base
		if !owner.Status.Closed() && slices.Contains(critical, origin.Priority) {
			cs.OpenCritical++
		}
	}
	sort.Slice(cs.BrokenLinks, func(i, j int) bool { return cs.BrokenLinks[i].Link < cs.BrokenLinks[j].Link })
	return cs
}

// randomLink returns link n of customer with a random mix of what Status
// counts.
func randomLink(r *rand.Rand, customer string, n int) *store.Link {
	pick := func(n int) int { return r.IntN(n) }
	owners := []connectors.Owner{connectors.OwnerPlatform, connectors.OwnerCustomer}
	statuses := []connectors.Status{connectors.StatusOpen, connectors.StatusInProgress, connectors.StatusDone, connectors.StatusWontDo}
	prios := []connectors.Priority{"", connectors.P0, connectors.P1, connectors.P2, connectors.P3, connectors.P4}
	base := func() store.Fields {
		return store.Fields{Title: fmt.Sprint("item ", n), Status: statuses[pick(len(statuses))], Priority: prios[pick(len(prios))]}
	}
	l := &store.Link{
		ID: fmt.Sprintf("m-%s-%04d", customer, n), Customer: customer,
		Origin: owners[pick(2)], Owner: append(owners, "")[pick(3)],
		State:    []store.LinkState{store.LinkActive, store.LinkActive, store.LinkActive, store.LinkUnshared, store.LinkBroken}[pick(5)],
		Platform: store.Side{Ref: connectors.Ref{Tracker: PlatformID, Key: fmt.Sprint("PLAT-", n)}, Base: base()},
		Remote:   store.Side{Ref: connectors.Ref{Tracker: customer, Key: fmt.Sprint(customer, "#", n)}, Base: base()},
	}
	if pick(4) == 0 {
		l.Conflicts = 1 + pick(3)
	}
	if pick(5) == 0 {
		l.LastError = "jira: update: 503"
	}
	if l.State == store.LinkBroken {
		l.BrokenReason = fmt.Sprint("mirror ", n, " deleted")
	}
	return l
}

func TestStatusCountsEqualFullDecode(t *testing.T) {
	w := newWorld(t, "acme", "bolt")
	r := rand.New(rand.NewPCG(7, 9))
	for _, c := range []string{"acme", "bolt"} {
		for n := 1; n <= 200; n++ {
			if err := w.db.PutLink(randomLink(r, c, n)); err != nil {
				t.Fatalf("PutLink: %v", err)
			}
		}
	}
	// A deleted link is in neither count.
	if err := w.db.DeleteLink("acme", "m-acme-0001"); err != nil {
		t.Fatalf("DeleteLink: %v", err)
	}
	tests := []struct {
		name     string
		critical []connectors.Priority // nil: the default
	}{
		{"default critical", nil},
		{"critical P2 P3", []connectors.Priority{connectors.P2, connectors.P3}},
		{"critical includes unset", []connectors.Priority{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.tune = func(o *Options) { o.Critical = tt.critical }
			w.restart()
			st := w.eng.Status()
			if st.Error != "" {
				t.Fatalf("Status error: %s", st.Error)
			}
			if len(st.Customers) != 2 {
				t.Fatalf("Status has %d customers; want 2", len(st.Customers))
			}
			for _, got := range st.Customers {
				want := fullDecodeCounts(t, w.db, w.eng.o.Critical, got.ID, got.Name)
				if want.OpenCritical == 0 || want.Broken == 0 || want.Unshared == 0 || want.Errors == 0 || want.Conflicts == 0 {
					t.Fatalf("customer %s: the random links miss a kind of count: %+v", got.ID, want)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("customer %s: Status counts\n %+v\nwant (full decode)\n %+v", got.ID, got, want)
				}
			}
		})
	}
}

func TestStatusCountsCacheAndRefresh(t *testing.T) {
	clock := newFakeClock(false)
	w := newWorldClock(t, clock, nil, "acme")
	put := func(n int, edit func(l *store.Link)) {
		t.Helper()
		l := randomLink(rand.New(rand.NewPCG(1, 1)), "acme", n)
		l.State, l.Owner, l.Origin = store.LinkActive, connectors.OwnerPlatform, connectors.OwnerPlatform
		l.Platform.Base.Status, l.Platform.Base.Priority = connectors.StatusOpen, connectors.P0
		edit(l)
		if err := w.db.PutLink(l); err != nil {
			t.Fatalf("PutLink: %v", err)
		}
	}
	counts := func() CustomerStatus {
		t.Helper()
		st := w.eng.Status()
		if st.Error != "" {
			t.Fatalf("Status error: %s", st.Error)
		}
		return st.Customers[0]
	}
	put(1, func(*store.Link) {})
	if c := counts(); c.Links != 1 || c.OpenCritical != 1 {
		t.Fatalf("first counts: %d links, %d open critical; want 1, 1", c.Links, c.OpenCritical)
	}
	// A link changed, but the counts are younger than statusMaxAge: they
	// are reused; once older, the link is counted and its refs read.
	put(2, func(l *store.Link) {
		l.State, l.BrokenReason = store.LinkBroken, "gone"
	})
	w.eng.linkGen.Add(1)
	if c := counts(); c.Links != 1 || c.Broken != 0 {
		t.Errorf("counts within statusMaxAge: %d links, %d broken; want the cached 1, 0", c.Links, c.Broken)
	}
	clock.Advance(statusMaxAge)
	want := []BrokenLink{{Link: "m-acme-0002", Platform: connectors.Ref{Tracker: PlatformID, Key: "PLAT-2"},
		Remote: connectors.Ref{Tracker: "acme", Key: "acme#2"}, Reason: "gone"}}
	if c := counts(); c.Links != 2 || c.Broken != 1 || c.OpenCritical != 1 || !reflect.DeepEqual(c.BrokenLinks, want) {
		t.Errorf("counts after statusMaxAge: %d links, %d broken %+v, %d open critical; want 2, 1 %+v, 1", c.Links, c.Broken, c.BrokenLinks, c.OpenCritical, want)
	}
	// With no link change known to the engine, the counts stand however
	// old they are; the next change is counted at once.
	put(1, func(l *store.Link) { l.Platform.Base.Status = connectors.StatusDone })
	clock.Advance(3 * statusMaxAge)
	if c := counts(); c.OpenCritical != 1 {
		t.Errorf("counts with no known change: %d open critical; want the cached 1", c.OpenCritical)
	}
	w.eng.linkGen.Add(1)
	if c := counts(); c.OpenCritical != 0 {
		t.Errorf("counts after a link change: %d open critical; want 0", c.OpenCritical)
	}
}
