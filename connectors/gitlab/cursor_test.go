package gitlab

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/gitlab/gitlabfake"
)

func TestParseCursor(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 500_000_000, time.UTC)
	tests := []struct {
		in       string
		wantT    time.Time
		wantSeen map[int64]int64
		wantErr  string
	}{
		{in: "", wantSeen: map[int64]int64{}},
		{in: "v1:2026-03-02T09:00:00.5Z", wantT: t0, wantSeen: map[int64]int64{}},
		{in: "v1:2026-03-02T10:00:00.5+01:00", wantT: t0, wantSeen: map[int64]int64{}},
		{in: "v2:2026-03-02T09:00:00.5Z", wantT: t0, wantSeen: map[int64]int64{}},
		{in: "v2:2026-03-02T09:00:00.5Z|3@1772441999000,12@1772442000001", wantT: t0,
			wantSeen: map[int64]int64{3: 1772441999000, 12: 1772442000001}},
		{in: "v3:2026-03-02T09:00:00Z", wantErr: "unknown version"},
		{in: "2026-03-02T09:00:00Z", wantErr: "unknown version"},
		{in: "v1:yesterday", wantErr: "bad time"},
		{in: "v1:2026-03-02T09:00:00Z|1@2", wantErr: "bad time"},
		{in: "v2:2026-03-02T09:00:00Z|", wantSeen: map[int64]int64{}, wantT: t0.Truncate(time.Second)},
		{in: "v2:2026-03-02T09:00:00Z|1@", wantErr: `pair "1@"`},
		{in: "v2:2026-03-02T09:00:00Z|0@5", wantErr: `pair "0@5"`},
		{in: "v2:2026-03-02T09:00:00Z|x@5", wantErr: `pair "x@5"`},
		{in: "v2:2026-03-02T09:00:00Z|1@5,,2@6", wantErr: `pair ""`},
	}
	for _, tc := range tests {
		got, err := parseCursor(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseCursor(%q): got error %v, want one containing %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseCursor(%q): %v", tc.in, err)
			continue
		}
		if !got.t.Equal(tc.wantT) || fmt.Sprint(got.seen) != fmt.Sprint(tc.wantSeen) {
			t.Errorf("parseCursor(%q) = %v %v, want %v %v", tc.in, got.t, got.seen, tc.wantT, tc.wantSeen)
		}
		if tc.in == "" {
			continue
		}
		back, err := parseCursor(got.format())
		if err != nil || !back.t.Equal(got.t) || fmt.Sprint(back.seen) != fmt.Sprint(got.seen) {
			t.Errorf("round trip of %q through %q: got %v %v (%v)", tc.in, got.format(), back.t, back.seen, err)
		}
	}
}

// TestCursorPrune: pairs older than the next window are dropped, and at
// most maxSeen are kept, the newest.
func TestCursorPrune(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	overlap := 2 * time.Minute
	c := cursor{t: t0, seen: map[int64]int64{
		1: t0.Add(-overlap - time.Millisecond).UnixMilli(), // just outside
		2: t0.Add(-overlap).UnixMilli(),                    // the window's first instant
		3: t0.UnixMilli(),
	}}
	c.prune(overlap)
	if _, ok := c.seen[1]; ok || len(c.seen) != 2 {
		t.Errorf("prune: kept %v, want iids 2 and 3", c.seen)
	}
	c = cursor{t: t0, seen: map[int64]int64{}}
	for i := range maxSeen + 100 {
		c.seen[int64(i+1)] = t0.Add(-time.Minute).UnixMilli() + int64(i)
	}
	c.prune(overlap)
	if len(c.seen) != maxSeen {
		t.Fatalf("prune of %d pairs kept %d, want %d", maxSeen+100, len(c.seen), maxSeen)
	}
	for i := range 100 {
		if _, ok := c.seen[int64(i+1)]; ok {
			t.Fatalf("prune kept iid %d, one of the 100 oldest", i+1)
		}
	}
	if n := len(c.format()); n > 25*maxSeen {
		t.Errorf("a full cursor is %d bytes, want at most %d", n, 25*maxSeen)
	}
}

// TestPollsWithinOverlap: after a change, polls within the overlap return
// nothing and cost one request each; a new update of the same issue, a
// note and a person's edit of another issue are each returned once.
func TestPollsWithinOverlap(t *testing.T) {
	c, srv := setup(t, gitlabfake.Options{})
	a := mustCreate(t, c, marker(1), connectors.Item{Title: "a", Status: connectors.StatusOpen}).Ref.Key
	b := mustCreate(t, c, marker(2), connectors.Item{Title: "b", Status: connectors.StatusOpen}).Ref.Key
	cur := ""
	poll := func(step string, want ...string) {
		t.Helper()
		r0 := srv.Requests()
		ch, err := c.Changes(t.Context(), cur)
		if err != nil {
			t.Fatalf("%s: Changes: %v", step, err)
		}
		var got []string
		for _, it := range ch.Items {
			got = append(got, it.Ref.Key)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: got items %v, want %v", step, got, want)
		}
		if ch.Requests != 1 || srv.Requests()-r0 != 1 {
			t.Errorf("%s: %d requests (simulator counted %d), want 1", step, ch.Requests, srv.Requests()-r0)
		}
		cur = ch.Cursor
	}
	poll("first poll", a, b)
	for i := range 5 {
		srv.Advance(15 * time.Second)
		poll(fmt.Sprintf("idle poll %d within the overlap", i))
	}
	title := "a, changed"
	if _, err := c.Update(t.Context(), a, connectors.Patch{Title: &title}); err != nil {
		t.Fatal(err)
	}
	poll("after an update of a", a)
	srv.Advance(time.Second)
	poll("idle poll after the update")
	if err := srv.AddComment(b, "bob", "a note", false); err != nil {
		t.Fatal(err)
	}
	poll("after a note on b", b)
	if err := srv.EditTitle(a, "a, by a person"); err != nil {
		t.Fatal(err)
	}
	if err := srv.EditTitle(b, "b, by a person"); err != nil {
		t.Fatal(err)
	}
	poll("after two edits", a, b)
	for i := range 3 {
		srv.Advance(50 * time.Second)
		poll(fmt.Sprintf("idle poll %d past the overlap", i))
	}
	if strings.Contains(cur, "|") {
		t.Errorf("cursor past the overlap %q still carries pairs, want none", cur)
	}
}

