package jira

import (
	"context"
	"time"

	jira "github.com/andygrunwald/go-jira"

	"github.com/pmsync/pmsync/connectors"
)

// Update applies p with one PUT for all fields (Jira: 204), then walks the
// workflow for a status change (per step: list the transitions, take one).
//
// When the issue's last read is fresh (see cache.go), as after the
// engine's Get, Update works from it: a field change costs exactly the PUT
// and a status change the transition calls. The item returned is that read
// with p applied, as a Get would map it; Jira's edit and transition
// answers carry no issue, so its UpdatedAt is the read's, from before the
// write (the engine takes an UpdatedAt that did not move as its own
// write's echo). One exception: clearing the priority makes Jira apply the
// project's default, which pmsync cannot know, so that update reads the
// issue back.
//
// Without a fresh read, Update reads the issue first only when labels or
// the status need its current state, and reads it back after the write,
// so the item returned is exact, UpdatedAt included. An empty patch makes
// no request and returns nil.
func (c *Connector) Update(ctx context.Context, key string, p connectors.Patch) (*connectors.Item, error) {
	op := c.op("update %s", key)
	if err := checkKey(op, key); err != nil {
		return nil, err
	}
	if err := checkPatch(op, p); err != nil {
		return nil, err
	}
	if p.Empty() {
		return nil, nil
	}
	var e *cacheEntry
	if statusOnly(p) {
		// A status change sends no field from the read: the read only
		// plans the walk, and Jira checks each transition against the
		// issue as it is (a stale plan fails and the write is retried
		// from a fresh read). So any read will do, which spares a request
		// whenever the last one is older than the cache's age.
		e = c.cache.latest(key)
	} else {
		e = c.cache.get(c.now(), key)
	}
	if e == nil {
		return c.updateUnread(ctx, op, key, p)
	}
	_, next, err := c.write(ctx, op, key, p, e.raw)
	switch {
	case err != nil:
		return nil, err
	case next == nil:
		// The cached read says the issue already is as p says, but the
		// engine, which asked for p, read otherwise: the cache may hold
		// what an earlier write was expected to leave. Never skip a write
		// on a cached read alone: read the issue and decide again.
		return c.updateFresh(ctx, op, key, p)
	case p.Priority != nil && *p.Priority == "":
		return c.readBack(ctx, op, key) // Jira chose the default priority
	}
	c.cache.put(e.at, next)
	return c.item(op, next)
}

// statusOnly reports whether p changes the status and nothing else.
func statusOnly(p connectors.Patch) bool {
	q := p
	q.Status = nil
	return p.Status != nil && q.Empty()
}

// updateFresh is Update from a read made now.
func (c *Connector) updateFresh(ctx context.Context, op, key string, p connectors.Patch) (*connectors.Item, error) {
	cur, err := c.getRaw(ctx, op, key)
	if err != nil {
		return nil, err
	}
	curItem, next, err := c.write(ctx, op, key, p, cur)
	switch {
	case err != nil:
		return nil, err
	case next == nil:
		return curItem, nil // the issue already is as p says
	case p.Priority != nil && *p.Priority == "":
		return c.readBack(ctx, op, key)
	}
	c.cache.drop(key)
	return c.item(op, next)
}

// updateUnread is Update without a fresh read of the issue.
func (c *Connector) updateUnread(ctx context.Context, op, key string, p connectors.Patch) (*connectors.Item, error) {
	var cur *rawIssue
	if p.Kind != nil || p.Incident != nil || p.Owner != nil || p.Status != nil {
		var err error
		if cur, err = c.getRaw(ctx, op, key); err != nil {
			return nil, err
		}
	}
	curItem, next, err := c.write(ctx, op, key, p, cur)
	switch {
	case err != nil:
		return nil, err
	case next == nil:
		return curItem, nil
	}
	return c.readBack(ctx, op, key)
}

// readBack reads the issue after a write.
func (c *Connector) readBack(ctx context.Context, op, key string) (*connectors.Item, error) {
	r, err := c.getRaw(ctx, op, key)
	if err != nil {
		return nil, err
	}
	c.noteWrite(r.ID)
	return c.item(op, r)
}

// write sends the PUT and the transitions p needs, from cur (nil when p
// needs neither labels nor the status, which is then not read). It returns
// the issue as cur maps, and cur with p applied, nil when nothing was
// sent. A failed write drops the cached read: it may have been applied.
func (c *Connector) write(ctx context.Context, op, key string, p connectors.Patch, cur *rawIssue) (*connectors.Item, *rawIssue, error) {
	curItem, next := &connectors.Item{}, &rawIssue{Issue: jira.Issue{Fields: &jira.IssueFields{}}}
	var labels []string
	if cur != nil {
		var err error
		if curItem, err = c.item(op, cur); err != nil {
			return nil, nil, err
		}
		next, labels = withFields(cur), cur.Fields.Labels
	}
	wrote := false
	if fields := c.patchFields(p, curItem, labels); fields != nil {
		resp, err := c.client.Issue.UpdateIssueWithContext(ctx, key, map[string]any{"fields": fields})
		if err := c.check(ctx, op, resp, err); err != nil {
			c.cache.drop(key)
			return nil, nil, err
		}
		c.noteWrite(curItem.ID)
		c.applyPatch(next.Fields, p, fields)
		wrote = true
	}
	if p.Status != nil && *p.Status != curItem.Status {
		st, err := c.setStatus(ctx, op, key, *p.Status, cur)
		if err != nil {
			c.cache.drop(key)
			if wrote {
				err = connectors.Sent(err)
			}
			return nil, nil, err
		}
		c.noteWrite(curItem.ID)
		applyState(next.Fields, st)
		wrote = true
	}
	if !wrote {
		return curItem, nil, nil
	}
	return curItem, next, nil
}

// withFields copies r with its own copy of the fields, for applying a patch
// without touching r (a cache entry may hold it).
func withFields(r *rawIssue) *rawIssue {
	next := *r
	f := *r.Fields
	next.Fields = &f
	return &next
}

// applyPatch sets on f what the PUT of fields (built from p) stored: the
// same values, in the shapes a read returns them in.
func (c *Connector) applyPatch(f *jira.IssueFields, p connectors.Patch, fields map[string]any) {
	if p.Title != nil {
		f.Summary = *p.Title
	}
	if v, ok := fields["description"].(string); ok {
		f.Description = v
	} else if p.Description != nil {
		f.Description = ""
	}
	if p.Priority != nil && *p.Priority != "" {
		f.Priority = &jira.Priority{Name: c.prio[*p.Priority]}
	}
	if p.Due != nil {
		f.Duedate = jira.Date{}
		if d, err := time.Parse(time.DateOnly, *p.Due); err == nil {
			f.Duedate = jira.Date(d)
		}
	}
	if p.Assignee != nil {
		f.Assignee = nil
		switch {
		case *p.Assignee == "":
		case c.flavor == FlavorCloud:
			f.Assignee = &jira.User{AccountID: *p.Assignee}
		default:
			f.Assignee = &jira.User{Name: *p.Assignee}
		}
	}
	if labels, ok := fields["labels"].([]string); ok {
		f.Labels = labels
	}
}

// applyState sets the status and resolution the workflow walk reached.
func applyState(f *jira.IssueFields, st wfState) {
	f.Status = &jira.Status{ID: st.statusID, Name: st.statusName, StatusCategory: jira.StatusCategory{Key: st.category}}
	f.Resolution = nil
	if st.category == "done" && st.resolution != "" {
		f.Resolution = &jira.Resolution{Name: st.resolution}
	}
}
