package jira

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/pmsync/pmsync/connectors"
)

// maxTransitions bounds a workflow walk: no sane workflow needs more steps
// between two status categories (To Do → In Progress → Review → Done is 3).
const maxTransitions = 6

// transition is one entry of GET .../transitions?expand=transitions.fields.
// go-jira's Transition drops allowedValues, which choosing a resolution needs.
type transition struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	To   struct {
		ID             string `json:"id"`
		Name           string `json:"name"`
		StatusCategory struct {
			Key string `json:"key"`
		} `json:"statusCategory"`
	} `json:"to"`
	Fields map[string]transitionField `json:"fields"`
}

type transitionField struct {
	Required        bool   `json:"required"`
	HasDefaultValue bool   `json:"hasDefaultValue"`
	Name            string `json:"name"`
	// AllowedValues are objects ({"id","name"} for resolutions, {"value"}
	// for options) or, in some Server answers, plain strings.
	AllowedValues []json.RawMessage `json:"allowedValues"`
}

// allowedNames returns the names (or values) of a field's allowed values.
func (f transitionField) allowedNames() []string {
	out := make([]string, 0, len(f.AllowedValues))
	for _, raw := range f.AllowedValues {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			out = append(out, s)
			continue
		}
		var v struct{ Name, Value string }
		if json.Unmarshal(raw, &v) == nil {
			if v.Name == "" {
				v.Name = v.Value
			}
			out = append(out, v.Name)
		}
	}
	return out
}

// wfState is where an issue stands in its workflow.
type wfState struct {
	statusID, statusName, category, resolution string
}

func stateOf(r *rawIssue) wfState {
	var s wfState
	if r == nil || r.Fields == nil {
		return s
	}
	if st := r.Fields.Status; st != nil {
		s.statusID, s.statusName, s.category = st.ID, st.Name, st.StatusCategory.Key
	}
	if r.Fields.Resolution != nil {
		s.resolution = r.Fields.Resolution.Name
	}
	return s
}

// setStatus walks the workflow from the issue's status (read from cur, or
// fetched when cur is nil) to target, one available transition at a time,
// supplying a resolution where the transition takes one, and returns where
// the issue stands afterwards. Each step lists the transitions the issue
// offers now (they depend on the issue's status and on per-issue
// conditions, so they are not cached) and takes one. A workflow that
// offers no way there is an invalid-request error: retrying cannot help.
func (c *Connector) setStatus(ctx context.Context, op, key string, target connectors.Status, cur *rawIssue) (wfState, error) {
	if cur == nil {
		var err error
		if cur, err = c.getRaw(ctx, op, key); err != nil {
			return wfState{}, err
		}
	}
	st := stateOf(cur)
	visited := map[string]bool{}
	for range maxTransitions {
		if statusOf(st.category, st.resolution, c.wontDo) == target {
			return st, nil
		}
		visited[st.statusID] = true
		ts, err := c.transitions(ctx, op, key)
		if err != nil {
			return st, err
		}
		t, ok := chooseTransition(ts, st, target, visited, c.doneName)
		if !ok {
			return st, invalid(op, "the workflow offers no transition from %q toward %s (available: %s)", st.statusName, target, transitionNames(ts))
		}
		payload, res, err := c.transitionPayload(op, t, target)
		if err != nil {
			return st, err
		}
		resp, err := c.client.Issue.DoTransitionWithPayloadWithContext(ctx, key, payload)
		if err := c.check(ctx, op, resp, err); err != nil {
			return st, err
		}
		c.log.Debug("transitioned issue", "key", key, "transition", t.Name, "to", t.To.Name)
		st = wfState{statusID: t.To.ID, statusName: t.To.Name, category: t.To.StatusCategory.Key, resolution: res}
		if st.category == "done" && res == "" {
			st.resolution = "Done" // set by the workflow's post function
		}
	}
	return st, invalid(op, "status %s not reached after %d transitions", target, maxTransitions)
}

