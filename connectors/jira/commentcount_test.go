package jira

import (
	"testing"

	"github.com/pmsync/pmsync/connectors/jira/jirafake"
)

// TestCommentCountOnReads: Get and Changes state how many comments
// ListComments would return, from fields.comment.total, also when the
// site embeds fewer comments than it has.
func TestCommentCountOnReads(t *testing.T) {
	for _, fl := range flavors {
		e := newEnv(t, jirafake.Options{Flavor: fl, EmbeddedComments: 2}, nil)
		key := e.create(t, "", "commented").Ref.Key
		if it, err := e.c.Get(ctxT(t), key); err != nil || it.CommentCount != 0 {
			t.Fatalf("%s: Get of an issue without comments: %+v, %v; want CommentCount 0", fl, it, err)
		}
		for i, restricted := range []bool{false, true, false} {
			if err := e.fake.AddComment(key, "alice", "by a person", restricted); err != nil {
				t.Fatalf("%s: comment %d: %v", fl, i, err)
			}
		}
		if _, err := e.c.AddComment(ctxT(t), key, "", "by pmsync"); err != nil {
			t.Fatalf("%s: AddComment: %v", fl, err)
		}
		cs, err := e.c.ListComments(ctxT(t), key)
		if err != nil {
			t.Fatalf("%s: ListComments: %v", fl, err)
		}
		it, err := e.c.Get(ctxT(t), key)
		if err != nil || it.CommentCount != len(cs) || len(cs) != 4 {
			t.Errorf("%s: Get: CommentCount %d, %v; want %d (ListComments gave %d)", fl, it.CommentCount, err, 4, len(cs))
		}
		ch, err := e.c.Changes(ctxT(t), "")
		if err != nil || len(ch.Items) != 1 {
			t.Fatalf("%s: Changes: %v, %v; want the one issue", fl, ch, err)
		}
		if got := ch.Items[0].CommentCount; got != 4 {
			t.Errorf("%s: Changes item CommentCount %d, want 4", fl, got)
		}
	}
}
