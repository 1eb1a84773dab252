package conformance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
)

// TrackerID is the tracker id the suite passes to Make.
const TrackerID = "janecorp"

// callTimeout bounds every connector call the suite makes, so that a
// connector that hangs fails its test instead of the whole run.
const callTimeout = 20 * time.Second

// Run runs the whole behaviour suite against the connector h builds. Every
// test is a subtest with its own fresh tracker from h.Make; top-level
// subtests run in parallel, so Make, Reconnect and Webhook must be safe to
// call concurrently (each call on its own simulator).
func Run(t *testing.T, h Harness) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, *env)
	}{
		{"CreateGet", testCreateGet},
		{"CreateInvalid", testCreateInvalid},
		{"UpdateEachField", testUpdateEachField},
		{"UpdateSeveral", testUpdateSeveral},
		{"UpdateEmptyPatch", testUpdateEmptyPatch},
		{"MarkdownStable", testMarkdownStable},
		{"StatusWalk", testStatusWalk},
		{"Changes", testChanges},
		{"ChangesPagination", testChangesPagination},
		{"ChangesRestart", testChangesRestart},
		{"ChangesIdle", testChangesIdle},
		{"ChangesBadCursor", testChangesBadCursor},
		{"FindByMarker", testFindByMarker},
		{"FindAfterLostCreate", testFindAfterLostCreate},
		{"FailedCreate", testFailedCreate},
		{"Comments", testComments},
		{"CommentsPagination", testCommentsPagination},
		{"Errors", testErrors},
		{"Deleted", testDeleted},
		{"ContextCanceled", testContextCanceled},
		{"ContextCanceledInFlight", testContextCanceledInFlight},
		{"Webhook", testWebhook},
		{"Concurrent", testConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newEnv(t, h))
		})
	}
}

// env is one subtest's connector, backend and helpers.
type env struct {
	h    Harness
	c    connectors.Connector
	b    Backend
	caps Capabilities
	seq  atomic.Int64
}

func newEnv(t *testing.T, h Harness) *env {
	t.Helper()
	c, b := h.Make(t, TrackerID)
	if c == nil || b == nil {
		t.Fatalf("%s: Make returned a nil connector or backend", h.Name())
	}
	t.Cleanup(func() { _ = c.Close() })
	e := &env{h: h, c: c, b: b}
	if cp, ok := h.(Capable); ok {
		e.caps = cp.Capabilities()
	}
	return e
}

// ctx returns a context for one connector call.
func (e *env) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
	t.Cleanup(cancel)
	return ctx
}

// marker returns a fresh, valid marker id.
func (e *env) marker(label string) string {
	n := e.seq.Add(1)
	return connectors.MarkerID([]byte("conformance"), "platform", fmt.Sprintf("%s-%d", label, n), TrackerID)
}

// pageSize returns the number of items that takes more than two pages.
func (e *env) manyItems() int {
	if e.caps.PageSize > 0 {
		return 2*e.caps.PageSize + 3
	}
	return 120
}

// assignees returns two assignee values, or nil when not tested.
func (e *env) assignees() []string {
	if len(e.caps.Assignees) < 2 || e.caps.Assignees[0] == e.caps.Assignees[1] {
		return nil
	}
	return e.caps.Assignees[:2]
}

// create makes an item and fails the test on error.
func (e *env) create(t *testing.T, marker string, it connectors.Item) *connectors.Item {
	t.Helper()
	got, err := e.c.Create(e.ctx(t), marker, &it)
	noSecret(t, err)
	if err != nil {
		t.Fatalf("Create(%q): %v", it.Title, err)
	}
	if got == nil {
		t.Fatalf("Create(%q) returned a nil item and no error", it.Title)
	}
	return got
}

// get reads an item and fails the test on error.
func (e *env) get(t *testing.T, key string) *connectors.Item {
	t.Helper()
	got, err := e.c.Get(e.ctx(t), key)
	noSecret(t, err)
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	if got == nil {
		t.Fatalf("Get(%s) returned a nil item and no error", key)
	}
	return got
}

// update applies a patch and fails the test on error.
func (e *env) update(t *testing.T, key string, p connectors.Patch) *connectors.Item {
	t.Helper()
	got, err := e.c.Update(e.ctx(t), key, p)
	noSecret(t, err)
	if err != nil {
		t.Fatalf("Update(%s): %v", key, err)
	}
	if got == nil {
		t.Fatalf("Update(%s) returned a nil item and no error", key)
	}
	return got
}

