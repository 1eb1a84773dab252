package conformance

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
)

// Texts that stress a tracker's handling of bodies and titles.
const (
	markdownBody = "## Customer summary\n\nAdd **uncached-read** latency tests to the _storage frontend_.\n\n" +
		"- [ ] p99 < 250 ms on cold reads\n- [x] dashboard `frontend-latency`\n\n" +
		"```go\nif d > budget {\n\treturn errSlow\n}\n```\n\n| region | p99 |\n|---|---|\n| eu-west | 180 ms |\n\n" +
		"> quoted <b>html</b> & ampersands\n\n1. first\n2. second"
	unicodeBody  = "Überprüfen: 東京リージョン — latency ≥ 2× baseline 🚀\nZweite Zeile: naïve café, שלום, Ω≈ç√"
	unicodeTitle = "Add uncached-read latency tests — 東京 ✓"
)

// statuses lists every canonical status.
var statuses = []connectors.Status{connectors.StatusOpen, connectors.StatusInProgress, connectors.StatusDone, connectors.StatusWontDo}

// roundTripItems returns items that together use every value of every
// canonical field.
func (e *env) roundTripItems() []connectors.Item {
	prios := append([]connectors.Priority{""}, connectors.Priorities...)
	kinds := append([]connectors.Kind{""}, connectors.Kinds...)
	owners := []connectors.Owner{connectors.OwnerCustomer, connectors.OwnerPlatform, ""}
	descs := []string{markdownBody, unicodeBody, "One line.", ""}
	dues := []string{"2026-03-31", "", "2027-12-01"}
	incidents := []string{"INC-42", "", "inc-2026-0007"}
	labels := [][]string{{"customer:janecorp", "team-storage"}, nil, {"postmortem"}}
	n := max(len(prios), len(kinds))
	out := make([]connectors.Item, n)
	for i := range out {
		out[i] = connectors.Item{
			Title:       fmt.Sprintf("%s #%d", unicodeTitle, i),
			Description: descs[i%len(descs)],
			Status:      statuses[i%len(statuses)],
			Priority:    prios[i%len(prios)],
			Kind:        kinds[i%len(kinds)],
			Owner:       owners[i%len(owners)],
			Due:         dues[i%len(dues)],
			Incident:    incidents[i%len(incidents)],
			Labels:      labels[i%len(labels)],
		}
		if as := e.assignees(); as != nil && i%2 == 0 {
			out[i].Assignee = as[i/2%2]
		}
	}
	return out
}

func testCreateGet(t *testing.T, e *env) {
	keys := map[string]bool{}
	for i, in := range e.roundTripItems() {
		in.Marker = e.marker("create")
		got := e.create(t, in.Marker, in)
		want := in
		if want.Priority == "" {
			want.Priority = e.caps.DefaultPriority
		}
		what := fmt.Sprintf("item %d: Create", i)
		e.checkItem(t, what, &want, got)
		checkIdentity(t, what, got)
		if keys[got.Ref.Key] {
			t.Errorf("%s: key %s was already returned for another item", what, got.Ref.Key)
		}
		keys[got.Ref.Key] = true

		read := e.get(t, got.Ref.Key)
		what = fmt.Sprintf("item %d: Get(%s)", i, got.Ref.Key)
		e.checkItem(t, what, &want, read)
		checkIdentity(t, what, read)
		if read.Ref != got.Ref || read.ID != got.ID || read.URL != got.URL {
			t.Errorf("%s: identity got ref %v id %q url %q, want ref %v id %q url %q as Create returned",
				what, read.Ref, read.ID, read.URL, got.Ref, got.ID, got.URL)
		}
		if strings.Contains(read.Description, "pmsync:") {
			t.Errorf("%s: Description still holds the marker comment: %q", what, read.Description)
		}
	}
	if got := e.b.Count(); got != len(keys) {
		t.Errorf("Count: got %d, want %d", got, len(keys))
	}
}

