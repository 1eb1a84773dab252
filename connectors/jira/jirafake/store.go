package jirafake

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// issue is one stored issue. Callers hold s.mu.
type issue struct {
	id          int
	num         int
	key         string
	summary     string
	description *string
	issueType   string
	status      string
	resolution  string
	resolvedAt  time.Time
	priority    string
	labels      []string
	due         string
	assignee    string // user handle, "" = unassigned
	reporter    string
	created     time.Time
	updated     time.Time
	comments    []*comment
	props       map[string]json.RawMessage
	links       []*remoteLink
	deleted     bool
	// index holds what Cloud's search index has seen of this issue: one
	// snapshot per committed write, pruned to those the lag still needs.
	index []snapshot
}

// snapshot is the indexed state of an issue at a time; nil issue means the
// issue was deleted.
type snapshot struct {
	at    time.Time
	issue *issue
}

type comment struct {
	id         int
	author     string
	updater    string
	body       string
	visibility *visibility
	created    time.Time
	updated    time.Time
}

type visibility struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

type remoteLink struct {
	id       int
	globalID string
	object   map[string]any
	raw      map[string]any
}

// clone copies the searchable state of an issue: its fields, properties
// and comments as they are now (a search answers the comment field from
// the index too), without remote links.
func (it *issue) clone() *issue {
	c := *it
	c.labels = slices.Clone(it.labels)
	c.comments = make([]*comment, len(it.comments))
	for i, cm := range it.comments {
		v := *cm
		c.comments[i] = &v
	}
	c.links = nil
	c.index = nil
	c.props = make(map[string]json.RawMessage, len(it.props))
	for k, v := range it.props {
		c.props[k] = v
	}
	return &c
}

// lookup finds a live issue by key or numeric id. Callers hold s.mu.
func (s *Server) lookup(keyOrID string) *issue {
	id, err := strconv.Atoi(keyOrID)
	if err != nil {
		var ok bool
		if id, ok = s.byKey[strings.ToUpper(keyOrID)]; !ok {
			return nil
		}
	}
	if it := s.issues[id]; it != nil && !it.deleted {
		return it
	}
	return nil
}

// touch records a committed change: updated time and an index snapshot.
// Callers hold s.mu.
func (s *Server) touch(it *issue) {
	it.updated = s.clock.Tick()
	s.indexLocked(it, it.clone())
}

// indexLocked appends a snapshot and prunes those the lag no longer needs.
func (s *Server) indexLocked(it *issue, snap *issue) {
	now := s.clock.Now()
	it.index = append(it.index, snapshot{at: now, issue: snap})
	cutoff := now.Add(-s.opts.SearchLag)
	keep := 0
	for i, v := range it.index {
		if !v.at.After(cutoff) {
			keep = i
		}
	}
	it.index = it.index[keep:]
}

// indexed returns the issue as the search index sees it now, nil when the
// index does not have it (not yet indexed, or deleted).
func (s *Server) indexed(it *issue) *issue {
	if s.opts.Flavor != Cloud || s.opts.SearchLag <= 0 {
		if it.deleted {
			return nil
		}
		return it
	}
	cutoff := s.clock.Now().Add(-s.opts.SearchLag)
	var seen *issue
	found := false
	for _, v := range it.index {
		if !v.at.After(cutoff) {
			seen, found = v.issue, true
		}
	}
	if !found {
		return nil
	}
	return seen
}

// statusOf returns the workflow status of an issue.
func (s *Server) statusOf(it *issue) Status {
	st, _ := s.opts.Workflow.status(it.status)
	return st
}

// userJSON renders a user as the flavour does; nil for an empty handle.
func (s *Server) userJSON(base, handle string) any {
	if handle == "" {
		return nil
	}
	u, ok := s.users[handle]
	if !ok {
		u = User{AccountID: handle, Name: handle, DisplayName: handle, TimeZone: "UTC"}
	}
	avatars := map[string]string{}
	for _, size := range []string{"48x48", "24x24", "16x16", "32x32"} {
		avatars[size] = "https://avatar.example/" + strings.ReplaceAll(handle, ":", "_") + "?s=" + size[:2]
	}
	if s.opts.Flavor == Cloud {
		return map[string]any{
			"self": base + "/rest/api/2/user?accountId=" + u.AccountID, "accountId": u.AccountID,
			"avatarUrls": avatars, "displayName": u.DisplayName, "active": true,
			"timeZone": u.TimeZone, "accountType": "atlassian",
		}
	}
	return map[string]any{
		"self": base + "/rest/api/2/user?username=" + u.Name, "name": u.Name, "key": "JIRAUSER" + u.Name,
		"emailAddress": u.Email, "avatarUrls": avatars, "displayName": u.DisplayName,
		"active": true, "timeZone": u.TimeZone,
	}
}

// jiraTime formats a time as Jira does: millisecond precision, numeric
// offset without a colon, in the server's zone (UTC here).
func jiraTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000-0700")
}

// statusJSON renders a workflow status with its category.
func statusJSON(base string, st Status) map[string]any {
	return map[string]any{
		"self": base + "/rest/api/2/status/" + st.ID, "description": "", "iconUrl": base + "/images/icons/statuses/generic.png",
		"name": st.Name, "id": st.ID, "statusCategory": categoryJSON(base, st.Category),
	}
}

