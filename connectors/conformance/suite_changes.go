package conformance

import (
	"fmt"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
)

// gap is how far the suite moves the clock between phases. It is far
// beyond any sane overlap (default 2 minutes) and any timestamp rounding.
const gap = time.Hour

// simple returns a minimal item to create.
func simple(title string) connectors.Item {
	return connectors.Item{Title: title, Status: connectors.StatusOpen, Priority: connectors.P3}
}

// mustHave fails the test unless every key is among items.
func mustHave(t *testing.T, what string, items []connectors.Item, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if find(items, k) == nil {
			t.Errorf("%s: %s missing; got keys %v", what, k, keysOf(items))
		}
	}
}

// mustNotHave fails the test if any key is among items.
func mustNotHave(t *testing.T, what string, items []connectors.Item, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if find(items, k) != nil {
			t.Errorf("%s: %s listed but unchanged for %v; got keys %v", what, k, 2*gap, keysOf(items))
		}
	}
}

// seedChanges creates three items, moves the clock, creates two more and
// returns their keys: old (a0, a1, a2) and newer (b0, b1).
func (e *env) seedChanges(t *testing.T) (a, b []string) {
	for i := range 3 {
		a = append(a, e.create(t, e.marker("chg"), simple(fmt.Sprintf("old %d", i))).Ref.Key)
	}
	e.b.Advance(gap)
	for i := range 2 {
		b = append(b, e.create(t, e.marker("chg"), simple(fmt.Sprintf("newer %d", i))).Ref.Key)
	}
	return a, b
}

// checkMarkers fails the test unless every listed item that the suite
// created carries its marker: the mapping is rebuilt from listings.
func checkMarkers(t *testing.T, what string, items []connectors.Item, markers map[string]string) {
	t.Helper()
	for _, it := range items {
		if want, ok := markers[it.Ref.Key]; ok && it.Marker != want {
			t.Errorf("%s: %s marker got %q, want %q", what, it.Ref.Key, it.Marker, want)
		}
	}
}

func testChanges(t *testing.T, e *env) {
	a, b := e.seedChanges(t)
	first := e.changes(t, e.c, "")
	mustHave(t, `Changes("")`, first.Items, append(a, b...)...)

	e.b.Advance(gap)
	e.update(t, a[0], connectors.Patch{Title: ptr("old 0 renamed")})
	if err := e.b.EditTitle(b[1], "newer 1 renamed by a person"); err != nil {
		t.Fatalf("Backend.EditTitle(%s): %v", b[1], err)
	}
	if err := e.b.AddComment(a[2], "alice", "a comment is a change too", false); err != nil {
		t.Fatalf("Backend.AddComment(%s): %v", a[2], err)
	}
	next := e.changes(t, e.c, first.Cursor)
	mustHave(t, "Changes(cursor) after edits", next.Items, a[0], b[1], a[2])
	mustNotHave(t, "Changes(cursor) after edits", next.Items, a[1])
	if it := find(next.Items, a[0]); it != nil && it.Title != "old 0 renamed" {
		t.Errorf("Changes: %s title got %q, want %q", a[0], it.Title, "old 0 renamed")
	}
	if it := find(next.Items, b[1]); it != nil && it.Title != "newer 1 renamed by a person" {
		t.Errorf("Changes: %s title got %q, want %q", b[1], it.Title, "newer 1 renamed by a person")
	}
	for _, it := range next.Items {
		checkIdentity(t, "Changes item "+it.Ref.Key, &it)
	}
}

func testChangesPagination(t *testing.T, e *env) {
	n := e.manyItems()
	want := make([]string, n)
	markers := map[string]string{}
	for i := range n {
		m := e.marker("page")
		want[i] = e.create(t, m, simple(fmt.Sprintf("paged %d", i))).Ref.Key
		markers[want[i]] = m
	}
	ch := e.changes(t, e.c, "")
	mustHave(t, `Changes("") over many pages`, ch.Items, want...)
	checkMarkers(t, `Changes("") over many pages`, ch.Items, markers)
	seen := map[string]bool{}
	for _, it := range ch.Items {
		if seen[it.Ref.Key] {
			t.Errorf(`Changes(""): %s listed twice in one answer`, it.Ref.Key)
		}
		seen[it.Ref.Key] = true
	}
	minPages := 2
	if ps := e.caps.PageSize; ps > 0 {
		minPages = (n + ps - 1) / ps
	}
	if ch.Requests < minPages {
		t.Errorf(`Changes("") over %d items: got %d requests, want at least %d (one per page)`, n, ch.Requests, minPages)
	}
}

