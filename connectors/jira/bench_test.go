package jira

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/jira/jirafake"
)

// benchEnv is a connector on a simulator for benchmarks.
func benchEnv(b *testing.B, opts jirafake.Options) (*Connector, *jirafake.Server) {
	b.Helper()
	fake := jirafake.Start(opts)
	b.Cleanup(fake.Close)
	user, token := fake.Credentials()
	c, err := New(connectors.Config{ID: "platform", URL: fake.URL(), Flavor: string(fake.Flavor()), Project: fake.Project(),
		Token: token, User: user, Now: fake.Now, HTTPClient: &http.Client{Timeout: 10 * time.Second}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	return c, fake
}

// report adds the simulator's request and write counts per operation.
func report(b *testing.B, fake *jirafake.Server, r0, w0 int) {
	b.ReportMetric(float64(fake.Requests()-r0)/float64(b.N), "requests/op")
	b.ReportMetric(float64(fake.Writes()-w0)/float64(b.N), "writes/op")
}

// BenchmarkIdlePoll measures one poll cycle with nothing changed. Bar: one
// request (the search), no writes.
func BenchmarkIdlePoll(b *testing.B) {
	for _, fl := range []jirafake.Flavor{jirafake.Cloud, jirafake.DataCenter} {
		b.Run(string(fl), func(b *testing.B) {
			c, fake := benchEnv(b, jirafake.Options{Flavor: fl})
			ctx := context.Background()
			for i := range 50 {
				if _, err := fake.CreateIssue("", jirafake.IssueInput{Summary: ptr(fmt.Sprintf("seed %d", i))}); err != nil {
					b.Fatal(err)
				}
			}
			ch, err := c.Changes(ctx, "")
			if err != nil {
				b.Fatal(err)
			}
			cur := ch.Cursor
			r0, w0 := fake.Requests(), fake.Writes()
			b.ResetTimer()
			for range b.N {
				ch, err := c.Changes(ctx, cur)
				if err != nil || len(ch.Items) != 0 {
					b.Fatalf("idle poll: %v, %d items", err, len(ch.Items))
				}
				cur = ch.Cursor
			}
			b.StopTimer()
			report(b, fake, r0, w0)
		})
	}
}

// BenchmarkCreate measures creating one mirror with its marker. Bar: one
// write; plus one read of the issue as stored.
func BenchmarkCreate(b *testing.B) {
	for _, fl := range []jirafake.Flavor{jirafake.Cloud, jirafake.DataCenter} {
		b.Run(string(fl), func(b *testing.B) {
			c, fake := benchEnv(b, jirafake.Options{Flavor: fl})
			ctx := context.Background()
			r0, w0 := fake.Requests(), fake.Writes()
			b.ResetTimer()
			for i := range b.N {
				it := connectors.Item{Title: "add uncached-read latency tests", Description: "**p99** < 250 ms",
					Priority: connectors.P1, Kind: connectors.KindDetect, Incident: "INC-42", Due: "2026-04-01"}
				marker := connectors.MarkerID([]byte("bench"), "platform", fmt.Sprint(i), "janecorp")
				if _, err := c.Create(ctx, marker, &it); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			report(b, fake, r0, w0)
		})
	}
}

// BenchmarkUpdate measures a change as the engine makes it: its Get, then
// Update. Bar: a field change is that read and one PUT; a status change
// on the two-step workflow that read and, per step, a transitions read and
// a transition (done is two steps from open, open one step from done).
func BenchmarkUpdate(b *testing.B) {
	cases := []struct {
		name  string
		patch func(i int) connectors.Patch
	}{
		{"fields", func(i int) connectors.Patch {
			title, due := fmt.Sprintf("title %d", i), "2026-05-01"
			return connectors.Patch{Title: &title, Due: &due}
		}},
		{"status-two-step", func(i int) connectors.Patch {
			s := connectors.StatusDone
			if i%2 == 1 {
				s = connectors.StatusOpen
			}
			return connectors.Patch{Status: &s}
		}},
	}
	for _, fl := range []jirafake.Flavor{jirafake.Cloud, jirafake.DataCenter} {
		for _, tc := range cases {
			b.Run(string(fl)+"/"+tc.name, func(b *testing.B) {
				c, fake := benchEnv(b, jirafake.Options{Flavor: fl, Workflow: jirafake.TwoStepWorkflow()})
				ctx := context.Background()
				it, err := c.Create(ctx, "", &connectors.Item{Title: "bench"})
				if err != nil {
					b.Fatal(err)
				}
				r0, w0 := fake.Requests(), fake.Writes()
				b.ResetTimer()
				for i := range b.N {
					if _, err := c.Get(ctx, it.Ref.Key); err != nil {
						b.Fatal(err)
					}
					if _, err := c.Update(ctx, it.Ref.Key, tc.patch(i)); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				report(b, fake, r0, w0)
			})
		}
	}
}
