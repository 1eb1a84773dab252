package gitlab

import (
	"context"
	"fmt"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/pmsync/pmsync/connectors"
)

// Get reads one issue by key. It always asks GitLab; the answer is kept
// for a following Update (see Update).
func (c *Client) Get(ctx context.Context, key string) (*connectors.Item, error) {
	path, iid, err := c.parseKey(ctx, key)
	if err != nil {
		return nil, err
	}
	is, err := c.getIssue(ctx, "gitlab: get "+key, iid)
	if err != nil {
		return nil, err
	}
	return c.labels.toItem(c.id, path, is), nil
}

func (c *Client) getIssue(ctx context.Context, op string, iid int64) (*gl.Issue, error) {
	if err := c.guard(op); err != nil {
		return nil, err
	}
	is, resp, err := c.api.Issues.GetIssue(c.pid(), iid, gl.WithContext(ctx))
	if err != nil {
		c.issues.drop(iid)
		return nil, c.fail(op, resp, err)
	}
	c.seen(is)
	return is, nil
}

// Create makes a new issue carrying marker in a hidden comment at the end
// of its description. GitLab cannot create a closed issue: an item that is
// already done or wont_do is closed by a second request.
func (c *Client) Create(ctx context.Context, marker string, it *connectors.Item) (*connectors.Item, error) {
	path, err := c.projectPath(ctx)
	if err != nil {
		return nil, err
	}
	op := "gitlab: create issue in " + path
	if err := validateItem(it); err != nil {
		return nil, connectors.Errorf(connectors.CodeInvalid, op, err)
	}
	if marker != "" && !connectors.ValidMarker(marker) {
		return nil, connectors.Errorf(connectors.CodeInvalid, op, fmt.Errorf("marker %q is not a valid marker id", marker))
	}
	labels := gl.LabelOptions(c.labels.createLabels(it))
	opt := &gl.CreateIssueOptions{
		Title:       gl.Ptr(it.Title),
		Description: gl.Ptr(connectors.EmbedMarker(it.Description, marker)),
		Labels:      &labels,
	}
	if it.Due != "" {
		d, _ := time.Parse(time.DateOnly, it.Due) // validated
		opt.DueDate = gl.Ptr(gl.ISOTime(d))
	}
	if it.Assignee != "" {
		uid, err := c.userID(ctx, it.Assignee)
		if err != nil {
			return nil, err
		}
		opt.AssigneeIDs = &[]int64{uid}
	}
	if err := c.guard(op); err != nil {
		return nil, err
	}
	is, resp, err := c.api.Issues.CreateIssue(c.pid(), opt, gl.WithContext(ctx))
	if err != nil {
		return nil, c.fail(op, resp, err)
	}
	c.seen(is)
	c.log.Info("created issue", "key", c.keyOf(path, is.IID))
	if it.Status.Closed() {
		is, err = c.put(ctx, "gitlab: close new issue "+c.keyOf(path, is.IID), is.IID, &gl.UpdateIssueOptions{StateEvent: gl.Ptr("close")})
		if err != nil {
			return nil, connectors.Sent(err)
		}
	}
	return c.labels.toItem(c.id, path, is), nil
}

