package conformance

import (
	"fmt"
	"slices"
	"testing"

	"github.com/pmsync/pmsync/connectors"
)

// listComments reads comments and fails the test on error.
func (e *env) listComments(t *testing.T, key string) []connectors.Comment {
	t.Helper()
	cs, err := e.c.ListComments(e.ctx(t), key)
	noSecret(t, err)
	if err != nil {
		t.Fatalf("ListComments(%s): %v", key, err)
	}
	return cs
}

// addComment adds a comment through the connector and fails on error.
func (e *env) addComment(t *testing.T, key, marker, body string) *connectors.Comment {
	t.Helper()
	c, err := e.c.AddComment(e.ctx(t), key, marker, body)
	noSecret(t, err)
	if err != nil {
		t.Fatalf("AddComment(%s): %v", key, err)
	}
	if c == nil {
		t.Fatalf("AddComment(%s) returned nil and no error", key)
	}
	return c
}

// wantComment is what the suite expects of one listed comment.
type wantComment struct {
	body       string
	marker     string
	restricted bool
}

func checkComments(t *testing.T, what string, got []connectors.Comment, want []wantComment) {
	t.Helper()
	if len(got) != len(want) {
		bodies := make([]string, len(got))
		for i, c := range got {
			bodies[i] = c.Body
		}
		t.Fatalf("%s: got %d comments %q, want %d", what, len(got), bodies, len(want))
	}
	ids := map[string]bool{}
	for i, w := range want {
		g := got[i]
		if normText(g.Body) != normText(w.body) {
			t.Errorf("%s: comment %d body got %q, want %q", what, i, g.Body, w.body)
		}
		if g.Marker != w.marker {
			t.Errorf("%s: comment %d marker got %q, want %q", what, i, g.Marker, w.marker)
		}
		if g.Restricted != w.restricted {
			t.Errorf("%s: comment %d restricted got %v, want %v", what, i, g.Restricted, w.restricted)
		}
		if g.ID == "" || ids[g.ID] {
			t.Errorf("%s: comment %d id got %q, want a unique id", what, i, g.ID)
		}
		ids[g.ID] = true
		if g.Author == "" {
			t.Errorf("%s: comment %d has no author", what, i)
		}
		if g.CreatedAt.IsZero() {
			t.Errorf("%s: comment %d has no CreatedAt", what, i)
		}
	}
}

func testComments(t *testing.T, e *env) {
	key := e.create(t, e.marker("cmt"), simple("commented")).Ref.Key
	if cs := e.listComments(t, key); len(cs) != 0 {
		t.Errorf("ListComments on a new item: got %d comments, want 0", len(cs))
	}
	checkCommentCount(t, e, key, 0)
	m := e.marker("cmt")
	first := e.addComment(t, key, m, "Alice (Platform) wrote: first **comment** ✓\n\n- with a list")
	if first.Marker != m || normText(first.Body) != "Alice (Platform) wrote: first **comment** ✓\n\n- with a list" || first.ID == "" {
		t.Errorf("AddComment: got id %q marker %q body %q, want an id, marker %q and the body without marker", first.ID, first.Marker, first.Body, m)
	}
	second := e.addComment(t, key, "", "second, no marker")
	if second.Marker != "" {
		t.Errorf("AddComment without marker: got marker %q, want none", second.Marker)
	}
	if err := e.b.AddComment(key, "alice", "third, by a person", false); err != nil {
		t.Fatalf("Backend.AddComment: %v", err)
	}
	if err := e.b.AddSystemNote(key, "changed the description"); err != nil {
		t.Fatalf("Backend.AddSystemNote: %v", err)
	}
	want := []wantComment{
		{body: "Alice (Platform) wrote: first **comment** ✓\n\n- with a list", marker: m},
		{body: "second, no marker"},
		{body: "third, by a person"},
	}
	if !e.caps.NoRestrictedComments {
		if err := e.b.AddComment(key, "bob", "internal only: customer is on the old SDK", true); err != nil {
			t.Fatalf("Backend.AddComment restricted: %v", err)
		}
		want = append(want, wantComment{body: "internal only: customer is on the old SDK", restricted: true})
	}
	checkComments(t, "ListComments", e.listComments(t, key), want)
	checkCommentCount(t, e, key, len(want))

	edited, err := e.c.EditComment(e.ctx(t), key, first.ID, "first comment, edited — 東京")
	noSecret(t, err)
	if err != nil {
		t.Fatalf("EditComment(%s, %s): %v", key, first.ID, err)
	}
	if edited.ID != first.ID || edited.Marker != m || normText(edited.Body) != "first comment, edited — 東京" {
		t.Errorf("EditComment: got id %q marker %q body %q, want %q %q %q", edited.ID, edited.Marker, edited.Body, first.ID, m, "first comment, edited — 東京")
	}
	want[0].body = "first comment, edited — 東京"
	checkComments(t, "ListComments after edit", e.listComments(t, key), want)

	_, err = e.c.EditComment(e.ctx(t), key, "987654321", "no such comment")
	wantCode(t, "EditComment(unknown id)", err, connectors.ErrNotFound)
	_, err = e.c.AddComment(e.ctx(t), key, "Not A Marker!", "bad marker")
	wantCode(t, "AddComment(bad marker)", err, connectors.ErrInvalid)
}

func testCommentsPagination(t *testing.T, e *env) {
	key := e.create(t, e.marker("cpage"), simple("many comments")).Ref.Key
	n := e.manyItems()
	want := make([]wantComment, n)
	for i := range n {
		want[i] = wantComment{body: fmt.Sprintf("comment %03d", i)}
		if err := e.b.AddComment(key, "alice", want[i].body, false); err != nil {
			t.Fatalf("Backend.AddComment %d: %v", i, err)
		}
		if i%10 == 0 {
			if err := e.b.AddSystemNote(key, fmt.Sprintf("system note %d", i)); err != nil {
				t.Fatalf("Backend.AddSystemNote: %v", err)
			}
		}
	}
	got := e.listComments(t, key)
	checkComments(t, "ListComments over many pages", got, want)
	if !slices.IsSortedFunc(got, func(a, b connectors.Comment) int { return a.CreatedAt.Compare(b.CreatedAt) }) {
		t.Errorf("ListComments: comments are not oldest first")
	}
}

// checkCommentCount asserts that Get states the item's number of comments
// (system notes excluded): the engine skips listing comments when it is
// unchanged, so a wrong count loses comments.
func checkCommentCount(t *testing.T, e *env, key string, want int) {
	t.Helper()
	it, err := e.c.Get(e.ctx(t), key)
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	if it.CommentCount != want {
		t.Errorf("Get(%s).CommentCount = %d, want %d (the comments ListComments returns)", key, it.CommentCount, want)
	}
}
