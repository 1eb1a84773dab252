package githubfake

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const docComments = "https://docs.github.com/rest/issues/comments"

// changeIssue records a change made to is (before is its old value):
// updated_at moves, the search index gets the new version, and the
// matching webhook events go out. Nothing happens when nothing changed.
func (f *Fake) issueChanged(before, is *issue, actor string) {
	var events []hookEvent
	changes := map[string]any{}
	if before.title != is.title {
		changes["title"] = map[string]string{"from": before.title}
	}
	if deref(before.body) != deref(is.body) {
		changes["body"] = map[string]string{"from": deref(before.body)}
	}
	if len(changes) > 0 {
		events = append(events, hookEvent{action: "edited", extra: map[string]any{"changes": changes}})
	}
	if before.state != is.state {
		action := "closed"
		if is.state == "open" {
			action = "reopened"
		}
		events = append(events, hookEvent{action: action})
	}
	u := urlsFor(f.base)
	for _, l := range is.labels {
		if !slices.Contains(before.labels, l) {
			events = append(events, hookEvent{action: "labeled", extra: map[string]any{"label": u.label(is.repo, l)}})
		}
	}
	for _, l := range before.labels {
		if !slices.Contains(is.labels, l) {
			events = append(events, hookEvent{action: "unlabeled", extra: map[string]any{"label": u.label(is.repo, l)}})
		}
	}
	for _, a := range is.assignees {
		if !slices.Contains(before.assignees, a) {
			events = append(events, hookEvent{action: "assigned", extra: map[string]any{"assignee": u.user(a)}})
		}
	}
	for _, a := range before.assignees {
		if !slices.Contains(is.assignees, a) {
			events = append(events, hookEvent{action: "unassigned", extra: map[string]any{"assignee": u.user(a)}})
		}
	}
	if before.milestone != is.milestone {
		if is.milestone != nil {
			events = append(events, hookEvent{action: "milestoned", extra: map[string]any{"milestone": u.milestone(is.repo, is.milestone)}})
		} else {
			events = append(events, hookEvent{action: "demilestoned", extra: map[string]any{"milestone": u.milestone(is.repo, before.milestone)}})
		}
	}
	if before.reason != is.reason && before.state == is.state {
		events = append(events, hookEvent{action: "edited", extra: map[string]any{"changes": map[string]any{}}})
	}
	if before.locked != is.locked {
		action := "locked"
		if !is.locked {
			action = "unlocked"
		}
		events = append(events, hookEvent{action: action})
	}
	if len(events) == 0 {
		return
	}
	is.updated = stamp(f.clock.Now())
	f.indexIssue(is)
	for _, ev := range events {
		f.emitIssue(ev.action, actor, is, ev.extra)
	}
}

