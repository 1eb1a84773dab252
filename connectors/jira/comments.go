package jira

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	jira "github.com/andygrunwald/go-jira"

	"github.com/pmsync/pmsync/connectors"
)

// A comment pmsync writes carries its marker as "{anchor:pmsync-<id>}" on
// its own last line: the anchor macro renders nothing, survives edits in
// Jira's editor and is plain text in the API.
var anchorRE = regexp.MustCompile(`(?m)\n*\{anchor:pmsync-([a-z0-9][a-z0-9-]{0,63})\}[ \t]*\n?`)

// EmbedCommentMarker appends the marker anchor to a wiki body.
func EmbedCommentMarker(wiki, id string) string {
	if id == "" {
		return wiki
	}
	wiki = strings.TrimRight(wiki, "\n")
	if wiki == "" {
		return "{anchor:pmsync-" + id + "}"
	}
	return wiki + "\n\n{anchor:pmsync-" + id + "}"
}

// ExtractCommentMarker returns the marker id of a wiki body and the body
// without any marker anchor.
func ExtractCommentMarker(wiki string) (id, rest string) {
	m := anchorRE.FindStringSubmatch(wiki)
	if m == nil {
		return "", wiki
	}
	return m[1], strings.TrimRight(anchorRE.ReplaceAllString(wiki, "\n"), "\n")
}

// jiraDate is how Jira writes datetimes.
const jiraDate = "2006-01-02T15:04:05.000-0700"

func parseJiraTime(s string) time.Time {
	t, err := time.Parse(jiraDate, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// toComment maps a Jira comment; a comment with a visibility restriction
// is Restricted and must never cross to another tracker.
func (c *Connector) toComment(key string, jc *jira.Comment) connectors.Comment {
	id, wiki := ExtractCommentMarker(jc.Body)
	author := jc.Author.DisplayName
	for _, alt := range []string{jc.Author.Name, jc.Author.AccountID} {
		if author == "" {
			author = alt
		}
	}
	return connectors.Comment{
		ID: jc.ID, Author: author, Body: WikiToMarkdown(wiki), Marker: id,
		Restricted: jc.Visibility.Type != "" || jc.Visibility.Value != "",
		URL:        c.site + "/browse/" + key + "?focusedCommentId=" + jc.ID,
		CreatedAt:  parseJiraTime(jc.Created), UpdatedAt: parseJiraTime(jc.Updated),
	}
}

// ListComments returns every comment of an issue, oldest first, following
// startAt pages (go-jira has no paged comment list).
func (c *Connector) ListComments(ctx context.Context, key string) ([]connectors.Comment, error) {
	op := c.op("list comments of %s", key)
	if err := checkKey(op, key); err != nil {
		return nil, err
	}
	var out []connectors.Comment
	for start := 0; ; {
		var page struct {
			StartAt  int             `json:"startAt"`
			Total    int             `json:"total"`
			Comments []*jira.Comment `json:"comments"`
		}
		path := "rest/api/2/issue/" + url.PathEscape(key) + "/comment?orderBy=created&maxResults=" + strconv.Itoa(pageSize) + "&startAt=" + strconv.Itoa(start)
		if _, err := c.call(ctx, op, http.MethodGet, path, nil, &page); err != nil {
			return nil, err
		}
		for _, jc := range page.Comments {
			out = append(out, c.toComment(key, jc))
		}
		start = page.StartAt + len(page.Comments)
		if len(page.Comments) == 0 || start >= page.Total {
			return out, nil
		}
	}
}

// AddComment adds a comment carrying marker ("" for none).
func (c *Connector) AddComment(ctx context.Context, key, marker, body string) (*connectors.Comment, error) {
	op := c.op("add comment to %s", key)
	if err := checkKey(op, key); err != nil {
		return nil, err
	}
	if marker != "" && !connectors.ValidMarker(marker) {
		return nil, invalid(op, "marker %q is not a valid marker id", marker)
	}
	if strings.TrimSpace(body) == "" {
		return nil, invalid(op, "comment body is empty")
	}
	jc, resp, err := c.client.Issue.AddCommentWithContext(ctx, key, &jira.Comment{Body: EmbedCommentMarker(MarkdownToWiki(body), marker)})
	if err := c.check(ctx, op, resp, err); err != nil {
		c.cache.drop(key) // the comment may have been added
		return nil, err
	}
	c.cache.commentAdded(key)
	c.noteWrite(issueIDOfComment(jc.Self))
	out := c.toComment(key, jc)
	return &out, nil
}

// EditComment replaces a comment's body, keeping its marker and visibility.
func (c *Connector) EditComment(ctx context.Context, key, commentID, body string) (*connectors.Comment, error) {
	op := c.op("edit comment %s of %s", commentID, key)
	if err := checkKey(op, key); err != nil {
		return nil, err
	}
	if _, err := strconv.ParseUint(commentID, 10, 64); err != nil {
		return nil, invalid(op, "%q is not a Jira comment id", commentID)
	}
	if strings.TrimSpace(body) == "" {
		return nil, invalid(op, "comment body is empty")
	}
	path := "rest/api/2/issue/" + url.PathEscape(key) + "/comment/" + commentID
	var cur jira.Comment
	if _, err := c.call(ctx, op, http.MethodGet, path, nil, &cur); err != nil {
		return nil, err
	}
	marker, _ := ExtractCommentMarker(cur.Body)
	req := map[string]any{"body": EmbedCommentMarker(MarkdownToWiki(body), marker)}
	if cur.Visibility.Type != "" {
		req["visibility"] = cur.Visibility
	}
	var jc jira.Comment
	if _, err := c.call(ctx, op, http.MethodPut, path, req, &jc); err != nil {
		return nil, err
	}
	c.noteWrite(issueIDOfComment(jc.Self))
	out := c.toComment(key, &jc)
	return &out, nil
}

var commentSelfRE = regexp.MustCompile(`/rest/api/[23]/issue/([0-9]+)/comment/`)

// issueIDOfComment reads the issue id out of a comment's self URL; old
// Server webhooks name the issue only there.
func issueIDOfComment(self string) string {
	if m := commentSelfRE.FindStringSubmatch(self); m != nil {
		return m[1]
	}
	return ""
}

var errNoIssue = errors.New("the delivery names no issue")
