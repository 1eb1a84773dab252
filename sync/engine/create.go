package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/store"
)

// findSkew is how long before its intent a mirror may appear to have been
// created: clock skew between pmsync and the tracker.
const findSkew = 10 * time.Minute

// markerFor returns the marker of the mirror of origin in the other side's
// tracker: the link id.
func (r *rec) markerFor(origin *connectors.Item) string {
	return connectors.MarkerID(r.e.o.MarkerKey, origin.Ref.Tracker, origin.ID, r.side[r.mirror()].ID)
}

// create makes the mirror of a newly shared origin, crash-safe: a durable
// intent first, then a look for the marker (a mirror from an attempt whose
// answer was lost is adopted, never duplicated), then the create carrying
// the marker, then the link recorded and the intent dropped in one
// transaction. It reports whether a link now exists (in a dry run: whether
// a mirror was found).
//
// The intent's Attempts counts the creates that were sent for it (counted
// durably before each is sent): while it is 0, no mirror can have come
// from this intent, and there is nothing to look for. A mirror made by an
// earlier intent has a link, unless the store was lost or restored from
// an old backup: that is what `pmsync store rebuild` is for, which
// recovers every link from the markers.
func (r *rec) create(ctx context.Context) (bool, error) {
	origin := r.item[r.origin]
	ms := r.mirror()
	target := r.side[ms]
	marker := r.markerFor(origin)
	want := values(r.c, origin, r.origin, r.origin)
	in, err := r.e.st.Intent(marker)
	resumed := err == nil
	switch {
	case resumed:
	case errors.Is(err, store.ErrNotFound):
		in = &store.Intent{ID: marker, Customer: r.c.ID, Origin: origin.Ref, Target: target.ID, CreatedAt: r.e.clock.Now()}
	default:
		return false, err
	}
	if r.dry {
		return r.planCreate(ctx, target, marker, in, resumed, want)
	}
	mirror, adopted, err := r.findOrCreate(ctx, target, marker, in, want)
	if err != nil {
		return false, err
	}
	var sent Values
	if !adopted {
		sent = want
	}
	if err := r.complete(marker, r.newLink(marker, origin, mirror, sent)); err != nil {
		return false, err
	}
	r.item[ms] = mirror // as the tracker answered the create (or the look)
	if adopted {
		r.log.Info("adopted a mirror found by its marker", "tracker", target.ID, "item", mirror.Ref.Key)
		r.audit(target.ID, ActionAdopt, nil, "")
	} else {
		r.wrote(ms, mirror.Ref, ActionCreate, setFields(want))
	}
	return true, nil
}

// findOrCreate creates the mirror carrying marker, after looking for it
// when a create was sent for the intent before. The intent, counting the
// create, is stored before the create is sent (one write: a new intent is
// stored with its first create counted); a failed create leaves the
// intent, so the next attempt looks, over everything created since the
// intent, before creating.
func (r *rec) findOrCreate(ctx context.Context, target *trk, marker string, in *store.Intent, want Values) (*connectors.Item, bool, error) {
	if in.Attempts > 0 {
		found, err := target.g.FindByMarker(ctx, marker, findHint(in))
		switch {
		case err == nil:
			return found, true, nil
		case !errors.Is(err, connectors.ErrNotFound):
			return nil, false, fmt.Errorf("look for a mirror by marker in %s: %w", target.ID, err)
		}
		if err := r.settled(in, target); err != nil {
			return nil, false, err
		}
	}
	it := newItem(want)
	if target.ID == PlatformID {
		it.Labels = []string{r.e.platform.ActionItemLabel}
	}
	sentAt := in.SentAt
	in.Attempts++
	in.SentAt = r.e.clock.Now()
	if err := r.e.st.PutIntent(in); err != nil {
		return nil, false, fmt.Errorf("record intent: %w", err)
	}
	mirror, err := target.g.Create(ctx, marker, it)
	if err != nil {
		if notSent(err) || refused(err) { // held back, or refused: nothing was created
			in.Attempts--
			in.SentAt = sentAt
			if perr := r.e.st.PutIntent(in); perr != nil {
				r.log.Warn("cannot record that a create was not sent", "err", perr)
			}
		}
		return nil, false, fmt.Errorf("create mirror in %s: %w", target.ID, err)
	}
	return mirror, false, nil
}

// errCreateInFlight says that a create may still be under way at the
// tracker: a look did not find its mirror, but too soon after the create was
// sent to prove anything.
var errCreateInFlight = errors.New("the mirror was not found, but the create sent for it may still be under way")

// settled returns nil once intent in's latest create was sent long enough
// ago (Options.CreateSettle) that a look not finding its mirror proves the
// create failed; before that, a temporary error to try again then. A
// daemon restarted at once after a crash, or a retry right after a lost
// answer, would otherwise create a second mirror while the tracker was
// still making the first.
func (r *rec) settled(in *store.Intent, target *trk) error {
	if in.SentAt.IsZero() || r.e.o.CreateSettle <= 0 {
		return nil
	}
	wait := in.SentAt.Add(r.e.o.CreateSettle).Sub(r.e.clock.Now())
	if wait <= 0 {
		return nil
	}
	return &connectors.Error{Code: connectors.CodeTemporary, Op: "create mirror in " + target.ID, RetryAfter: wait, Err: errCreateInFlight}
}

