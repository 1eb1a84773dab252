package engine

import (
	"context"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/pmsync/pmsync/store"
)

// comparable strips what a rebuild cannot know (times, conflict counts) and
// orders comment links.
func comparableLink(l *store.Link) store.Link {
	c := store.Link{ID: l.ID, Customer: l.Customer, Origin: l.Origin, Owner: l.Owner, State: l.State}
	for i, sd := range []store.Side{l.Platform, l.Remote} {
		out := store.Side{Ref: sd.Ref, ID: sd.ID, URL: sd.URL, Base: sd.Base}
		if i == 0 {
			c.Platform = out
		} else {
			c.Remote = out
		}
	}
	c.Comments = append(c.Comments, l.Comments...)
	sort.Slice(c.Comments, func(i, j int) bool {
		a, b := c.Comments[i], c.Comments[j]
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		return a.SourceID < b.SourceID
	})
	return c
}

func TestRebuildEqualsLostStore(t *testing.T) {
	w := newWorld(t, "jane", "beta")
	a := w.plat.Open("A", internalDesc, actionL, "customer:jane", "customer:beta", "P1", "incident:INC-7")
	b := w.plat.Open("B", "", actionL, "customer:jane", "owner:customer")
	gone := w.plat.Open("Gone", "", actionL, "customer:beta")
	w.cust["jane"].Open("Inbound", "details", "share-with-platform", "P2")
	_ = w.plat.AddComment(a, "Bob", "[customer] shared", false)
	w.converge()
	ja := w.linkOf("jane", a).Remote.Ref.Key
	_ = w.cust["jane"].AddComment(ja, "Alice", "thanks", false)
	_ = w.cust["jane"].Close(w.linkOf("jane", b).Remote.Ref.Key, "completed")
	_ = w.plat.RemoveLabel(a, "customer:beta") // unshared for beta
	w.converge()
	_ = w.plat.Delete(gone) // its mirror becomes an orphan
	w.converge()

	var lost []store.Link
	for _, id := range []string{"jane", "beta"} {
		for _, l := range w.links(id) {
			if l.State != store.LinkBroken {
				lost = append(lost, comparableLink(l))
			}
		}
	}
	if len(lost) != 4 {
		t.Fatalf("set-up made %d links, want 4", len(lost))
	}

	fresh, err := store.Open(filepath.Join(t.TempDir(), "rebuilt.db"), store.Options{NoSync: true, Now: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	w.db = fresh
	w.restart()
	var calls, lastDone, lastTotal int
	res, err := w.eng.Rebuild(context.Background(), func(done, total int) { calls++; lastDone, lastTotal = done, total })
	if err != nil {
		t.Fatalf("Rebuild: %v", err)
	}
	if len(res.Orphans) != 1 {
		t.Errorf("orphans = %v, want the mirror of the deleted item", res.Orphans)
	}
	if calls == 0 || lastDone != lastTotal || lastTotal != 5 {
		t.Errorf("progress: %d calls, last %d/%d; want it to end at 5/5", calls, lastDone, lastTotal)
	}
	var rebuilt []store.Link
	for _, id := range []string{"jane", "beta"} {
		for _, l := range w.links(id) {
			rebuilt = append(rebuilt, comparableLink(l))
		}
	}
	byID := func(ls []store.Link) { sort.Slice(ls, func(i, j int) bool { return ls[i].ID < ls[j].ID }) }
	byID(lost)
	byID(rebuilt)
	if !reflect.DeepEqual(lost, rebuilt) {
		t.Fatalf("rebuilt links differ from the lost store's:\nlost    %+v\nrebuilt %+v", lost, rebuilt)
	}
	// The rebuilt store syncs without a single write.
	before := w.writes()
	w.sync()
	if got := w.writes() - before; got != 0 {
		t.Errorf("first sync after a rebuild made %d writes, want 0", got)
	}
}

// TestRebuildAfterRestoringAnOldBackup: a store restored from a backup older
// than some mirrors has no link (and no intent) for them; pmsync creates
// without looking when no create was ever sent for an intent, so the
// restore is followed by a rebuild (docs/operations.md), which records
// those links from the markers: the next sync creates nothing.
func TestRebuildAfterRestoringAnOldBackup(t *testing.T) {
	w := newWorld(t, "jane")
	w.plat.Open("Before the backup", "", actionL, "customer:jane")
	w.converge()
	late := w.plat.Open("After the backup", "", actionL, "customer:jane")
	w.converge()
	if err := w.db.DeleteLink("jane", w.linkOf("jane", late).ID); err != nil { // the restored store never saw it
		t.Fatal(err)
	}
	if _, err := w.eng.Rebuild(context.Background(), nil); err != nil {
		t.Fatalf("Rebuild: %v", err)
	}
	writes := w.writes()
	w.converge()
	if n := w.cust["jane"].Count(); n != 2 {
		t.Errorf("jane has %d items, want 2 (no second mirror of the item made after the backup)", n)
	}
	if got := w.writes() - writes; got != 0 {
		t.Errorf("the sync after the rebuild made %d writes, want 0", got)
	}
}
