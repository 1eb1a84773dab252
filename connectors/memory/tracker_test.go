package memory_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/conformance"
	"github.com/pmsync/pmsync/connectors/memory"
)

func newConn(t *testing.T, tr *memory.Tracker) *memory.Connector {
	t.Helper()
	c, err := memory.New(tr, connectors.Config{ID: "platform", WebhookSecret: "hook", Now: tr.Now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func mustCreate(t *testing.T, c *memory.Connector, title string) *connectors.Item {
	t.Helper()
	it, err := c.Create(t.Context(), "", &connectors.Item{Title: title})
	if err != nil {
		t.Fatalf("Create(%q): %v", title, err)
	}
	return it
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name      string
		faults    []conformance.Fault
		op        func(c *memory.Connector) error
		wantCodes []connectors.Code // codes of three calls in a row
		wantCount int               // items after the calls
	}{
		{
			name:   "times 2 then success",
			faults: []conformance.Fault{{Op: conformance.OpGet, Status: 503, Times: 2}},
			op: func(c *memory.Connector) error {
				_, err := c.Get(context.Background(), "MEM-1")
				return err
			},
			wantCodes: []connectors.Code{connectors.CodeTemporary, connectors.CodeTemporary, connectors.CodeUnknown},
			wantCount: 1,
		},
		{
			name:   "any op matches",
			faults: []conformance.Fault{{Op: conformance.OpAny, Status: 401}},
			op: func(c *memory.Connector) error {
				_, err := c.ListComments(context.Background(), "MEM-1")
				return err
			},
			wantCodes: []connectors.Code{connectors.CodePermission, connectors.CodeUnknown, connectors.CodeUnknown},
			wantCount: 1,
		},
		{
			name:   "other op untouched, fault waits",
			faults: []conformance.Fault{{Op: conformance.OpCreate, Status: 500}},
			op: func(c *memory.Connector) error {
				_, err := c.Get(context.Background(), "MEM-1")
				return err
			},
			wantCodes: []connectors.Code{connectors.CodeUnknown, connectors.CodeUnknown, connectors.CodeUnknown},
			wantCount: 1,
		},
		{
			name:   "lost create commits",
			faults: []conformance.Fault{{Op: conformance.OpCreate, Status: 502, AfterCommit: true}},
			op: func(c *memory.Connector) error {
				_, err := c.Create(context.Background(), "", &connectors.Item{Title: "x"})
				return err
			},
			wantCodes: []connectors.Code{connectors.CodeTemporary, connectors.CodeUnknown, connectors.CodeUnknown},
			wantCount: 4,
		},
		{
			name:   "cut connection before commit",
			faults: []conformance.Fault{{Op: conformance.OpCreate}},
			op: func(c *memory.Connector) error {
				_, err := c.Create(context.Background(), "", &connectors.Item{Title: "x"})
				return err
			},
			wantCodes: []connectors.Code{connectors.CodeTemporary, connectors.CodeUnknown, connectors.CodeUnknown},
			wantCount: 3,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := memory.NewTracker(memory.Options{})
			c := newConn(t, tr)
			mustCreate(t, c, "target")
			for _, f := range tc.faults {
				tr.Inject(f)
			}
			for i, want := range tc.wantCodes {
				err := tc.op(c)
				if got := connectors.CodeOf(err); got != want || (want == connectors.CodeUnknown) != (err == nil) {
					t.Errorf("call %d: got %v (%v), want code %v", i, err, got, want)
				}
			}
			if got := tr.Count(); got != tc.wantCount {
				t.Errorf("Count: got %d, want %d", got, tc.wantCount)
			}
		})
	}
}

func TestCounters(t *testing.T) {
	tr := memory.NewTracker(memory.Options{PageSize: 4})
	c := newConn(t, tr)
	for i := range 9 {
		mustCreate(t, c, fmt.Sprintf("item %d", i))
	}
	if r, w := tr.Requests(), tr.Writes(); r != 9 || w != 9 {
		t.Fatalf("after 9 creates: got %d requests %d writes, want 9 and 9", r, w)
	}
	ch, err := c.Changes(t.Context(), "")
	if err != nil {
		t.Fatalf("Changes: %v", err)
	}
	if ch.Requests != 3 || len(ch.Items) != 9 || tr.Requests() != 12 || tr.Writes() != 9 {
		t.Errorf("Changes over 9 items, page 4: got %d requests, %d items, tracker %d/%d, want 3, 9, 12/9",
			ch.Requests, len(ch.Items), tr.Requests(), tr.Writes())
	}
	// An exact multiple of the page size needs no extra empty page.
	mustCreate(t, c, "tenth")
	mustCreate(t, c, "eleventh")
	mustCreate(t, c, "twelfth")
	if ch, err = c.Changes(t.Context(), ""); err != nil || ch.Requests != 3 || len(ch.Items) != 12 {
		t.Errorf("Changes over 12 items, page 4: got %v requests %d items %d, want 3 requests 12 items", err, ch.Requests, len(ch.Items))
	}
}

func TestLatencyHonoursContext(t *testing.T) {
	tr := memory.NewTracker(memory.Options{})
	c := newConn(t, tr)
	mustCreate(t, c, "slow")
	tr.SetOpLatency(conformance.OpGet, time.Hour)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Get(ctx, "MEM-1")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Get with latency 1h and a 30ms deadline: got %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Get returned after %v, want about 30ms", d)
	}
	// Other classes are not delayed; a request cut short is not answered.
	if _, err := c.ListComments(t.Context(), "MEM-1"); err != nil {
		t.Errorf("ListComments without latency: %v", err)
	}
	if got := tr.Requests(); got != 2 {
		t.Errorf("Requests: got %d, want 2 (create, list comments)", got)
	}
	tr.SetOpLatency(conformance.OpGet, 0)
	tr.SetLatency(time.Millisecond)
	if _, err := c.Get(t.Context(), "MEM-1"); err != nil {
		t.Errorf("Get with 1ms latency: %v", err)
	}
}

