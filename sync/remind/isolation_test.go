package remind

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/store"
)

// memSource is an in-memory Source for randomized tests.
type memSource struct {
	links  map[string][]*store.Link
	events map[string][]store.AuditEvent
}

func (m *memSource) Customers() ([]string, error) {
	var out []string
	for c := range m.links {
		out = append(out, c)
	}
	return out, nil
}

func (m *memSource) Links(c string) ([]*store.Link, error) { return m.links[c], nil }

func (m *memSource) AuditLog(c string, since time.Time, limit int) ([]store.AuditEvent, error) {
	return m.events[c], nil
}

// randomTenants builds n tenants with random links. Every text of tenant
// i carries "CANARY<i>x" (customer side) or "INTERNAL" (platform side,
// never for customers).
func randomTenants(r *rand.Rand, n int, now time.Time) (*memSource, []Customer) {
	src := &memSource{links: map[string][]*store.Link{}, events: map[string][]store.AuditEvent{}}
	var customers []Customer
	statuses := []connectors.Status{"open", "in_progress", "done", "wont_do"}
	states := []store.LinkState{store.LinkActive, store.LinkActive, store.LinkActive, store.LinkBroken, store.LinkUnshared}
	for i := range n {
		id := fmt.Sprintf("tenant%d", i)
		can := fmt.Sprintf("CANARY%dx", i)
		customers = append(customers, Customer{ID: id, Name: "Name" + can})
		for j := range 1 + r.IntN(8) {
			ago := func() time.Time { return now.Add(-time.Duration(r.IntN(90*24)) * time.Hour) }
			origin := []connectors.Owner{"platform", "customer"}[r.IntN(2)]
			owner := []connectors.Owner{"platform", "customer"}[r.IntN(2)]
			prio := connectors.Priorities[r.IntN(5)]
			st := statuses[r.IntN(4)]
			due := ""
			if r.IntN(2) == 0 {
				due = ago().Format(dateLayout)
			}
			inc := fmt.Sprintf("INC-%s-%d", can, r.IntN(3))
			closed := time.Time{}
			if st.Closed() {
				closed = ago()
			}
			l := &store.Link{ID: fmt.Sprintf("%s-link%d", id, j), Customer: id, Origin: origin, Owner: owner,
				State: states[r.IntN(len(states))], BrokenReason: "INTERNAL broken reason " + can,
				LastConflictAt: ago(), Conflicts: r.IntN(2), LastError: "INTERNAL last error",
				Platform: store.Side{Ref: connectors.Ref{Tracker: "platform", Key: fmt.Sprintf("INTKEY-%d-%d", i, j)},
					URL:       fmt.Sprintf("https://internal.example/INTKEY-%d-%d", i, j),
					Base:      store.Fields{Title: "INTERNAL title " + can, Summary: "INTERNAL summary", Status: st, Priority: prio, Assignee: "INTERNAL-person", Due: due, Incident: inc},
					CreatedAt: ago(), UpdatedAt: ago(), ClosedAt: closed},
				Remote: store.Side{Ref: connectors.Ref{Tracker: id, Key: fmt.Sprintf("%s/repo#%d", can, j)},
					URL:       fmt.Sprintf("https://tracker.example/%s/%d", can, j),
					Base:      store.Fields{Title: "title " + can + " <b>&|*", Summary: "summary " + can, Status: st, Priority: prio, Assignee: "person-" + can, Due: due, Incident: inc},
					CreatedAt: ago(), UpdatedAt: ago(), ClosedAt: closed},
			}
			src.links[id] = append(src.links[id], l)
			src.events[id] = append(src.events[id], store.AuditEvent{Time: ago(), Customer: id, Link: l.ID, Action: "conflict",
				Fields: []string{"title"}, Detail: "INTERNAL losing value " + can})
		}
	}
	// A link filed under the wrong customer must never be shown either.
	src.links["tenant0"] = append(src.links["tenant0"], &store.Link{ID: "stray", Customer: "tenant1", Origin: "platform",
		Remote: store.Side{Ref: connectors.Ref{Tracker: "tenant1", Key: "CANARY1x/stray#1"}, Base: store.Fields{Title: "CANARY1x stray", Priority: "P0"}}})
	return src, customers
}

// TestDigestIsolationRandomized: over many random stores of ten tenants,
// every customer's digest (text, Markdown, HTML, chat) and report holds
// only that customer's canary and nothing internal. PMSYNC_ISOLATION_RUNS
// raises the number of runs (default 20).
func TestDigestIsolationRandomized(t *testing.T) {
	runs := 20
	if v, err := strconv.Atoi(os.Getenv("PMSYNC_ISOLATION_RUNS")); err == nil && v > 0 {
		runs = v
	}
	now := time.Date(2025, 3, 24, 13, 0, 0, 0, time.UTC)
	ctx := context.Background()
	for run := range runs {
		r := rand.New(rand.NewPCG(uint64(run), 7))
		src, customers := randomTenants(r, 10, now)
		b := &Builder{Source: src, Policy: DefaultPolicy(), PlatformName: "Example Cloud", Customers: customers}
		for i, c := range customers {
			d, err := b.Digest(ctx, Audience{Customer: c.ID}, now.Add(-30*day), now)
			if err != nil {
				t.Fatalf("run %d: digest %s: %v", run, c.ID, err)
			}
			var outs []string
			for _, f := range []Format{FormatText, FormatMarkdown, FormatHTML} {
				out, err := d.Render(f)
				if err != nil {
					t.Fatalf("run %d: render: %v", run, err)
				}
				outs = append(outs, string(out))
			}
			chat, _ := json.Marshal(chatPayload(d))
			outs = append(outs, string(chat), d.Subject())
			rep, err := b.Report(ctx, c.ID, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), now)
			if err != nil {
				t.Fatalf("run %d: report %s: %v", run, c.ID, err)
			}
			for _, f := range []Format{FormatMarkdown, FormatHTML} {
				out, _ := rep.Render(f)
				outs = append(outs, string(out))
			}
			own := fmt.Sprintf("CANARY%dx", i)
			for k, out := range outs {
				if strings.Contains(out, "INTERNAL") || strings.Contains(out, "INTKEY") || strings.Contains(out, "internal.example") {
					t.Fatalf("run %d: output %d for %s holds internal data", run, k, c.ID)
				}
				for j := range customers {
					if other := fmt.Sprintf("CANARY%dx", j); j != i && strings.Contains(out, other) {
						t.Fatalf("run %d: output %d for %s holds %s of another customer", run, k, c.ID, other)
					}
				}
				if d.Totals.Open > 0 && !strings.Contains(out, own) && k < 3 {
					t.Fatalf("run %d: digest %d for %s shows none of its own items", run, k, c.ID)
				}
			}
		}
	}
}
