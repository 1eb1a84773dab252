package jirafake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

func (s *Server) handleTransitions(w http.ResponseWriter, r *http.Request, key string) {
	it := s.lockIssue(w, key)
	if it == nil {
		return
	}
	defer s.mu.Unlock()
	base := baseURL(r)
	withFields := strings.Contains(r.URL.Query().Get("expand"), "transitions.fields")
	list := []any{}
	for _, t := range s.opts.Workflow.available(it.status) {
		to, _ := s.opts.Workflow.status(t.To)
		tj := map[string]any{"id": t.ID, "name": t.Name, "to": statusJSON(base, to)}
		if s.opts.Flavor == Cloud {
			tj["hasScreen"] = t.Screen
			tj["isGlobal"] = len(t.From) == 0
			tj["isInitial"] = false
			tj["isAvailable"] = true
			tj["isConditional"] = false
			tj["isLooped"] = false
		}
		if withFields {
			fields := map[string]any{}
			if t.Screen {
				fields["resolution"] = s.resolutionField(base, t.RequireResolution)
			}
			tj["fields"] = fields
		}
		list = append(list, tj)
	}
	writeJSON(w, http.StatusOK, map[string]any{"expand": "transitions", "transitions": list})
}

func (s *Server) resolutionField(base string, required bool) map[string]any {
	allowed := make([]any, 0, len(s.opts.Resolutions))
	for _, name := range s.opts.Resolutions {
		allowed = append(allowed, s.resolutionJSON(base, name))
	}
	return map[string]any{
		"required": required, "schema": map[string]any{"type": "resolution", "system": "resolution"},
		"name": "Resolution", "key": "resolution", "hasDefaultValue": false, "operations": []string{"set"},
		"allowedValues": allowed,
	}
}

// transitionBody is the body of POST .../transitions.
type transitionBody struct {
	Transition struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"transition"`
	Fields map[string]json.RawMessage `json:"fields"`
	Update struct {
		Comment []struct {
			Add struct {
				Body string `json:"body"`
			} `json:"add"`
		} `json:"comment"`
	} `json:"update"`
}

func (s *Server) handleDoTransition(w http.ResponseWriter, r *http.Request, key string) {
	var body transitionBody
	if !decodeBody(w, r, &body, "Can not deserialize the transition: the body is not valid JSON.") {
		return
	}
	it := s.lockIssueForWrite(w, key)
	if it == nil {
		return
	}
	defer s.mu.Unlock()
	var t *Transition
	for _, c := range s.opts.Workflow.available(it.status) {
		if c.ID == body.Transition.ID {
			t = &c
			break
		}
	}
	if t == nil {
		jiraError(w, http.StatusBadRequest, []string{fmt.Sprintf("Transition id '%s' is not valid for this issue.", body.Transition.ID)}, nil)
		return
	}
	resolution, errs := s.transitionFields(t, body.Fields)
	if len(errs) > 0 {
		jiraError(w, http.StatusBadRequest, nil, errs)
		return
	}
	s.transitionLocked(baseURL(r), it, t, resolution)
	for _, c := range body.Update.Comment {
		if c.Add.Body != "" {
			s.addCommentLocked(baseURL(r), it, s.handle(s.opts.Me), c.Add.Body, nil)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// transitionFields validates the screen fields of a transition and returns
// the resolution to set.
func (s *Server) transitionFields(t *Transition, fields map[string]json.RawMessage) (string, map[string]string) {
	errs := map[string]string{}
	resolution := ""
	for name, raw := range fields {
		if name != "resolution" || !t.Screen {
			errs[name] = notOnScreen(name)
			continue
		}
		r, ok := s.namedResolution(raw)
		if !ok {
			errs[name] = "Could not find a resolution with the given id or name."
			continue
		}
		resolution = r
	}
	if t.RequireResolution && resolution == "" && errs["resolution"] == "" {
		errs["resolution"] = "Resolution is required."
	}
	return resolution, errs
}

func (s *Server) namedResolution(raw json.RawMessage) (string, bool) {
	var v struct{ Name, ID string }
	if json.Unmarshal(raw, &v) != nil {
		return "", false
	}
	for i, name := range s.opts.Resolutions {
		if v.Name == name || (v.ID != "" && v.ID == fmt.Sprint(10000+i)) {
			return name, true
		}
	}
	return "", false
}

// transitionLocked moves an issue along t. A done status always carries a
// resolution ("Done" by post function when none was given); leaving the done
// category clears it.
func (s *Server) transitionLocked(base string, it *issue, t *Transition, resolution string) {
	to, _ := s.opts.Workflow.status(t.To)
	fromStatus, fromRes := it.status, it.resolution
	it.status = to.Name
	if to.Category == CategoryDone {
		if resolution == "" {
			resolution = "Done"
		}
		it.resolution = resolution
		it.resolvedAt = s.clock.Now().Add(time.Millisecond)
	} else {
		it.resolution = ""
		it.resolvedAt = time.Time{}
	}
	s.touch(it)
	fromSt, _ := s.opts.Workflow.status(fromStatus)
	log := []changelogItem{{Field: "status", FieldType: "jira", FieldID: "status",
		From: &fromSt.ID, FromString: &fromStatus, To: &to.ID, ToString: &to.Name}}
	if fromRes != it.resolution {
		item := changelogItem{Field: "resolution", FieldType: "jira", FieldID: "resolution"}
		if fromRes != "" {
			item.FromString = &fromRes
		}
		if it.resolution != "" {
			item.ToString = &it.resolution
		}
		log = append(log, item)
	}
	s.emitIssue(base, "jira:issue_updated", "issue_generic", it, log)
}
