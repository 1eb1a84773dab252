package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/store"
)

// syncComments mirrors comments both ways on an active link. Each mirrored
// comment carries a marker derived from its source comment and target
// tracker, so it is never mirrored back, and a post whose answer was lost
// is found on the next attempt instead of being posted twice. Edits of a
// source comment are carried over; a comment that stops qualifying (its
// share prefix removed, made restricted) is withdrawn on the other side.
//
// Comments are listed only when they may have changed (commentsChanged);
// afterwards the link keeps each side's comment count.
func (r *rec) syncComments(ctx context.Context) error {
	if r.link.State != store.LinkActive || !r.commentsChanged() {
		return nil
	}
	var lists [2][]connectors.Comment
	for _, s := range []Side{PlatformSide, CustomerSide} {
		cs, err := r.side[s].g.ListComments(ctx, r.item[s].Ref.Key)
		if err != nil {
			return fmt.Errorf("list comments of the %s item: %w", s, err)
		}
		lists[s] = cs
	}
	for _, s := range []Side{PlatformSide, CustomerSide} {
		if err := r.mirrorComments(ctx, s, lists); err != nil {
			return err
		}
	}
	if r.dry {
		return nil
	}
	for _, s := range []Side{PlatformSide, CustomerSide} {
		if sd := linkSide(r.link, s); sd.Comments != len(lists[s])+r.posted[s] {
			sd.Comments = len(lists[s]) + r.posted[s]
			r.dirty = true
		}
	}
	return nil
}

// commentsChanged reports whether the comments of either side may have
// changed since they were last mirrored: the event said so (or this is a
// full pass), an item's comment count is not the one the link kept (or
// the tracker did not say it), or an item was updated with no synced field
// changed, which is what an edited comment looks like (unless pmsync wrote
// the item and the tracker did not say when: see snaps.noteEcho).
// Otherwise listing them would cost two reads for nothing.
func (r *rec) commentsChanged() bool {
	if r.h.full {
		return true
	}
	for _, s := range []Side{PlatformSide, CustomerSide} {
		sd := linkSide(r.link, s)
		if n := r.readCount[s]; n < 0 || n != sd.Comments {
			return true
		}
		if !r.seenAt[s].IsZero() && r.readAt[s].After(r.seenAt[s]) && !r.changed[s] &&
			!r.e.snaps.echo(r.item[s].Ref, r.e.clock.Now()) {
			return true
		}
	}
	return false
}

// mirrorComments carries the comments of side s to the other side.
func (r *rec) mirrorComments(ctx context.Context, s Side, lists [2][]connectors.Comment) error {
	o := s.Other()
	target := r.side[o]
	targetRef := r.item[o].Ref
	byMarker := map[string]*connectors.Comment{}
	for i := range lists[o] {
		if m := lists[o][i].Marker; m != "" {
			byMarker[m] = &lists[o][i]
		}
	}
	for i := range lists[s] {
		c := &lists[s][i]
		body, ok := r.renderComment(s, c)
		idx := r.commentLink(s, c.ID)
		if idx < 0 {
			if !ok {
				continue
			}
			marker := connectors.MarkerID(r.e.o.MarkerKey, r.side[s].ID, c.ID, target.ID)
			m := byMarker[marker]
			if m == nil {
				if err := r.postComment(ctx, o, targetRef, marker, c.ID, body); err != nil {
					return err
				}
				continue
			}
			// Posted by an attempt whose answer was lost: adopt it.
			r.link.Comments = append(r.link.Comments, store.CommentLink{
				Source: s.String(), SourceID: c.ID, MirrorID: m.ID, Hash: hashText(m.Body)})
			r.dirty = true
			idx = len(r.link.Comments) - 1
		}
		if !ok {
			body = r.withdrawn(s, c)
		}
		cl := &r.link.Comments[idx]
		if hashText(body) == cl.Hash {
			continue
		}
		if r.dry {
			r.wrote(o, targetRef, ActionEditComment, nil)
			continue
		}
		if _, err := target.g.EditComment(ctx, targetRef.Key, cl.MirrorID, body); err != nil {
			return fmt.Errorf("edit a mirrored comment on the %s item: %w", o, err)
		}
		cl.Hash = hashText(body)
		r.dirty = true
		r.wrote(o, targetRef, ActionEditComment, nil)
	}
	return nil
}

// postComment adds the mirror of source comment sourceID to side o.
func (r *rec) postComment(ctx context.Context, o Side, ref connectors.Ref, marker, sourceID, body string) error {
	if r.dry {
		r.wrote(o, ref, ActionComment, nil)
		return nil
	}
	mc, err := r.side[o].g.AddComment(ctx, ref.Key, marker, body)
	if err != nil {
		return fmt.Errorf("mirror a comment to the %s item: %w", o, err)
	}
	r.link.Comments = append(r.link.Comments, store.CommentLink{
		Source: o.Other().String(), SourceID: sourceID, MirrorID: mc.ID, Hash: hashText(body)})
	r.posted[o]++
	r.dirty = true
	r.wrote(o, ref, ActionComment, nil)
	return nil
}

// commentLink returns the index of the comment link of source comment id
// written on side s, or -1.
func (r *rec) commentLink(s Side, id string) int {
	for i, cl := range r.link.Comments {
		if cl.Source == s.String() && cl.SourceID == id {
			return i
		}
	}
	return -1
}

// orgName is the organisation writing on side s.
func (r *rec) orgName(s Side) string {
	if s == PlatformSide {
		return r.e.platform.Name
	}
	return r.c.Name
}

// renderComment returns the text mirroring comment c of side s, and
// whether it crosses at all: restricted and marker-carrying comments never
// do; platform comments only with the customer's prefix. Text going to a
// customer is scrubbed.
func (r *rec) renderComment(s Side, c *connectors.Comment) (string, bool) {
	body, ok := SharedComment(c.Body, c.Restricted, c.Marker, s == PlatformSide, r.c.Share.CommentPrefix)
	if !ok {
		return "", false
	}
	text := Attribute(c.Author, r.orgName(s), body)
	if s == PlatformSide {
		return r.c.scrub.Text(text), true
	}
	return Truncate(StripMarkers(text)), true
}

// withdrawn is the text that replaces a mirrored comment whose source no
// longer qualifies.
func (r *rec) withdrawn(s Side, c *connectors.Comment) string {
	author := cleanName(c.Author)
	if author == "" {
		author = "Someone"
	}
	text := fmt.Sprintf("%s (%s) withdrew this comment.", author, cleanName(r.orgName(s)))
	if s == PlatformSide {
		return r.c.scrub.Text(text)
	}
	return text
}

// planComments lists, in a dry run, the comments a new mirror would get.
func (r *rec) planComments(ctx context.Context, origin *connectors.Item) error {
	cs, err := r.side[r.origin].g.ListComments(ctx, origin.Ref.Key)
	if err != nil {
		return fmt.Errorf("list comments of the %s item: %w", r.origin, err)
	}
	for i := range cs {
		if _, ok := r.renderComment(r.origin, &cs[i]); ok {
			r.wrote(r.mirror(), connectors.Ref{Tracker: r.side[r.mirror()].ID}, ActionComment, nil)
		}
	}
	return nil
}

// hashText is the hash kept in a CommentLink of the text last written.
func hashText(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}
