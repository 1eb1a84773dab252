package conformance_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/conformance"
	"github.com/pmsync/pmsync/connectors/memory"
)

// The suite is tested on the memory connector (it must pass) and on
// memory connectors broken on purpose (each break must fail the subtests
// that cover it, and only those). A broken run happens in a subprocess:
// TestBroken runs the suite on the break named by brokenEnv, and
// TestSuiteCatchesBreaks reads its verdicts.

const brokenEnv = "PMSYNC_CONFORMANCE_BROKEN"

// harness wires a memory connector, possibly broken, to a fresh tracker.
type harness struct {
	brk string // "" for none
}

func (h harness) Name() string { return "memory+" + h.brk }

func (h harness) Make(t *testing.T, trackerID string) (connectors.Connector, conformance.Backend) {
	tr := memory.NewTracker(memory.Options{PageSize: 10})
	return h.Reconnect(t, tr, trackerID), tr
}

func (h harness) Reconnect(t *testing.T, b conformance.Backend, trackerID string) connectors.Connector {
	tr := b.(*memory.Tracker)
	c, err := memory.New(tr, connectors.Config{ID: trackerID, Token: conformance.Secret,
		WebhookSecret: conformance.WebhookSecret, Now: tr.Now})
	if err != nil {
		t.Fatalf("memory.New: %v", err)
	}
	return wrap(h.brk, c, tr)
}

func (h harness) Webhook(t *testing.T, key, deliveryID string, valid bool) *http.Request {
	secret := conformance.WebhookSecret
	if !valid {
		secret = "not-the-secret"
	}
	r, err := memory.NewWebhookRequest("http://127.0.0.1/webhooks/x", secret, deliveryID, key)
	if err != nil {
		t.Fatalf("NewWebhookRequest: %v", err)
	}
	return r
}

func (h harness) RawWebhook(t *testing.T, body []byte) *http.Request {
	r, err := memory.NewSignedRequest("http://127.0.0.1/webhooks/x", conformance.WebhookSecret, body)
	if err != nil {
		t.Fatalf("NewSignedRequest: %v", err)
	}
	return r
}

func (h harness) Capabilities() conformance.Capabilities {
	return conformance.Capabilities{Assignees: []string{"alice", "bob"}, PageSize: 10}
}

// TestSuiteOnMemory proves the suite passes on a correct connector.
func TestSuiteOnMemory(t *testing.T) {
	conformance.Run(t, harness{})
}

// TestBroken runs the suite on the break named by brokenEnv. It is run by
// TestSuiteCatchesBreaks in a subprocess and skips otherwise.
func TestBroken(t *testing.T) {
	brk := os.Getenv(brokenEnv)
	if brk == "" {
		t.Skip("run by TestSuiteCatchesBreaks in a subprocess")
	}
	conformance.Run(t, harness{brk: brk})
}

func TestSuiteCatchesBreaks(t *testing.T) {
	tests := []struct {
		brk      string
		mustFail []string // subtests of TestBroken that must fail
		mustPass []string // and some that must still pass
	}{
		{"drop-priority", []string{"CreateGet", "UpdateEachField"}, []string{"Comments", "Errors", "Webhook"}},
		{"429-as-temporary", []string{"Errors/Get_get_429", "Errors/Changes_list_429"}, []string{"Errors/Get_get_500", "CreateGet"}},
		{"ignore-cursor", []string{"Changes", "ChangesRestart"}, []string{"CreateGet", "Comments"}},
		{"state-in-connector", []string{"ChangesRestart"}, []string{"Changes", "CreateGet"}},
		{"lose-marker", []string{"CreateGet", "FindByMarker"}, []string{"Errors", "Comments"}},
		{"leak-secret", []string{"Errors/Get_get_404", "CreateInvalid"}, []string{"CreateGet"}},
		{"empty-patch-reads", []string{"UpdateEmptyPatch"}, []string{"UpdateEachField"}},
		{"list-system-notes", []string{"Comments", "CommentsPagination"}, []string{"CreateGet"}},
		{"ignore-context", []string{"ContextCanceled", "ContextCanceledInFlight"}, []string{"CreateGet"}},
		{"accept-any-signature", []string{"Webhook"}, []string{"CreateGet"}},
		{"one-page", []string{"ChangesPagination"}, []string{"Changes"}},
		{"retry-writes", []string{"FindAfterLostCreate"}, []string{"CreateGet"}},
	}
	for _, tc := range tests {
		t.Run(tc.brk, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestBroken$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), brokenEnv+"="+tc.brk)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("suite on break %q: got err %v, want a failing run\n%s", tc.brk, err, out)
			}
			for _, name := range tc.mustFail {
				if !strings.Contains(string(out), "--- FAIL: TestBroken/"+name+" ") {
					t.Errorf("break %q: subtest %s did not fail\n%s", tc.brk, name, out)
				}
			}
			for _, name := range tc.mustPass {
				if !strings.Contains(string(out), "--- PASS: TestBroken/"+name+" ") {
					t.Errorf("break %q: subtest %s did not pass\n%s", tc.brk, name, out)
				}
			}
		})
	}
}

