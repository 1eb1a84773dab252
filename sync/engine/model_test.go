package engine

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/conformance"
	"github.com/pmsync/pmsync/connectors/memory"
	"github.com/pmsync/pmsync/store"
)

var modelSequences = flag.Int("model.sequences", 200, "random operation sequences of TestModelBasedSync")

// modelCanary marks the text written on tracker id; text of one tenant
// must never reach another, and internal platform text no customer.
func modelCanary(id string) string { return "CANARY-" + strings.ToUpper(id) + "-X" }

// model drives random operations on both sides of a world.
type model struct {
	*world
	rng   *rand.Rand
	steps []string
	hooks int
}

func (m *model) trackers() []string { return append([]string{PlatformID}, m.ids...) }

func (m *model) tr(id string) *memory.Tracker {
	if id == PlatformID {
		return m.plat
	}
	return m.cust[id]
}

// pick returns a random existing item of tracker id, or "".
func (m *model) pick(id string) string {
	keys := m.tr(id).Keys()
	if len(keys) == 0 {
		return ""
	}
	return keys[m.rng.IntN(len(keys))]
}

func (m *model) logf(format string, a ...any) { m.steps = append(m.steps, fmt.Sprintf(format, a...)) }

// step applies one random operation.
func (m *model) step(t *testing.T) {
	id := m.trackers()[m.rng.IntN(len(m.trackers()))]
	tr := m.tr(id)
	key := m.pick(id)
	switch op := m.rng.IntN(15); {
	case op < 2: // create
		title := fmt.Sprintf("item %d on %s", m.rng.IntN(1000), id)
		desc := "internal " + modelCanary(id) + "\n\n## Customer summary\nshared text " + fmt.Sprint(m.rng.IntN(9))
		var labels []string
		if id == PlatformID {
			labels = append(labels, actionL)
			for _, c := range m.ids {
				if m.rng.IntN(2) == 0 {
					labels = append(labels, "customer:"+c)
				}
			}
			if m.rng.IntN(4) == 0 {
				labels = append(labels, "owner:customer")
			}
		} else {
			desc = "customer text " + modelCanary(id)
			if m.rng.IntN(3) > 0 {
				labels = append(labels, "share-with-platform")
			}
		}
		labels = append(labels, string(connectors.Priorities[m.rng.IntN(5)]))
		k := tr.Open(title, desc, labels...)
		m.logf("open %s %s %v", id, k, labels)
	case key == "":
	case op < 4:
		_ = tr.EditTitle(key, fmt.Sprintf("renamed %d", m.rng.IntN(1000)))
		m.logf("rename %s %s", id, key)
	case op < 6:
		switch m.rng.IntN(3) {
		case 0:
			_ = tr.Close(key, memory.ReasonCompleted)
		case 1:
			_ = tr.Reopen(key)
			_ = tr.AddLabel(key, "status:in-progress")
		default:
			_ = tr.Reopen(key)
			_ = tr.RemoveLabel(key, "status:in-progress")
		}
		m.logf("status %s %s", id, key)
	case op < 8:
		body := "comment " + modelCanary(id)
		if id == PlatformID && m.rng.IntN(2) == 0 {
			body = "[customer] shared comment"
		}
		_ = tr.AddComment(key, "person", body, m.rng.IntN(5) == 0)
		m.logf("comment %s %s", id, key)
	case op < 10:
		label := "share-with-platform"
		if id == PlatformID {
			label = "customer:" + m.ids[m.rng.IntN(len(m.ids))]
		}
		if m.rng.IntN(2) == 0 {
			_ = tr.AddLabel(key, label)
		} else {
			_ = tr.RemoveLabel(key, label)
		}
		m.logf("label %s %s %s", id, key, label)
	case op == 10 && m.rng.IntN(3) == 0:
		_ = tr.Delete(key)
		m.logf("delete %s %s", id, key)
	case op < 12:
		m.fault(id)
	case op == 12:
		m.webhook(t, id, key)
	case op == 13:
		m.restart()
		m.logf("restart")
	default:
		m.pass(t)
	}
}

// fault queues a failure on tracker id, some of them after the write was
// committed (a lost answer, as after a crash).
func (m *model) fault(id string) {
	ops := []conformance.Op{conformance.OpCreate, conformance.OpUpdate, conformance.OpComment, conformance.OpGet, conformance.OpList}
	f := conformance.Fault{Op: ops[m.rng.IntN(len(ops))], Status: http.StatusBadGateway, AfterCommit: m.rng.IntN(2) == 0}
	if m.rng.IntN(4) == 0 {
		f.Status, f.AfterCommit = http.StatusTooManyRequests, false
		f.Header = http.Header{"Retry-After": []string{"2"}}
	}
	m.tr(id).Inject(f)
	m.logf("fault %s %+v", id, f)
}

