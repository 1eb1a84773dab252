package github_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/github"
	"github.com/pmsync/pmsync/connectors/github/githubfake"
)

// BenchmarkIdlePoll measures a poll of a repository where nothing changed:
// the bar is one request per poll, answered 304 at no budget.
func BenchmarkIdlePoll(b *testing.B) {
	ctx := context.Background()
	c, be := setup(b, githubfake.Options{SecondaryPerMinute: -1}, github.Options{}, nil)
	for i := range 50 {
		mustCreate(b, c, marker(i), item(fmt.Sprintf("item %d", i)))
	}
	cur := ""
	for range 2 {
		ch, err := c.Changes(ctx, cur)
		if err != nil {
			b.Fatal(err)
		}
		cur = ch.Cursor
	}
	before, budget := be.Stats(), c.RateLimit().Remaining
	b.ResetTimer()
	for range b.N {
		ch, err := c.Changes(ctx, cur)
		if err != nil || len(ch.Items) != 0 {
			b.Fatalf("idle Changes: %d items, %v", len(ch.Items), err)
		}
	}
	b.StopTimer()
	after := be.Stats()
	b.ReportMetric(float64(after.Requests-before.Requests)/float64(b.N), "requests/op")
	b.ReportMetric(float64(after.NotModified-before.NotModified)/float64(b.N), "304s/op")
	b.ReportMetric(float64(budget-c.RateLimit().Remaining)/float64(b.N), "budget/op")
}

// BenchmarkCreate measures creating an issue with a marker and pmsync's
// labels (already present after the first): the bar is one request, one
// write. Creates are not paced here; GitHub's pacing is measured apart.
func BenchmarkCreate(b *testing.B) {
	ctx := context.Background()
	c, be := setup(b, githubfake.Options{SecondaryPerMinute: -1, RateLimit: 1 << 30}, github.Options{}, nil)
	it := connectors.Item{Title: "Add uncached-read latency tests", Description: "## Customer summary\n\nCold reads.",
		Status: connectors.StatusOpen, Priority: connectors.P1, Kind: connectors.KindDetect, Incident: "INC-42", Due: "2026-06-30"}
	mustCreate(b, c, "warm", it)
	before := be.Stats()
	start := time.Now()
	b.ResetTimer()
	for i := range b.N {
		cp := it
		if _, err := c.Create(ctx, marker(i), &cp); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	after := be.Stats()
	b.ReportMetric(float64(after.Requests-before.Requests)/float64(b.N), "requests/op")
	b.ReportMetric(float64(after.Writes-before.Writes)/float64(b.N), "writes/op")
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "creates/s")
}
