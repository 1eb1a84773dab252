package remind

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestReportGolden(t *testing.T) {
	_, b := openScenario(t)
	month, err := ParseMonth("2025-03", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	r, err := b.Report(context.Background(), "janecorp", month, scenarioNow)
	if err != nil {
		t.Fatalf("report: %v", err)
	}
	for _, f := range []Format{FormatMarkdown, FormatHTML} {
		out, err := r.Render(f)
		if err != nil {
			t.Fatalf("render %s: %v", f, err)
		}
		golden(t, "report-janecorp-2025-03."+string(f)+".golden", out)
		assertNoCanary(t, "report "+string(f), string(out), janeCanaries)
	}
	if _, err := r.Render(FormatText); err == nil {
		t.Errorf("render text: got no error, want one (reports are md or html)")
	}
}

func TestReportContents(t *testing.T) {
	_, b := openScenario(t)
	ctx := context.Background()
	titles := func(vs []ItemView) string {
		var s []string
		for _, v := range vs {
			s = append(s, v.Title+"="+string(v.Status))
		}
		return strings.Join(s, "; ")
	}
	tests := []struct {
		month                   string
		wantClosed, wantEarlier string
		wantTotals              ReportTotals
		wantAsOf                time.Time
	}{
		{"2025-03", "document cache tiers=done",
			"add uncached-read latency tests=in_progress; dashboard for platform storage latency=in_progress; page on regional latency SLO=open",
			ReportTotals{Items: 5, Open: 4, OpenCritical: 3, Overdue: 1, ClosedInMonth: 1, EarlierOpen: 3, PlatformOwned: 3, CustomerOwned: 2},
			scenarioNow},
		// As of the end of February the cache-tier item was still open.
		{"2025-02", "", "",
			ReportTotals{Items: 5, Open: 5, OpenCritical: 3, CreatedInMonth: 5, PlatformOwned: 3, CustomerOwned: 2},
			time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)},
		// Nothing existed yet in January.
		{"2025-01", "", "", ReportTotals{}, time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		month, _ := ParseMonth(tc.month, time.UTC)
		r, err := b.Report(ctx, "janecorp", month, scenarioNow)
		if err != nil {
			t.Fatalf("%s: %v", tc.month, err)
		}
		if got := titles(r.ClosedInMonth); got != tc.wantClosed {
			t.Errorf("%s closed: got %q, want %q", tc.month, got, tc.wantClosed)
		}
		if got := titles(r.EarlierOpen); got != tc.wantEarlier {
			t.Errorf("%s earlier open: got %q, want %q", tc.month, got, tc.wantEarlier)
		}
		if r.Totals != tc.wantTotals {
			t.Errorf("%s totals: got %+v, want %+v", tc.month, r.Totals, tc.wantTotals)
		}
		if !r.AsOf.Equal(tc.wantAsOf) {
			t.Errorf("%s as of: got %v, want %v", tc.month, r.AsOf, tc.wantAsOf)
		}
	}
}

func TestReportErrors(t *testing.T) {
	_, b := openScenario(t)
	ctx := context.Background()
	if _, err := ParseMonth("2025-3x", nil); err == nil || !strings.Contains(err.Error(), "YYYY-MM") {
		t.Errorf("ParseMonth: got %v, want an error asking for YYYY-MM", err)
	}
	future, _ := ParseMonth("2025-04", nil)
	if _, err := b.Report(ctx, "janecorp", future, scenarioNow); err == nil || !strings.Contains(err.Error(), "2025-04") {
		t.Errorf("future month: got %v, want an error naming 2025-04", err)
	}
	march, _ := ParseMonth("2025-03", nil)
	if _, err := b.Report(ctx, "initech", march, scenarioNow); err == nil || !strings.Contains(err.Error(), "initech") {
		t.Errorf("unknown customer: got %v, want an error naming it", err)
	}
}