// wrap returns c broken as brk says.
func wrap(brk string, c *memory.Connector, tr *memory.Tracker) connectors.Connector {
	switch brk {
	case "":
		return c
	case "drop-priority":
		return dropPriority{c}
	case "429-as-temporary":
		return rateAsTemporary{c}
	case "ignore-cursor":
		return ignoreCursor{c}
	case "state-in-connector":
		return &stateful{Connector: c, cursors: map[string]string{}}
	case "lose-marker":
		return loseMarker{c}
	case "leak-secret":
		return leakSecret{c}
	case "empty-patch-reads":
		return emptyPatchReads{c}
	case "list-system-notes":
		return systemNotes{Connector: c, tr: tr}
	case "ignore-context":
		return ignoreContext{c}
	case "accept-any-signature":
		return anySignature{c}
	case "one-page":
		return onePage{c}
	case "retry-writes":
		return retryWrites{c}
	}
	panic("unknown break " + brk)
}

// dropPriority loses the priority on every item it returns.
type dropPriority struct{ connectors.Connector }

func noPrio(it *connectors.Item, err error) (*connectors.Item, error) {
	if it != nil {
		it.Priority = ""
	}
	return it, err
}

func (b dropPriority) Get(ctx context.Context, key string) (*connectors.Item, error) {
	return noPrio(b.Connector.Get(ctx, key))
}

func (b dropPriority) Create(ctx context.Context, m string, it *connectors.Item) (*connectors.Item, error) {
	return noPrio(b.Connector.Create(ctx, m, it))
}

func (b dropPriority) Update(ctx context.Context, key string, p connectors.Patch) (*connectors.Item, error) {
	return noPrio(b.Connector.Update(ctx, key, p))
}

// rateAsTemporary classifies rate limits as temporary failures.
type rateAsTemporary struct{ connectors.Connector }

func reclass(err error) error {
	var e *connectors.Error
	if errors.As(err, &e) && e.Code == connectors.CodeRateLimited {
		return &connectors.Error{Code: connectors.CodeTemporary, Op: e.Op, Status: e.Status}
	}
	return err
}

func (b rateAsTemporary) Get(ctx context.Context, key string) (*connectors.Item, error) {
	it, err := b.Connector.Get(ctx, key)
	return it, reclass(err)
}

func (b rateAsTemporary) Changes(ctx context.Context, cur string) (*connectors.Changes, error) {
	ch, err := b.Connector.Changes(ctx, cur)
	return ch, reclass(err)
}

// ignoreCursor lists everything on every call.
type ignoreCursor struct{ connectors.Connector }

func (b ignoreCursor) Changes(ctx context.Context, _ string) (*connectors.Changes, error) {
	return b.Connector.Changes(ctx, "")
}

// stateful keeps the real cursor inside the connector and hands out a
// token that a new connector cannot understand.
type stateful struct {
	connectors.Connector
	cursors map[string]string
}

