package gitlabfake

import (
	"strconv"
)

// emitIssueHookLocked queues an Issue Hook (or Confidential Issue Hook)
// for is to the project's hooks.
func (s *Server) emitIssueHookLocked(is *issue, actor *user, action string, changes map[string][2]any) {
	if !s.hasHooks(is.proj.id) {
		return
	}
	event, body := s.issuePayloadLocked(is, actor, action, changes)
	s.queueLocked(is.proj.id, event, body)
}

// emitNoteHookLocked queues a Note Hook (or Confidential Note Hook, for
// internal notes and notes on confidential issues).
func (s *Server) emitNoteHookLocked(is *issue, n *note, actor *user, action string) {
	if !s.hasHooks(is.proj.id) {
		return
	}
	event, body := s.notePayloadLocked(is, n, actor, action)
	s.queueLocked(is.proj.id, event, body)
}

func (s *Server) hookUserLocked(u *user) map[string]any {
	return map[string]any{
		"id": u.id, "name": u.name, "username": u.username,
		"avatar_url": "https://www.gravatar.com/avatar/00000000000000000000000000000000?s=80&d=identicon",
		"email":      "[REDACTED]",
	}
}

func (s *Server) hookProjectLocked(p *project) map[string]any {
	web := s.URL() + "/" + p.path
	ns := p.path
	if i := len(p.path) - len(p.name) - 1; i > 0 {
		ns = p.path[:i]
	}
	return map[string]any{
		"id": p.id, "name": p.name, "description": "", "web_url": web, "avatar_url": nil,
		"git_ssh_url": "git@gitlab.example.com:" + p.path + ".git", "git_http_url": web + ".git",
		"namespace": ns, "visibility_level": 0, "path_with_namespace": p.path,
		"default_branch": "main", "ci_config_path": nil, "homepage": web,
		"url": web + ".git", "ssh_url": "git@gitlab.example.com:" + p.path + ".git", "http_url": web + ".git",
	}
}

func (s *Server) hookRepositoryLocked(p *project) map[string]any {
	web := s.URL() + "/" + p.path
	return map[string]any{"name": p.name, "url": web + ".git", "description": "", "homepage": web}
}

// issueAttrsLocked is an issue's object_attributes as the hooks render it:
// timestamps in the "2006-01-02 15:04:05 UTC" form, labels as objects.
func (s *Server) issueAttrsLocked(is *issue) map[string]any {
	stateID := 1
	if is.state == "closed" {
		stateID = 2
	}
	var assigneeID any
	if len(is.assignees) > 0 {
		assigneeID = is.assignees[0]
	}
	assigneeIDs := is.assignees
	if assigneeIDs == nil {
		assigneeIDs = []int64{}
	}
	return map[string]any{
		"id": is.id, "iid": is.iid, "title": is.title, "description": is.description,
		"assignee_ids": assigneeIDs, "assignee_id": assigneeID, "author_id": is.authorID,
		"project_id": is.proj.id, "created_at": hookTime(is.createdAt), "updated_at": hookTime(is.updatedAt),
		"updated_by_id": nil, "last_edited_at": nil, "last_edited_by_id": nil, "relative_position": nil,
		"milestone_id": nil, "state_id": stateID, "confidential": is.confidential,
		"discussion_locked": nil, "due_date": nullIfEmpty(is.due), "moved_to_id": nil,
		"duplicated_to_id": nil, "time_estimate": 0, "total_time_spent": 0, "time_change": 0,
		"human_total_time_spent": nil, "human_time_estimate": nil, "human_time_change": nil,
		"weight": nil, "health_status": nil, "type": "Issue",
		"url": s.issueWebURL(is), "state": is.state, "severity": "unknown",
		"closed_at": hookTime(is.closedAt), "labels": s.labelsJSONLocked(is.proj, is.labels),
	}
}

// issuePayloadLocked renders an Issue Hook body and its event name.
func (s *Server) issuePayloadLocked(is *issue, actor *user, action string, changes map[string][2]any) (string, []byte) {
	event, kind := EventIssue, "issue"
	if is.confidential {
		event, kind = EventConfidentialIssue, "confidential_issue"
	}
	attrs := s.issueAttrsLocked(is)
	attrs["action"] = action
	ch := map[string]any{}
	for k, v := range changes {
		ch[k] = map[string]any{"previous": v[0], "current": v[1]}
	}
	assignees := []any{}
	for _, id := range is.assignees {
		if u := s.users[id]; u != nil {
			assignees = append(assignees, map[string]any{"id": u.id, "name": u.name, "username": u.username, "avatar_url": nil})
		}
	}
	body := mustJSON(map[string]any{
		"object_kind": "issue", "event_type": kind, "user": s.hookUserLocked(actor),
		"project": s.hookProjectLocked(is.proj), "object_attributes": attrs,
		"labels": s.labelsJSONLocked(is.proj, is.labels), "changes": ch,
		"repository": s.hookRepositoryLocked(is.proj), "assignees": assignees,
	})
	return event, body
}

// notePayloadLocked renders a Note Hook body and its event name. The
// note's timestamps use the hook form; the embedded issue uses ISO 8601,
// the same mix GitLab sends.
func (s *Server) notePayloadLocked(is *issue, n *note, actor *user, action string) (string, []byte) {
	event, kind := EventNote, "note"
	if n.internal || is.confidential {
		event, kind = EventConfidentialNote, "confidential_note"
	}
	issueObj := s.issueAttrsLocked(is)
	issueObj["created_at"] = restTime(is.createdAt)
	issueObj["updated_at"] = restTime(is.updatedAt)
	issueObj["closed_at"] = restTime(is.closedAt)
	body := mustJSON(map[string]any{
		"object_kind": "note", "event_type": kind, "user": s.hookUserLocked(actor),
		"project_id": is.proj.id, "project": s.hookProjectLocked(is.proj),
		"repository": s.hookRepositoryLocked(is.proj),
		"object_attributes": map[string]any{
			"id": n.id, "note": n.body, "noteable_type": "Issue", "author_id": n.authorID,
			"created_at": hookTime(n.createdAt), "updated_at": hookTime(n.updatedAt),
			"project_id": is.proj.id, "attachment": nil, "line_code": nil, "commit_id": "",
			"noteable_id": is.id, "system": n.system, "st_diff": nil, "internal": n.internal,
			"confidential": n.internal, "type": nil, "action": action, "description": n.body,
			"url": s.issueWebURL(is) + "#note_" + strconv.FormatInt(n.id, 10),
		},
		"issue": issueObj,
	})
	return event, body
}
