package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
)

// call is one connector operation the error tests drive against item key.
type call struct {
	name string
	do   func(ctx context.Context, c connectors.Connector, key string) error
}

var (
	callGet = call{"Get", func(ctx context.Context, c connectors.Connector, key string) error {
		_, err := c.Get(ctx, key)
		return err
	}}
	callChanges = call{"Changes", func(ctx context.Context, c connectors.Connector, _ string) error {
		_, err := c.Changes(ctx, "")
		return err
	}}
	callCreate = call{"Create", func(ctx context.Context, c connectors.Connector, _ string) error {
		it := simple("created in an error test")
		_, err := c.Create(ctx, connectors.MarkerID([]byte("conformance"), "platform", "errors", TrackerID), &it)
		return err
	}}
	callUpdate = call{"Update", func(ctx context.Context, c connectors.Connector, key string) error {
		_, err := c.Update(ctx, key, connectors.Patch{Title: ptr("renamed in an error test")})
		return err
	}}
	callFind = call{"FindByMarker", func(ctx context.Context, c connectors.Connector, _ string) error {
		_, err := c.FindByMarker(ctx, connectors.MarkerID([]byte("conformance"), "platform", "find", TrackerID), connectors.FindHint{})
		return err
	}}
	callListComments = call{"ListComments", func(ctx context.Context, c connectors.Connector, key string) error {
		_, err := c.ListComments(ctx, key)
		return err
	}}
	callAddComment = call{"AddComment", func(ctx context.Context, c connectors.Connector, key string) error {
		_, err := c.AddComment(ctx, key, "", "comment in an error test")
		return err
	}}
)

func retryAfter(secs string) http.Header {
	return http.Header{"Retry-After": []string{secs}}
}

func testErrors(t *testing.T, e *env) {
	tests := []struct {
		fault     Fault
		call      call
		want      *connectors.Error
		wantRetry time.Duration
	}{
		{Fault{Op: OpGet, Status: 404}, callGet, connectors.ErrNotFound, 0},
		{Fault{Op: OpGet, Status: 401}, callGet, connectors.ErrPermission, 0},
		{Fault{Op: OpGet, Status: 403}, callGet, connectors.ErrPermission, 0},
		{Fault{Op: OpGet, Status: 429, Header: retryAfter("2")}, callGet, connectors.ErrRateLimited, 2 * time.Second},
		{Fault{Op: OpGet, Status: 500}, callGet, connectors.ErrTemporary, 0},
		{Fault{Op: OpGet, Status: 502}, callGet, connectors.ErrTemporary, 0},
		{Fault{Op: OpGet, Status: 503}, callGet, connectors.ErrTemporary, 0},
		// Times 2: net/http replays an idempotent request once when a
		// reused connection is cut before the answer.
		{Fault{Op: OpGet, AfterCommit: true, Times: 2}, callGet, connectors.ErrTemporary, 0},
		{Fault{Op: OpList, Status: 502}, callChanges, connectors.ErrTemporary, 0},
		{Fault{Op: OpList, Status: 429, Header: retryAfter("2")}, callChanges, connectors.ErrRateLimited, 2 * time.Second},
		{Fault{Op: OpList, Status: 403}, callChanges, connectors.ErrPermission, 0},
		{Fault{Op: OpCreate, Status: 400}, callCreate, connectors.ErrInvalid, 0},
		{Fault{Op: OpCreate, Status: 422}, callCreate, connectors.ErrInvalid, 0},
		{Fault{Op: OpCreate, Status: 503}, callCreate, connectors.ErrTemporary, 0},
		{Fault{Op: OpCreate, Status: 429, Header: retryAfter("2")}, callCreate, connectors.ErrRateLimited, 2 * time.Second},
		{Fault{Op: OpUpdate, Status: 400}, callUpdate, connectors.ErrInvalid, 0},
		{Fault{Op: OpUpdate, Status: 422}, callUpdate, connectors.ErrInvalid, 0},
		{Fault{Op: OpUpdate, Status: 401}, callUpdate, connectors.ErrPermission, 0},
		{Fault{Op: OpUpdate, Status: 500}, callUpdate, connectors.ErrTemporary, 0},
		{Fault{Op: OpComment, Status: 403}, callListComments, connectors.ErrPermission, 0},
		{Fault{Op: OpComment, Status: 429, Header: retryAfter("2")}, callAddComment, connectors.ErrRateLimited, 2 * time.Second},
		{Fault{Op: OpComment, Status: 502}, callAddComment, connectors.ErrTemporary, 0},
		{Fault{Op: OpComment, Status: 422}, callAddComment, connectors.ErrInvalid, 0},
	}
	for _, tc := range tests {
		name := fmt.Sprintf("%s_%s_%d", tc.call.name, tc.fault.Op, tc.fault.Status)
		if tc.fault.AfterCommit {
			name += "_cut"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, e.h)
			key := e.create(t, e.marker("err"), simple("target of an error test")).Ref.Key
			e.b.Inject(tc.fault)
			err := tc.call.do(e.ctx(t), e.c, key)
			wantCode(t, name, err, tc.want)
			retryable := tc.want == connectors.ErrTemporary || tc.want == connectors.ErrRateLimited
			if err != nil && connectors.Retryable(err) != retryable {
				t.Errorf("%s: Retryable(%v) got %v, want %v", name, err, !retryable, retryable)
			}
			if tc.wantRetry > 0 {
				if got, ok := connectors.RetryAfterOf(err); !ok || got != tc.wantRetry {
					t.Errorf("%s: RetryAfterOf got %v (%v), want %v", name, got, ok, tc.wantRetry)
				}
				if rs := e.c.RateLimit(); rs.BlockedUntil.IsZero() {
					t.Errorf("%s: RateLimit().BlockedUntil is zero after a 429 with Retry-After, want set", name)
				}
				// Within the wait nothing is sent, even by a caller that did
				// not see the 429: the engine's gate may have let it by.
				n := e.b.Requests()
				if err := callGet.do(e.ctx(t), e.c, key); !errors.Is(err, connectors.ErrRateLimited) {
					t.Errorf("%s: Get within the Retry-After: got %v, want ErrRateLimited", name, err)
				}
				if got := e.b.Requests() - n; got != 0 {
					t.Errorf("%s: Get within the Retry-After sent %d requests, want 0", name, got)
				}
			}
			// The fault was used up: the same call now succeeds. Not for a
			// create (the item might exist), after a 429 (the connector may
			// hold requests until BlockedUntil, and the clock is still) or
			// when a fault may be left over.
			if tc.call.name != "Create" && tc.want != connectors.ErrRateLimited && tc.fault.Times == 0 {
				err := tc.call.do(e.ctx(t), e.c, key)
				noSecret(t, err)
				if err != nil && !errors.Is(err, connectors.ErrNotFound) {
					t.Errorf("%s: the call after the fault failed too: %v", name, err)
				}
			}
		})
	}
}

