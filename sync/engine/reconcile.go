package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/store"
)

// rec is the state of one reconcile of one work key.
type rec struct {
	*pass
	c      *cust
	k      workKey
	origin Side
	side   [2]*trk
	item   [2]*connectors.Item
	link   *store.Link
	log    *slog.Logger
	dirty  bool // link changed and must be saved

	h      hint    // what the events that queued the key say
	fresh  bool    // read every item afresh (a shared read was out of date)
	shared [2]bool // the side's item came from another read (see read)
	// For comments (see commentsChanged), per side: the item's UpdatedAt
	// as read and as the link had seen it, its comment count as read,
	// whether a synced field differed from the link's base, and comments
	// posted.
	readAt, seenAt [2]time.Time
	readCount      [2]int
	changed        [2]bool
	posted         [2]int
}

func (r *rec) mirror() Side { return r.origin.Other() }

// gone reports whether err says an item no longer exists for us.
func gone(err error) bool {
	return errors.Is(err, connectors.ErrNotFound) || errors.Is(err, connectors.ErrPermission)
}

// reconcile brings the link of one (origin item, customer) pair in step:
// it reads both sides fresh, creates the mirror when the origin is newly
// shared, merges fields, mirrors comments, unshares, or marks the link
// broken.
func (p *pass) reconcile(ctx context.Context, c *cust, t task) error {
	k := t.k
	r := &rec{pass: p, c: c, k: k, origin: CustomerSide, h: t.h}
	if k.Origin.Tracker == PlatformID {
		r.origin = PlatformSide
	}
	r.side = [2]*trk{p.e.platform, c.tr}
	links, err := p.e.st.LinksByRef(k.Origin)
	if err != nil {
		return err
	}
	isMirror := false
	for _, l := range links {
		if l.Customer == c.ID {
			if o := originRef(l); o != k.Origin {
				// The ref is this link's mirror (the link was recorded after
				// the key was made): the origin's key does the work, so
				// that one worker at a time handles the link.
				c.q.forward(k, workKey{Origin: o, Customer: c.ID})
				return nil
			}
			r.link = l
		} else if originRef(l) != k.Origin {
			isMirror = true
		}
	}
	r.log = p.e.log.With("customer", c.ID, "origin", k.Origin.String())
	if r.link != nil {
		r.log = r.log.With("link", r.link.ID)
	}
	err = r.run(ctx, isMirror)
	if errors.Is(err, errStaleRead) {
		r.log.Debug("an item changed since it was read for another reconcile; reading afresh")
		r.fresh, r.item, r.shared = true, [2]*connectors.Item{}, [2]bool{}
		err = r.run(ctx, isMirror)
	}
	if err != nil {
		r.noteError(err)
		return err
	}
	return r.save(nil)
}

func (r *rec) run(ctx context.Context, isMirror bool) error {
	origin, err := r.read(ctx, r.origin, r.k.Origin.Key)
	switch {
	case err != nil && gone(err) && r.link != nil:
		return r.breakLink(r.origin, err)
	case err != nil && gone(err):
		return r.settleIntent(ctx, nil)
	case err != nil:
		return fmt.Errorf("read %s item: %w", r.origin, err)
	}
	if origin.Ref != r.k.Origin {
		// The key named the item otherwise than the tracker does (a Jira
		// webhook naming an issue by its numeric id, a key in another
		// case, an issue moved since): links are recorded under the
		// item's own ref, so the work goes to that key, whose reconcile
		// finds the link (one worker at a time per link, and never a
		// second mirror of a linked item).
		r.log.Debug("forwarding to the item's canonical key", "key", r.k.Origin.Key, "canonical", origin.Ref.Key)
		r.c.q.forward(r.k, workKey{Origin: origin.Ref, Customer: r.c.ID})
		return nil
	}
	r.item[r.origin] = origin
	if r.link == nil && !isMirror && origin.Marker == "" {
		if err := r.linkByID(origin); err != nil {
			return err
		}
	}
	if r.link == nil {
		if isMirror || origin.Marker != "" || !r.selected(origin) {
			return r.settleIntent(ctx, origin)
		}
		created, err := r.create(ctx)
		if err != nil || !created {
			return err
		}
	}
	ms := r.mirror()
	if r.item[ms] == nil { // not made or adopted by this reconcile
		mirror, err := r.read(ctx, ms, linkSide(r.link, ms).Ref.Key)
		switch {
		case err != nil && gone(err):
			return r.breakLink(ms, err)
		case err != nil:
			return fmt.Errorf("read %s item: %w", ms, err)
		}
		r.item[ms] = mirror
	}
	if r.link.State == store.LinkBroken {
		r.restore()
	}
	selected := r.selected(origin)
	switch {
	case r.link.State == store.LinkActive && !selected:
		return r.unshare(ctx)
	case r.link.State == store.LinkUnshared && !selected:
		return nil
	case r.link.State == store.LinkUnshared:
		if err := r.reshare(ctx); err != nil {
			return err
		}
	}
	if err := r.syncFields(ctx); err != nil {
		return err
	}
	return r.syncComments(ctx)
}