// webhook delivers a signed webhook for key, sometimes twice.
func (m *model) webhook(t *testing.T, id, key string) {
	m.hooks++
	h := m.eng.WebhookHandler()
	n := 1 + m.rng.IntN(2)
	for i := 0; i < n; i++ {
		r, err := memory.NewWebhookRequest("http://pmsync.test/webhooks/"+id, testSecret, fmt.Sprintf("d-%d", m.hooks), key)
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusAccepted && rec.Code != http.StatusOK {
			t.Fatalf("webhook answered %d", rec.Code)
		}
	}
	m.logf("webhook %s %s x%d", id, key, n)
}

// pass runs one sync pass; failed items are allowed (faults), errors not.
func (m *model) pass(t *testing.T) int {
	p, err := m.eng.SyncOnce(context.Background(), false)
	if err != nil {
		t.Fatalf("SyncOnce: %v\nsteps:\n%s", err, strings.Join(m.steps, "\n"))
	}
	m.logf("pass: %d writes, %d failures", len(p.Writes), len(p.Failures))
	return len(p.Writes)
}

// checkSafety holds after every step: no tracker has two items with one
// marker, no tenant holds another's text, no customer internal text.
func (m *model) checkSafety(t *testing.T) {
	t.Helper()
	for _, id := range m.trackers() {
		seen := map[string]string{}
		for _, k := range m.tr(id).Keys() {
			is, _ := m.tr(id).Issue(k)
			mk, _ := connectors.ExtractMarker(is.Body)
			if mk == "" {
				continue
			}
			if other, dup := seen[mk]; dup {
				m.fail(t, "duplicate mirrors %s and %s on %s", other, k, id)
			}
			seen[mk] = k
		}
		if id == PlatformID {
			continue
		}
		d := dump(m.tr(id))
		for _, other := range m.trackers() {
			if other != id && strings.Contains(d, modelCanary(other)) {
				m.fail(t, "tracker %s holds text of %s", id, other)
			}
		}
	}
}

func (m *model) fail(t *testing.T, format string, a ...any) {
	t.Helper()
	t.Fatalf(format+"\nsteps:\n%s", append(a, strings.Join(m.steps, "\n"))...)
}

// checkConverged holds after quiescence: every active link has equal
// synced values on both sides, every selected origin has a mirror, and a
// further pass writes nothing.
func (m *model) checkConverged(t *testing.T) {
	t.Helper()
	for _, c := range m.eng.custs {
		links, err := m.db.Links(c.ID)
		if err != nil {
			t.Fatal(err)
		}
		linked := map[connectors.Ref]*store.Link{}
		for _, l := range links {
			linked[originRef(l)] = l
			if l.State != store.LinkActive {
				continue
			}
			os, ms := sideOf(l.Origin), sideOf(l.Origin).Other()
			oi, err1 := m.eng.sideTracker(c, os).g.Get(context.Background(), linkSide(l, os).Ref.Key)
			mi, err2 := m.eng.sideTracker(c, ms).g.Get(context.Background(), linkSide(l, ms).Ref.Key)
			if err1 != nil || err2 != nil {
				m.fail(t, "active link %s of %s: read errors %v, %v", l.ID, c.ID, err1, err2)
			}
			ov, mv := values(c, oi, os, os), values(c, mi, ms, os)
			for _, f := range SyncedFields {
				if ov[f] != mv[f] {
					m.fail(t, "link %s of %s not converged on %s: origin %q, mirror %q", l.ID, c.ID, f, ov[f], mv[f])
				}
			}
		}
		for _, k := range m.plat.Keys() {
			is, _ := m.plat.Issue(k)
			mk, _ := connectors.ExtractMarker(is.Body)
			it := &connectors.Item{Labels: is.Labels}
			if mk == "" && it.HasLabel(actionL) && it.HasLabel(c.Share.SelectLabel) {
				if l := linked[connectors.Ref{Tracker: PlatformID, Key: k}]; l == nil || l.State == store.LinkUnshared {
					m.fail(t, "platform item %s selected for %s has no active link", k, c.ID)
				}
			}
		}
	}
	before := m.writes()
	if n := m.pass(t); n != 0 || m.writes() != before {
		m.fail(t, "a pass after convergence made %d writes (%d requests)", n, m.writes()-before)
	}
}

// TestModelBasedSync runs random sequences of operations on both sides
// (create, edit, status, comment, label add and remove, delete, webhooks
// and duplicates, faults including lost answers, restarts) with the
// safety invariants checked after each step, and convergence after
// quiescence. -model.sequences sets how many.
func TestModelBasedSync(t *testing.T) {
	for seq := 0; seq < *modelSequences; seq++ {
		m := &model{world: newWorld(t, "jane", "beta"), rng: rand.New(rand.NewPCG(uint64(seq), 7))}
		steps := 10 + m.rng.IntN(20)
		for i := 0; i < steps; i++ {
			m.step(t)
			m.checkSafety(t)
			if t.Failed() {
				return
			}
		}
		for _, id := range m.trackers() {
			m.tr(id).ClearFaults()
		}
		for i := 0; i < 6 && m.pass(t) > 0; i++ {
		}
		m.checkSafety(t)
		if err := m.db.Check(); err != nil {
			m.fail(t, "store check: %v", err)
		}
		m.checkConverged(t)
		if t.Failed() {
			t.Logf("sequence %d failed", seq)
			return
		}
	}
}
