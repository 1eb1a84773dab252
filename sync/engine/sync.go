package engine

import (
	"context"
	"fmt"
	"maps"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/store"
)

// syncFields merges the synced fields three ways and writes each side at
// most once. After a write, that side's base holds the value as the tracker
// stored it, so pmsync's own write never reads back as a change.
func (r *rec) syncFields(ctx context.Context) error {
	origin := r.item[r.origin]
	owner := effectiveOwner(origin, r.origin)
	var cur, base [2]Values
	for _, s := range []Side{PlatformSide, CustomerSide} {
		cur[s] = values(r.c, r.item[s], s, r.origin)
		base[s] = toValues(linkSide(r.link, s).Base)
		r.readAt[s], r.seenAt[s] = r.item[s].UpdatedAt, linkSide(r.link, s).UpdatedAt
		r.readCount[s] = r.item[s].CommentCount
		r.changed[s] = !maps.Equal(cur[s], base[s])
	}
	decisions := Merge(base, cur, r.origin, sideOf(owner))
	var patch [2]connectors.Patch
	var fields [2][]Field
	var conflicts []Decision
	for _, d := range decisions {
		if d.Conflict {
			conflicts = append(conflicts, d)
		}
		if d.Write {
			setPatch(&patch[d.Target], d.Field, d.Value)
			fields[d.Target] = append(fields[d.Target], d.Field)
		}
	}
	next := [2]Values{copyValues(cur[0]), copyValues(cur[1])}
	recorded := make([]bool, len(conflicts))
	for _, s := range []Side{PlatformSide, CustomerSide} {
		if patch[s].Empty() {
			continue
		}
		stored, err := r.update(ctx, s, patch[s], fields[s])
		if err != nil {
			return err
		}
		if stored == nil { // dry run
			continue
		}
		sv := values(r.c, stored, s, r.origin)
		for _, f := range fields[s] {
			next[s][f] = sv[f]
		}
		r.item[s] = stored
		// Keep what this write settled, should a later write of this
		// reconcile fail: the bases of the fields written (on both
		// sides) and the conflicts it resolved. The link is saved with
		// the error, and the next attempt does not see the write as a
		// change of that side.
		r.settle(s, fields[s], next)
		for i, d := range conflicts {
			if d.Target == s && !recorded[i] {
				r.conflict(d)
				recorded[i] = true
			}
		}
	}
	if r.dry {
		return nil
	}
	for i, d := range conflicts {
		if !recorded[i] {
			r.conflict(d)
		}
	}
	if r.link.Owner != owner {
		r.link.Owner = owner
		r.dirty = true
	}
	now := r.e.clock.Now()
	for _, s := range []Side{PlatformSide, CustomerSide} {
		sd := linkSide(r.link, s)
		before := *sd
		sd.Base = toFields(next[s], r.item[s].Assignee)
		observe(sd, r.item[s], now)
		if !sameSide(before, *sd) {
			r.dirty = true
		}
	}
	return nil
}

// settle records, after a write of fields to side s, the bases of those
// fields on both sides: the value side s now holds, and the value of the
// other side that it was merged from.
func (r *rec) settle(s Side, fields []Field, next [2]Values) {
	for _, side := range []Side{s, s.Other()} {
		sd := linkSide(r.link, side)
		base := toValues(sd.Base)
		for _, f := range fields {
			base[f] = next[side][f]
		}
		if nb := toFields(base, sd.Base.Assignee); nb != sd.Base {
			sd.Base = nb
			r.dirty = true
		}
	}
}

func copyValues(v Values) Values {
	out := make(Values, len(v))
	for k, x := range v {
		out[k] = x
	}
	return out
}

// conflict records a change that lost: counted on the link, in the audit
// log (the field's name, never its values) and in the metrics.
func (r *rec) conflict(d Decision) {
	r.link.Conflicts++
	r.link.LastConflictAt = r.e.clock.Now()
	r.dirty = true
	auth := d.Loser.Other()
	detail := fmt.Sprintf("%s changed %s; the %s value was kept", d.Loser, d.Field, auth)
	r.log.Info("conflict resolved", "field", string(d.Field), "loser", d.Loser.String())
	r.audit(r.side[d.Loser].ID, ActionConflict, []string{string(d.Field)}, detail)
	r.e.metrics.Conflict(r.c.ID, d.Field)
}

// sameSide compares two link sides, times by instant.
func sameSide(a, b store.Side) bool {
	return a.Ref == b.Ref && a.ID == b.ID && a.URL == b.URL && a.Base == b.Base &&
		a.UpdatedAt.Equal(b.UpdatedAt) && a.CreatedAt.Equal(b.CreatedAt) && a.ClosedAt.Equal(b.ClosedAt)
}
