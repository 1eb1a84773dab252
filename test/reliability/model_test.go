package reliability

import (
	"context"
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
	"github.com/pmsync/pmsync/sync/engine"
)

// TestModelSequences runs random sequences of operations on both sides
// (create, edit, status, comment, label add/remove, delete, webhook
// duplicate, webhook drop, sync with injected faults, crash at a random
// request + restart on the same store and trackers) and checks after every
// step that no tracker holds a duplicate mirror or mirrored comment and no
// tracker holds text that must never reach it; after the sequence, that
// syncing reaches quiescence and every link is converged. PMSYNC_MODEL_SEQS
// sets the number of sequences (default 200), PMSYNC_MODEL_STEPS their
// length, PMSYNC_MODEL_SEED the first seed.
func TestModelSequences(t *testing.T) {
	seqs := EnvInt(t, "PMSYNC_MODEL_SEQS", 200)
	steps := EnvInt(t, "PMSYNC_MODEL_STEPS", 30)
	base := EnvInt(t, "PMSYNC_MODEL_SEED", 20260301)
	for i := 0; i < seqs; i++ {
		seed := uint64(base + i)
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			runModel(t, seed, steps)
		})
	}
}

// model is one random sequence against one world.
type model struct {
	t     *testing.T
	rng   *rand.Rand
	w     *MemWorld
	n     int
	trace []string
}

var modelCustomers = []string{"acme", "beta"}

