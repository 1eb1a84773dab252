package reliability

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/memory"
	"github.com/pmsync/pmsync/store"
	"github.com/pmsync/pmsync/sync/engine"
)

// intentGuard wraps a connector and records every Create whose marker had
// no committed intent in the store at the moment the request was sent.
type intentGuard struct {
	connectors.Connector
	db      func() *store.DB
	mu      sync.Mutex
	creates int
	bad     []string
}

func (g *intentGuard) Create(ctx context.Context, marker string, it *connectors.Item) (*connectors.Item, error) {
	g.mu.Lock()
	g.creates++
	if _, err := g.db().Intent(marker); err != nil {
		g.bad = append(g.bad, fmt.Sprintf("create with marker %s sent without a committed intent (%v)", marker, err))
	}
	g.mu.Unlock()
	return g.Connector.Create(ctx, marker, it)
}

// TestFullDisk fills the store up to a tiny MaxSize behind a running
// engine: webhook deliveries are answered 503 (never 202 for one not
// recorded), no mirror is created without a committed intent, nothing
// pmsync writes is lost or duplicated, and once space returns (SetMaxSize)
// the same engine resumes: deliveries are accepted and everything
// converges, without a restart.
func TestFullDisk(t *testing.T) {
	ctx := context.Background()
	w := NewMemWorld(t, NewClock(memory.Epoch, true), "acme")
	guards := map[string]*intentGuard{}
	w.Wrap = func(id string, c connectors.Connector) connectors.Connector {
		g := &intentGuard{Connector: c, db: func() *store.DB { return w.DB }}
		guards[id] = g
		return g
	}
	w.Open() // an engine with guarded connectors
	for i := 0; i < 5; i++ {
		w.Platform.Open(fmt.Sprintf("plat item %d", i), "## Customer summary\nshared", ActionLabel, "customer:acme")
	}
	if err := w.Converge(ctx, 5); err != nil {
		t.Fatalf("converge before the disk fills: %v", err)
	}

	// The disk is full: no write may grow the file any more.
	w.DB.SetMaxSize(w.DB.Stats().FileSize)
	var keys []string
	for i := 0; i < 20; i++ {
		keys = append(keys, w.Platform.Open(fmt.Sprintf("plat late item %d", i), "## Customer summary\nlate", ActionLabel, "customer:acme"))
	}
	srv := httptest.NewServer(w.Engine.WebhookHandler())
	defer srv.Close()
	deliver := func(delivery, key string) int {
		t.Helper()
		r, err := memory.NewWebhookRequest(srv.URL+"/webhooks/platform", HookSecret, delivery, key)
		if err != nil {
			t.Fatal(err)
		}
		code, body := post(t, r)
		if code != http.StatusAccepted && code != http.StatusOK && code/100 != 5 {
			t.Fatalf("delivery %s: got HTTP %d %q, want 202, 200 or 5xx", delivery, code, body)
		}
		return code
	}
	accepted := map[string]bool{}
	refused := 0
	// The file may still hold free pages; deliveries fill them until the
	// first one that would grow the file is refused.
	for j := 0; j < 20000 && refused == 0; j++ {
		d := fmt.Sprintf("fill-%d", j)
		switch code := deliver(d, keys[j%len(keys)]); {
		case code == http.StatusAccepted:
			accepted[d] = true
		case code/100 == 5:
			refused++
		}
	}
	for i, k := range keys {
		d := fmt.Sprintf("full-%d", i)
		switch code := deliver(d, k); {
		case code == http.StatusAccepted:
			accepted[d] = true
		case code/100 == 5:
			refused++
		}
	}
	if refused == 0 {
		t.Fatalf("no delivery was refused: the store limit (%d bytes) did not bite", w.DB.Stats().FileSize)
	}
	p, err := w.Sync(ctx)
	noSpace := 0
	switch {
	case errors.Is(err, store.ErrNoSpace):
		noSpace++
	case err != nil:
		t.Fatalf("SyncOnce on a full disk: %v, want nil or an error wrapping store.ErrNoSpace", err)
	}
	for _, f := range p.Failures {
		if strings.Contains(f.Error, store.ErrNoSpace.Error()) {
			noSpace++
		}
	}
	if noSpace == 0 {
		t.Errorf("a pass on a full disk reported no store-full failure: %+v", p.Failures)
	}
	if v := CheckMemWorld(w); len(v) > 0 {
		t.Fatalf("on a full disk: %v", v)
	}
	t.Logf("full disk: %d deliveries refused, %d accepted; the pass failed %d items; acme holds %d items",
		refused, len(accepted), len(p.Failures), w.Customers["acme"].Count())

	// Space returns: the same engine takes deliveries and converges.
	w.DB.SetMaxSize(0)
	for d := range accepted {
		if fresh, err := w.DB.RecordDelivery(engine.PlatformID, d, engine.DefaultDeliveryTTL); err != nil || fresh {
			t.Errorf("delivery %s was answered 202 but is not in the store (fresh=%v, err=%v)", d, fresh, err)
		}
	}
	for i, k := range keys {
		if code := deliver(fmt.Sprintf("again-%d", i), k); code != http.StatusAccepted {
			t.Errorf("delivery after space returned: got HTTP %d, want 202", code)
		}
	}
	if err := w.Converge(ctx, 8); err != nil {
		t.Fatalf("converge after space returned: %v", err)
	}
	if v := append(CheckMemWorld(w), memConverged(w)...); len(v) > 0 {
		t.Fatalf("after space returned: %v", v)
	}
	if n := w.Customers["acme"].Count(); n != 25 {
		t.Errorf("acme holds %d items, want 25", n)
	}
	for id, g := range guards {
		if len(g.bad) > 0 {
			t.Errorf("tracker %s: %v", id, g.bad)
		}
	}
	if guards["acme"].creates < 25 {
		t.Errorf("the intent guard saw %d creates, want at least 25", guards["acme"].creates)
	}
	if err := w.DB.Check(); err != nil {
		t.Errorf("store Check after the full disk: %v", err)
	}
}
