package githubfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// GitHub's size limits, in characters.
const (
	maxBody  = 65536
	maxTitle = 256
)

const (
	docCreateIssue = "https://docs.github.com/rest/issues/issues#create-an-issue"
	docUpdateIssue = "https://docs.github.com/rest/issues/issues#update-an-issue"
	docListIssues  = "https://docs.github.com/rest/issues/issues#list-repository-issues"
)

var gone = func() *reply { return errorReply(http.StatusGone, "This issue was deleted", docRoot) }

// issueFor finds the live issue of the route, or the answer to give.
func (h handler) issueFor() (*issue, *reply) {
	is := h.rp.issue(h.rt.number)
	if is == nil {
		return nil, notFound()
	}
	if is.deleted {
		return nil, gone()
	}
	return is, nil
}

func (h handler) issues() *reply {
	switch h.r.Method {
	case http.MethodGet:
		return h.listIssues()
	case http.MethodPost:
		return h.createIssue()
	}
	return notFound()
}

func (h handler) issue() *reply {
	is, rep := h.issueFor()
	if rep != nil {
		return rep
	}
	switch h.r.Method {
	case http.MethodGet:
		return ok(http.StatusOK, h.u.issue(is))
	case http.MethodPatch:
		return h.editIssue(is)
	}
	return notFound()
}

// listIssues answers GET /repos/{o}/{r}/issues with state, sort,
// direction, since, labels and pagination. Pull requests are included.
func (h handler) listIssues() *reply {
	q := h.r.URL.Query()
	state := orDefault(q.Get("state"), "open")
	sortBy := orDefault(q.Get("sort"), "created")
	dir := orDefault(q.Get("direction"), "desc")
	if !slices.Contains([]string{"open", "closed", "all"}, state) ||
		!slices.Contains([]string{"created", "updated", "comments"}, sortBy) ||
		!slices.Contains([]string{"asc", "desc"}, dir) {
		return invalid("Issue", "state/sort/direction", "invalid", "", docListIssues)
	}
	since, err := parseSince(q.Get("since"))
	if err != nil {
		return invalid("Issue", "since", "invalid", err.Error(), docListIssues)
	}
	var want []string
	if l := q.Get("labels"); l != "" {
		want = strings.Split(l, ",")
	}
	var out []*issue
	for _, is := range h.rp.issues {
		if is.deleted || (state != "all" && is.state != state) || is.updated.Before(since) || !hasLabels(is, want) {
			continue
		}
		out = append(out, is)
	}
	sortIssues(out, sortBy, dir == "asc")
	lo, hi, rep := h.page(len(out))
	if rep != nil {
		return rep
	}
	list := make([]*issueJSON, 0, hi-lo)
	for _, is := range out[lo:hi] {
		list = append(list, h.u.issue(is))
	}
	res := ok(http.StatusOK, list)
	h.setLink(res, len(out))
	return res
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// parseSince reads an ISO 8601 time; GitHub compares at whole seconds.
func parseSince(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return stamp(t), nil
		}
	}
	return time.Time{}, fmt.Errorf("since %q is not an ISO 8601 time", v)
}

func hasLabels(is *issue, want []string) bool {
	for _, w := range want {
		if !slices.ContainsFunc(is.labels, func(l *label) bool { return strings.EqualFold(l.name, strings.TrimSpace(w)) }) {
			return false
		}
	}
	return true
}

func sortIssues(list []*issue, by string, asc bool) {
	key := func(is *issue) time.Time {
		if by == "updated" {
			return is.updated
		}
		return is.created
	}
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if by == "comments" {
			if len(a.comments) != len(b.comments) {
				return (len(a.comments) < len(b.comments)) == asc
			}
		} else if !key(a).Equal(key(b)) {
			return key(a).Before(key(b)) == asc
		}
		return (a.number < b.number) == asc
	})
}

// createIssue answers POST /repos/{o}/{r}/issues.
func (h handler) createIssue() *reply {
	fields, rep := h.decode()
	if rep != nil {
		return rep
	}
	title, _, isStr := str(fields, "title")
	if !isStr || strings.TrimSpace(title) == "" {
		return invalid("Issue", "title", "missing_field", "", docCreateIssue)
	}
	if rep := checkSizes(title, true, fields); rep != nil {
		return rep
	}
	now := stamp(h.f.clock.Now())
	is := &issue{id: h.f.st.id(), number: len(h.rp.issues) + 1, repo: h.rp, title: title,
		user: h.f.opts.Login, state: "open", created: now, updated: now}
	if body, present, isStr := str(fields, "body"); present && isStr {
		is.body = &body
	}
	if names, present, valid := strList(fields, "labels"); present {
		if !valid {
			return invalid("Issue", "labels", "invalid", "", docCreateIssue)
		}
		if rep := checkLabels("Issue", names); rep != nil {
			return rep
		}
		is.labels = h.labelsFor(names)
	}
	is.assignees = h.assigneesFrom(fields, nil)
	if raw, present := fields["milestone"]; present && !isNull(raw) {
		m, rep := h.milestoneFrom(raw)
		if rep != nil {
			return rep
		}
		is.milestone = m
	}
	h.rp.issues = append(h.rp.issues, is)
	h.f.indexIssue(is)
	h.f.noteCreate()
	h.f.emitIssue("opened", is.user, is, nil)
	res := ok(http.StatusCreated, h.u.issue(is))
	res.header.Set("Location", h.u.api+"repos/"+h.rp.fullName()+"/issues/"+fmt.Sprint(is.number))
	return res
}