func runModel(t *testing.T, seed uint64, steps int) {
	m := &model{t: t, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	m.w = NewMemWorld(t, NewClock(memory.Epoch, true), modelCustomers...)
	ops := []struct {
		weight int
		run    func() string
	}{
		{5, m.platCreate}, {3, m.custCreate}, {3, m.editTitle}, {1, m.editBody}, {5, m.setStatus},
		{4, m.comment}, {3, m.toggleLabel}, {1, m.deleteItem}, {2, m.webhookDuplicate},
		{6, m.sync}, {2, m.crash},
	}
	// A few items on each side first, so that early steps have targets.
	m.trace = append(m.trace, " - "+m.platCreate(), " - "+m.platCreate(), " - "+m.platCreate(), " - "+m.custCreate(), " - "+m.custCreate())
	total := 0
	for _, op := range ops {
		total += op.weight
	}
	for step := 0; step < steps; step++ {
		r := m.rng.IntN(total)
		for _, op := range ops {
			if r < op.weight {
				m.trace = append(m.trace, fmt.Sprintf("%2d %s", step, op.run()))
				break
			}
			r -= op.weight
		}
		if v := CheckMemWorld(m.w); len(v) > 0 {
			m.fail("after step %d: %s", step, strings.Join(v, "\n"))
		}
	}
	m.quiesce()
	if testing.Verbose() {
		t.Logf("trace:\n%s\nlinks: %s", strings.Join(m.trace, "\n"), m.linkSummary())
	}
}

// linkSummary counts the world's links by state.
func (m *model) linkSummary() string {
	counts := map[store.LinkState]int{}
	for _, c := range m.w.IDs {
		links, _ := m.w.DB.Links(c)
		for _, l := range links {
			counts[l.State]++
		}
	}
	return fmt.Sprint(counts)
}

func (m *model) fail(format string, a ...any) {
	m.t.Helper()
	m.t.Fatalf("seed sequence failed: "+format+"\ntrace:\n%s\nplatform:\n%s\nacme:\n%s\nbeta:\n%s",
		append(a, strings.Join(m.trace, "\n"), MemDump(m.w.Platform), MemDump(m.w.Customers["acme"]), MemDump(m.w.Customers["beta"]))...)
}

func (m *model) next() int { m.n++; return m.n }

func (m *model) pick(items []string) string {
	if len(items) == 0 {
		return ""
	}
	return items[m.rng.IntN(len(items))]
}

// anyItem picks a tracker and one of its items; key is "" when it has none.
func (m *model) anyItem() (id string, tr *memory.Tracker, key string) {
	id = m.pick(m.w.Trackers())
	tr = m.w.Tracker(id)
	return id, tr, m.pick(tr.Keys())
}

// text is visible text written on tracker id: customers' text carries
// their canary.
func text(id, what string, n int) string {
	if id == engine.PlatformID {
		return fmt.Sprintf("plat %s %d", what, n)
	}
	return fmt.Sprintf("%s %s %d", CustomerCanary(id), what, n)
}

func (m *model) platCreate() string {
	n := m.next()
	labels := []string{string(connectors.Priorities[m.rng.IntN(5)])}
	if m.rng.IntN(10) < 9 {
		labels = append(labels, ActionLabel)
	}
	for _, c := range modelCustomers {
		if m.rng.IntN(2) == 0 {
			labels = append(labels, "customer:"+c)
		}
	}
	body := fmt.Sprintf("Root cause %s %d, see https://wiki.example.internal/rca/%d.\n\n## Customer summary\nWe will fix thing %d.\n\n## Timeline\n%s", InternalCanary, n, n, n, InternalCanary)
	key := m.w.Platform.Open(text(engine.PlatformID, "item", n), body, labels...)
	return fmt.Sprintf("platform create %s %v", key, labels)
}

func (m *model) custCreate() string {
	id := m.pick(modelCustomers)
	n := m.next()
	labels := []string{"P2"}
	if m.rng.IntN(10) < 7 {
		labels = append(labels, InboundLabel)
	}
	key := m.w.Customers[id].Open(text(id, "item", n), text(id, "details", n), labels...)
	return fmt.Sprintf("%s create %s %v", id, key, labels)
}

func (m *model) editTitle() string {
	id, tr, key := m.anyItem()
	if key == "" {
		return "edit title: no item"
	}
	n := m.next()
	_ = tr.EditTitle(key, text(id, "title", n))
	return fmt.Sprintf("%s edit title %s", id, key)
}

func (m *model) editBody() string {
	key := m.pick(m.w.Platform.Keys())
	if key == "" {
		return "edit body: no item"
	}
	is, _ := m.w.Platform.Issue(key)
	if IsMirror(is) {
		return "edit body: picked a mirror, skipped"
	}
	n := m.next()
	_ = m.w.Platform.EditBody(key, fmt.Sprintf("%s changed %d\n\n## Customer summary\nRevised plan %d.\n", InternalCanary, n, n))
	return fmt.Sprintf("platform edit body %s", key)
}

func (m *model) setStatus() string {
	id, tr, key := m.anyItem()
	if key == "" {
		return "status: no item"
	}
	s := []connectors.Status{connectors.StatusOpen, connectors.StatusInProgress, connectors.StatusDone, connectors.StatusWontDo}[m.rng.IntN(4)]
	_ = SetMemStatus(tr, key, s)
	return fmt.Sprintf("%s status %s -> %s", id, key, s)
}

func (m *model) comment() string {
	id, tr, key := m.anyItem()
	if key == "" {
		return "comment: no item"
	}
	n := m.next()
	switch r := m.rng.IntN(3); {
	case r == 0:
		_ = tr.AddComment(key, "rita", fmt.Sprintf("%s restricted %d", RestrictedCanaryOf(id), n), true)
		return fmt.Sprintf("%s restricted comment on %s", id, key)
	case id == engine.PlatformID && r == 1:
		_ = tr.AddComment(key, "ivan", fmt.Sprintf("%s internal note %d", InternalCanary, n), false)
		return fmt.Sprintf("platform internal comment on %s", key)
	case id == engine.PlatformID:
		_ = tr.AddComment(key, "sam", fmt.Sprintf("%s shared note %d", CommentPrefix, n), false)
		return fmt.Sprintf("platform shared comment on %s", key)
	default:
		_ = tr.AddComment(key, "cora", text(id, "comment", n), false)
		return fmt.Sprintf("%s comment on %s", id, key)
	}
}

func (m *model) toggleLabel() string {
	id, tr, key := m.anyItem()
	if key == "" {
		return "label: no item"
	}
	label := InboundLabel
	if id == engine.PlatformID {
		label = m.pick([]string{ActionLabel, "customer:acme", "customer:beta"})
	}
	is, _ := tr.Issue(key)
	if HasLabel(is, label) {
		_ = tr.RemoveLabel(key, label)
		return fmt.Sprintf("%s remove label %s from %s", id, label, key)
	}
	_ = tr.AddLabel(key, label)
	return fmt.Sprintf("%s add label %s to %s", id, label, key)
}

func (m *model) deleteItem() string {
	id, tr, key := m.anyItem()
	if key == "" {
		return "delete: no item"
	}
	_ = tr.Delete(key)
	return fmt.Sprintf("%s delete %s", id, key)
}

// webhookDuplicate delivers one announcement of an item twice with the
// same delivery id: the first is accepted (202), the repeat is answered
// 200 and queues nothing.
func (m *model) webhookDuplicate() string {
	id, _, key := m.anyItem()
	if key == "" {
		return "webhook: no item"
	}
	delivery := fmt.Sprintf("delivery-%d", m.next())
	for i, want := range []int{http.StatusAccepted, http.StatusOK} {
		r, err := memory.NewWebhookRequest("http://127.0.0.1/webhooks/"+id, HookSecret, delivery, key)
		if err != nil {
			m.t.Fatalf("NewWebhookRequest: %v", err)
		}
		rec := httptest.NewRecorder()
		m.w.Engine.WebhookHandler().ServeHTTP(rec, r)
		if rec.Code != want {
			m.fail("webhook %s delivery %d of %s: got HTTP %d, want %d", delivery, i+1, key, rec.Code, want)
		}
	}
	return fmt.Sprintf("%s webhook %s twice for %s", id, delivery, key)
}

// sync runs one pass, sometimes with a fault queued on one tracker.
func (m *model) sync() string {
	desc := "sync"
	if m.rng.IntN(2) == 0 {
		id := m.pick(m.w.Trackers())
		ops := []conformance.Op{conformance.OpAny, conformance.OpCreate, conformance.OpUpdate, conformance.OpComment, conformance.OpGet, conformance.OpList}
		f := conformance.Fault{Op: ops[m.rng.IntN(len(ops))], Times: 1 + m.rng.IntN(3)}
		switch m.rng.IntN(3) {
		case 0:
			f.Status = http.StatusServiceUnavailable
		case 1:
			f.Status = http.StatusTooManyRequests
			f.Header = http.Header{"Retry-After": {"30"}}
		default:
			f.Status, f.AfterCommit = http.StatusBadGateway, true
		}
		m.w.Tracker(id).Inject(f)
		desc = fmt.Sprintf("sync with fault on %s: %s %d x%d after-commit=%v", id, f.Op, f.Status, f.Times, f.AfterCommit)
	}
	if _, err := m.w.Sync(context.Background()); err != nil {
		m.fail("%s: SyncOnce: %v", desc, err)
	}
	for _, id := range m.w.Trackers() {
		m.w.Tracker(id).ClearFaults()
	}
	return desc
}

// crash runs a pass whose process dies at a random request (carried out
// or not, its answer lost), then restarts on the same store file.
func (m *model) crash() string {
	at := 1 + m.rng.Int64N(60)
	carry := m.rng.IntN(2) == 0
	fuse := NewFuse(at, carry)
	m.w.Wrap = func(_ string, c connectors.Connector) connectors.Connector { return Crashing(c, fuse) }
	m.w.Open()
	_, _ = m.w.Sync(context.Background())
	m.w.Wrap = nil
	m.w.Restart()
	return fmt.Sprintf("crash at request %d (carried out: %v, blown: %v) and restart", at, carry, fuse.Blown())
}

// quiesce syncs until nothing is written and checks convergence.
func (m *model) quiesce() {
	if err := m.w.Converge(context.Background(), 8); err != nil {
		m.fail("quiescence: %v", err)
	}
	if v := CheckMemWorld(m.w); len(v) > 0 {
		m.fail("after quiescence: %s", strings.Join(v, "\n"))
	}
	if v := memConverged(m.w); len(v) > 0 {
		m.fail("not converged: %s", strings.Join(v, "\n"))
	}
}

// memConverged checks a quiescent world: every selected origin has a link
// (none twice), and both sides of every active link agree on the title and
// the status.
func memConverged(w *MemWorld) []string {
	var out []string
	bad := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }
	for _, c := range w.IDs {
		links, err := w.DB.Links(c)
		if err != nil {
			bad("Links(%s): %v", c, err)
			continue
		}
		linked := map[connectors.Ref]int{}
		for _, l := range links {
			origin := l.Platform.Ref
			if l.Origin == connectors.OwnerCustomer {
				origin = l.Remote.Ref
			}
			linked[origin]++
			if l.State != store.LinkActive {
				continue
			}
			p, okP := w.Platform.Issue(l.Platform.Ref.Key)
			r, okR := w.Customers[c].Issue(l.Remote.Ref.Key)
			if !okP || !okR {
				bad("%s link %s is active but a side is gone (platform %v, customer %v)", c, l.ID, okP, okR)
				continue
			}
			if p.Title != r.Title {
				bad("%s link %s: titles differ: platform %s %q, customer %s %q", c, l.ID, p.Key, p.Title, r.Key, r.Title)
			}
			if ps, rs := MemStatus(p), MemStatus(r); ps != rs {
				bad("%s link %s (owner %s): statuses differ: platform %s %s, customer %s %s", c, l.ID, l.Owner, p.Key, ps, r.Key, rs)
			}
		}
		for ref, n := range linked {
			if n > 1 {
				bad("%s: origin %s has %d links", c, ref, n)
			}
		}
		for _, k := range w.Platform.Keys() {
			is, _ := w.Platform.Issue(k)
			if !IsMirror(is) && HasLabel(is, ActionLabel) && HasLabel(is, "customer:"+c) && linked[connectors.Ref{Tracker: engine.PlatformID, Key: k}] == 0 {
				bad("platform %s is shared with %s but has no link", k, c)
			}
		}
		for _, k := range w.Customers[c].Keys() {
			is, _ := w.Customers[c].Issue(k)
			if !IsMirror(is) && HasLabel(is, InboundLabel) && linked[connectors.Ref{Tracker: c, Key: k}] == 0 {
				bad("%s %s is shared with the platform but has no link", c, k)
			}
		}
	}
	return out
}
