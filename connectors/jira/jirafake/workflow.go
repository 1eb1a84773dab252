package jirafake

import (
	"errors"
	"fmt"
	"slices"
)

// The status categories of Jira.
const (
	CategoryToDo       = "new"
	CategoryInProgress = "indeterminate"
	CategoryDone       = "done"
)

// Status is one workflow status.
type Status struct {
	ID       string
	Name     string
	Category string // new | indeterminate | done
}

// Transition is one workflow transition.
type Transition struct {
	ID   string
	Name string
	// From lists the statuses it leaves from; empty means from any other
	// status (a global transition).
	From []string
	To   string
	// Screen says the transition has a screen with the resolution field;
	// RequireResolution makes it mandatory (400 without it). A transition
	// into a done status without a resolution on its screen sets "Done" by
	// post function, as Jira's default workflows do.
	Screen            bool
	RequireResolution bool
}

// Workflow is a project's workflow.
type Workflow struct {
	Name        string
	Initial     string
	Statuses    []Status
	Transitions []Transition
}

// DefaultWorkflow is Jira Cloud's simplified workflow: To Do, In Progress
// and Done, with global transitions between all of them.
func DefaultWorkflow() *Workflow {
	return &Workflow{
		Name:    "Simplified workflow",
		Initial: "To Do",
		Statuses: []Status{
			{ID: "10000", Name: "To Do", Category: CategoryToDo},
			{ID: "3", Name: "In Progress", Category: CategoryInProgress},
			{ID: "10001", Name: "Done", Category: CategoryDone},
		},
		Transitions: []Transition{
			{ID: "11", Name: "To Do", To: "To Do"},
			{ID: "21", Name: "In Progress", To: "In Progress"},
			{ID: "31", Name: "Done", To: "Done", Screen: true},
		},
	}
}

// TwoStepWorkflow only reaches Done from In Progress, and its done
// transition requires a resolution: To Do → In Progress → Done.
func TwoStepWorkflow() *Workflow {
	return &Workflow{
		Name:    "Two-step workflow",
		Initial: "To Do",
		Statuses: []Status{
			{ID: "10100", Name: "To Do", Category: CategoryToDo},
			{ID: "10101", Name: "In Progress", Category: CategoryInProgress},
			{ID: "10102", Name: "Done", Category: CategoryDone},
		},
		Transitions: []Transition{
			{ID: "201", Name: "Start work", From: []string{"To Do"}, To: "In Progress"},
			{ID: "202", Name: "Stop work", From: []string{"In Progress"}, To: "To Do"},
			{ID: "203", Name: "Finish", From: []string{"In Progress"}, To: "Done", Screen: true, RequireResolution: true},
			{ID: "204", Name: "Reopen", From: []string{"Done"}, To: "To Do"},
		},
	}
}

// ClassicWorkflow is Jira's classic workflow, whose Resolve and Close
// transitions require a resolution: Open, In Progress, Resolved, Closed,
// Reopened.
func ClassicWorkflow() *Workflow {
	open := []string{"Open", "In Progress", "Reopened"}
	return &Workflow{
		Name:    "Classic workflow",
		Initial: "Open",
		Statuses: []Status{
			{ID: "1", Name: "Open", Category: CategoryToDo},
			{ID: "3", Name: "In Progress", Category: CategoryInProgress},
			{ID: "4", Name: "Reopened", Category: CategoryToDo},
			{ID: "5", Name: "Resolved", Category: CategoryDone},
			{ID: "6", Name: "Closed", Category: CategoryDone},
		},
		Transitions: []Transition{
			{ID: "4", Name: "Start Progress", From: []string{"Open", "Reopened"}, To: "In Progress"},
			{ID: "301", Name: "Stop Progress", From: []string{"In Progress"}, To: "Open"},
			{ID: "5", Name: "Resolve Issue", From: open, To: "Resolved", Screen: true, RequireResolution: true},
			{ID: "2", Name: "Close Issue", From: append(slices.Clone(open), "Resolved"), To: "Closed", Screen: true, RequireResolution: true},
			{ID: "3", Name: "Reopen Issue", From: []string{"Resolved", "Closed"}, To: "Reopened"},
		},
	}
}

func (wf *Workflow) status(name string) (Status, bool) {
	for _, st := range wf.Statuses {
		if st.Name == name {
			return st, true
		}
	}
	return Status{}, false
}

// available lists the transitions out of status from.
func (wf *Workflow) available(from string) []Transition {
	var out []Transition
	for _, t := range wf.Transitions {
		if t.To == from && len(t.From) == 0 {
			continue // a global transition does not lead to the status it is in
		}
		if len(t.From) == 0 || slices.Contains(t.From, from) {
			out = append(out, t)
		}
	}
	return out
}

func (wf *Workflow) validate() error {
	if len(wf.Statuses) == 0 {
		return errors.New("workflow has no statuses")
	}
	if _, ok := wf.status(wf.Initial); !ok {
		return fmt.Errorf("workflow %q: initial status %q is not a status", wf.Name, wf.Initial)
	}
	for _, st := range wf.Statuses {
		switch st.Category {
		case CategoryToDo, CategoryInProgress, CategoryDone:
		default:
			return fmt.Errorf("workflow %q: status %q has category %q (want new, indeterminate or done)", wf.Name, st.Name, st.Category)
		}
	}
	for _, t := range wf.Transitions {
		if _, ok := wf.status(t.To); !ok {
			return fmt.Errorf("workflow %q: transition %q goes to unknown status %q", wf.Name, t.Name, t.To)
		}
		for _, f := range t.From {
			if _, ok := wf.status(f); !ok {
				return fmt.Errorf("workflow %q: transition %q leaves unknown status %q", wf.Name, t.Name, f)
			}
		}
	}
	return nil
}
