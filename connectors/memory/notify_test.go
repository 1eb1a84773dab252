package memory_test

import (
	"testing"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/memory"
)

func TestSubscribe(t *testing.T) {
	tr := memory.NewTracker(memory.Options{})
	c := newConn(t, tr)
	ch, stop := tr.Subscribe(3)
	it := mustCreate(t, c, "watched")
	if _, err := c.AddComment(t.Context(), it.Ref.Key, "", "hello"); err != nil {
		t.Fatalf("AddComment: %v", err)
	}
	if err := tr.Delete(it.Ref.Key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	mustCreate(t, c, "overflow") // fourth change: the buffer of 3 is full
	var last int64
	for i := range 3 {
		got := <-ch
		if got.Key != it.Ref.Key || got.Seq <= last {
			t.Errorf("change %d: got %+v, want key %s with a growing Seq", i, got, it.Ref.Key)
		}
		last = got.Seq
	}
	if d := tr.Dropped(); d != 1 {
		t.Errorf("Dropped: got %d, want 1", d)
	}
	stop()
	stop()
	if _, ok := <-ch; ok {
		t.Errorf("channel still open after stop")
	}
	if _, err := connectors.SetStatus(t.Context(), c, "MEM-2", connectors.StatusDone); err != nil {
		t.Errorf("SetStatus after stop: %v", err)
	}
}

func TestFindByMarkerPrefersOldest(t *testing.T) {
	tr := memory.NewTracker(memory.Options{})
	c := newConn(t, tr)
	mk := connectors.MarkerID([]byte("k"), "platform", "dup", "janecorp")
	first, err := c.Create(t.Context(), mk, &connectors.Item{Title: "first"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	for i := range 20 {
		// A person pastes the marker into other items' bodies.
		key := tr.Open("copy", connectors.EmbedMarker("pasted", mk))
		if i == 0 && key == first.Ref.Key {
			t.Fatalf("Open reused key %s", key)
		}
	}
	for range 5 {
		got, err := c.FindByMarker(t.Context(), mk, connectors.FindHint{})
		if err != nil || got.Ref.Key != first.Ref.Key {
			t.Fatalf("FindByMarker with copies: got %v, %v; want %s", got, err, first.Ref.Key)
		}
	}
}