// transitions lists the transitions available from the issue's status.
func (c *Connector) transitions(ctx context.Context, op, key string) ([]transition, error) {
	var out struct {
		Transitions []transition `json:"transitions"`
	}
	path := "rest/api/2/issue/" + url.PathEscape(key) + "/transitions?expand=transitions.fields"
	if _, err := c.call(ctx, op, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return out.Transitions, nil
}

var categoryRank = map[string]int{"new": 0, "indeterminate": 1, "done": 2}

// chooseTransition picks the next step toward target. A transition into the
// target's category wins (for done and wont_do: the configured transition
// name first, then one whose screen takes a resolution). Otherwise the step
// goes to an unvisited status whose category is closest to the target's;
// when the issue is already in the right category with the wrong resolution
// (done ↔ wont_do) it first leaves that category.
func chooseTransition(ts []transition, cur wfState, target connectors.Status, visited map[string]bool, doneName string) (transition, bool) {
	want := categoryFor(target)
	var direct []transition
	for _, t := range ts {
		if t.To.StatusCategory.Key != want {
			continue
		}
		if want == "done" && cur.category == "done" && !hasField(t, "resolution") {
			continue // would not change the resolution
		}
		if t.To.ID == cur.statusID && want != "done" {
			continue
		}
		direct = append(direct, t)
	}
	if len(direct) > 0 {
		slices.SortStableFunc(direct, func(a, b transition) int { return directScore(b, target, doneName) - directScore(a, target, doneName) })
		return direct[0], true
	}
	best, bestDist := transition{}, 99
	for _, t := range ts {
		cat := t.To.StatusCategory.Key
		if visited[t.To.ID] || t.To.ID == cur.statusID {
			continue
		}
		if cat == "done" && want != "done" {
			continue // never close an issue on the way to reopening it
		}
		if cur.category == "done" && want == "done" && cat == "done" {
			continue // must leave done first to change the resolution
		}
		if d := abs(categoryRank[cat] - categoryRank[want]); d < bestDist {
			best, bestDist = t, d
		}
	}
	return best, bestDist < 99
}

func hasField(t transition, name string) bool {
	_, ok := t.Fields[name]
	return ok
}

// directScore ranks transitions into the target category.
func directScore(t transition, target connectors.Status, doneName string) int {
	score := 0
	if target.Closed() && doneName != "" && strings.EqualFold(t.Name, doneName) {
		score += 100
	}
	if target.Closed() && hasField(t, "resolution") {
		score += 10
	}
	if strings.EqualFold(t.Name, t.To.Name) {
		score++ // "Done" → Done rather than "Close" → Closed
	}
	return score
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func transitionNames(ts []transition) string {
	if len(ts) == 0 {
		return "none"
	}
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Name + " → " + t.To.Name
	}
	return strings.Join(names, ", ")
}

// transitionPayload builds the POST body for t: the resolution when the
// screen has one and the target is closed; an error when the screen
// requires a field pmsync cannot fill. It returns the resolution sent.
func (c *Connector) transitionPayload(op string, t transition, target connectors.Status) (map[string]any, string, error) {
	payload := map[string]any{"transition": map[string]string{"id": t.ID}}
	fields := map[string]any{}
	res := ""
	for name, f := range t.Fields {
		switch {
		case name == "resolution" && t.To.StatusCategory.Key == "done":
			res = c.resolutionFor(target, f.allowedNames())
			fields["resolution"] = map[string]string{"name": res}
		case f.Required && !f.HasDefaultValue:
			return nil, "", invalid(op, "transition %q requires field %q, which pmsync cannot fill", t.Name, name)
		}
	}
	if target == connectors.StatusWontDo && t.To.StatusCategory.Key == "done" && res == "" {
		return nil, "", invalid(op, "transition %q cannot take a resolution, so it cannot mark the issue won't do", t.Name)
	}
	if len(fields) > 0 {
		payload["fields"] = fields
	}
	return payload, res, nil
}

// resolutionFor picks the resolution for target among allowed (any when
// the screen lists none).
func (c *Connector) resolutionFor(target connectors.Status, allowed []string) string {
	pick := func(prefs []string) string {
		for _, p := range prefs {
			if len(allowed) == 0 {
				return p
			}
			for _, a := range allowed {
				if strings.EqualFold(a, p) {
					return a
				}
			}
		}
		return ""
	}
	if target == connectors.StatusWontDo {
		prefs := wontDoResolutions
		if c.wontDo != "" {
			prefs = append([]string{c.wontDo}, prefs...)
		}
		return pick(prefs)
	}
	if r := pick(doneResolutions); r != "" {
		return r
	}
	for _, a := range allowed {
		if !isWontDo(a, c.wontDo) {
			return a
		}
	}
	return "Done"
}
