package jira

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/jira/jirafake"
)

// transitionIDs returns the transition ids POSTed in reqs, in order, and
// the resolutions they carried.
func transitionIDs(t *testing.T, reqs []recorded) (ids, resolutions []string) {
	t.Helper()
	for _, q := range matching(reqs, "POST", "/transitions") {
		var body struct {
			Transition struct{ ID string } `json:"transition"`
			Fields     struct {
				Resolution *struct{ Name string } `json:"resolution"`
			} `json:"fields"`
		}
		if err := json.Unmarshal([]byte(q.Body), &body); err != nil {
			t.Fatalf("transition body %q: %v", q.Body, err)
		}
		ids = append(ids, body.Transition.ID)
		if body.Fields.Resolution != nil {
			resolutions = append(resolutions, body.Fields.Resolution.Name)
		}
	}
	return ids, resolutions
}

func TestStatusWalksWorkflows(t *testing.T) {
	type step struct {
		to          connectors.Status
		transitions []string // ids, in order
		status      string   // Jira status afterwards
		resolution  string
	}
	tests := []struct {
		name     string
		workflow *jirafake.Workflow
		steps    []step
	}{
		{"two-step workflow whose done needs a resolution", jirafake.TwoStepWorkflow(), []step{
			{connectors.StatusDone, []string{"201", "203"}, "Done", "Done"},
			{connectors.StatusWontDo, []string{"204", "201", "203"}, "Done", "Won't Do"},
			{connectors.StatusOpen, []string{"204"}, "To Do", ""},
			{connectors.StatusInProgress, []string{"201"}, "In Progress", ""},
			{connectors.StatusInProgress, nil, "In Progress", ""},
		}},
		{"classic workflow", jirafake.ClassicWorkflow(), []step{
			{connectors.StatusWontDo, []string{"5"}, "Resolved", "Won't Do"},
			{connectors.StatusDone, []string{"2"}, "Closed", "Done"},
			{connectors.StatusInProgress, []string{"3", "4"}, "In Progress", ""},
			{connectors.StatusOpen, []string{"301"}, "Open", ""},
		}},
		{"simplified workflow", jirafake.DefaultWorkflow(), []step{
			{connectors.StatusDone, []string{"31"}, "Done", "Done"},
			{connectors.StatusWontDo, []string{"21", "31"}, "Done", "Won't Do"},
			{connectors.StatusInProgress, []string{"21"}, "In Progress", ""},
		}},
	}
	for _, tc := range tests {
		for _, fl := range flavors {
			e := newEnv(t, jirafake.Options{Flavor: fl, Workflow: tc.workflow}, nil)
			key := e.create(t, "walk", "walk the workflow").Ref.Key
			for _, s := range tc.steps {
				n := e.rec.count()
				got, err := connectors.SetStatus(ctxT(t), e.c, key, s.to)
				if err != nil {
					t.Fatalf("%s/%s: SetStatus %s: %v", tc.name, fl, s.to, err)
				}
				ids, res := transitionIDs(t, e.rec.since(n))
				st := e.issue(t, key)
				if got.Status != s.to || !slices.Equal(ids, s.transitions) || st.Status != s.status || st.Resolution != s.resolution {
					t.Errorf("%s/%s: SetStatus %s: got status %s via transitions %v (resolutions %v), Jira %q/%q; want %v, Jira %q/%q",
						tc.name, fl, s.to, got.Status, ids, res, st.Status, st.Resolution, s.transitions, s.status, s.resolution)
				}
			}
		}
	}
}

func TestStatusResolutionRequired(t *testing.T) {
	// The simulator refuses the two-step workflow's Finish without a
	// resolution: the connector's success above depends on sending one.
	e := newEnv(t, jirafake.Options{Workflow: jirafake.TwoStepWorkflow()}, nil)
	key := e.create(t, "", "needs resolution").Ref.Key
	if _, err := connectors.SetStatus(ctxT(t), e.c, key, connectors.StatusInProgress); err != nil {
		t.Fatalf("SetStatus in_progress: %v", err)
	}
	resp, err := e.c.client.Issue.DoTransitionWithContext(ctxT(t), key, "203")
	if err = e.c.check(ctxT(t), "finish without resolution", resp, err); !errors.Is(err, connectors.ErrInvalid) {
		t.Errorf("Finish without a resolution: got %v, want a 400 (ErrInvalid)", err)
	}
}

func TestStatusNoWayIsInvalid(t *testing.T) {
	stuck := &jirafake.Workflow{
		Name: "stuck", Initial: "Open",
		Statuses: []jirafake.Status{{ID: "1", Name: "Open", Category: jirafake.CategoryToDo},
			{ID: "2", Name: "Blocked", Category: jirafake.CategoryInProgress}},
		Transitions: []jirafake.Transition{{ID: "7", Name: "Block", From: []string{"Open"}, To: "Blocked"}},
	}
	e := newEnv(t, jirafake.Options{Workflow: stuck}, nil)
	key := e.create(t, "", "stuck").Ref.Key
	_, err := connectors.SetStatus(ctxT(t), e.c, key, connectors.StatusDone)
	if !errors.Is(err, connectors.ErrInvalid) || connectors.Retryable(err) {
		t.Fatalf("SetStatus done without a way there: got %v, want a non-retryable ErrInvalid", err)
	}
	if _, err := connectors.SetStatus(ctxT(t), e.c, key, connectors.StatusInProgress); err != nil {
		t.Fatalf("SetStatus in_progress: %v", err)
	}
	_, err = connectors.SetStatus(ctxT(t), e.c, key, connectors.StatusOpen)
	if !errors.Is(err, connectors.ErrInvalid) {
		t.Errorf("SetStatus open from a dead end: got %v, want ErrInvalid", err)
	}
}

func TestCreateInStatus(t *testing.T) {
	e := newEnv(t, jirafake.Options{Flavor: jirafake.DataCenter, Workflow: jirafake.TwoStepWorkflow()}, nil)
	it, err := e.c.Create(ctxT(t), "abc", &connectors.Item{Title: "born done", Status: connectors.StatusWontDo})
	if err != nil {
		t.Fatalf("Create wont_do: %v", err)
	}
	if st := e.issue(t, it.Ref.Key); it.Status != connectors.StatusWontDo || st.Resolution != "Won't Do" {
		t.Errorf("Create wont_do: got %s, Jira resolution %q; want wont_do and Won't Do", it.Status, st.Resolution)
	}
}
