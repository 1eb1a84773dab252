package dashboard

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/store"
)

func TestBuildCounts(t *testing.T) {
	db := fixtureStore(t, fixtureLinks())
	p, err := Build(db, fixtureInput())
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	tests := []struct {
		name      string
		got, want Counts
	}{
		{"janecorp", p.Customers[0].Counts, Counts{Items: 3, Open: 2, Critical: 2, Overdue: 2, Done: 1, Conflicts: 1}},
		{"acme-analytics", p.Customers[1].Counts, Counts{Items: 2, Open: 2, Critical: 0, Broken: 1}},
		{"totals", p.Totals, Counts{Items: 5, Open: 4, Critical: 2, Overdue: 2, Done: 1, Conflicts: 1, Broken: 1}},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s counts: got %+v, want %+v", tt.name, tt.got, tt.want)
		}
	}
	if len(p.Broken) != 1 || p.Broken[0].LinkID != "m-drill" {
		t.Errorf("broken: got %+v, want the drill link", p.Broken)
	}
	if len(p.Conflicts) != 1 || p.Conflicts[0].LinkID != "m-page" {
		t.Errorf("conflicts: got %+v, want the paging link", p.Conflicts)
	}
}

func TestBuildRows(t *testing.T) {
	db := fixtureStore(t, fixtureLinks())
	p, err := Build(db, fixtureInput())
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	rows := map[string]Row{}
	for _, c := range p.Customers {
		for _, inc := range c.Incidents {
			if inc.Incident != "INC-2041" {
				t.Errorf("%s: incident %q, want INC-2041", c.ID, inc.Incident)
			}
			for _, r := range inc.Items {
				rows[r.LinkID] = r
			}
		}
	}
	tests := []struct {
		link        string
		status      connectors.Status
		ownerName   string
		overdue     bool
		daysOverdue int
		inStep      bool
		due         string
		computed    bool
	}{
		{"m-tests", connectors.StatusInProgress, "Example Cloud", true, 6, true, "2026-03-10", false},
		{"m-page", connectors.StatusDone, "Example Cloud", false, 0, false, "2026-03-06", true},
		// P1 without a due date: due 30 days after creation (policy), 10 days ago.
		{"m-dash", connectors.StatusOpen, "JaneCorp", true, 10, true, "2026-03-06", true},
		{"m-docs", connectors.StatusOpen, "Example Cloud", false, 0, true, "", false},
	}
	for _, tt := range tests {
		r, ok := rows[tt.link]
		if !ok {
			t.Errorf("%s: no row", tt.link)
			continue
		}
		if r.Status != tt.status || r.OwnerName != tt.ownerName || r.Overdue != tt.overdue || r.DaysOverdue != tt.daysOverdue ||
			r.InStep != tt.inStep || r.Due != tt.due || r.DueComputed != tt.computed {
			t.Errorf("%s: got status=%s owner=%s overdue=%v/%d inStep=%v due=%s computed=%v, want %s %s %v/%d %v %s %v", tt.link,
				r.Status, r.OwnerName, r.Overdue, r.DaysOverdue, r.InStep, r.Due, r.DueComputed,
				tt.status, tt.ownerName, tt.overdue, tt.daysOverdue, tt.inStep, tt.due, tt.computed)
		}
	}
	// Within an incident, open items come first, then by priority.
	items := p.Customers[0].Incidents[0].Items
	if items[len(items)-1].LinkID != "m-page" {
		t.Errorf("janecorp order: got last %s, want the done item m-page last", items[len(items)-1].LinkID)
	}
}

func TestRenderContent(t *testing.T) {
	db := fixtureStore(t, fixtureLinks())
	p, err := Build(db, fixtureInput())
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	b, err := p.Render()
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	html := string(b)
	for _, want := range []string{
		"JaneCorp", "Acme Analytics", "Example Cloud", "Incident INC-2041",
		"Add uncached-read latency tests", "Page on regional latency SLO", "Document cache tiers",
		"Dashboard for platform storage latency", "Quarterly regional failover drill",
		`href="https://jira.example.test/browse/PLAT-1"`, `href="https://github.example.test/janecorp/reliability/issues/7"`,
		"6 d overdue", "in progress", "the customer&#39;s item was deleted", "1 conflict",
		"gitlab: list changes: temporary failure (HTTP 502)", "4990 left", `name="viewport"`, "@media (max-width:760px)",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}
	if strings.Contains(html, "<script") {
		t.Errorf("rendered page has a script element; the dashboard uses no JavaScript")
	}
}

func TestRenderEscapes(t *testing.T) {
	links := fixtureLinks()[:1]
	links[0].Platform.Base.Title = `<script>alert("x")</script>`
	links[0].Platform.URL = "javascript:alert(1)"
	db := fixtureStore(t, links)
	in := fixtureInput()
	in.Customers = in.Customers[:1]
	p, err := Build(db, in)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	b, err := p.Render()
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	html := string(b)
	for _, bad := range []string{`<script>alert`, `href="javascript:`} {
		if strings.Contains(html, bad) {
			t.Errorf("rendered page contains %q unescaped", bad)
		}
	}
	if !strings.Contains(html, "&lt;script&gt;") {
		t.Errorf("rendered page lacks the escaped title")
	}
}

func TestHandler(t *testing.T) {
	db := fixtureStore(t, fixtureLinks())
	h := NewHandler(db, fixtureInput, nil)
	tests := []struct {
		method, path string
		code         int
		want         string
	}{
		{http.MethodGet, "/", http.StatusOK, "Acme Analytics"},
		{http.MethodHead, "/", http.StatusOK, ""},
		{http.MethodPost, "/", http.StatusMethodNotAllowed, "method not allowed"},
		{http.MethodGet, "/nope", http.StatusNotFound, "not found"},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		if rec.Code != tt.code {
			t.Errorf("%s %s: got %d, want %d", tt.method, tt.path, rec.Code, tt.code)
		}
		if !strings.Contains(rec.Body.String(), tt.want) {
			t.Errorf("%s %s: body lacks %q", tt.method, tt.path, tt.want)
		}
		if tt.code == http.StatusOK {
			if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("%s %s: Content-Security-Policy %q, want default-src 'none'", tt.method, tt.path, csp)
			}
		}
	}
}

func TestHandlerStoreError(t *testing.T) {
	db := fixtureStore(t, nil)
	if err := db.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	h := NewHandler(db, fixtureInput, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("closed store: got %d, want 500", rec.Code)
	}
}

func TestEmptyCustomer(t *testing.T) {
	db := fixtureStore(t, []*store.Link{})
	p, err := Build(db, fixtureInput())
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	b, _ := p.Render()
	if !strings.Contains(string(b), "Nothing linked for JaneCorp yet.") {
		t.Errorf("empty customer: page lacks the empty-state text")
	}
}
