package jira

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/jira/jirafake"
)

const hookSecret = "hook-secret-for-tests"

// hookConnector returns a connector configured only for webhook parsing.
func hookConnector(t *testing.T, flavor, secret string) *Connector {
	t.Helper()
	c, err := New(connectors.Config{ID: "platform", URL: "https://jira.example", Flavor: flavor, Project: "TEST",
		Token: "t", User: "u@example.com", WebhookSecret: secret})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// delivery builds a request as the flavour's site sends it.
func delivery(t *testing.T, flavor string, body []byte, id string, valid bool) *http.Request {
	t.Helper()
	fake := jirafake.New(jirafake.Options{Flavor: jirafake.Flavor(flavor), WebhookSecret: hookSecret})
	defer fake.Close()
	r, err := fake.SignedRequest("http://127.0.0.1/webhooks/platform", body, id, valid)
	if err != nil {
		t.Fatalf("SignedRequest: %v", err)
	}
	return r
}

func TestParseWebhookFixtures(t *testing.T) {
	tests := []struct {
		file, event, key string
	}{
		{"issue_created.json", "jira:issue_created", "TEST-4"},
		{"issue_updated_fields_updated.json", "jira:issue_updated", "TEST-11"},
		{"issue_updated_status_updated.json", "jira:issue_updated", "TEST-11"},
		{"issue_updated_with_comment.json", "jira:issue_updated", "TEST-4"},
		{"updateStatus.json", "jira:issue_updated", "TEST-12"},
		{"cloud_comment_added.json", "comment_created", "TEST-24"},
		// Old Server comment events name the issue only in comment.self.
		{"server_comment_created.json", "comment_created", "10003"},
	}
	for _, flavor := range []string{FlavorCloud, FlavorDataCenter} {
		c := hookConnector(t, flavor, hookSecret)
		for _, tc := range tests {
			body, err := os.ReadFile(filepath.Join("testdata", "webhooks", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			ev, err := c.ParseWebhook(delivery(t, flavor, body, "", true), body)
			if err != nil {
				t.Errorf("%s %s: ParseWebhook: %v", flavor, tc.file, err)
				continue
			}
			if ev.Event != tc.event || !slices.Equal(ev.Keys, []string{tc.key}) {
				t.Errorf("%s %s: got event %q keys %v, want %q [%s]", flavor, tc.file, ev.Event, ev.Keys, tc.event, tc.key)
			}
			if !strings.HasPrefix(ev.DeliveryID, "sha256-") {
				t.Errorf("%s %s: delivery id without header got %q, want a body hash", flavor, tc.file, ev.DeliveryID)
			}
			again, _ := c.ParseWebhook(delivery(t, flavor, body, "", true), body)
			if again == nil || again.DeliveryID != ev.DeliveryID {
				t.Errorf("%s %s: a redelivery got id %v, want %q", flavor, tc.file, again, ev.DeliveryID)
			}
			forged, err := c.ParseWebhook(delivery(t, flavor, body, "", false), body)
			if !errors.Is(err, connectors.ErrUnauthenticated) {
				t.Errorf("%s %s: forged delivery got %v, %v; want ErrUnauthenticated", flavor, tc.file, forged, err)
			}
		}
	}
}

func TestParseWebhookAuthentication(t *testing.T) {
	body := []byte(`{"timestamp":1,"webhookEvent":"jira:issue_updated","issue":{"id":"10001","key":"TEST-1"}}`)
	cloudSig := "sha256=" + jirafake.Sign(hookSecret, body)
	tests := []struct {
		name   string
		flavor string
		secret string // configured
		target string
		header map[string]string
		body   []byte
		want   error // nil = accepted
	}{
		{"cloud signed", FlavorCloud, hookSecret, "/webhooks/p", map[string]string{"X-Hub-Signature": cloudSig}, body, nil},
		{"cloud no signature", FlavorCloud, hookSecret, "/webhooks/p", nil, body, connectors.ErrUnauthenticated},
		{"cloud sha1 prefix", FlavorCloud, hookSecret, "/webhooks/p", map[string]string{"X-Hub-Signature": "sha1=" + jirafake.Sign(hookSecret, body)}, body, connectors.ErrUnauthenticated},
		{"cloud bad hex", FlavorCloud, hookSecret, "/webhooks/p", map[string]string{"X-Hub-Signature": "sha256=zz"}, body, connectors.ErrUnauthenticated},
		{"cloud body swapped", FlavorCloud, hookSecret, "/webhooks/p", map[string]string{"X-Hub-Signature": cloudSig}, []byte(`{"webhookEvent":"jira:issue_deleted"}`), connectors.ErrUnauthenticated},
		{"cloud secret in URL is not enough", FlavorCloud, hookSecret, "/webhooks/p?secret=" + hookSecret, nil, body, connectors.ErrUnauthenticated},
		{"dc secret", FlavorDataCenter, hookSecret, "/webhooks/p?secret=" + hookSecret, nil, body, nil},
		{"dc wrong secret", FlavorDataCenter, hookSecret, "/webhooks/p?secret=nope", nil, body, connectors.ErrUnauthenticated},
		{"dc no secret", FlavorDataCenter, hookSecret, "/webhooks/p", nil, body, connectors.ErrUnauthenticated},
		{"nothing configured", FlavorDataCenter, "", "/webhooks/p?secret=", nil, body, connectors.ErrUnauthenticated},
		{"dc malformed JSON", FlavorDataCenter, hookSecret, "/webhooks/p?secret=" + hookSecret, nil, []byte(`{"webhookEvent":`), connectors.ErrInvalid},
		{"dc no event", FlavorDataCenter, hookSecret, "/webhooks/p?secret=" + hookSecret, nil, []byte(`{"issue":{"key":"TEST-1"}}`), connectors.ErrInvalid},
		{"dc issue event without issue", FlavorDataCenter, hookSecret, "/webhooks/p?secret=" + hookSecret, nil, []byte(`{"webhookEvent":"jira:issue_updated"}`), connectors.ErrInvalid},
		{"dc key with a path", FlavorDataCenter, hookSecret, "/webhooks/p?secret=" + hookSecret, nil, []byte(`{"webhookEvent":"jira:issue_updated","issue":{"key":"../../x"}}`), connectors.ErrInvalid},
	}
	for _, tc := range tests {
		c := hookConnector(t, tc.flavor, tc.secret)
		r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1"+tc.target, bytes.NewReader(tc.body))
		for k, v := range tc.header {
			r.Header.Set(k, v)
		}
		ev, err := c.ParseWebhook(r, tc.body)
		switch {
		case tc.want == nil && err != nil:
			t.Errorf("%s: got %v, want accepted", tc.name, err)
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("%s: got %v, %v; want %v", tc.name, ev, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), hookSecret) {
			t.Errorf("%s: error text holds the secret: %v", tc.name, err)
		}
	}
}

func TestParseWebhookDeliveryID(t *testing.T) {
	c := hookConnector(t, FlavorCloud, hookSecret)
	body := []byte(`{"timestamp":1700000000000,"webhookEvent":"comment_created","comment":{"self":"https://x/rest/api/2/issue/10009/comment/1"}}`)
	ev, err := c.ParseWebhook(delivery(t, FlavorCloud, body, "4a1b-retry-stable", true), body)
	if err != nil {
		t.Fatalf("ParseWebhook: %v", err)
	}
	if ev.DeliveryID != "4a1b-retry-stable" || !slices.Equal(ev.Keys, []string{"10009"}) {
		t.Errorf("got id %q keys %v, want the X-Atlassian-Webhook-Identifier and [10009]", ev.DeliveryID, ev.Keys)
	}
	other := []byte(strings.Replace(string(body), "1700000000000", "1700000000001", 1))
	ev2, err := c.ParseWebhook(delivery(t, FlavorCloud, other, "", true), other)
	ev3, err3 := c.ParseWebhook(delivery(t, FlavorCloud, body, "", true), body)
	if err != nil || err3 != nil || ev2.DeliveryID == ev3.DeliveryID {
		t.Errorf("hash ids of two events differing only in timestamp: got %v/%v (%v, %v), want different ids", ev2, ev3, err, err3)
	}
	unrelated := []byte(`{"timestamp":5,"webhookEvent":"worklog_created"}`)
	ev4, err := c.ParseWebhook(delivery(t, FlavorCloud, unrelated, "w1", true), unrelated)
	if err != nil || len(ev4.Keys) != 0 {
		t.Errorf("worklog event: got %v, %v; want no keys and no error", ev4, err)
	}
}

func TestParseWebhookOtherProject(t *testing.T) {
	c := hookConnector(t, FlavorDataCenter, hookSecret)
	tests := []struct {
		body string
		want []string
	}{
		{`{"webhookEvent":"jira:issue_updated","issue":{"id":"77001","key":"HR-7"}}`, nil},
		{`{"webhookEvent":"jira:issue_updated","issue":{"id":"77001","fields":{"project":{"key":"HR"}}}}`, nil},
		{`{"webhookEvent":"jira:issue_updated","issue":{"id":"77001","key":"TEST-7"}}`, []string{"TEST-7"}},
		{`{"webhookEvent":"jira:issue_updated","issue":{"id":"77001","fields":{"project":{"key":"TEST"}}}}`, []string{"77001"}},
		{`{"webhookEvent":"jira:issue_updated","issue":{"id":"77001"}}`, []string{"77001"}},
	}
	for _, tc := range tests {
		ev, err := c.ParseWebhook(delivery(t, FlavorDataCenter, []byte(tc.body), "", true), []byte(tc.body))
		if err != nil || !slices.Equal(ev.Keys, tc.want) {
			t.Errorf("%s: got %v, %v; want keys %v", tc.body, ev, err, tc.want)
		}
	}
}

// TestParseWebhookIDToKey: old Server comment events name the issue only by
// id; the connector answers with the key of an issue it has seen.
func TestParseWebhookIDToKey(t *testing.T) {
	e := newEnv(t, jirafake.Options{Flavor: jirafake.DataCenter}, nil)
	it := e.create(t, "", "seen")
	for _, tc := range []struct{ id, want string }{{it.ID, it.Ref.Key}, {"99999", "99999"}} {
		body := []byte(`{"timestamp":1,"webhookEvent":"comment_created","comment":{"self":"http://x/rest/api/2/issue/` + tc.id + `/comment/1"}}`)
		ev, err := e.c.ParseWebhook(delivery(t, FlavorDataCenter, body, "", true), body)
		if err != nil || !slices.Equal(ev.Keys, []string{tc.want}) {
			t.Errorf("comment event for issue id %s: got %v, %v; want keys [%s]", tc.id, ev, err, tc.want)
		}
	}
}