type hookEvent struct {
	action string
	extra  map[string]any
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// page reads per_page (default 30, at most 100) and page (from 1) and
// returns the slice bounds for n items.
func (h handler) page(n int) (lo, hi int, rep *reply) {
	per, pg, err := pageParams(h.r)
	if err != nil {
		return 0, 0, errorReply(http.StatusUnprocessableEntity, err.Error(), docRoot)
	}
	lo = min((pg-1)*per, n)
	return lo, min(lo+per, n), nil
}

func pageParams(r *http.Request) (per, pg int, err error) {
	per, pg = 30, 1
	q := r.URL.Query()
	if v := q.Get("per_page"); v != "" {
		if per, err = strconv.Atoi(v); err != nil || per < 1 {
			return 0, 0, fmt.Errorf("per_page %q is not a positive number", v)
		}
		per = min(per, 100)
	}
	if v := q.Get("page"); v != "" {
		if pg, err = strconv.Atoi(v); err != nil || pg < 1 {
			return 0, 0, fmt.Errorf("page %q is not a positive number", v)
		}
	}
	return per, pg, nil
}

// setLink adds GitHub's Link header (prev, next, last, first) for a list of
// n items. Links use the /repositories/{id}/ form, as GitHub's do.
func (h handler) setLink(rep *reply, n int) {
	per, pg, _ := pageParams(h.r)
	last := max(1, (n+per-1)/per)
	_, path := splitPrefix(h.r.URL.EscapedPath())
	if h.rt.repoName != "" {
		seg := strings.SplitN(strings.TrimPrefix(path, "/"), "/", 4)
		if len(seg) == 4 {
			path = fmt.Sprintf("/repositories/%d/%s", h.rp.id, seg[3])
		}
	}
	link := func(p int, rel string) string {
		q := h.r.URL.Query()
		q.Set("page", strconv.Itoa(p))
		return fmt.Sprintf(`<%s%s?%s>; rel="%s"`, strings.TrimSuffix(h.u.api, "/"), path, q.Encode(), rel)
	}
	var parts []string
	if pg > 1 {
		parts = append(parts, link(pg-1, "prev"))
	}
	if pg < last {
		parts = append(parts, link(pg+1, "next"), link(last, "last"))
	}
	if pg > 1 {
		parts = append(parts, link(1, "first"))
	}
	if len(parts) > 0 {
		rep.header.Set("Link", strings.Join(parts, ", "))
	}
}

// issueComments answers GET and POST /repos/{o}/{r}/issues/{n}/comments.
func (h handler) issueComments() *reply {
	is, rep := h.issueFor()
	if rep != nil {
		return rep
	}
	switch h.r.Method {
	case http.MethodGet:
		return h.listComments(is.comments, "created", "asc")
	case http.MethodPost:
		body, rep := h.commentBody()
		if rep != nil {
			return rep
		}
		return ok(http.StatusCreated, h.u.comment(h.f.addComment(is, h.f.opts.Login, body)))
	}
	return notFound()
}

// commentBody reads the body of a comment write, answering 422 when it is
// missing or empty.
func (h handler) commentBody() (string, *reply) {
	fields, rep := h.decode()
	if rep != nil {
		return "", rep
	}
	body, _, isStr := str(fields, "body")
	return body, checkComment(body, isStr)
}

func checkComment(body string, isStr bool) *reply {
	if !isStr || strings.TrimSpace(body) == "" {
		return invalid("IssueComment", "body", "missing_field", "", docComments)
	}
	if utf8.RuneCountInString(body) > maxBody {
		return invalid("IssueComment", "body", "custom", fmt.Sprintf("body is too long (maximum is %d characters)", maxBody), docComments)
	}
	return nil
}

// addComment stores a comment made through the API, counts it against
// the secondary limit and announces it. Called with f.mu held.
func (f *Fake) addComment(is *issue, user, body string) *comment {
	c := f.storeComment(is, user, body)
	f.noteCreate()
	return c
}

// storeComment stores a comment, bumps the issue and announces it. Called
// with f.mu held.
func (f *Fake) storeComment(is *issue, user, body string) *comment {
	now := stamp(f.clock.Now())
	c := &comment{id: f.st.id(), issue: is, user: user, body: body, created: now, updated: now}
	is.comments = append(is.comments, c)
	f.st.comments[c.id] = c
	is.updated = now
	f.indexIssue(is)
	f.emitComment("created", c, nil)
	return c
}

// repoComments answers GET /repos/{o}/{r}/issues/comments: every comment
// of the repository, by sort (created|updated) and direction, since.
func (h handler) repoComments() *reply {
	var all []*comment
	for _, is := range h.rp.issues {
		if !is.deleted {
			all = append(all, is.comments...)
		}
	}
	q := h.r.URL.Query()
	return h.listComments(all, orDefault(q.Get("sort"), "created"), orDefault(q.Get("direction"), "asc"))
}

func (h handler) listComments(list []*comment, sortBy, dir string) *reply {
	if (sortBy != "created" && sortBy != "updated") || (dir != "asc" && dir != "desc") {
		return invalid("IssueComment", "sort/direction", "invalid", "", docComments)
	}
	since, err := parseSince(h.r.URL.Query().Get("since"))
	if err != nil {
		return invalid("IssueComment", "since", "invalid", err.Error(), docComments)
	}
	var out []*comment
	for _, c := range list {
		if !c.deleted && !c.updated.Before(since) {
			out = append(out, c)
		}
	}
	key := func(c *comment) time.Time {
		if sortBy == "updated" {
			return c.updated
		}
		return c.created
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !key(out[i]).Equal(key(out[j])) {
			return key(out[i]).Before(key(out[j])) == (dir == "asc")
		}
		return (out[i].id < out[j].id) == (dir == "asc")
	})
	lo, hi, rep := h.page(len(out))
	if rep != nil {
		return rep
	}
	page := make([]commentJSON, 0, hi-lo)
	for _, c := range out[lo:hi] {
		page = append(page, h.u.comment(c))
	}
	res := ok(http.StatusOK, page)
	h.setLink(res, len(out))
	return res
}

// comment answers GET, PATCH and DELETE /repos/{o}/{r}/issues/comments/{id}.
func (h handler) comment() *reply {
	c := h.f.st.comments[h.rt.commentID]
	if c == nil || c.deleted || c.issue.deleted || c.issue.repo != h.rp {
		return notFound()
	}
	switch h.r.Method {
	case http.MethodGet:
		return ok(http.StatusOK, h.u.comment(c))
	case http.MethodPatch:
		body, rep := h.commentBody()
		if rep != nil {
			return rep
		}
		h.f.editComment(c, body)
		return ok(http.StatusOK, h.u.comment(c))
	case http.MethodDelete:
		c.deleted = true
		c.issue.updated = stamp(h.f.clock.Now())
		h.f.emitComment("deleted", c, nil)
		return &reply{status: http.StatusNoContent, header: http.Header{}}
	}
	return notFound()
}

func (f *Fake) editComment(c *comment, body string) {
	if c.body == body {
		return
	}
	from := c.body
	c.body = body
	c.updated = stamp(f.clock.Now())
	c.issue.updated = c.updated
	f.indexIssue(c.issue)
	f.emitComment("edited", c, map[string]any{"changes": map[string]any{"body": map[string]string{"from": from}}})
}