func TestRateLimit(t *testing.T) {
	tr := memory.NewTracker(memory.Options{})
	c := newConn(t, tr)
	if rs := c.RateLimit(); rs.Remaining != -1 || rs.Limit != 0 {
		t.Errorf("RateLimit before any request: got %+v, want unknown", rs)
	}
	tr.SetRateLimit(3, time.Minute)
	for i := range 3 {
		mustCreate(t, c, fmt.Sprintf("budget %d", i))
	}
	if rs := c.RateLimit(); rs.Limit != 3 || rs.Remaining != 0 || !rs.Reset.Equal(memory.Epoch.Add(time.Minute)) {
		t.Errorf("RateLimit after 3 of 3: got %+v, want limit 3, remaining 0, reset epoch+1m", rs)
	}
	tr.Advance(20 * time.Second)
	_, err := c.Get(t.Context(), "MEM-1")
	if ra, ok := connectors.RetryAfterOf(err); !errors.Is(err, connectors.ErrRateLimited) || !ok || ra != 40*time.Second {
		t.Errorf("Get over budget: got %v (retry after %v), want rate limited, retry after 40s", err, ra)
	}
	if rs := c.RateLimit(); !rs.BlockedUntil.Equal(tr.Now().Add(40 * time.Second)) {
		t.Errorf("BlockedUntil: got %v, want %v", rs.BlockedUntil, tr.Now().Add(40*time.Second))
	}
	tr.Advance(40 * time.Second)
	if _, err := c.Get(t.Context(), "MEM-1"); err != nil {
		t.Errorf("Get after the window reset: %v", err)
	}
	if rs := c.RateLimit(); rs.Remaining != 2 {
		t.Errorf("Remaining after reset and one request: got %d, want 2", rs.Remaining)
	}
}