// linkByID looks for the link of an origin item by the item's stable id
// rather than its ref: a link's id is the marker of its mirror, which is
// derived from the origin's stable id, so an item whose key changed (moved
// to another project, a renamed repository) still finds its link, and is
// never mirrored a second time, nor its deleted mirror recreated.
func (r *rec) linkByID(origin *connectors.Item) error {
	if origin.ID == "" {
		return nil
	}
	l, err := r.e.st.Link(r.c.ID, r.markerFor(origin))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	r.link = l
	r.log = r.log.With("link", l.ID)
	r.log.Info("found the link by the item's id: its key changed", "was", originRef(l).Key, "now", origin.Ref.Key)
	if !r.dry {
		sd := linkSide(l, r.origin)
		sd.Ref, sd.URL = origin.Ref, origin.URL
		r.dirty = true
	}
	return nil
}

// selected reports whether the origin item is shared with the customer:
// a platform item with the action-item label and the customer's select
// label, or a customer item with the inbound label.
func (r *rec) selected(it *connectors.Item) bool { return r.e.shares(r.c, r.origin, it) }

// noteError keeps the last error on the link for status and digests.
func (r *rec) noteError(err error) {
	if r.link == nil || r.dry {
		return
	}
	msg := describe(err)
	if r.link.LastError == msg && !r.dirty {
		return
	}
	r.link.LastError = msg
	if serr := r.e.st.PutLink(r.link); serr != nil {
		r.log.Warn("cannot record the sync error on the link", "err", serr)
	}
	r.e.linkGen.Add(1) // after the write: a status read in between is redone
}

// save stores the link when the reconcile changed it (never in a dry run).
func (r *rec) save(err error) error {
	if err != nil {
		return err
	}
	if r.link == nil || r.dry {
		return nil
	}
	if r.link.LastError != "" {
		r.link.LastError = ""
		r.dirty = true
	}
	if !r.dirty {
		return nil
	}
	err = r.e.st.PutLink(r.link)
	r.e.linkGen.Add(1)
	if err != nil {
		return fmt.Errorf("save link: %w", err)
	}
	r.dirty = false
	return nil
}

// audit appends an event about the link (never in a dry run).
func (r *rec) audit(tracker, action string, fields []string, detail string) {
	if r.dry {
		return
	}
	ev := store.AuditEvent{Time: r.e.clock.Now(), Customer: r.c.ID, Tracker: tracker, Action: action, Fields: fields, Detail: detail}
	if r.link != nil {
		ev.Link = r.link.ID
	}
	if err := r.e.st.Audit(ev); err != nil {
		r.log.Warn("cannot append to the audit log", "action", action, "err", err)
	}
}

// wrote records a write in the plan, the log, the metrics and the audit log.
func (r *rec) wrote(s Side, ref connectors.Ref, action string, fields []string) {
	t := r.side[s]
	w := Write{Tracker: t.ID, Customer: r.c.ID, Ref: ref, Action: action, Fields: fields}
	if r.link != nil {
		w.Link = r.link.ID
	}
	r.plan.add(w)
	if r.dry {
		return
	}
	r.e.metrics.Write(t.ID, action)
	r.log.Info("wrote "+action, "tracker", t.ID, "item", ref.Key, "fields", fields)
	r.audit(t.ID, action, fields, "")
}