func testChangesRestart(t *testing.T, e *env) {
	rc, ok := e.h.(Reconnector)
	if !ok {
		t.Fatalf("harness %s does not implement conformance.Reconnector: cannot prove the cursor survives a restart", e.h.Name())
	}
	a, b := e.seedChanges(t)
	first := e.changes(t, e.c, "")
	_ = e.c.Close()

	c2 := rc.Reconnect(t, e.b, TrackerID)
	if c2 == nil {
		t.Fatalf("Reconnect returned a nil connector")
	}
	t.Cleanup(func() { _ = c2.Close() })
	e.b.Advance(gap)
	if err := e.b.EditTitle(a[1], "edited while the daemon was down"); err != nil {
		t.Fatalf("Backend.EditTitle(%s): %v", a[1], err)
	}
	next := e.changes(t, c2, first.Cursor)
	mustHave(t, "new connector, Changes(old cursor)", next.Items, a[1])
	mustNotHave(t, "new connector, Changes(old cursor)", next.Items, a[0], a[2])
	if len(next.Items) > len(b)+1 {
		t.Errorf("new connector, Changes(old cursor): got %d items %v, want at most %d (the edit plus overlap repeats)",
			len(next.Items), keysOf(next.Items), len(b)+1)
	}
}

func testChangesIdle(t *testing.T, e *env) {
	e.seedChanges(t)
	cur := e.changes(t, e.c, "").Cursor
	for i := range 3 {
		if i == 1 {
			e.b.Advance(gap)
		}
		r0 := e.b.Requests()
		ch := e.changes(t, e.c, cur)
		if n := e.b.Requests() - r0; n > 1 {
			t.Errorf("idle Changes #%d: got %d requests, want at most 1", i, n)
		}
		cur = ch.Cursor
	}
}

func testChangesBadCursor(t *testing.T, e *env) {
	for _, cur := range []string{"not a cursor %%%", "{\"broken\":"} {
		_, err := e.c.Changes(e.ctx(t), cur)
		wantCode(t, fmt.Sprintf("Changes(%q)", cur), err, connectors.ErrInvalid)
	}
}

func testFindByMarker(t *testing.T, e *env) {
	other := e.create(t, e.marker("find"), simple("another item"))
	m := e.marker("find")
	created := e.create(t, m, simple("find me"))
	hints := []connectors.FindHint{{}, {CreatedAfter: created.CreatedAt.Add(-time.Minute)}}
	for _, hint := range hints {
		got, err := e.c.FindByMarker(e.ctx(t), m, hint)
		noSecret(t, err)
		if err != nil {
			t.Fatalf("FindByMarker right after Create (hint %v): %v", hint.CreatedAfter, err)
		}
		if got.Ref != created.Ref || got.Marker != m || got.Title != "find me" {
			t.Errorf("FindByMarker: got ref %v marker %q title %q, want ref %v marker %q title %q",
				got.Ref, got.Marker, got.Title, created.Ref, m, "find me")
		}
	}
	e.b.Advance(gap)
	e.update(t, created.Ref.Key, connectors.Patch{Title: ptr("renamed"), Description: ptr("new body")})
	got, err := e.c.FindByMarker(e.ctx(t), m, connectors.FindHint{})
	noSecret(t, err)
	if err != nil {
		t.Fatalf("FindByMarker after an edit of title and body: %v", err)
	}
	if got.Ref != created.Ref || got.Marker != m {
		t.Errorf("FindByMarker after edit: got ref %v marker %q, want %v %q", got.Ref, got.Marker, created.Ref, m)
	}
	if got, err := e.c.FindByMarker(e.ctx(t), other.Marker, connectors.FindHint{}); err != nil || got.Ref != other.Ref {
		noSecret(t, err)
		t.Errorf("FindByMarker(first item's marker): got %v, %v; want %v", got, err, other.Ref)
	}
	_, err = e.c.FindByMarker(e.ctx(t), e.marker("never-written"), connectors.FindHint{})
	wantCode(t, "FindByMarker(unknown marker)", err, connectors.ErrNotFound)
}

func testFindAfterLostCreate(t *testing.T, e *env) {
	m := e.marker("lost")
	e.b.Inject(Fault{Op: OpCreate, Status: 502, AfterCommit: true})
	it := simple("created, answer lost")
	_, err := e.c.Create(e.ctx(t), m, &it)
	noSecret(t, err)
	if err == nil {
		t.Fatalf("Create with a lost response: got no error, want a temporary error")
	}
	if !connectors.Retryable(err) {
		t.Errorf("Create with a lost response: got %v, want a retryable error", err)
	}
	got, err := e.c.FindByMarker(e.ctx(t), m, connectors.FindHint{})
	noSecret(t, err)
	if err != nil {
		t.Fatalf("FindByMarker after a lost create: %v", err)
	}
	if got.Marker != m || got.Title != "created, answer lost" {
		t.Errorf("FindByMarker after a lost create: got marker %q title %q, want %q %q", got.Marker, got.Title, m, it.Title)
	}
	if n := e.b.Count(); n != 1 {
		t.Errorf("Count after a lost create: got %d, want 1", n)
	}
}

func testFailedCreate(t *testing.T, e *env) {
	m := e.marker("failed")
	e.b.Inject(Fault{Op: OpCreate, Status: 500})
	it := simple("never created")
	_, err := e.c.Create(e.ctx(t), m, &it)
	wantCode(t, "Create answered 500", err, connectors.ErrTemporary)
	if n := e.b.Count(); n != 0 {
		t.Errorf("Count after a refused create: got %d, want 0", n)
	}
	_, err = e.c.FindByMarker(e.ctx(t), m, connectors.FindHint{})
	wantCode(t, "FindByMarker after a refused create", err, connectors.ErrNotFound)
}
