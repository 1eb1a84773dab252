package dashboard

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pmsync/pmsync/sync/dashboard/browsertest"
)

// TestDashboardBrowser renders the dashboard of the incident fixture in
// Chromium at laptop and phone widths, checks what a person would read,
// that the phone layout has cards instead of a table and does not scroll
// sideways, and saves full-page screenshots.
func TestDashboardBrowser(t *testing.T) {
	browsertest.Require(t)
	db := fixtureStore(t, fixtureLinks())
	srv := httptest.NewServer(NewHandler(db, fixtureInput, nil))
	defer srv.Close()

	for _, c := range browsertest.CheckInBrowser(t, srv.URL+"/", browsertest.ScreenshotDir(), "dashboard-fixture") {
		for _, want := range []string{
			"JaneCorp", "Acme Analytics", "Incident INC-2041",
			"Add uncached-read latency tests", "Page on regional latency SLO", "Document cache tiers",
			"Dashboard for platform storage latency", "Quarterly regional failover drill",
			"in progress", "done", "overdue", "PLAT-1", "janecorp/reliability#7", "acme/ops#2",
		} {
			if !strings.Contains(c.Text, want) {
				t.Errorf("%s: page text lacks %q", c.Viewport.Name, want)
			}
		}
		if c.TableHeadVisible == c.Viewport.Mobile {
			t.Errorf("%s: items table head visible=%v, want %v (tables on a laptop, cards on a phone)",
				c.Viewport.Name, c.TableHeadVisible, !c.Viewport.Mobile)
		}
		if c.ScrollWidth > c.Viewport.Width {
			t.Errorf("%s: page is %d px wide, wider than the %d px viewport", c.Viewport.Name, c.ScrollWidth, c.Viewport.Width)
		}
	}
}