// changes lists changes and fails the test on error. It also checks that
// Changes.Requests matches what the backend counted.
func (e *env) changes(t *testing.T, c connectors.Connector, cursor string) *connectors.Changes {
	t.Helper()
	before := e.b.Requests()
	ch, err := c.Changes(e.ctx(t), cursor)
	noSecret(t, err)
	if err != nil {
		t.Fatalf("Changes(%q): %v", cursor, err)
	}
	if ch == nil {
		t.Fatalf("Changes(%q) returned nil and no error", cursor)
	}
	if got, want := ch.Requests, e.b.Requests()-before; got != want {
		t.Errorf("Changes(%q).Requests: got %d, want %d (requests the backend answered)", cursor, got, want)
	}
	if ch.Cursor == "" {
		t.Errorf("Changes(%q).Cursor: got \"\", want a cursor for the next call", cursor)
	}
	for i := 1; i < len(ch.Items); i++ {
		if ch.Items[i].UpdatedAt.Before(ch.Items[i-1].UpdatedAt) {
			t.Errorf("Changes(%q): item %d (%s) updated %v before item %d (%s) at %v, want oldest first",
				cursor, i, ch.Items[i].Ref.Key, ch.Items[i].UpdatedAt, i-1, ch.Items[i-1].Ref.Key, ch.Items[i-1].UpdatedAt)
			break
		}
	}
	return ch
}

// keysOf returns the keys of items, in order.
func keysOf(items []connectors.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Ref.Key
	}
	return out
}

// find returns the item with key in items, or nil.
func find(items []connectors.Item, key string) *connectors.Item {
	for i := range items {
		if items[i].Ref.Key == key {
			return &items[i]
		}
	}
	return nil
}

// noSecret fails the test when err's text holds a secret.
func noSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, s := range []string{Secret, WebhookSecret} {
		if strings.Contains(msg, s) {
			t.Errorf("error text holds a secret: %q", msg)
		}
	}
}

// wantCode checks that err is a classified error of code want.
func wantCode(t *testing.T, what string, err error, want *connectors.Error) {
	t.Helper()
	noSecret(t, err)
	if err == nil {
		t.Errorf("%s: got no error, want %v", what, want.Code)
		return
	}
	if !errors.Is(err, want) {
		t.Errorf("%s: got %v (code %v), want code %v", what, err, connectors.CodeOf(err), want.Code)
	}
}

// normText makes bodies comparable across trackers that normalise line
// endings and trailing white space.
func normText(s string) string {
	return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
}

// sortedLabels returns a sorted copy of labels; nil and empty are equal.
func sortedLabels(l []string) []string {
	out := slices.Clone(l)
	slices.Sort(out)
	if len(out) == 0 {
		return nil
	}
	return out
}

// diffItem lists the canonical fields in which got differs from want.
// Assignee is compared only when the harness names assignees; a Markdown
// description only when the tracker stores Markdown (see LossyMarkdown).
func (e *env) diffItem(want, got *connectors.Item) []string {
	var d []string
	add := func(field string, w, g any) {
		d = append(d, fmt.Sprintf("%s: got %q, want %q", field, g, w))
	}
	if got.Title != want.Title {
		add("Title", want.Title, got.Title)
	}
	if normText(got.Description) != normText(want.Description) && !(e.caps.LossyMarkdown && want.Description == markdownBody) {
		add("Description", want.Description, got.Description)
	}
	if got.Status != want.Status {
		add("Status", want.Status, got.Status)
	}
	if got.Priority != want.Priority {
		add("Priority", want.Priority, got.Priority)
	}
	if got.Kind != want.Kind {
		add("Kind", want.Kind, got.Kind)
	}
	if got.Owner != want.Owner {
		add("Owner", want.Owner, got.Owner)
	}
	if e.assignees() != nil && got.Assignee != want.Assignee {
		add("Assignee", want.Assignee, got.Assignee)
	}
	if got.Due != want.Due {
		add("Due", want.Due, got.Due)
	}
	if got.Incident != want.Incident {
		add("Incident", want.Incident, got.Incident)
	}
	if w, g := sortedLabels(want.Labels), sortedLabels(got.Labels); !slices.Equal(w, g) {
		add("Labels", w, g)
	}
	if got.Marker != want.Marker {
		add("Marker", want.Marker, got.Marker)
	}
	return d
}

// checkItem fails the test when got differs from want in a canonical field.
func (e *env) checkItem(t *testing.T, what string, want, got *connectors.Item) {
	t.Helper()
	for _, d := range e.diffItem(want, got) {
		t.Errorf("%s: %s", what, d)
	}
}