// TestOldCursorStillReads: a v1 cursor stored before this version is
// read; its poll returns what changed within the overlap (it does not
// know what was returned), and the next poll, on the v2 cursor, nothing.
func TestOldCursorStillReads(t *testing.T) {
	c, srv := setup(t, gitlabfake.Options{})
	created := mustCreate(t, c, marker(1), connectors.Item{Title: "a", Status: connectors.StatusOpen})
	srv.Advance(30 * time.Second)
	old := "v1:" + srv.Now().Format(time.RFC3339Nano)
	ch, err := c.Changes(t.Context(), old)
	if err != nil {
		t.Fatalf("Changes(%q): %v", old, err)
	}
	if len(ch.Items) != 1 || ch.Items[0].Ref.Key != created.Ref.Key {
		t.Errorf("poll on a v1 cursor: got %d items, want the issue within the overlap", len(ch.Items))
	}
	if !strings.HasPrefix(ch.Cursor, "v2:") {
		t.Errorf("next cursor %q, want a v2 cursor", ch.Cursor)
	}
	ch, err = c.Changes(t.Context(), ch.Cursor)
	if err != nil || len(ch.Items) != 0 {
		t.Errorf("poll on the v2 cursor: got %v items, %v; want none", ch, err)
	}
	_, err = c.Changes(t.Context(), "v2:not a time")
	if !errors.Is(err, connectors.ErrInvalid) {
		t.Errorf("Changes(bad cursor): got %v, want ErrInvalid", err)
	}
}

// TestCommentCountEveryPath: each method that returns an item states the
// issue's non-system notes, internal ones included, as ListComments
// returns them.
func TestCommentCountEveryPath(t *testing.T) {
	c, srv := setup(t, gitlabfake.Options{})
	m := marker(1)
	created := mustCreate(t, c, m, connectors.Item{Title: "counted", Status: connectors.StatusOpen})
	key := created.Ref.Key
	if created.CommentCount != 0 {
		t.Errorf("Create: CommentCount = %d, want 0", created.CommentCount)
	}
	closed := mustCreate(t, c, marker(2), connectors.Item{Title: "born closed", Status: connectors.StatusDone})
	if closed.CommentCount != 0 {
		t.Errorf("Create of a closed item: CommentCount = %d, want 0", closed.CommentCount)
	}
	if _, err := c.AddComment(t.Context(), key, "", "from pmsync"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []struct {
		body     string
		internal bool
	}{{"a person's note", false}, {"internal", true}} {
		if err := srv.AddComment(key, "bob", n.body, n.internal); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.AddSystemNote(key, "changed the description"); err != nil {
		t.Fatal(err)
	}
	cs, err := c.ListComments(t.Context(), key)
	if err != nil || len(cs) != 3 {
		t.Fatalf("ListComments: got %d comments, %v; want 3", len(cs), err)
	}
	want := len(cs)
	title := "counted, renamed" // the rename writes a system note
	paths := []struct {
		name string
		get  func() (*connectors.Item, error)
	}{
		{"Get", func() (*connectors.Item, error) { return c.Get(t.Context(), key) }},
		{"Changes", func() (*connectors.Item, error) {
			ch, err := c.Changes(t.Context(), "")
			if err != nil {
				return nil, err
			}
			for i := range ch.Items {
				if ch.Items[i].Ref.Key == key {
					return &ch.Items[i], nil
				}
			}
			return nil, fmt.Errorf("%s not listed", key)
		}},
		{"FindByMarker", func() (*connectors.Item, error) { return c.FindByMarker(t.Context(), m, connectors.FindHint{}) }},
		{"Update (PUT answer)", func() (*connectors.Item, error) {
			return c.Update(t.Context(), key, connectors.Patch{Title: &title})
		}},
		{"Update with nothing to change", func() (*connectors.Item, error) {
			return c.Update(t.Context(), key, connectors.Patch{Title: &title})
		}},
	}
	for _, p := range paths {
		it, err := p.get()
		if err != nil {
			t.Errorf("%s: %v", p.name, err)
			continue
		}
		if it.CommentCount != want {
			t.Errorf("%s: CommentCount = %d, want %d", p.name, it.CommentCount, want)
		}
	}
}
