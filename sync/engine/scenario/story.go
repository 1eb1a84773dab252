package scenario

import (
	"context"
	"errors"
	"fmt"

	"github.com/pmsync/pmsync/connectors/jira/jirafake"
	"github.com/pmsync/pmsync/store"
	"github.com/pmsync/pmsync/sync/engine"
)

// The comments of the story.
const (
	CommentPlatformShared   = "The tests land with next week's release."
	CommentPlatformInternal = "Internal: " + InternalCanary + " the cache team missed it."
	CommentJane             = "Thanks! We will watch for it. " + JaneCanary
	CommentAcme             = "Drill scheduled for March."
)

// Converge runs sync passes until one writes nothing (at most max passes).
func Converge(ctx context.Context, eng *engine.Engine, max int) error {
	for i := 0; i < max; i++ {
		p, err := eng.SyncOnce(ctx, false)
		if err != nil {
			return err
		}
		if len(p.Failures) > 0 {
			return fmt.Errorf("scenario: %d items failed, first %s: %s", len(p.Failures), p.Failures[0].Origin, p.Failures[0].Error)
		}
		if len(p.Writes) == 0 {
			return nil
		}
	}
	return fmt.Errorf("scenario: no convergence after %d passes", max)
}

// MirrorKey returns the key of the mirror of the item at key for customer,
// from the store.
func MirrorKey(st *store.DB, customer, key string) (string, error) {
	links, err := st.Links(customer)
	if err != nil {
		return "", err
	}
	for _, l := range links {
		switch key {
		case l.Platform.Ref.Key:
			return l.Remote.Ref.Key, nil
		case l.Remote.Ref.Key:
			return l.Platform.Ref.Key, nil
		}
	}
	return "", fmt.Errorf("scenario: no %s link for %s", customer, key)
}

// Story plays the incident's follow-up after a first convergence, as the
// people of each organisation would: the platform starts the tests and
// finishes the paging item, JaneCorp closes its dashboard item, comments go
// both ways (one platform comment shared, one internal, one restricted),
// the docs item is no longer shared with Acme, and JaneCorp deletes its
// mirror of the docs item. st is the store the first convergence used.
func Story(s *Sims, sd *Seeded, st *store.DB) error {
	janeTests, err := MirrorKey(st, Jane, sd.Tests)
	if err != nil {
		return err
	}
	janeDocs, err := MirrorKey(st, Jane, sd.Docs)
	if err != nil {
		return err
	}
	labels := []string{ActionLabel, "incident:" + Incident, "type:process", "customer:" + Jane}
	return errors.Join(
		s.Jira.Transition(sd.Tests, "In Progress", ""),
		s.Jira.Transition(sd.Paging, "Done", "Done"),
		s.GitHub.SetState(sd.Dashboard, "closed", "completed"),
		s.Jira.AddComment(sd.Tests, "sam", CommentPrefix+" "+CommentPlatformShared, false),
		s.Jira.AddComment(sd.Tests, "sam", CommentPlatformInternal, false),
		s.Jira.AddComment(sd.Tests, "priya", CommentPrefix+" restricted "+InternalCanary, true),
		s.GitHub.AddComment(janeTests, "alice", CommentJane, false),
		s.GitLab.AddComment(sd.Drill, "dana", CommentAcme, false),
		s.Jira.Edit(sd.Docs, jirafake.IssueInput{Labels: &labels}),
		s.GitHub.Delete(janeDocs),
	)
}
