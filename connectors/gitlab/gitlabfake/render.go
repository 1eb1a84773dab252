package gitlabfake

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// restTime renders a REST timestamp: ISO 8601 in UTC with milliseconds,
// "2026-03-02T09:00:00.001Z".
func restTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// hookTime renders a webhook timestamp the way GitLab's Issue and Note
// hooks do: "2026-03-02 09:00:00 UTC".
func hookTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) userJSONLocked(id int64) any {
	u := s.users[id]
	if u == nil {
		return nil
	}
	return map[string]any{
		"id": u.id, "username": u.username, "name": u.name, "state": "active",
		"avatar_url": nil, "web_url": s.URL() + "/" + u.username,
	}
}

func (s *Server) usersJSONLocked(ids []int64) []any {
	out := make([]any, 0, len(ids))
	for _, id := range ids {
		if u := s.userJSONLocked(id); u != nil {
			out = append(out, u)
		}
	}
	return out
}

func (s *Server) projectJSONLocked(p *project) map[string]any {
	web := s.URL() + "/" + p.path
	return map[string]any{
		"id": p.id, "name": p.name, "path": p.name, "path_with_namespace": p.path,
		"name_with_namespace": p.path, "web_url": web, "default_branch": "main",
		"visibility": "private", "issues_enabled": true,
		"http_url_to_repo": web + ".git", "description": "",
	}
}

func (s *Server) issueWebURL(is *issue) string {
	return s.URL() + "/" + is.proj.path + "/-/issues/" + strconv.FormatInt(is.iid, 10)
}

// issueJSONLocked renders an issue as GET /projects/:id/issues/:iid does.
func (s *Server) issueJSONLocked(is *issue) map[string]any {
	api := s.URL() + "/api/v4/projects/" + strconv.FormatInt(is.proj.id, 10) + "/issues/" + strconv.FormatInt(is.iid, 10)
	var assignee, closedBy, due any
	if len(is.assignees) > 0 {
		assignee = s.userJSONLocked(is.assignees[0])
	}
	if is.closedBy != 0 {
		closedBy = s.userJSONLocked(is.closedBy)
	}
	if is.due != "" {
		due = is.due
	}
	userNotes := 0
	for _, n := range is.notes {
		if !n.system {
			userNotes++
		}
	}
	labels := is.labels
	if labels == nil {
		labels = []string{}
	}
	iid := strconv.FormatInt(is.iid, 10)
	return map[string]any{
		"id": is.id, "iid": is.iid, "project_id": is.proj.id,
		"title": is.title, "description": is.description, "state": is.state,
		"created_at": restTime(is.createdAt), "updated_at": restTime(is.updatedAt),
		"closed_at": restTime(is.closedAt), "closed_by": closedBy,
		"labels": labels, "milestone": nil,
		"assignees": s.usersJSONLocked(is.assignees), "assignee": assignee,
		"author": s.userJSONLocked(is.authorID), "type": "ISSUE", "issue_type": "issue",
		"user_notes_count": userNotes, "merge_requests_count": 0, "upvotes": 0, "downvotes": 0,
		"due_date": due, "confidential": is.confidential, "discussion_locked": nil,
		"web_url": s.issueWebURL(is), "moved_to_id": nil, "severity": "UNKNOWN",
		"time_stats": map[string]any{
			"time_estimate": 0, "total_time_spent": 0,
			"human_time_estimate": nil, "human_total_time_spent": nil,
		},
		"task_completion_status": map[string]any{"count": 0, "completed_count": 0},
		"references":             map[string]any{"short": "#" + iid, "relative": "#" + iid, "full": is.proj.path + "#" + iid},
		"_links": map[string]any{
			"self": api, "notes": api + "/notes", "award_emoji": api + "/award_emoji",
			"project": s.URL() + "/api/v4/projects/" + strconv.FormatInt(is.proj.id, 10),
		},
	}
}

// noteJSONLocked renders a note as the notes API does.
func (s *Server) noteJSONLocked(is *issue, n *note) map[string]any {
	return map[string]any{
		"id": n.id, "type": nil, "body": n.body, "attachment": nil,
		"author":     s.userJSONLocked(n.authorID),
		"created_at": restTime(n.createdAt), "updated_at": restTime(n.updatedAt),
		"system": n.system, "noteable_id": is.id, "noteable_type": "Issue",
		"project_id": is.proj.id, "noteable_iid": is.iid, "resolvable": false,
		"confidential": n.internal, "internal": n.internal, "commands_changes": map[string]any{},
	}
}

func (s *Server) labelJSONLocked(l *label) map[string]any {
	return map[string]any{
		"id": l.id, "name": l.title, "color": l.color, "text_color": "#FFFFFF",
		"description": l.description, "open_issues_count": 0, "closed_issues_count": 0,
		"open_merge_requests_count": 0, "subscribed": false, "priority": nil, "is_project_label": true,
	}
}

// labelsJSONLocked renders labels as webhook label objects.
func (s *Server) labelsJSONLocked(p *project, names []string) []any {
	out := make([]any, 0, len(names))
	for _, n := range names {
		l := p.labels[n]
		if l == nil {
			continue
		}
		out = append(out, map[string]any{
			"id": l.id, "title": l.title, "color": l.color, "project_id": p.id,
			"created_at": hookTime(l.createdAt), "updated_at": hookTime(l.createdAt),
			"template": false, "description": nullIfEmpty(l.description), "type": "ProjectLabel", "group_id": nil,
		})
	}
	return out
}