func categoryJSON(base, cat string) map[string]any {
	id, color, name := 2, "blue-gray", "To Do"
	switch cat {
	case CategoryInProgress:
		id, color, name = 4, "yellow", "In Progress"
	case CategoryDone:
		id, color, name = 3, "green", "Done"
	}
	return map[string]any{"self": base + "/rest/api/2/statuscategory/" + strconv.Itoa(id), "id": id, "key": cat, "colorName": color, "name": name}
}

func (s *Server) priorityJSON(base, name string) any {
	for i, p := range s.opts.Priorities {
		if p == name {
			id := strconv.Itoa(i + 1)
			return map[string]any{"self": base + "/rest/api/2/priority/" + id, "iconUrl": base + "/images/icons/priorities/" + strings.ToLower(p) + ".svg", "name": p, "id": id}
		}
	}
	return nil
}

func (s *Server) resolutionJSON(base, name string) map[string]any {
	id := "10000"
	for i, r := range s.opts.Resolutions {
		if r == name {
			id = strconv.Itoa(10000 + i)
		}
	}
	return map[string]any{"self": base + "/rest/api/2/resolution/" + id, "id": id, "description": "", "name": name}
}

// fieldsJSON renders every field of an issue; want filters them (nil = all).
func (s *Server) fieldsJSON(base string, it *issue, want map[string]bool) map[string]any {
	all := map[string]any{
		"summary":     it.summary,
		"description": it.description,
		"issuetype": map[string]any{"self": base + "/rest/api/2/issuetype/10002", "id": "10002", "description": "A small, distinct piece of work.",
			"iconUrl": base + "/images/icons/issuetypes/task.svg", "name": it.issueType, "subtask": false, "avatarId": 10318},
		"project": map[string]any{"self": base + "/rest/api/2/project/10000", "id": "10000", "key": s.opts.Project,
			"name": s.opts.Project + " project", "projectTypeKey": "software"},
		"status":         statusJSON(base, s.statusOf(it)),
		"resolution":     nil,
		"resolutiondate": nil,
		"priority":       s.priorityJSON(base, it.priority),
		"labels":         nonNil(it.labels),
		"duedate":        nil,
		"assignee":       s.userJSON(base, it.assignee),
		"reporter":       s.userJSON(base, it.reporter),
		"creator":        s.userJSON(base, it.reporter),
		"created":        jiraTime(it.created),
		"updated":        jiraTime(it.updated),
	}
	if it.resolution != "" {
		all["resolution"] = s.resolutionJSON(base, it.resolution)
		all["resolutiondate"] = jiraTime(it.resolvedAt)
	}
	if it.due != "" {
		all["duedate"] = it.due
	}
	if want == nil || want["comment"] {
		all["comment"] = s.commentFieldJSON(base, it)
	}
	if want == nil {
		return all
	}
	out := map[string]any{}
	for k, v := range all {
		if want[k] {
			out[k] = v
		}
	}
	return out
}

// commentFieldJSON renders an issue's comment field as Jira does: the
// first comments (all of them unless Options.EmbeddedComments caps it),
// with total counting every one.
func (s *Server) commentFieldJSON(base string, it *issue) map[string]any {
	shown, max := it.comments, len(it.comments)
	if n := s.opts.EmbeddedComments; n > 0 {
		max = n
		shown = shown[:min(n, len(shown))]
	}
	cs := make([]any, 0, len(shown))
	for _, c := range shown {
		cs = append(cs, s.commentJSON(base, it, c))
	}
	return map[string]any{
		"self":     base + "/rest/api/2/issue/" + strconv.Itoa(it.id) + "/comment",
		"comments": cs, "maxResults": max, "total": len(it.comments), "startAt": 0,
	}
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// issueJSON renders an issue with the fields and properties asked for.
func (s *Server) issueJSON(base string, it *issue, want map[string]bool, props []string) map[string]any {
	out := map[string]any{
		"expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
		"id":     strconv.Itoa(it.id), "self": base + "/rest/api/2/issue/" + strconv.Itoa(it.id), "key": it.key,
		"fields": s.fieldsJSON(base, it, want),
	}
	if len(props) > 0 {
		p := map[string]any{}
		for _, k := range props {
			if k == "*all" {
				for pk, v := range it.props {
					p[pk] = v
				}
				continue
			}
			if v, ok := it.props[k]; ok {
				p[k] = v
			}
		}
		out["properties"] = p
	}
	return out
}

func (s *Server) commentJSON(base string, it *issue, c *comment) map[string]any {
	out := map[string]any{
		"self": base + "/rest/api/2/issue/" + strconv.Itoa(it.id) + "/comment/" + strconv.Itoa(c.id),
		"id":   strconv.Itoa(c.id), "author": s.userJSON(base, c.author), "body": c.body,
		"updateAuthor": s.userJSON(base, c.updater), "created": jiraTime(c.created), "updated": jiraTime(c.updated),
	}
	if c.visibility != nil {
		out["visibility"] = c.visibility
	}
	if s.opts.Flavor == Cloud {
		out["jsdPublic"] = true
	}
	return out
}

// parseList splits a comma-separated query value; nil for empty.
func parseList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// fieldSet turns a fields parameter into a filter; nil means all fields.
func fieldSet(fields []string) map[string]bool {
	if len(fields) == 0 {
		return nil
	}
	want := map[string]bool{}
	for _, f := range fields {
		switch f {
		case "*all", "*navigable":
			return nil
		case "id", "key":
		default:
			want[strings.TrimPrefix(f, "+")] = true
		}
	}
	return want
}
