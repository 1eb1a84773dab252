package store

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
)

// benchLink is a link of realistic size: a shared summary on both sides and
// two mirrored comments.
func benchLink(customer string, n int) *Link {
	l := testLink(customer, n)
	l.ID = connectors.MarkerID([]byte("bench-key"), "platform", l.Platform.ID, customer) // random order, as in use
	summary := strings.Repeat("Uncached reads regressed p99 latency; add tests. ", 5)
	l.Platform.Base.Summary, l.Remote.Base.Summary = summary, summary
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	l.Platform.UpdatedAt, l.Remote.UpdatedAt = at, at.Add(time.Minute)
	l.Comments = []CommentLink{
		{Source: "platform", SourceID: fmt.Sprint(n, "01"), MirrorID: fmt.Sprint(n, "91"), Hash: "9f86d081884c7d659a2feaa0c55ad015"},
		{Source: "customer", SourceID: fmt.Sprint(n, "02"), MirrorID: fmt.Sprint(n, "92"), Hash: "60303ae22b998861bce3b28f33eec1be"},
	}
	return l
}

// BenchmarkPutLink measures one durable PutLink (fsync on), alone and with
// concurrent writers sharing transactions.
func BenchmarkPutLink(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		db := openTest(b, Options{})
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := db.PutLink(benchLink("acme", i)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		db := openTest(b, Options{})
		var n atomic.Int64
		b.SetParallelism(4) // 4 x GOMAXPROCS writers
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := db.PutLink(benchLink("acme", int(n.Add(1)))); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkStore100kLinks builds a store of 100,000 links (10 customers of
// 10,000) and reports its size per link, then times the reads the daemon
// makes: open, a ref lookup, listing one customer's links or their
// summaries, and Check.
func BenchmarkStore100kLinks(b *testing.B) {
	const customers, perCustomer = 10, 10000
	const total = customers * perCustomer
	path := filepath.Join(b.TempDir(), "pmsync.db")
	db := openAt(b, path, Options{NoSync: true})
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < total; i += 8 {
				if err := db.PutLink(benchLink(fmt.Sprint("customer", i%customers), i/customers)); err != nil {
					b.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	fill := time.Since(start)
	st := db.Stats()
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d links written in %v (%.0f links/s, fsync off); file %d bytes, data %d bytes",
		st.Links, fill.Round(time.Millisecond), float64(total)/fill.Seconds(), st.FileSize, st.DataSize)

	b.Run("size", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
		}
		b.ReportMetric(float64(st.FileSize)/total, "file-B/link")
		b.ReportMetric(float64(st.DataSize)/total, "data-B/link")
		b.ReportMetric(float64(st.Links), "links")
	})
	b.Run("open", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			db := openAt(b, path, Options{})
			if err := db.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
	db = openAt(b, path, Options{})
	defer db.Close()
	b.Run("LinksByRef", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			ls, err := db.LinksByRef(benchLink("customer0", i%perCustomer).Platform.Ref)
			if err != nil || len(ls) == 0 {
				b.Fatalf("LinksByRef = %d links, %v", len(ls), err)
			}
		}
	})
	b.Run("Links", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			ls, err := db.Links("customer3")
			if err != nil || len(ls) != perCustomer {
				b.Fatalf("Links = %d links, %v; want %d", len(ls), err, perCustomer)
			}
		}
	})
	b.Run("LinkSummaries", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			n := 0
			err := db.LinkSummaries("customer3", func(LinkSummary) error { n++; return nil })
			if err != nil || n != perCustomer {
				b.Fatalf("LinkSummaries = %d summaries, %v; want %d", n, err, perCustomer)
			}
		}
	})
	b.Run("Check", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := db.Check(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
