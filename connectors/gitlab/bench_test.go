package gitlab

import (
	"fmt"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/gitlab/gitlabfake"
)

// benchSetup is setup for benchmarks: a started simulator and a
// connector with the simulator's clock.
func benchSetup(b *testing.B) (*Client, *gitlabfake.Server) {
	b.Helper()
	srv := gitlabfake.Start(gitlabfake.Options{Token: testToken, Projects: []string{testProject}})
	b.Cleanup(srv.Close)
	c, err := newClient(connectors.Config{ID: "acme", URL: srv.URL(), Project: testProject, Token: testToken, Now: srv.Now})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	return c, srv
}

// BenchmarkIdlePoll measures one incremental poll of a project of 200
// issues in which nothing changed since the cursor: the bar is one request.
func BenchmarkIdlePoll(b *testing.B) {
	c, srv := benchSetup(b)
	for i := range 200 {
		it := connectors.Item{Title: fmt.Sprintf("item %d", i), Status: connectors.StatusOpen, Priority: connectors.P2}
		if _, err := c.Create(b.Context(), marker(i), &it); err != nil {
			b.Fatal(err)
		}
	}
	ch, err := c.Changes(b.Context(), "")
	if err != nil {
		b.Fatal(err)
	}
	// A poll an hour later (beyond the overlap) sees nothing new and moves
	// the cursor to GitLab's time; from then on the window is empty.
	srv.Advance(time.Hour)
	if ch, err = c.Changes(b.Context(), ch.Cursor); err != nil {
		b.Fatal(err)
	}
	cursor := ch.Cursor
	r0, w0 := srv.Requests(), srv.Writes()
	b.ResetTimer()
	for b.Loop() {
		ch, err := c.Changes(b.Context(), cursor)
		if err != nil {
			b.Fatal(err)
		}
		if len(ch.Items) != 0 {
			b.Fatalf("idle poll returned %d items", len(ch.Items))
		}
		cursor = ch.Cursor
	}
	b.ReportMetric(float64(srv.Requests()-r0)/float64(b.N), "requests/op")
	b.ReportMetric(float64(srv.Writes()-w0)/float64(b.N), "writes/op")
}

// BenchmarkCreate measures creating one issue with a marker and managed
// labels: the bar is one request, a write.
func BenchmarkCreate(b *testing.B) {
	c, srv := benchSetup(b)
	r0, w0 := srv.Requests(), srv.Writes()
	n := 0
	for b.Loop() {
		n++
		it := connectors.Item{Title: "created", Status: connectors.StatusInProgress, Priority: connectors.P1,
			Kind: connectors.KindDetect, Incident: "INC-1", Due: "2026-05-01"}
		if _, err := c.Create(b.Context(), marker(n), &it); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(srv.Requests()-r0)/float64(b.N), "requests/op")
	b.ReportMetric(float64(srv.Writes()-w0)/float64(b.N), "writes/op")
}

// BenchmarkUpdate measures back-to-back field changes (title, priority and
// status in one patch) on one issue: each PUT's answer stands in for the
// read of the next, so each is one request, a write. The engine's Get
// before an Update makes it one read and one write (TestUpdateCost).
func BenchmarkUpdate(b *testing.B) {
	c, srv := benchSetup(b)
	it := connectors.Item{Title: "t", Status: connectors.StatusOpen, Priority: connectors.P3}
	got, err := c.Create(b.Context(), marker(0), &it)
	if err != nil {
		b.Fatal(err)
	}
	r0, w0 := srv.Requests(), srv.Writes()
	n := 0
	for b.Loop() {
		n++
		st, pr := connectors.StatusInProgress, connectors.P1
		if n%2 == 0 {
			st, pr = connectors.StatusOpen, connectors.P3
		}
		title := fmt.Sprintf("title %d", n)
		if _, err := c.Update(b.Context(), got.Ref.Key, connectors.Patch{Title: &title, Status: &st, Priority: &pr}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(srv.Requests()-r0)/float64(b.N), "requests/op")
	b.ReportMetric(float64(srv.Writes()-w0)/float64(b.N), "writes/op")
}
