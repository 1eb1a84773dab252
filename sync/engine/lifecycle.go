package engine

import (
	"context"
	"fmt"
	"strconv"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/store"
)

// noticeSource is the CommentLink.Source of the notices pmsync writes on a
// mirror when its origin stops being shared; their SourceID is
// "unshare-<n>", n counting the unshares of the link.
const noticeSource = "notice"

// breakLink marks the link broken because side s could not be read: the
// item was deleted, moved away, or its tracker refuses us. Nothing is
// recreated; the link is reported until both sides are readable again.
func (r *rec) breakLink(s Side, cause error) error {
	reason := fmt.Sprintf("%s item not found (deleted or moved)", s)
	if connectors.CodeOf(cause) == connectors.CodePermission {
		reason = fmt.Sprintf("%s item not accessible (permission denied)", s)
	}
	if r.link.State == store.LinkBroken && r.link.BrokenReason == reason {
		return nil
	}
	r.plan.add(Write{Tracker: r.side[s].ID, Customer: r.c.ID, Link: r.link.ID, Ref: linkSide(r.link, s).Ref, Action: ActionBroken})
	if r.dry {
		return nil
	}
	r.link.State, r.link.BrokenReason = store.LinkBroken, reason
	r.dirty = true
	r.log.Warn("link broken: "+reason, "tracker", r.side[s].ID, "item", linkSide(r.link, s).Ref.Key)
	r.audit(r.side[s].ID, ActionBroken, nil, reason)
	return nil
}

// restore makes a broken link whose sides are both readable again active
// (the selector decides next whether it stays shared).
func (r *rec) restore() {
	if r.dry {
		return
	}
	r.log.Info("link restored: both sides are readable again")
	r.audit("", ActionRestored, nil, "")
	r.link.State, r.link.BrokenReason = store.LinkActive, ""
	r.dirty = true
}

// unshareNotice is the comment left on a mirror whose origin is no longer
// shared. It names nobody but the side that stopped sharing.
func (r *rec) unshareNotice() string {
	if r.origin == PlatformSide {
		return fmt.Sprintf("%s no longer shares this item with you. pmsync has closed it and will not update it any more.", cleanName(r.e.platform.Name))
	}
	return fmt.Sprintf("%s no longer shares this item with %s. pmsync has closed it and will not update it any more.", cleanName(r.c.Name), cleanName(r.e.platform.Name))
}

// unshare comments on and closes the mirror of an origin that stopped
// matching the selector. The notice carries a marker derived from the link
// and the unshare count, so a retry finds it instead of posting it twice.
func (r *rec) unshare(ctx context.Context) error {
	ms := r.mirror()
	t := r.side[ms]
	mirror := r.item[ms]
	n := 0
	for _, cl := range r.link.Comments {
		if cl.Source == noticeSource {
			n++
		}
	}
	marker := connectors.MarkerID(r.e.o.MarkerKey, "pmsync-notice", r.link.ID+"/unshare/"+strconv.Itoa(n), t.ID)
	comments, err := t.g.ListComments(ctx, mirror.Ref.Key)
	if err != nil {
		return fmt.Errorf("list comments of the %s mirror: %w", ms, err)
	}
	noteID := ""
	for _, c := range comments {
		if c.Marker == marker {
			noteID = c.ID
		}
	}
	if noteID == "" {
		if r.dry {
			r.wrote(ms, mirror.Ref, ActionComment, nil)
		} else {
			c, err := t.g.AddComment(ctx, mirror.Ref.Key, marker, r.unshareNotice())
			if err != nil {
				return fmt.Errorf("comment on the %s mirror: %w", ms, err)
			}
			noteID = c.ID
			r.wrote(ms, mirror.Ref, ActionComment, nil)
		}
	}
	if !mirror.Status.Closed() {
		p := connectors.Patch{}
		setPatch(&p, FieldStatus, string(connectors.StatusWontDo))
		stored, err := r.update(ctx, ms, p, []Field{FieldStatus})
		if err != nil {
			return err
		}
		if stored != nil {
			sd := linkSide(r.link, ms)
			sd.Base.Status = stored.Status
			observe(sd, stored, r.e.clock.Now())
		}
	}
	r.plan.add(Write{Tracker: t.ID, Customer: r.c.ID, Link: r.link.ID, Ref: mirror.Ref, Action: ActionUnshare})
	if r.dry {
		return nil
	}
	r.link.Comments = append(r.link.Comments, store.CommentLink{Source: noticeSource, SourceID: "unshare-" + strconv.Itoa(n), MirrorID: noteID})
	r.link.State = store.LinkUnshared
	r.dirty = true
	r.log.Info("unshared: mirror commented and closed", "tracker", t.ID, "item", mirror.Ref.Key)
	r.audit(t.ID, ActionUnshare, nil, "")
	return nil
}

// reshare reopens the mirror of an origin that matches the selector again:
// its status becomes the origin's (which holds the last status synced
// before the unshare), and the link is active again. The merge that follows
// brings over whatever changed meanwhile.
func (r *rec) reshare(ctx context.Context) error {
	ms := r.mirror()
	origin, mirror := r.item[r.origin], r.item[ms]
	if mirror.Status != origin.Status {
		p := connectors.Patch{}
		setPatch(&p, FieldStatus, string(origin.Status))
		stored, err := r.update(ctx, ms, p, []Field{FieldStatus})
		if err != nil {
			return err
		}
		if stored != nil {
			r.item[ms] = stored
		}
	}
	// Status bases start afresh from the values now on both sides.
	linkSide(r.link, ms).Base.Status = r.item[ms].Status
	linkSide(r.link, r.origin).Base.Status = origin.Status
	r.plan.add(Write{Tracker: r.side[ms].ID, Customer: r.c.ID, Link: r.link.ID, Ref: mirror.Ref, Action: ActionReshare})
	if r.dry {
		return nil
	}
	r.link.State = store.LinkActive
	r.dirty = true
	r.log.Info("shared again: mirror reopened", "tracker", r.side[ms].ID, "item", mirror.Ref.Key)
	r.audit(r.side[ms].ID, ActionReshare, nil, "")
	return nil
}

// update writes patch p to side s (or plans it in a dry run, returning a
// nil item) and records the write.
func (r *rec) update(ctx context.Context, s Side, p connectors.Patch, fields []Field) (*connectors.Item, error) {
	it := r.item[s]
	if r.dry {
		r.wrote(s, it.Ref, ActionUpdate, fieldNames(fields))
		return nil, nil
	}
	if err := r.checkFresh(ctx, s); err != nil {
		return nil, err
	}
	stored, err := r.side[s].g.Update(ctx, it.Ref.Key, p)
	if err != nil {
		return nil, fmt.Errorf("update the %s item: %w", s, err)
	}
	r.wrote(s, it.Ref, ActionUpdate, fieldNames(fields))
	if stored == nil { // a connector that does not return the item
		if stored, err = r.side[s].g.Get(ctx, it.Ref.Key); err != nil {
			return nil, fmt.Errorf("read the %s item after an update: %w", s, err)
		}
	}
	if !stored.UpdatedAt.After(it.UpdatedAt) {
		r.e.snaps.noteEcho(stored.Ref, r.e.clock.Now())
	}
	return stored, nil
}
