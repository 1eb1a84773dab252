package jira

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/conformance"
	"github.com/pmsync/pmsync/connectors/jira/jirafake"
)

// harness runs the conformance suite against jirafake in one flavour, with
// the real go-jira client underneath the connector.
type harness struct {
	flavor jirafake.Flavor
}

var (
	_ conformance.Harness      = harness{}
	_ conformance.Reconnector  = harness{}
	_ conformance.RawWebhooker = harness{}
	_ conformance.Capable      = harness{}
)

const (
	testEmail    = "pmsync-bot@example.com"
	testPageSize = 25
)

func (h harness) Name() string { return "jira-" + string(h.flavor) }

func (h harness) options() jirafake.Options {
	return jirafake.Options{
		Flavor: h.flavor, Email: testEmail, Token: conformance.Secret,
		WebhookSecret: conformance.WebhookSecret, PageSize: testPageSize,
	}
}

func (h harness) Make(t *testing.T, trackerID string) (connectors.Connector, conformance.Backend) {
	fake := jirafake.Start(h.options())
	t.Cleanup(fake.Close)
	return h.connect(t, fake, trackerID), fake
}

func (h harness) Reconnect(t *testing.T, b conformance.Backend, trackerID string) connectors.Connector {
	return h.connect(t, b.(*jirafake.Server), trackerID)
}

func (h harness) connect(t *testing.T, fake *jirafake.Server, trackerID string) *Connector {
	t.Helper()
	c, err := New(connectors.Config{
		ID: trackerID, Kind: Kind, URL: fake.URL(), Flavor: string(h.flavor), Project: fake.Project(),
		Token: conformance.Secret, User: testEmail, WebhookSecret: conformance.WebhookSecret, Now: fake.Now,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func (h harness) Capabilities() conformance.Capabilities {
	fake := jirafake.New(h.options())
	defer fake.Close()
	return conformance.Capabilities{
		Assignees: fake.Users(), PageSize: testPageSize, DefaultPriority: connectors.P2, LossyMarkdown: true,
	}
}

// Webhook builds a jira:issue_updated delivery for key, signed (Cloud) or
// with the URL secret (DC) as the site would send it.
func (h harness) Webhook(t *testing.T, key, deliveryID string, valid bool) *http.Request {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"timestamp": time.Now().UnixMilli(), "webhookEvent": "jira:issue_updated", "issue_event_type_name": "issue_updated",
		"issue": map[string]any{"id": "10001", "key": key, "self": "http://jira.invalid/rest/api/2/issue/10001", "fields": map[string]any{"summary": "s"}},
	})
	if err != nil {
		t.Fatalf("marshal webhook: %v", err)
	}
	return h.signed(t, body, deliveryID, valid)
}

// RawWebhook authenticates any body as a valid delivery would be.
func (h harness) RawWebhook(t *testing.T, body []byte) *http.Request {
	t.Helper()
	return h.signed(t, body, "raw-delivery", true)
}

func (h harness) signed(t *testing.T, body []byte, deliveryID string, valid bool) *http.Request {
	t.Helper()
	fake := jirafake.New(h.options())
	defer fake.Close()
	r, err := fake.SignedRequest("http://127.0.0.1:8080/webhooks/"+conformance.TrackerID, body, deliveryID, valid)
	if err != nil {
		t.Fatalf("SignedRequest: %v", err)
	}
	return r
}

func TestConformanceCloud(t *testing.T) {
	conformance.Run(t, harness{flavor: jirafake.Cloud})
}

func TestConformanceDataCenter(t *testing.T) {
	conformance.Run(t, harness{flavor: jirafake.DataCenter})
}
