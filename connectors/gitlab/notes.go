package gitlab

import (
	"context"
	"fmt"
	"strconv"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/pmsync/pmsync/connectors"
)

// toComment maps a note to a comment; restricted is set for internal
// notes and for every note on a confidential issue. System notes are not
// comments: callers drop them before.
func toComment(n *gl.Note, issueURL string, confidential bool) connectors.Comment {
	marker, body := connectors.ExtractMarker(n.Body)
	author := n.Author.Name
	if author == "" {
		author = n.Author.Username
	}
	cm := connectors.Comment{
		ID:         strconv.FormatInt(n.ID, 10),
		Author:     author,
		Body:       body,
		Marker:     marker,
		Restricted: n.Internal || n.Confidential || confidential,
	}
	if issueURL != "" {
		cm.URL = issueURL + "#note_" + cm.ID
	}
	if n.CreatedAt != nil {
		cm.CreatedAt = n.CreatedAt.UTC()
	}
	if n.UpdatedAt != nil {
		cm.UpdatedAt = n.UpdatedAt.UTC()
	}
	return cm
}

// ListComments reads the issue (for its confidential flag) and all its
// notes oldest first, leaving out system notes. The issue is read afresh,
// never taken from the cache Update uses: a note on an issue made
// confidential a moment ago must come back Restricted. The engine lists
// notes only when Item.CommentCount moved, so this read is paid only then.
func (c *Client) ListComments(ctx context.Context, key string) ([]connectors.Comment, error) {
	op := "gitlab: list notes of " + key
	_, iid, err := c.parseKey(ctx, key)
	if err != nil {
		return nil, err
	}
	is, err := c.getIssue(ctx, op, iid)
	if err != nil {
		return nil, err
	}
	opt := &gl.ListIssueNotesOptions{
		ListOptions: gl.ListOptions{PerPage: perPage},
		OrderBy:     gl.Ptr("created_at"), Sort: gl.Ptr("asc"),
	}
	var out []connectors.Comment
	var next []gl.RequestOptionFunc
	for page := 0; ; page++ {
		if page >= maxPages {
			return nil, connectors.Errorf(connectors.CodeTemporary, op, fmt.Errorf("more than %d pages", maxPages))
		}
		if err := c.guard(op); err != nil {
			return nil, err
		}
		notes, resp, err := c.api.Notes.ListIssueNotes(c.pid(), iid, opt, append([]gl.RequestOptionFunc{gl.WithContext(ctx)}, next...)...)
		if err != nil {
			return nil, c.fail(op, resp, err)
		}
		for _, n := range notes {
			if n.System {
				continue
			}
			out = append(out, toComment(n, is.WebURL, is.Confidential))
		}
		nextOpt, ok := gl.WithNext(resp)
		if !ok || len(notes) == 0 {
			return out, nil
		}
		next = []gl.RequestOptionFunc{nextOpt}
	}
}

// AddComment adds a note carrying marker ("" for none). The returned
// comment is Restricted when the issue was last seen confidential.
func (c *Client) AddComment(ctx context.Context, key, marker, body string) (*connectors.Comment, error) {
	op := "gitlab: add note to " + key
	_, iid, err := c.parseKey(ctx, key)
	if err != nil {
		return nil, err
	}
	if marker != "" && !connectors.ValidMarker(marker) {
		return nil, connectors.Errorf(connectors.CodeInvalid, op, fmt.Errorf("marker %q is not a valid marker id", marker))
	}
	text := connectors.EmbedMarker(body, marker)
	if text == "" {
		return nil, connectors.Errorf(connectors.CodeInvalid, op, fmt.Errorf("note body is empty"))
	}
	if err := c.guard(op); err != nil {
		return nil, err
	}
	n, resp, err := c.api.Notes.CreateIssueNote(c.pid(), iid, &gl.CreateIssueNoteOptions{Body: gl.Ptr(text)}, gl.WithContext(ctx))
	// A new note moves the issue's updated_at and user_notes_count, which
	// the cached issue does not show; so may a failed write that GitLab
	// committed.
	c.issues.drop(iid)
	if err != nil {
		return nil, c.fail(op, resp, err)
	}
	cm := toComment(n, "", c.knownConfidential(iid))
	return &cm, nil
}

// EditComment replaces the text of a note, keeping its marker. It reads
// the note first; system notes cannot be edited.
func (c *Client) EditComment(ctx context.Context, key, commentID, body string) (*connectors.Comment, error) {
	op := "gitlab: edit note " + commentID + " of " + key
	_, iid, err := c.parseKey(ctx, key)
	if err != nil {
		return nil, err
	}
	nid, err := strconv.ParseInt(commentID, 10, 64)
	if err != nil || nid <= 0 {
		return nil, connectors.Errorf(connectors.CodeInvalid, op, fmt.Errorf("comment id %q is not a note id", commentID))
	}
	if err := c.guard(op); err != nil {
		return nil, err
	}
	cur, resp, err := c.api.Notes.GetIssueNote(c.pid(), iid, nid, gl.WithContext(ctx))
	if err != nil {
		return nil, c.fail(op, resp, err)
	}
	if cur.System {
		return nil, connectors.Errorf(connectors.CodeInvalid, op, fmt.Errorf("note %d is a system note", nid))
	}
	marker, visible := connectors.ExtractMarker(cur.Body)
	if visible == body {
		cm := toComment(cur, "", c.knownConfidential(iid))
		return &cm, nil
	}
	text := connectors.EmbedMarker(body, marker)
	if text == "" {
		return nil, connectors.Errorf(connectors.CodeInvalid, op, fmt.Errorf("note body is empty"))
	}
	if err := c.guard(op); err != nil {
		return nil, err
	}
	n, resp, err := c.api.Notes.UpdateIssueNote(c.pid(), iid, nid, &gl.UpdateIssueNoteOptions{Body: gl.Ptr(text)}, gl.WithContext(ctx))
	c.issues.drop(iid) // the edit moved the issue's updated_at
	if err != nil {
		return nil, c.fail(op, resp, err)
	}
	cm := toComment(n, "", c.knownConfidential(iid))
	return &cm, nil
}