func testDeleted(t *testing.T, e *env) {
	key := e.create(t, e.marker("del"), simple("to be deleted")).Ref.Key
	if err := e.b.Delete(key); err != nil {
		t.Fatalf("Backend.Delete(%s): %v", key, err)
	}
	for _, c := range []call{callGet, callUpdate, callListComments, callAddComment} {
		wantCode(t, c.name+" of a deleted item", c.do(e.ctx(t), e.c, key), connectors.ErrNotFound)
	}
	if n := e.b.Count(); n != 0 {
		t.Errorf("Count after delete: got %d, want 0", n)
	}
}

// allCalls lists every connector call that talks to the tracker.
var allCalls = []call{callGet, callChanges, callCreate, callUpdate, callFind, callListComments, callAddComment}

func testContextCanceled(t *testing.T, e *env) {
	key := e.create(t, e.marker("ctx"), simple("context")).Ref.Key
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, c := range allCalls {
		start := time.Now()
		err := c.do(ctx, e.c, key)
		noSecret(t, err)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: got %v, want context.Canceled", c.name, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s with a cancelled context took %v, want it to return at once", c.name, d)
		}
	}
	if n := e.b.Count(); n != 1 {
		t.Errorf("Count after a create with a cancelled context: got %d, want 1", n)
	}
}

func testContextCanceledInFlight(t *testing.T, e *env) {
	lb, ok := e.b.(LatencyBackend)
	if !ok {
		t.Skipf("backend of %s has no latency control (conformance.LatencyBackend)", e.h.Name())
	}
	key := e.create(t, e.marker("ctx"), simple("context in flight")).Ref.Key
	lb.SetLatency(2 * time.Second)
	t.Cleanup(func() { lb.SetLatency(0) })
	for _, c := range []call{callGet, callChanges, callUpdate} {
		ctx, cancel := context.WithCancel(t.Context())
		timer := time.AfterFunc(20*time.Millisecond, cancel)
		start := time.Now()
		err := c.do(ctx, e.c, key)
		timer.Stop()
		cancel()
		noSecret(t, err)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s cancelled in flight: got %v, want context.Canceled", c.name, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s cancelled in flight took %v, want it to return promptly", c.name, d)
		}
	}
}

// readBody returns r's body and puts a fresh reader back.
func readBody(t *testing.T, r *http.Request) []byte {
	t.Helper()
	if r.Body == nil {
		return nil
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatalf("read webhook body: %v", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b
}

func testWebhook(t *testing.T, e *env) {
	key := e.create(t, e.marker("hook"), simple("hooked")).Ref.Key

	r := e.h.Webhook(t, key, "delivery-1", true)
	ev, err := e.c.ParseWebhook(r, readBody(t, r))
	noSecret(t, err)
	if err != nil {
		t.Fatalf("ParseWebhook(valid delivery): %v", err)
	}
	if ev.DeliveryID != "delivery-1" || !slices.Contains(ev.Keys, key) || ev.Event == "" {
		t.Errorf("ParseWebhook: got delivery %q event %q keys %v, want delivery %q, an event name and key %s",
			ev.DeliveryID, ev.Event, ev.Keys, "delivery-1", key)
	}

	r = e.h.Webhook(t, key, "delivery-2", false)
	_, err = e.c.ParseWebhook(r, readBody(t, r))
	wantCode(t, "ParseWebhook(bad signature or token)", err, connectors.ErrUnauthenticated)

	// A valid delivery whose body was swapped fails authentication for
	// signed deliveries; token-authenticated ones may see it as malformed.
	r = e.h.Webhook(t, key, "delivery-3", true)
	_ = readBody(t, r)
	_, err = e.c.ParseWebhook(r, []byte(`{"forged": true}`))
	noSecret(t, err)
	if err == nil {
		t.Errorf("ParseWebhook(valid headers, forged body): got no error, want ErrUnauthenticated or ErrInvalid")
	}

	raw, ok := e.h.(RawWebhooker)
	if !ok {
		t.Fatalf("harness %s does not implement conformance.RawWebhooker: cannot send an authenticated malformed delivery", e.h.Name())
	}
	for _, body := range []string{`{"truncated": `, `not json at all`, ``} {
		r := raw.RawWebhook(t, []byte(body))
		_, err := e.c.ParseWebhook(r, readBody(t, r))
		wantCode(t, fmt.Sprintf("ParseWebhook(authenticated, body %q)", body), err, connectors.ErrInvalid)
	}
}
