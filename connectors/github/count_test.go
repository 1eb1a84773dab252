package github_test

import (
	"context"
	"testing"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/github"
	"github.com/pmsync/pmsync/connectors/github/githubfake"
)

// TestCommentCountEveryPath: every call that returns an item states the
// issue's number of comments, from GitHub's `comments` field, counting
// the comments people add as well as pmsync's.
func TestCommentCountEveryPath(t *testing.T) {
	ctx := context.Background()
	c, b := setup(t, githubfake.Options{}, github.Options{}, nil)
	created := mustCreate(t, c, marker(1), item("discussed"))
	key := created.Ref.Key
	mustCreate(t, c, marker(2), item("quiet"))
	check := func(path string, it *connectors.Item, want int) {
		t.Helper()
		if it == nil {
			t.Fatalf("%s: no item", path)
		}
		if it.CommentCount != want {
			t.Errorf("%s: CommentCount %d, want %d", path, it.CommentCount, want)
		}
	}
	check("Create", created, 0)
	for _, body := range []string{"first", "second"} {
		if _, err := c.AddComment(ctx, key, "", body); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.AddComment(key, "a-person", "by hand", false); err != nil {
		t.Fatal(err)
	}
	check("Get", mustGet(t, c, key), 3)
	ch, err := c.Changes(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, it := range ch.Items {
		counts[it.Ref.Key] = it.CommentCount
	}
	if counts[key] != 3 || counts[testRepo+"#2"] != 0 || len(counts) != 2 {
		t.Errorf("Changes: comment counts %v, want %s: 3 and %s#2: 0", counts, key, testRepo)
	}
	found, err := c.FindByMarker(ctx, marker(1), connectors.FindHint{})
	if err != nil {
		t.Fatal(err)
	}
	check("FindByMarker", found, 3)
	title := "discussed at length"
	updated, err := c.Update(ctx, key, connectors.Patch{Title: &title})
	if err != nil {
		t.Fatal(err)
	}
	check("Update with a change", updated, 3)
	same, err := c.Update(ctx, key, connectors.Patch{Title: &title})
	if err != nil {
		t.Fatal(err)
	}
	check("Update without a change", same, 3)
	if err := b.AddComment(key, "a-person", "one more", false); err != nil {
		t.Fatal(err)
	}
	b.Advance(github.DefaultIssueCacheAge)
	same, err = c.Update(ctx, key, connectors.Patch{Title: &title})
	if err != nil {
		t.Fatal(err)
	}
	check("Update without a change, read again", same, 4)
}