func (b *stateful) Changes(ctx context.Context, cur string) (*connectors.Changes, error) {
	real, ok := b.cursors[cur]
	if !ok {
		real = ""
	}
	ch, err := b.Connector.Changes(ctx, real)
	if err != nil {
		return nil, err
	}
	token := fmt.Sprintf("t%d", len(b.cursors)+1)
	b.cursors[token] = ch.Cursor
	ch.Cursor = token
	return ch, nil
}

// loseMarker returns items without their marker.
type loseMarker struct{ connectors.Connector }

func (b loseMarker) Create(ctx context.Context, m string, it *connectors.Item) (*connectors.Item, error) {
	got, err := b.Connector.Create(ctx, m, it)
	if got != nil {
		got.Marker = ""
	}
	return got, err
}

func (b loseMarker) Get(ctx context.Context, key string) (*connectors.Item, error) {
	got, err := b.Connector.Get(ctx, key)
	if got != nil {
		got.Marker = ""
	}
	return got, err
}

func (b loseMarker) FindByMarker(context.Context, string, connectors.FindHint) (*connectors.Item, error) {
	return nil, connectors.Errorf(connectors.CodeNotFound, "broken: find", nil)
}

// leakSecret puts the token into every error text.
type leakSecret struct{ connectors.Connector }

func leak(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w (token %s)", err, conformance.Secret)
}

func (b leakSecret) Get(ctx context.Context, key string) (*connectors.Item, error) {
	it, err := b.Connector.Get(ctx, key)
	return it, leak(err)
}

func (b leakSecret) Create(ctx context.Context, m string, it *connectors.Item) (*connectors.Item, error) {
	got, err := b.Connector.Create(ctx, m, it)
	return got, leak(err)
}

// emptyPatchReads reads the item when the patch is empty.
type emptyPatchReads struct{ connectors.Connector }

func (b emptyPatchReads) Update(ctx context.Context, key string, p connectors.Patch) (*connectors.Item, error) {
	if p.Empty() {
		return b.Connector.Get(ctx, key)
	}
	return b.Connector.Update(ctx, key, p)
}

// systemNotes lists system notes as comments.
type systemNotes struct {
	connectors.Connector
	tr *memory.Tracker
}

func (b systemNotes) ListComments(ctx context.Context, key string) ([]connectors.Comment, error) {
	cs, err := b.Connector.ListComments(ctx, key)
	notes, _ := b.tr.Notes(key)
	for _, n := range notes {
		if n.System {
			cs = append(cs, connectors.Comment{ID: n.ID, Author: n.Author, Body: n.Body, CreatedAt: n.CreatedAt})
		}
	}
	return cs, err
}

// ignoreContext runs every call on a fresh context.
type ignoreContext struct{ connectors.Connector }

func (b ignoreContext) Get(_ context.Context, key string) (*connectors.Item, error) {
	return b.Connector.Get(context.Background(), key)
}

// anySignature accepts deliveries whatever their signature.
type anySignature struct{ connectors.Connector }

func (b anySignature) ParseWebhook(r *http.Request, body []byte) (*connectors.WebhookEvent, error) {
	r.Header.Set(memory.SignatureHeader, memory.Sign(conformance.WebhookSecret, body))
	return b.Connector.ParseWebhook(r, body)
}

// onePage returns only the first page of changes.
type onePage struct{ connectors.Connector }

func (b onePage) Changes(ctx context.Context, cur string) (*connectors.Changes, error) {
	ch, err := b.Connector.Changes(ctx, cur)
	if ch != nil && len(ch.Items) > 10 {
		ch.Items = ch.Items[:10]
	}
	return ch, err
}

// retryWrites retries a failed create on its own, making duplicates.
type retryWrites struct{ connectors.Connector }

func (b retryWrites) Create(ctx context.Context, m string, it *connectors.Item) (*connectors.Item, error) {
	got, err := b.Connector.Create(ctx, m, it)
	if connectors.Retryable(err) {
		return b.Connector.Create(ctx, m, it)
	}
	return got, err
}
