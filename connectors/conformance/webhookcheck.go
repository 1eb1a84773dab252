package conformance

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
)

// CheckWebhook runs c.ParseWebhook(r, body) and fails t unless its answer
// is one a parser may give for that input: within 1 s; a classified error
// whose text carries none of secrets; unauthenticated when authentic is
// false; for an authentic delivery either an event or ErrInvalid; an event
// with a delivery id and at most one key, each accepted by validKey. The
// webhook fuzz targets of every connector share it.
func CheckWebhook(t *testing.T, c connectors.Connector, r *http.Request, body []byte, authentic bool, secrets []string, validKey func(string) bool) {
	t.Helper()
	start := time.Now()
	ev, err := c.ParseWebhook(r, body)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("ParseWebhook took %v on a %d-byte body, want under 1s", d, len(body))
	}
	if err != nil {
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Fatalf("error text carries a secret: %q", err)
			}
		}
		var ce *connectors.Error
		if !errors.As(err, &ce) {
			t.Fatalf("error %q is not a *connectors.Error", err)
		}
	}
	switch {
	case !authentic && !errors.Is(err, connectors.ErrUnauthenticated):
		t.Fatalf("unauthentic delivery of %d bytes: got error %v, want unauthenticated", len(body), err)
	case authentic && err != nil && !errors.Is(err, connectors.ErrInvalid):
		t.Fatalf("authentic delivery: got error %v, want nil or invalid", err)
	case err == nil && ev == nil:
		t.Fatal("ParseWebhook returned neither an event nor an error")
	}
	if err != nil {
		return
	}
	if ev.DeliveryID == "" {
		t.Fatal("accepted delivery has no delivery id")
	}
	if len(ev.Keys) > 1 {
		t.Fatalf("one delivery named %d keys, want at most 1: %q", len(ev.Keys), ev.Keys)
	}
	for _, k := range ev.Keys {
		if !validKey(k) {
			t.Fatalf("key %q is not an item key of this tracker", k)
		}
	}
}