// Update computes the change from the issue as it stands and sends it as
// one PUT (title, description with the marker kept, due_date,
// state_event, label deltas, assignee_ids), and returns the PUT's answer,
// which is the issue as stored: there is no read after the write. When
// the issue already has the patched values no write is made.
//
// "As it stands" is the issue of the last GitLab answer that carried it
// (a Get, a Changes or FindByMarker page, a Create or an earlier Update)
// when that answer arrived at most issueCacheMaxAge (10 s) ago, else a
// fresh GET. The engine reads the mirror with Get right before it
// updates, so a field change costs that GET and the PUT. The price is a
// wider read-modify-write window: GitLab has no conditional update, so
// even with a read just before the PUT a person's edit in between is
// planned against; with a cached issue the window reaches back to that
// answer, up to 10 s. What an edit in the window can do: a field the
// patch sets to the value the stale issue already had is not sent (the
// person's new value stays, and the engine sees it at its next read);
// label deltas remove the stale labels of the categories the patch
// touches, so a label of such a category a person added in the window
// survives next to the pmsync one on GitLab Free (Premium's scoped labels
// keep one per scope); a close or reopen is planned from the stale state.
// Fields the patch does not set are never sent, and the marker is stable,
// so nothing else of a person's edit is lost. When nothing needs sending,
// the item returned is the cached issue, as old as its answer. An
// authenticated webhook
// for the issue, a note written through this connector and a failed read
// or write drop the cached issue.
func (c *Client) Update(ctx context.Context, key string, p connectors.Patch) (*connectors.Item, error) {
	op := "gitlab: update " + key
	if err := validatePatch(p); err != nil {
		return nil, connectors.Errorf(connectors.CodeInvalid, op, err)
	}
	if p.Empty() {
		return nil, nil
	}
	path, iid, err := c.parseKey(ctx, key)
	if err != nil {
		return nil, err
	}
	cur, ok := c.issues.get(iid, c.now())
	if !ok {
		if cur, err = c.getIssue(ctx, op, iid); err != nil {
			return nil, err
		}
	}
	assignees, err := c.assigneeChange(ctx, cur, p.Assignee)
	if err != nil {
		return nil, err
	}
	opt := c.labels.planUpdate(cur, p, assignees)
	if opt == nil {
		return c.labels.toItem(c.id, path, cur), nil
	}
	is, err := c.put(ctx, op, iid, opt)
	if err != nil {
		return nil, err
	}
	return c.labels.toItem(c.id, path, is), nil
}

func (c *Client) put(ctx context.Context, op string, iid int64, opt *gl.UpdateIssueOptions) (*gl.Issue, error) {
	if err := c.guard(op); err != nil {
		return nil, err
	}
	is, resp, err := c.api.Issues.UpdateIssue(c.pid(), iid, opt, gl.WithContext(ctx))
	if err != nil {
		// The write may have been committed (a lost answer) or refused
		// because the issue is not what we thought: read it next time.
		c.issues.drop(iid)
		return nil, c.fail(op, resp, err)
	}
	c.seen(is)
	return is, nil
}

// assigneeChange returns the assignee_ids to send for want, or nil when
// the issue's first assignee already is want.
func (c *Client) assigneeChange(ctx context.Context, cur *gl.Issue, want *string) (*[]int64, error) {
	if want == nil {
		return nil, nil
	}
	have := ""
	if len(cur.Assignees) > 0 && cur.Assignees[0] != nil {
		have = cur.Assignees[0].Username
	}
	if strings.EqualFold(have, *want) {
		return nil, nil
	}
	if *want == "" {
		return &[]int64{0}, nil // GitLab: 0 unassigns everyone
	}
	uid, err := c.userID(ctx, *want)
	if err != nil {
		return nil, err
	}
	return &[]int64{uid}, nil
}

// userID looks a username up once (GET /users?username=) and caches it.
func (c *Client) userID(ctx context.Context, username string) (int64, error) {
	k := strings.ToLower(username)
	c.usersMu.Lock()
	id, ok := c.users[k]
	c.usersMu.Unlock()
	if ok {
		return id, nil
	}
	op := "gitlab: look up user " + username
	if err := c.guard(op); err != nil {
		return 0, err
	}
	us, resp, err := c.api.Users.ListUsers(&gl.ListUsersOptions{Username: gl.Ptr(username)}, gl.WithContext(ctx))
	if err != nil {
		return 0, c.fail(op, resp, err)
	}
	for _, u := range us {
		if strings.EqualFold(u.Username, username) {
			c.usersMu.Lock()
			c.users[k] = u.ID
			c.usersMu.Unlock()
			return u.ID, nil
		}
	}
	return 0, connectors.Errorf(connectors.CodeInvalid, op, fmt.Errorf("no GitLab user %q", username))
}
