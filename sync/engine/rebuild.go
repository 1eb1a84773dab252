package engine

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/store"
)

// RebuildResult says what Rebuild found.
type RebuildResult struct {
	Links    int // links recorded
	Comments int // comment links recorded
	// Orphans are mirrors whose origin no longer exists (or belongs to a
	// customer no longer configured): their links cannot be rebuilt.
	Orphans []connectors.Ref
}

// candidate is an origin item that could have a mirror with some marker.
type candidate struct {
	item   *connectors.Item
	origin Side
	c      *cust
}

// Rebuild reconstructs the links from the trackers alone, for a store that
// was lost: it lists every item of every tracker, recognises each mirror by
// its marker (recomputing the marker of every candidate origin, since a
// marker reveals nothing by itself), and records the link with the current
// values of both sides as bases, its comment links (from the comment
// markers) and its unshare notices. progress, when not nil, is called with
// the mirrors done so far and their total. Existing links with the same
// ids are replaced. It must not run together with Run or SyncOnce.
func (e *Engine) Rebuild(ctx context.Context, progress func(done, total int)) (*RebuildResult, error) {
	if !e.busy.CompareAndSwap(false, true) {
		return nil, ErrBusy
	}
	defer e.busy.Store(false)
	items := map[string][]connectors.Item{}
	for _, t := range e.trackerList() {
		ch, err := t.g.Changes(ctx, "")
		if err != nil {
			return nil, fmt.Errorf("engine: rebuild: list items of %s: %w", t.ID, err)
		}
		items[t.ID] = ch.Items
	}
	cands := map[string]candidate{}
	add := func(it *connectors.Item, origin Side, c *cust, target string) {
		cands[connectors.MarkerID(e.o.MarkerKey, it.Ref.Tracker, it.ID, target)] = candidate{item: it, origin: origin, c: c}
	}
	var mirrors []*connectors.Item
	for id, list := range items {
		for i := range list {
			it := &list[i]
			switch {
			case it.Marker != "":
				mirrors = append(mirrors, it)
			case id == PlatformID:
				for _, c := range e.custs {
					add(it, PlatformSide, c, c.ID)
				}
			default:
				add(it, CustomerSide, e.byID[id], PlatformID)
			}
		}
	}
	sort.Slice(mirrors, func(i, j int) bool { return mirrors[i].Ref.String() < mirrors[j].Ref.String() })
	res := &RebuildResult{}
	for i, m := range mirrors {
		if progress != nil {
			progress(i, len(mirrors))
		}
		cand, ok := cands[m.Marker]
		if !ok || !cand.mirrorsTo(m.Ref.Tracker) {
			res.Orphans = append(res.Orphans, m.Ref)
			continue
		}
		l, err := e.rebuildLink(ctx, cand, m)
		if err != nil {
			return res, fmt.Errorf("engine: rebuild: link of %s: %w", m.Ref, err)
		}
		err = e.st.PutLink(l)
		e.linkGen.Add(1)
		if err != nil {
			return res, fmt.Errorf("engine: rebuild: %w", err)
		}
		res.Links++
		res.Comments += len(l.Comments)
	}
	if progress != nil {
		progress(len(mirrors), len(mirrors))
	}
	e.log.Info("rebuilt links from markers", "links", res.Links, "comments", res.Comments, "orphans", len(res.Orphans))
	return res, nil
}

// mirrorsTo reports whether a mirror found in tracker could be this
// candidate's: a platform origin's mirror lives in the candidate customer's
// tracker, a customer origin's in the platform's.
func (c candidate) mirrorsTo(tracker string) bool {
	if c.origin == PlatformSide {
		return tracker == c.c.ID
	}
	return tracker == PlatformID
}

// rebuildLink builds the link of an origin and its mirror as a converged
// sync would have left it.
func (e *Engine) rebuildLink(ctx context.Context, cand candidate, mirror *connectors.Item) (*store.Link, error) {
	r := &rec{pass: &pass{e: e}, c: cand.c, origin: cand.origin, side: [2]*trk{e.platform, cand.c.tr}, log: e.log}
	r.item[cand.origin], r.item[cand.origin.Other()] = cand.item, mirror
	l := r.newLink(mirror.Marker, cand.item, mirror, values(cand.c, cand.item, cand.origin, cand.origin))
	r.link = l
	var lists [2][]connectors.Comment
	for _, s := range []Side{PlatformSide, CustomerSide} {
		cs, err := r.side[s].g.ListComments(ctx, r.item[s].Ref.Key)
		if err != nil {
			return nil, fmt.Errorf("list comments of the %s item: %w", s, err)
		}
		lists[s] = cs
	}
	for _, s := range []Side{PlatformSide, CustomerSide} {
		o := s.Other()
		byMarker := map[string]connectors.Comment{}
		for _, c := range lists[o] {
			if c.Marker != "" {
				byMarker[c.Marker] = c
			}
		}
		for i := range lists[s] {
			src := &lists[s][i]
			m, ok := byMarker[connectors.MarkerID(e.o.MarkerKey, r.side[s].ID, src.ID, r.side[o].ID)]
			if !ok {
				continue
			}
			body, shared := r.renderComment(s, src)
			if !shared {
				body = r.withdrawn(s, src)
			}
			l.Comments = append(l.Comments, store.CommentLink{Source: s.String(), SourceID: src.ID, MirrorID: m.ID, Hash: hashText(body)})
		}
	}
	ms := cand.origin.Other()
	notices := map[string]string{}
	for _, c := range lists[ms] {
		if c.Marker != "" {
			notices[c.Marker] = c.ID
		}
	}
	for n := 0; ; n++ {
		id, ok := notices[connectors.MarkerID(e.o.MarkerKey, "pmsync-notice", l.ID+"/unshare/"+strconv.Itoa(n), r.side[ms].ID)]
		if !ok {
			break
		}
		l.Comments = append(l.Comments, store.CommentLink{Source: noticeSource, SourceID: "unshare-" + strconv.Itoa(n), MirrorID: id})
	}
	if !r.selected(cand.item) && mirror.Status.Closed() {
		l.State = store.LinkUnshared
	}
	return l, nil
}