// checkIdentity checks the fields a tracker sets itself.
func checkIdentity(t *testing.T, what string, it *connectors.Item) {
	t.Helper()
	if it.Ref.Tracker != TrackerID {
		t.Errorf("%s: Ref.Tracker got %q, want %q", what, it.Ref.Tracker, TrackerID)
	}
	if it.Ref.Key == "" {
		t.Errorf("%s: Ref.Key is empty", what)
	}
	if it.ID == "" {
		t.Errorf("%s: ID is empty", what)
	}
	if u, err := url.Parse(it.URL); err != nil || !u.IsAbs() || u.Host == "" {
		t.Errorf("%s: URL got %q, want an absolute URL", what, it.URL)
	}
	if it.CreatedAt.IsZero() || it.UpdatedAt.IsZero() {
		t.Errorf("%s: CreatedAt %v / UpdatedAt %v, want both set", what, it.CreatedAt, it.UpdatedAt)
	}
	if it.UpdatedAt.Before(it.CreatedAt) {
		t.Errorf("%s: UpdatedAt %v before CreatedAt %v", what, it.UpdatedAt, it.CreatedAt)
	}
}

func testCreateInvalid(t *testing.T, e *env) {
	valid := connectors.Item{Title: "valid", Status: connectors.StatusOpen}
	tests := []struct {
		name   string
		marker string
		edit   func(*connectors.Item)
	}{
		{"empty title", "", func(it *connectors.Item) { it.Title = "  " }},
		{"bad status", "", func(it *connectors.Item) { it.Status = "closed" }},
		{"bad priority", "", func(it *connectors.Item) { it.Priority = "P9" }},
		{"bad kind", "", func(it *connectors.Item) { it.Kind = "bug" }},
		{"bad owner", "", func(it *connectors.Item) { it.Owner = "vendor" }},
		{"bad due", "", func(it *connectors.Item) { it.Due = "31/03/2026" }},
		{"bad marker", "Not A Marker!", func(*connectors.Item) {}},
	}
	for _, tc := range tests {
		it := valid
		tc.edit(&it)
		_, err := e.c.Create(e.ctx(t), tc.marker, &it)
		wantCode(t, "Create with "+tc.name, err, connectors.ErrInvalid)
	}
	if got := e.b.Count(); got != 0 {
		t.Errorf("Count after invalid creates: got %d, want 0", got)
	}
	key := e.create(t, e.marker("inv"), valid).Ref.Key
	bad := connectors.Status("closed")
	_, err := e.c.Update(e.ctx(t), key, connectors.Patch{Status: &bad})
	wantCode(t, "Update with status \"closed\"", err, connectors.ErrInvalid)
	badDue := "tomorrow"
	_, err = e.c.Update(e.ctx(t), key, connectors.Patch{Due: &badDue})
	wantCode(t, "Update with due \"tomorrow\"", err, connectors.ErrInvalid)
}

// baseItem is the item the update tests start from.
func (e *env) baseItem(marker string) connectors.Item {
	it := connectors.Item{
		Title: "Practise regional failover", Description: "Every quarter.\n\nSee runbook.",
		Status: connectors.StatusOpen, Priority: connectors.P2, Kind: connectors.KindProcess,
		Owner: connectors.OwnerCustomer, Due: "2026-06-30", Incident: "INC-7",
		Labels: []string{"customer:janecorp"}, Marker: marker,
	}
	if as := e.assignees(); as != nil {
		it.Assignee = as[0]
	}
	return it
}

func ptr[T any](v T) *T { return &v }