func TestCursorAcrossConnectors(t *testing.T) {
	tr := memory.NewTracker(memory.Options{})
	a := newConn(t, tr)
	mustCreate(t, a, "one")
	tr.Advance(time.Hour)
	ch, err := a.Changes(t.Context(), "")
	if err != nil {
		t.Fatalf("Changes: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := a.Get(t.Context(), "MEM-1"); err == nil {
		t.Errorf("Get after Close: got no error")
	}
	tr.Advance(time.Hour)
	b := newConn(t, tr)
	two := mustCreate(t, b, "two")
	next, err := b.Changes(t.Context(), ch.Cursor)
	if err != nil {
		t.Fatalf("Changes on a new connector: %v", err)
	}
	if len(next.Items) != 1 || next.Items[0].Ref.Key != two.Ref.Key {
		t.Errorf("Changes(old cursor) on a new connector: got %d items, want only %s", len(next.Items), two.Ref.Key)
	}
}

func TestFindByMarkerSearchLag(t *testing.T) {
	tr := memory.NewTracker(memory.Options{PageSize: 2, SearchLag: time.Minute})
	c := newConn(t, tr)
	mk := connectors.MarkerID([]byte("k"), "platform", "1", "janecorp")
	if _, err := c.Create(t.Context(), mk, &connectors.Item{Title: "marked"}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	tr.Advance(time.Hour)
	for i := range 5 {
		mustCreate(t, c, fmt.Sprintf("newer %d", i))
	}
	// The marked item is indexed: one search request.
	r0 := tr.Requests()
	if it, err := c.FindByMarker(t.Context(), mk, connectors.FindHint{}); err != nil || it.Ref.Key != "MEM-1" {
		t.Fatalf("FindByMarker(indexed): got %v, %v", it, err)
	}
	if n := tr.Requests() - r0; n != 1 {
		t.Errorf("FindByMarker(indexed): got %d requests, want 1", n)
	}
	// A fresh one is not: the search misses and the listing finds it.
	mk2 := connectors.MarkerID([]byte("k"), "platform", "2", "janecorp")
	if _, err := c.Create(t.Context(), mk2, &connectors.Item{Title: "fresh"}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	r0 = tr.Requests()
	if it, err := c.FindByMarker(t.Context(), mk2, connectors.FindHint{}); err != nil || it.Title != "fresh" {
		t.Fatalf("FindByMarker(fresh): got %v, %v", it, err)
	}
	if n := tr.Requests() - r0; n != 2 {
		t.Errorf("FindByMarker(fresh): got %d requests, want 2 (search, first page)", n)
	}
	// The hint bounds the listing of an unknown marker.
	r0 = tr.Requests()
	_, err := c.FindByMarker(t.Context(), "0000", connectors.FindHint{CreatedAfter: tr.Now().Add(-time.Minute)})
	if !errors.Is(err, connectors.ErrNotFound) {
		t.Errorf("FindByMarker(unknown): got %v, want not found", err)
	}
	if n := tr.Requests() - r0; n != 4 {
		t.Errorf("FindByMarker(unknown, hint): got %d requests, want 4 (search, 3 pages of the 6 recent items)", n)
	}
}

func TestFactoryAndShared(t *testing.T) {
	tr := memory.NewTracker(memory.Options{Name: "test-shared"})
	memory.Share("test-shared", tr)
	t.Cleanup(func() { memory.Unshare("test-shared") })
	a, err := memory.Factory(connectors.Config{ID: "platform", Kind: "memory", Project: "test-shared"})
	if err != nil {
		t.Fatalf("Factory: %v", err)
	}
	if _, err := a.Create(t.Context(), "", &connectors.Item{Title: "via factory"}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if tr.Count() != 1 {
		t.Errorf("shared tracker Count: got %d, want 1", tr.Count())
	}
	if memory.Shared("test-shared") != tr {
		t.Errorf("Shared(name) did not return the shared tracker")
	}
	b, err := memory.Factory(connectors.Config{ID: "janecorp", Kind: "memory"})
	if err != nil {
		t.Fatalf("Factory (private): %v", err)
	}
	if _, err := b.Get(t.Context(), "MEM-1"); !errors.Is(err, connectors.ErrNotFound) {
		t.Errorf("private tracker Get(MEM-1): got %v, want not found", err)
	}
	for _, cfg := range []connectors.Config{{}, {ID: "x", URL: "ftp://host"}, {ID: "x", URL: "relative/path"}} {
		if _, err := memory.Factory(cfg); err == nil {
			t.Errorf("Factory(%+v): got no error", cfg)
		}
	}
}

func TestParseWebhook(t *testing.T) {
	c := newConn(t, memory.NewTracker(memory.Options{}))
	noSecret, err := memory.New(memory.NewTracker(memory.Options{}), connectors.Config{ID: "x"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	signed := func(body string) *http.Request {
		r, err := memory.NewSignedRequest("http://127.0.0.1/webhooks/platform", "hook", []byte(body))
		if err != nil {
			t.Fatalf("NewSignedRequest: %v", err)
		}
		return r
	}
	tests := []struct {
		name string
		c    *memory.Connector
		r    *http.Request
		body string
		want connectors.Code
	}{
		{"valid", c, signed(`{"delivery":"d1","keys":["MEM-1"]}`), `{"delivery":"d1","keys":["MEM-1"]}`, connectors.CodeUnknown},
		{"no secret configured", noSecret, signed(`{"delivery":"d1"}`), `{"delivery":"d1"}`, connectors.CodeUnauthenticated},
		{"no signature", c, &http.Request{Header: http.Header{}}, `{"delivery":"d1"}`, connectors.CodeUnauthenticated},
		{"body changed", c, signed(`{"delivery":"d1"}`), `{"delivery":"d2"}`, connectors.CodeUnauthenticated},
		{"no delivery id", c, signed(`{"keys":[]}`), `{"keys":[]}`, connectors.CodeInvalid},
		{"bad key", c, signed(`{"delivery":"d","keys":["a b"]}`), `{"delivery":"d","keys":["a b"]}`, connectors.CodeInvalid},
		{"not json", c, signed(`<xml/>`), `<xml/>`, connectors.CodeInvalid},
	}
	for _, tc := range tests {
		ev, err := tc.c.ParseWebhook(tc.r, []byte(tc.body))
		if got := connectors.CodeOf(err); got != tc.want || (tc.want == connectors.CodeUnknown) != (err == nil) {
			t.Errorf("%s: got %v (%v), want code %v", tc.name, err, got, tc.want)
		}
		if err == nil && (ev.DeliveryID != "d1" || ev.Event != memory.DefaultEvent || len(ev.Keys) != 1) {
			t.Errorf("%s: got %+v", tc.name, ev)
		}
	}
}

func TestPersonActions(t *testing.T) {
	tr := memory.NewTracker(memory.Options{})
	c := newConn(t, tr)
	key := tr.Open("opened by a person", "body", "P1", "customer:janecorp")
	tr.Advance(time.Minute)
	steps := []struct {
		name string
		do   func() error
		want func(*connectors.Item) bool
	}{
		{"add label", func() error { return tr.AddLabel(key, "status:in-progress") },
			func(it *connectors.Item) bool { return it.Status == connectors.StatusInProgress }},
		{"remove label", func() error { return tr.RemoveLabel(key, "P1") },
			func(it *connectors.Item) bool { return it.Priority == "" }},
		{"close not planned", func() error { return tr.Close(key, memory.ReasonNotPlanned) },
			func(it *connectors.Item) bool { return it.Status == connectors.StatusWontDo }},
		{"reopen", func() error { return tr.Reopen(key) },
			func(it *connectors.Item) bool { return it.Status == connectors.StatusInProgress }},
		{"modify due", func() error { return tr.Modify(key, func(is *memory.Issue) { is.Due = "2026-05-01"; is.Key = "HACK" }) },
			func(it *connectors.Item) bool { return it.Due == "2026-05-01" && it.Ref.Key == key }},
		{"edit body drops marker", func() error { return tr.EditBody(key, "rewritten") },
			func(it *connectors.Item) bool { return it.Description == "rewritten" }},
	}
	for _, s := range steps {
		before := tr.Now()
		tr.Advance(time.Second)
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		it, err := c.Get(t.Context(), key)
		if err != nil {
			t.Fatalf("%s: Get: %v", s.name, err)
		}
		if !s.want(it) || !it.UpdatedAt.After(before) {
			t.Errorf("%s: got %+v", s.name, it)
		}
	}
	if err := tr.EditTitle("MEM-999", "x"); err == nil {
		t.Errorf("EditTitle of a missing item: got no error")
	}
}

// TestConcurrentUse drives one tracker from two connectors and a person at
// once; run with -race.
func TestConcurrentUse(t *testing.T) {
	tr := memory.NewTracker(memory.Options{PageSize: 5})
	cs := []*memory.Connector{newConn(t, tr), newConn(t, tr)}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			c := cs[w%2]
			cursor := ""
			for i := range 20 {
				it, err := c.Create(t.Context(), "", &connectors.Item{Title: fmt.Sprintf("w%d-%d", w, i)})
				if err != nil {
					t.Errorf("Create: %v", err)
					return
				}
				if _, err := connectors.SetStatus(t.Context(), c, it.Ref.Key, connectors.StatusDone); err != nil {
					t.Errorf("SetStatus: %v", err)
				}
				if _, err := c.AddComment(t.Context(), it.Ref.Key, "", "hi"); err != nil {
					t.Errorf("AddComment: %v", err)
				}
				_ = tr.EditTitle(it.Ref.Key, "edited")
				tr.Advance(time.Millisecond)
				ch, err := c.Changes(t.Context(), cursor)
				if err != nil {
					t.Errorf("Changes: %v", err)
					return
				}
				cursor = ch.Cursor
			}
		})
	}
	wg.Wait()
	if got := tr.Count(); got != 160 {
		t.Errorf("Count: got %d, want 160", got)
	}
	ch, err := cs[0].Changes(t.Context(), "")
	if err != nil || len(ch.Items) != 160 {
		t.Errorf("Changes(\"\") after the run: got %v, %d items, want 160", err, len(ch.Items))
	}
}
