package github

import (
	"context"
	"fmt"
	"time"

	gh "github.com/google/go-github/v62/github"

	"github.com/pmsync/pmsync/connectors"
)

// findSkew is how much earlier than hint.CreatedAfter GitHub may stamp an
// issue's created_at: the hint comes from pmsync's clock, created_at from
// GitHub's, and the two may disagree by this much. The caller's hint
// already allows for the time between its intent and the create, so this
// covers clock differences only.
const findSkew = time.Minute

// findUnhintedLimit bounds a FindByMarker without a time hint: it reads at
// most the newest this many issues (ten pages of 100). Past that it fails
// with ErrInvalid instead of claiming the marker is absent, which would let
// the caller create a duplicate. The engine always passes a hint.
const findUnhintedLimit = 1000

// FindByMarker walks the issue list newest-created first (a list endpoint,
// consistent right after a write, unlike search) and returns the first
// issue whose body carries marker, so the newest should two carry it. An
// issue created a moment ago is at the top of the first page.
//
// With hint.CreatedAfter the walk is bounded below by that time minus
// findSkew: the request also sends it as `since`, which filters by
// updated_at and so only drops issues that cannot qualify (updated_at is
// never before created_at), and the walk stops at the first issue created
// before the bound. An issue just created is then found with one request,
// and a marker no issue carries costs one request per 100 issues created
// since the bound (two during a first sync paced at 80 creates a minute).
//
// Without a hint the walk goes back until it finds the marker or reaches
// the oldest issue, reading at most findUnhintedLimit issues.
func (c *Connector) FindByMarker(ctx context.Context, marker string, hint connectors.FindHint) (*connectors.Item, error) {
	op := "github: find marker in " + c.full()
	if !connectors.ValidMarker(marker) {
		return nil, invalid(op, fmt.Errorf("marker %q is not a valid marker id", marker))
	}
	opts := &gh.IssueListByRepoOptions{State: "all", Sort: "created", Direction: "desc",
		ListOptions: gh.ListOptions{PerPage: c.perPage}}
	var floor time.Time
	if !hint.CreatedAfter.IsZero() {
		floor = hint.CreatedAfter.Add(-findSkew).UTC().Truncate(time.Second)
		opts.Since = floor
	}
	notFound := func(why string) error {
		return connectors.Errorf(connectors.CodeNotFound, op, fmt.Errorf("no issue %s carries marker %s", why, marker))
	}
	read := 0
	for {
		list, resp, err := c.client.Issues.ListByRepo(c.ctx(ctx), c.owner, c.repo, opts)
		if err != nil {
			return nil, c.fail(op, err)
		}
		c.cache.put(list...)
		for _, is := range list {
			if !floor.IsZero() && is.GetCreatedAt().Time.Before(floor) {
				return nil, notFound("created since " + floor.Format(time.RFC3339))
			}
			if !is.IsPullRequest() && connectors.HasMarker(is.GetBody(), marker) {
				it, _ := toItem(is, c.labels, c.ref())
				return it, nil
			}
		}
		read += len(list)
		if resp.NextPage == 0 {
			if floor.IsZero() {
				return nil, notFound("in the repository")
			}
			return nil, notFound("created since " + floor.Format(time.RFC3339))
		}
		if floor.IsZero() && read >= c.findLimit {
			return nil, invalid(op, fmt.Errorf("no time hint, and none of the newest %d issues carries marker %s; "+
				"the repository has more, so absence cannot be told", read, marker))
		}
		opts.Page = resp.NextPage
	}
}