func testUpdateEachField(t *testing.T, e *env) {
	want := e.baseItem(e.marker("upd"))
	cur := e.create(t, want.Marker, want)
	key := cur.Ref.Key
	type step struct {
		name  string
		patch connectors.Patch
		apply func(*connectors.Item)
	}
	steps := []step{
		{"title", connectors.Patch{Title: ptr(unicodeTitle)}, func(it *connectors.Item) { it.Title = unicodeTitle }},
		{"description", connectors.Patch{Description: ptr(markdownBody)}, func(it *connectors.Item) { it.Description = markdownBody }},
		{"description unicode", connectors.Patch{Description: ptr(unicodeBody)}, func(it *connectors.Item) { it.Description = unicodeBody }},
		{"status", connectors.Patch{Status: ptr(connectors.StatusInProgress)}, func(it *connectors.Item) { it.Status = connectors.StatusInProgress }},
		{"priority", connectors.Patch{Priority: ptr(connectors.P0)}, func(it *connectors.Item) { it.Priority = connectors.P0 }},
		{"priority cleared", connectors.Patch{Priority: ptr(connectors.Priority(""))}, func(it *connectors.Item) { it.Priority = e.caps.DefaultPriority }},
		{"kind", connectors.Patch{Kind: ptr(connectors.KindDetect)}, func(it *connectors.Item) { it.Kind = connectors.KindDetect }},
		{"owner", connectors.Patch{Owner: ptr(connectors.OwnerPlatform)}, func(it *connectors.Item) { it.Owner = connectors.OwnerPlatform }},
		{"due", connectors.Patch{Due: ptr("2026-09-15")}, func(it *connectors.Item) { it.Due = "2026-09-15" }},
		{"due cleared", connectors.Patch{Due: ptr("")}, func(it *connectors.Item) { it.Due = "" }},
		{"incident", connectors.Patch{Incident: ptr("INC-99")}, func(it *connectors.Item) { it.Incident = "INC-99" }},
	}
	if as := e.assignees(); as != nil {
		steps = append(steps,
			step{"assignee", connectors.Patch{Assignee: ptr(as[1])}, func(it *connectors.Item) { it.Assignee = as[1] }},
			step{"assignee cleared", connectors.Patch{Assignee: ptr("")}, func(it *connectors.Item) { it.Assignee = "" }})
	}
	for _, s := range steps {
		e.b.Advance(time.Minute)
		s.apply(&want)
		got := e.update(t, key, s.patch)
		e.checkItem(t, "Update "+s.name, &want, got)
		// The returned UpdatedAt may be the one read before the write
		// when the tracker's answer does not give the item (Jira's 204);
		// a read afterwards shows the write's.
		if got.UpdatedAt.Before(cur.UpdatedAt) {
			t.Errorf("Update %s: UpdatedAt got %v, want at or after %v", s.name, got.UpdatedAt, cur.UpdatedAt)
		}
		after := e.get(t, key)
		e.checkItem(t, "Get after update "+s.name, &want, after)
		if !after.UpdatedAt.After(cur.UpdatedAt) {
			t.Errorf("Get after update %s: UpdatedAt got %v, want after %v (clock advanced 1m)", s.name, after.UpdatedAt, cur.UpdatedAt)
		}
		cur = after
	}
}

func testUpdateSeveral(t *testing.T, e *env) {
	want := e.baseItem(e.marker("several"))
	key := e.create(t, want.Marker, want).Ref.Key
	// Fields every API can change in one write.
	p := connectors.Patch{
		Title: ptr("Renamed"), Description: ptr(unicodeBody), Priority: ptr(connectors.P1),
		Kind: ptr(connectors.KindMitigate), Owner: ptr(connectors.OwnerPlatform), Incident: ptr("INC-8"),
	}
	want.Title, want.Description, want.Priority = "Renamed", unicodeBody, connectors.P1
	want.Kind, want.Owner, want.Incident = connectors.KindMitigate, connectors.OwnerPlatform, "INC-8"
	// A first update with the same values on another item lets the
	// tracker create any label it lacks; the measured one must be a
	// single write.
	warm := e.create(t, e.marker("warm"), e.baseItem("")).Ref.Key
	e.update(t, warm, p)
	w0 := e.b.Writes()
	got := e.update(t, key, p)
	if n := e.b.Writes() - w0; n != 1 {
		t.Errorf("Update of six fields without status: got %d writes, want 1", n)
	}
	e.checkItem(t, "Update several", &want, got)
	e.checkItem(t, "Get after update several", &want, e.get(t, key))

	// Everything at once, including status, due and assignee.
	p = connectors.Patch{
		Title: ptr(unicodeTitle), Description: ptr(markdownBody), Status: ptr(connectors.StatusDone),
		Priority: ptr(connectors.P4), Kind: ptr(connectors.KindOther), Owner: ptr(connectors.OwnerCustomer),
		Due: ptr(""), Incident: ptr("INC-9"),
	}
	want.Title, want.Description, want.Status, want.Priority = unicodeTitle, markdownBody, connectors.StatusDone, connectors.P4
	want.Kind, want.Owner, want.Due, want.Incident = connectors.KindOther, connectors.OwnerCustomer, "", "INC-9"
	if as := e.assignees(); as != nil {
		p.Assignee, want.Assignee = ptr(as[1]), as[1]
	}
	e.checkItem(t, "Update all fields", &want, e.update(t, key, p))
	e.checkItem(t, "Get after update all fields", &want, e.get(t, key))
}

