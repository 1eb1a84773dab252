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
// It works from the issue as last read when that read is fresh (see
// cache.go): the engine's Get just before is enough, so a field change
// costs exactly the PUT and a status change the transition calls. Without
// a fresh read it reads the issue first. The item returned is that read
// with p applied, as a Get would map it; since Jira's edit and transition
// answers carry no issue, its UpdatedAt is the read's plus one millisecond,
// a lower bound of the write's real time (the next Changes brings the
// real one). One exception: clearing the priority makes Jira apply the
// project's default, which pmsync cannot know, so that update reads the
// issue back. An empty patch makes no request and returns nil.
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
	readAt := c.now()
	e := c.cache.get(readAt, key)
	var cur *rawIssue
	if e != nil {
		cur, readAt = e.raw, e.at
	} else {
		var err error
		if cur, err = c.getRaw(ctx, op, key); err != nil {
			return nil, err
		}
	}
	curItem, err := c.item(op, cur)
	if err != nil {
		return nil, err
	}
	next, wrote := withFields(cur), false
	if fields := c.patchFields(p, curItem, cur.Fields.Labels); fields != nil {
		resp, err := c.client.Issue.UpdateIssueWithContext(ctx, key, map[string]any{"fields": fields})
		if err := c.check(ctx, op, resp, err); err != nil {
			c.cache.drop(key) // it may have been applied
			return nil, err
		}
		c.noteWrite(curItem.ID)
		c.applyPatch(next.Fields, p, fields)
		wrote = true
	}
	if p.Status != nil && *p.Status != curItem.Status {
		st, err := c.setStatus(ctx, op, key, *p.Status, cur)
		if err != nil {
			c.cache.drop(key)
			return nil, err
		}
		c.noteWrite(curItem.ID)
		applyState(next.Fields, st)
		wrote = true
	}
	if !wrote {
		return curItem, nil // the issue already was as p says
	}
	if p.Priority != nil && *p.Priority == "" {
		r, err := c.getRaw(ctx, op, key) // Jira chose the default priority
		if err != nil {
			return nil, err
		}
		return c.item(op, r)
	}
	next.Fields.Updated = jira.Time(time.Time(cur.Fields.Updated).Add(time.Millisecond))
	c.cache.put(readAt, next)
	return c.item(op, next)
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