// findHint bounds the look for the mirror of intent in: a create was sent
// for it, so the mirror may have been created at any time since the
// intent, give or take clock skew.
func findHint(in *store.Intent) connectors.FindHint {
	return connectors.FindHint{CreatedAfter: in.CreatedAt.Add(-findSkew)}
}

// planCreate plans, in a dry run, the creation of a mirror: a mirror
// already there (from an attempt whose answer was lost) is adopted in
// memory so the plan goes on with its fields and comments.
func (r *rec) planCreate(ctx context.Context, target *trk, marker string, in *store.Intent, resumed bool, want Values) (bool, error) {
	origin := r.item[r.origin]
	if resumed && in.Attempts > 0 {
		found, err := target.g.FindByMarker(ctx, marker, findHint(in))
		switch {
		case err == nil:
			r.link = r.newLink(marker, origin, found, nil)
			return true, nil
		case !errors.Is(err, connectors.ErrNotFound):
			return false, fmt.Errorf("look for a mirror by marker in %s: %w", target.ID, err)
		}
	}
	r.wrote(r.mirror(), connectors.Ref{Tracker: target.ID}, ActionCreate, setFields(want))
	return false, r.planComments(ctx, origin)
}

// complete records the new link and drops its intent in one transaction.
func (r *rec) complete(marker string, l *store.Link) error {
	err := r.e.st.CompleteIntent(marker, l)
	r.e.linkGen.Add(1)
	if errors.Is(err, store.ErrNotFound) { // another pass completed it first
		stored, lerr := r.e.st.Link(r.c.ID, marker)
		if lerr != nil {
			return fmt.Errorf("record link: %w", err)
		}
		l = stored
	} else if err != nil {
		return fmt.Errorf("record link: %w", err)
	}
	r.link = l
	r.log = r.log.With("link", l.ID)
	return nil
}

// newLink builds the link of origin and its mirror. The mirror's base is
// what it holds; the origin's base is what was sent to create it, or, for
// an adopted mirror, the mirror's values too, so that whatever the origin
// changed since flows in the merge that follows.
func (r *rec) newLink(marker string, origin, mirror *connectors.Item, sent Values) *store.Link {
	ms := r.mirror()
	l := &store.Link{
		ID: marker, Customer: r.c.ID, State: store.LinkActive,
		Origin: ownerOf(r.origin), Owner: effectiveOwner(origin, r.origin),
	}
	now := r.e.clock.Now()
	observe(linkSide(l, r.origin), origin, now)
	observe(linkSide(l, ms), mirror, now)
	mv := values(r.c, mirror, ms, r.origin)
	linkSide(l, ms).Base = toFields(mv, mirror.Assignee)
	if sent == nil {
		sent = mv
	}
	linkSide(l, r.origin).Base = toFields(sent, origin.Assignee)
	return l
}

// settleIntent resolves an open intent of a key whose origin is not (or no
// longer) to be mirrored: a mirror that was created after all is adopted
// (and then unshared or marked broken by the next reconcile); otherwise the
// intent is dropped.
func (r *rec) settleIntent(ctx context.Context, origin *connectors.Item) error {
	if r.dry {
		return nil
	}
	intents, err := r.e.st.Intents()
	if err != nil {
		return err
	}
	for _, in := range intents {
		if in.Customer != r.c.ID || in.Origin != r.k.Origin {
			continue
		}
		target := r.e.tracker(in.Target)
		if target == nil {
			continue
		}
		var found *connectors.Item
		var err error = connectors.ErrNotFound // no create sent: nothing to find
		if in.Attempts > 0 {
			found, err = target.g.FindByMarker(ctx, in.ID, findHint(in))
		}
		switch {
		case errors.Is(err, connectors.ErrNotFound):
			if err := r.settled(in, target); err != nil {
				return err
			}
			if err := r.e.st.DropIntent(in.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			r.log.Info("dropped an intent whose origin is no longer shared", "intent", in.ID)
			continue
		case err != nil:
			return fmt.Errorf("look for a mirror by marker in %s: %w", target.ID, err)
		}
		if origin == nil {
			origin = &connectors.Item{Ref: in.Origin}
		}
		if err := r.complete(in.ID, r.newLink(in.ID, origin, found, nil)); err != nil {
			return err
		}
		r.audit(target.ID, ActionAdopt, nil, "")
		r.c.q.add(r.k, nil) // reconcile the adopted link (unshare or break it)
	}
	return nil
}

// setFields names the fields with a value, for plans of creates.
func setFields(v Values) []string {
	var out []string
	for _, f := range SyncedFields {
		if v[f] != "" {
			out = append(out, string(f))
		}
	}
	return out
}