func testMarkdownStable(t *testing.T, e *env) {
	in := simple("markdown")
	in.Description = markdownBody
	key := e.create(t, e.marker("md"), in).Ref.Key
	first := e.get(t, key).Description
	if !e.caps.LossyMarkdown && normText(first) != normText(markdownBody) {
		t.Errorf("Description after create: got %q, want %q", first, markdownBody)
	}
	for _, word := range []string{"uncached-read", "storage frontend", "p99", "eu-west", "errSlow", "second"} {
		if !strings.Contains(first, word) {
			t.Errorf("Description after create lost %q: got %q", word, first)
		}
	}
	e.b.Advance(time.Minute)
	e.update(t, key, connectors.Patch{Description: &first})
	if second := e.get(t, key).Description; normText(second) != normText(first) {
		t.Errorf("Description after writing back what was read: got %q, want %q (a description must be stable)", second, first)
	}
}

func testUpdateEmptyPatch(t *testing.T, e *env) {
	key := e.create(t, e.marker("empty"), e.baseItem("")).Ref.Key
	r0, w0 := e.b.Requests(), e.b.Writes()
	_, err := e.c.Update(e.ctx(t), key, connectors.Patch{})
	noSecret(t, err)
	if err != nil {
		t.Errorf("Update with an empty patch: %v", err)
	}
	if r, w := e.b.Requests()-r0, e.b.Writes()-w0; r != 0 || w != 0 {
		t.Errorf("Update with an empty patch: got %d requests, %d writes, want 0 and 0", r, w)
	}
}

func testStatusWalk(t *testing.T, e *env) {
	want := e.baseItem(e.marker("walk"))
	key := e.create(t, want.Marker, want).Ref.Key
	walk := []connectors.Status{connectors.StatusInProgress, connectors.StatusDone, connectors.StatusOpen,
		connectors.StatusWontDo, connectors.StatusInProgress, connectors.StatusWontDo, connectors.StatusDone}
	for _, s := range walk {
		got, err := connectors.SetStatus(e.ctx(t), e.c, key, s)
		noSecret(t, err)
		if err != nil {
			t.Fatalf("SetStatus(%s, %s): %v", key, s, err)
		}
		want.Status = s
		e.checkItem(t, fmt.Sprintf("SetStatus %s", s), &want, got)
		e.checkItem(t, fmt.Sprintf("Get after SetStatus %s", s), &want, e.get(t, key))
	}
}

func testConcurrent(t *testing.T, e *env) {
	const workers, each = 6, 3
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	keys := make(chan string, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				it := connectors.Item{Title: fmt.Sprintf("concurrent %d.%d", w, i), Status: connectors.StatusOpen, Priority: connectors.P3}
				got, err := e.c.Create(e.ctx(t), e.marker("conc"), &it)
				if err != nil {
					errs <- fmt.Errorf("Create %d.%d: %w", w, i, err)
					continue
				}
				if _, err := connectors.SetStatus(e.ctx(t), e.c, got.Ref.Key, connectors.StatusDone); err != nil {
					errs <- fmt.Errorf("SetStatus %s: %w", got.Ref.Key, err)
				}
				keys <- got.Ref.Key
			}
		})
	}
	wg.Wait()
	close(errs)
	close(keys)
	for err := range errs {
		t.Error(err)
	}
	seen := map[string]bool{}
	for k := range keys {
		if seen[k] {
			t.Errorf("concurrent creates: key %s returned twice", k)
		}
		seen[k] = true
		if got := e.get(t, k); got.Status != connectors.StatusDone {
			t.Errorf("Get(%s).Status: got %q, want done", k, got.Status)
		}
	}
	if got := e.b.Count(); got != workers*each {
		t.Errorf("Count after concurrent creates: got %d, want %d", got, workers*each)
	}
}
