package github

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v62/github"

	"github.com/pmsync/pmsync/connectors"
)

// ListComments returns the issue's comments, oldest first. GitHub has no
// system notes among comments and no restricted comments.
func (c *Connector) ListComments(ctx context.Context, key string) ([]connectors.Comment, error) {
	op := "github: list comments of " + key
	n, err := c.number(op, key)
	if err != nil {
		return nil, err
	}
	opts := &gh.IssueListCommentsOptions{Sort: gh.String("created"), Direction: gh.String("asc"),
		ListOptions: gh.ListOptions{PerPage: c.perPage}}
	out := []connectors.Comment{}
	for {
		page, resp, err := c.client.Issues.ListComments(c.ctx(ctx), c.owner, c.repo, n, opts)
		if err != nil {
			return nil, c.fail(op, err)
		}
		for _, cm := range page {
			out = append(out, toComment(cm))
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// AddComment posts a comment carrying marker ("" for none). It is paced
// like every content-creating request and never retried here.
func (c *Connector) AddComment(ctx context.Context, key, marker, body string) (*connectors.Comment, error) {
	op := "github: add comment to " + key
	n, err := c.number(op, key)
	if err != nil {
		return nil, err
	}
	if marker != "" && !connectors.ValidMarker(marker) {
		return nil, invalid(op, fmt.Errorf("marker %q is not a valid marker id", marker))
	}
	full := connectors.EmbedMarker(body, marker)
	if strings.TrimSpace(full) == "" {
		return nil, invalid(op, errors.New("field body: empty"))
	}
	if err := checkBody("body", full); err != nil {
		return nil, invalid(op, err)
	}
	release, err := c.pace.acquire(ctx, op)
	if err != nil {
		return nil, err
	}
	cm, _, err := c.client.Issues.CreateComment(c.ctx(ctx), c.owner, c.repo, n, &gh.IssueComment{Body: &full})
	release()
	// The issue's comment count and updated_at moved (or may have).
	c.cache.drop(n)
	if err != nil {
		return nil, c.fail(op, err)
	}
	out := toComment(cm)
	return &out, nil
}

// EditComment replaces a comment's body, keeping its marker. It reads the
// comment first (for the marker, and to check it belongs to key).
func (c *Connector) EditComment(ctx context.Context, key, commentID, body string) (*connectors.Comment, error) {
	op := fmt.Sprintf("github: edit comment %s of %s", commentID, key)
	n, err := c.number(op, key)
	if err != nil {
		return nil, err
	}
	id, err := strconv.ParseInt(commentID, 10, 64)
	if err != nil || id < 1 {
		return nil, invalid(op, fmt.Errorf("comment id %q is not a number", commentID))
	}
	cur, _, err := c.client.Issues.GetComment(c.ctx(ctx), c.owner, c.repo, id)
	if err != nil {
		return nil, c.fail(op, err)
	}
	if !strings.HasSuffix(cur.GetIssueURL(), "/issues/"+strconv.Itoa(n)) {
		return nil, connectors.Errorf(connectors.CodeNotFound, op, errors.New("the comment belongs to another issue"))
	}
	marker, _ := connectors.ExtractMarker(cur.GetBody())
	full := connectors.EmbedMarker(body, marker)
	if strings.TrimSpace(full) == "" {
		return nil, invalid(op, errors.New("field body: empty"))
	}
	if err := checkBody("body", full); err != nil {
		return nil, invalid(op, err)
	}
	cm, _, err := c.client.Issues.EditComment(c.ctx(ctx), c.owner, c.repo, id, &gh.IssueComment{Body: &full})
	if err != nil {
		return nil, c.fail(op, err)
	}
	out := toComment(cm)
	return &out, nil
}

// KeyedComment is a comment with the key of the issue (or pull request) it
// belongs to.
type KeyedComment struct {
	Key string
	connectors.Comment
}

// CommentsSince lists every comment of the repository updated at or after
// since, oldest update first, in as few requests as the repository-wide
// comment endpoint allows (one per 100 comments). Comments on pull
// requests are included: their keys read as ErrNotFound through Get.
func (c *Connector) CommentsSince(ctx context.Context, since time.Time) ([]KeyedComment, error) {
	op := "github: list comments of " + c.full()
	opts := &gh.IssueListCommentsOptions{Sort: gh.String("updated"), Direction: gh.String("asc"),
		ListOptions: gh.ListOptions{PerPage: c.perPage}}
	if !since.IsZero() {
		s := since.UTC().Truncate(time.Second)
		opts.Since = &s
	}
	var out []KeyedComment
	for {
		page, resp, err := c.client.Issues.ListComments(c.ctx(ctx), c.owner, c.repo, 0, opts)
		if err != nil {
			return nil, c.fail(op, err)
		}
		for _, cm := range page {
			u := cm.GetIssueURL()
			n, err := strconv.Atoi(u[strings.LastIndex(u, "/")+1:])
			if err != nil {
				continue
			}
			out = append(out, KeyedComment{Key: c.ref().key(n), Comment: toComment(cm)})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}