// checkSizes applies GitHub's title and body limits.
func checkSizes(title string, hasTitle bool, fields map[string]json.RawMessage) *reply {
	if hasTitle && utf8.RuneCountInString(title) > maxTitle {
		return invalid("Issue", "title", "custom", fmt.Sprintf("title is too long (maximum is %d characters)", maxTitle), docCreateIssue)
	}
	if body, _, isStr := str(fields, "body"); isStr && utf8.RuneCountInString(body) > maxBody {
		return invalid("Issue", "body", "custom", fmt.Sprintf("body is too long (maximum is %d characters)", maxBody), docCreateIssue)
	}
	return nil
}

// assigneesFrom reads "assignees" (or the older "assignee"), dropping
// logins that cannot be assigned, as GitHub does silently. It returns cur
// when neither field was sent.
func (h handler) assigneesFrom(fields map[string]json.RawMessage, cur []string) []string {
	var names []string
	if list, present, valid := strList(fields, "assignees"); present && valid {
		names = list
	} else if raw, present := fields["assignee"]; present {
		var one string
		if !isNull(raw) && json.Unmarshal(raw, &one) == nil && one != "" {
			names = []string{one}
		}
	} else {
		return cur
	}
	out := []string{}
	for _, n := range names {
		if n != "" && h.f.assignable(n) && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func (f *Fake) assignable(login string) bool {
	if f.opts.Assignable == nil {
		return true
	}
	return slices.ContainsFunc(f.opts.Assignable, func(a string) bool { return strings.EqualFold(a, login) })
}

func (h handler) milestoneFrom(raw json.RawMessage) (*milestone, *reply) {
	var n int
	if err := json.Unmarshal(raw, &n); err == nil {
		for _, m := range h.rp.milestones {
			if m.number == n {
				return m, nil
			}
		}
	}
	return nil, invalid("Issue", "milestone", "invalid", "", docCreateIssue)
}

// editIssue answers PATCH /repos/{o}/{r}/issues/{n}: every sent field at
// once; labels and assignees replace the whole set.
func (h handler) editIssue(is *issue) *reply {
	fields, rep := h.decode()
	if rep != nil {
		return rep
	}
	title, hasTitle, titleStr := str(fields, "title")
	if hasTitle && (!titleStr || strings.TrimSpace(title) == "") {
		return invalid("Issue", "title", "missing_field", "", docUpdateIssue)
	}
	if rep := checkSizes(title, hasTitle, fields); rep != nil {
		return rep
	}
	state, hasState, _ := str(fields, "state")
	if hasState && state != "open" && state != "closed" {
		return invalid("Issue", "state", "invalid", "", docUpdateIssue)
	}
	reason, hasReason, reasonStr := str(fields, "state_reason")
	if hasReason && reasonStr && !slices.Contains([]string{"completed", "not_planned", "reopened", "duplicate"}, reason) {
		return invalid("Issue", "state_reason", "invalid", "", docUpdateIssue)
	}
	var labels []*label
	names, hasLabels, validLabels := strList(fields, "labels")
	if hasLabels {
		if !validLabels {
			return invalid("Issue", "labels", "invalid", "", docUpdateIssue)
		}
		if rep := checkLabels("Issue", names); rep != nil {
			return rep
		}
		labels = h.labelsFor(names)
	}
	ms, hasMS := is.milestone, false
	if raw, present := fields["milestone"]; present {
		hasMS = true
		ms = nil
		if !isNull(raw) {
			if ms, rep = h.milestoneFrom(raw); rep != nil {
				return rep
			}
		}
	}
	before := *is
	if hasTitle {
		is.title = title
	}
	if body, present, isStr := str(fields, "body"); present {
		if isStr {
			is.body = &body
		} else {
			is.body = nil
		}
	}
	h.applyState(is, state, hasState, reason, hasReason)
	if hasLabels {
		is.labels = labels
	}
	is.assignees = h.assigneesFrom(fields, is.assignees)
	if hasMS {
		is.milestone = ms
	}
	h.f.issueChanged(&before, is, h.f.opts.Login)
	return ok(http.StatusOK, h.u.issue(is))
}

func (h handler) applyState(is *issue, state string, hasState bool, reason string, hasReason bool) {
	now := stamp(h.f.clock.Now())
	switch {
	case hasState && state == "closed" && is.state == "open":
		is.state, is.closedAt, is.closedBy, is.reason = "closed", now, h.f.opts.Login, "completed"
	case hasState && state == "open" && is.state == "closed":
		is.state, is.reason = "open", "reopened"
	}
	if hasReason {
		switch {
		case reason == "reopened" && is.state == "open", reason != "reopened" && reason != "" && is.state == "closed":
			is.reason = reason
		}
	}
}
