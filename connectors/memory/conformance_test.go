package memory_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/conformance"
	"github.com/pmsync/pmsync/connectors/memory"
)

// harness wires memory connectors to fresh trackers for the suite.
type harness struct {
	opts memory.Options
}

func (harness) Name() string { return "memory" }

func (h harness) Make(t *testing.T, trackerID string) (connectors.Connector, conformance.Backend) {
	tr := memory.NewTracker(h.opts)
	return h.Reconnect(t, tr, trackerID), tr
}

func (harness) Reconnect(t *testing.T, b conformance.Backend, trackerID string) connectors.Connector {
	tr := b.(*memory.Tracker)
	c, err := memory.New(tr, connectors.Config{
		ID: trackerID, Kind: "memory", Token: conformance.Secret,
		WebhookSecret: conformance.WebhookSecret, Now: tr.Now,
	})
	if err != nil {
		t.Fatalf("memory.New: %v", err)
	}
	return c
}

func (harness) Webhook(t *testing.T, key, deliveryID string, valid bool) *http.Request {
	secret := conformance.WebhookSecret
	if !valid {
		secret = "wrong-secret"
	}
	r, err := memory.NewWebhookRequest("http://127.0.0.1/webhooks/janecorp", secret, deliveryID, key)
	if err != nil {
		t.Fatalf("NewWebhookRequest: %v", err)
	}
	return r
}

func (harness) RawWebhook(t *testing.T, body []byte) *http.Request {
	r, err := memory.NewSignedRequest("http://127.0.0.1/webhooks/janecorp", conformance.WebhookSecret, body)
	if err != nil {
		t.Fatalf("NewSignedRequest: %v", err)
	}
	return r
}

func (h harness) Capabilities() conformance.Capabilities {
	ps := h.opts.PageSize
	if ps == 0 {
		ps = memory.DefaultPageSize
	}
	return conformance.Capabilities{Assignees: []string{"alice", "bob"}, PageSize: ps}
}

func TestConformance(t *testing.T) {
	conformance.Run(t, harness{})
}

// TestConformanceSearchLag runs the suite with a search index that lags
// and small pages, as real trackers have.
func TestConformanceSearchLag(t *testing.T) {
	conformance.Run(t, harness{opts: memory.Options{PageSize: 7, SearchLag: 10 * time.Minute, KeyPrefix: "LAG"}})
}
