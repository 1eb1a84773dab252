package gitlab

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/gitlab/gitlabfake"
)

const hookSecret = "hook-secret"

// hookClient returns a connector for project with the hook secret.
func hookClient(t *testing.T, project string) *Client {
	t.Helper()
	c, err := newClient(connectors.Config{ID: "acme", Project: project, Token: testToken, WebhookSecret: hookSecret})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func hookRequest(event, token string, headers map[string]string, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/acme", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if event != "" {
		r.Header.Set("X-Gitlab-Event", event)
	}
	if token != "" {
		r.Header.Set("X-Gitlab-Token", token)
	}
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	return r
}

// TestWebhookFixtures parses every recorded payload in testdata/webhooks
// (client-go's test data: mixed timestamp formats, id vs iid).
func TestWebhookFixtures(t *testing.T) {
	tests := map[string]struct {
		event, project, key string
		updated             time.Time
	}{
		"issue.json":      {EventIssue, "gitlabhq/gitlab-test", "gitlabhq/gitlab-test#23", time.Date(2013, 12, 3, 17, 15, 43, 0, time.UTC)},
		"note_issue.json": {EventNote, "gitlab-org/gitlab-test", "gitlab-org/gitlab-test#17", time.Date(2015, 5, 17, 17, 6, 40, 0, time.UTC)},
	}
	files, err := filepath.Glob("testdata/webhooks/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no webhook fixtures: %v", err)
	}
	for _, f := range files {
		tc, ok := tests[filepath.Base(f)]
		if !ok {
			t.Errorf("%s: fixture without a test case", f)
			continue
		}
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, event := range []string{tc.event, "Confidential " + tc.event} {
			c := hookClient(t, tc.project)
			ev, err := c.ParseWebhook(hookRequest(event, hookSecret, map[string]string{"X-Gitlab-Event-UUID": "uuid-1"}, body), body)
			if err != nil {
				t.Errorf("%s as %s: %v", f, event, err)
				continue
			}
			if !slices.Equal(ev.Keys, []string{tc.key}) || ev.DeliveryID != "uuid-1" || ev.Event != event {
				t.Errorf("%s as %s: got keys %v delivery %q event %q, want [%s] uuid-1 %s", f, event, ev.Keys, ev.DeliveryID, ev.Event, tc.key, event)
			}
		}
		var p hookPayload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !p.ObjectAttributes.UpdatedAt.Equal(tc.updated) {
			t.Errorf("%s: object_attributes.updated_at got %v, want %v", f, p.ObjectAttributes.UpdatedAt.Time, tc.updated)
		}
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2013-12-03T17:15:43Z", time.Date(2013, 12, 3, 17, 15, 43, 0, time.UTC)},
		{"2016-01-04T15:31:46.176Z", time.Date(2016, 1, 4, 15, 31, 46, 176e6, time.UTC)},
		{"2017-09-15 16:50:55 UTC", time.Date(2017, 9, 15, 16, 50, 55, 0, time.UTC)},
		{"2017-09-15 16:50:55 +0200", time.Date(2017, 9, 15, 14, 50, 55, 0, time.UTC)},
		{"2026-03-02T09:00:00.001+01:00", time.Date(2026, 3, 2, 8, 0, 0, 1e6, time.UTC)},
	}
	for _, tc := range tests {
		got, err := ParseTime(tc.in)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseTime(%q): got %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "15/09/2017"} {
		if _, err := ParseTime(bad); err == nil {
			t.Errorf("ParseTime(%q): got no error", bad)
		}
	}
}

func TestWebhookAuthentication(t *testing.T) {
	body, err := os.ReadFile("testdata/webhooks/issue.json")
	if err != nil {
		t.Fatal(err)
	}
	c := hookClient(t, "gitlabhq/gitlab-test")
	for _, tok := range []string{"", "hook-secreT", "hook-secret ", "x", strings.Repeat("a", 4096)} {
		_, err := c.ParseWebhook(hookRequest(EventIssue, tok, nil, body), body)
		if !errors.Is(err, connectors.ErrUnauthenticated) {
			t.Errorf("token %.20q: got %v, want unauthenticated", tok, err)
		}
		if err != nil && strings.Contains(err.Error(), hookSecret) {
			t.Errorf("error text shows the secret: %v", err)
		}
	}
	noSecret, err := newClient(connectors.Config{ID: "acme", Project: "gitlabhq/gitlab-test", Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"", hookSecret} {
		if _, err := noSecret.ParseWebhook(hookRequest(EventIssue, tok, nil, body), body); !errors.Is(err, connectors.ErrUnauthenticated) {
			t.Errorf("tracker without a webhook secret, token %q: got %v, want unauthenticated", tok, err)
		}
	}
}

func TestWebhookMalformed(t *testing.T) {
	c := hookClient(t, "g/p")
	issue := func(kind, path string, iid int) []byte {
		b, _ := json.Marshal(map[string]any{"object_kind": kind, "project": map[string]any{"id": 1, "path_with_namespace": path},
			"object_attributes": map[string]any{"iid": iid}})
		return b
	}
	tests := []struct {
		name, event string
		body        []byte
	}{
		{"empty", EventIssue, nil},
		{"not json", EventIssue, []byte("not json")},
		{"truncated", EventIssue, []byte(`{"object_kind": `)},
		{"array", EventIssue, []byte(`[{"object_kind":"issue"}]`)},
		{"null", EventIssue, []byte(`null`)},
		{"wrong kind", EventIssue, issue("note", "g/p", 1)},
		{"no iid", EventIssue, issue("issue", "g/p", 0)},
		{"wrong type of iid", EventIssue, []byte(`{"object_kind":"issue","project":{"path_with_namespace":"g/p"},"object_attributes":{"iid":"7"}}`)},
		{"another project", EventIssue, issue("issue", "other/p", 3)},
		{"no project", EventIssue, []byte(`{"object_kind":"issue","object_attributes":{"iid":3}}`)},
		{"note without issue", EventNote, []byte(`{"object_kind":"note","project":{"path_with_namespace":"g/p"},"object_attributes":{"noteable_type":"Issue"}}`)},
		{"no event header", "", issue("issue", "g/p", 3)},
	}
	for _, tc := range tests {
		_, err := c.ParseWebhook(hookRequest(tc.event, hookSecret, nil, tc.body), tc.body)
		if !errors.Is(err, connectors.ErrInvalid) {
			t.Errorf("%s: got %v, want invalid", tc.name, err)
		}
	}
}

func TestWebhookIgnoredEvents(t *testing.T) {
	c := hookClient(t, "g/p")
	tests := []struct{ name, event, body string }{
		{"push", "Push Hook", `{"object_kind":"push","project":{"path_with_namespace":"g/p"}}`},
		{"note on a merge request", EventNote, `{"object_kind":"note","project":{"path_with_namespace":"g/p"},"object_attributes":{"noteable_type":"MergeRequest"},"merge_request":{"iid":4}}`},
	}
	for _, tc := range tests {
		ev, err := c.ParseWebhook(hookRequest(tc.event, hookSecret, nil, []byte(tc.body)), []byte(tc.body))
		if err != nil || len(ev.Keys) != 0 || ev.Event != tc.event {
			t.Errorf("%s: got %+v, %v; want the event with no keys", tc.name, ev, err)
		}
	}
}

func TestDeliveryID(t *testing.T) {
	body := []byte(`{"object_kind":"push"}`)
	tests := []struct {
		name    string
		headers map[string]string
		want    string
	}{
		{"idempotency key first", map[string]string{"Idempotency-Key": "idem", "X-Gitlab-Event-UUID": "uuid"}, "idem"},
		{"event uuid", map[string]string{"X-Gitlab-Event-UUID": "uuid"}, "uuid"},
		{"standard webhooks id", map[string]string{"Webhook-Id": "msg_1"}, "msg_1"},
		{"body hash", nil, "sha256:"},
	}
	for _, tc := range tests {
		r := hookRequest("Push Hook", "", tc.headers, body)
		if got := deliveryID(r.Header, body); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	a, b := deliveryID(http.Header{}, body), deliveryID(http.Header{}, body)
	if a != b || a == deliveryID(http.Header{}, []byte(`{}`)) {
		t.Errorf("body hash ids: same body %q %q, other body %q; want equal, then different", a, b, deliveryID(http.Header{}, []byte(`{}`)))
	}
}

// receiver is a webhook endpoint that parses deliveries with a connector.
type receiver struct {
	c      *Client
	mu     sync.Mutex
	events []*connectors.WebhookEvent
	errs   []error
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	ev, err := rc.c.ParseWebhook(r, body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err != nil {
		rc.errs = append(rc.errs, err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	rc.events = append(rc.events, ev)
	w.WriteHeader(http.StatusAccepted)
}

// TestWebhookDeliveries runs real deliveries from the simulator into the
// connector: issue and note hooks (confidential variants too), a wrong
// token, and a redelivery reported as the same delivery.
func TestWebhookDeliveries(t *testing.T) {
	c, srv := setup(t, gitlabfake.Options{})
	rc := &receiver{c: c}
	hookSrv := httptest.NewServer(rc)
	defer hookSrv.Close()
	if _, err := srv.AddHook(testProject, hookSrv.URL, hookSecret); err != nil {
		t.Fatal(err)
	}
	it := mustCreate(t, c, marker(1), connectors.Item{Title: "hooked", Status: connectors.StatusOpen})
	if _, err := c.AddComment(t.Context(), it.Ref.Key, "", "a note"); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddComment(it.Ref.Key, "bob", "internal", true); err != nil {
		t.Fatal(err)
	}
	if err := srv.PersonEdit(it.Ref.Key, gitlabfake.Edit{Confidential: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	srv.WaitDeliveries()
	wantEvents := []string{EventIssue, EventNote, EventConfidentialNote, EventConfidentialIssue}
	rc.mu.Lock()
	if len(rc.errs) != 0 || len(rc.events) != len(wantEvents) {
		t.Fatalf("deliveries: got %d events and errors %v, want %d events", len(rc.events), rc.errs, len(wantEvents))
	}
	got := map[string]bool{}
	for _, ev := range rc.events {
		got[ev.Event] = true
		if !slices.Equal(ev.Keys, []string{it.Ref.Key}) {
			t.Errorf("%s: keys %v, want [%s]", ev.Event, ev.Keys, it.Ref.Key)
		}
	}
	rc.mu.Unlock()
	for _, e := range wantEvents {
		if !got[e] {
			t.Errorf("no %s delivered", e)
		}
	}

	// Redelivery: the same Idempotency-Key, so the same delivery id.
	first := srv.Deliveries()[0]
	if err := srv.Redeliver(first.EventUUID); err != nil {
		t.Fatal(err)
	}
	srv.WaitDeliveries()
	rc.mu.Lock()
	same := 0
	for _, ev := range rc.events {
		if ev.DeliveryID == first.IdempotencyKey {
			same++
		}
	}
	rc.mu.Unlock()
	if same != 2 {
		t.Errorf("redelivery: delivery id %q reported %d times, want 2 (original and redelivery)", first.IdempotencyKey, same)
	}

	// A hook configured with the wrong secret is refused.
	bad := httptest.NewServer(&receiver{c: c})
	defer bad.Close()
	if _, err := srv.AddHook(testProject, bad.URL, "wrong-secret"); err != nil {
		t.Fatal(err)
	}
	if err := srv.EditTitle(it.Ref.Key, "renamed"); err != nil {
		t.Fatal(err)
	}
	srv.WaitDeliveries()
	for _, d := range srv.Deliveries() {
		if d.URL == bad.URL && d.Status != http.StatusUnauthorized {
			t.Errorf("delivery with a wrong token: receiver answered %d, want 401", d.Status)
		}
	}
}

// TestClientGoParsesSimulatorHooks checks the simulator's payloads against
// client-go's own webhook types.
func TestClientGoParsesSimulatorHooks(t *testing.T) {
	c, srv := setup(t, gitlabfake.Options{})
	it := mustCreate(t, c, marker(1), connectors.Item{Title: "typed", Status: connectors.StatusOpen, Priority: connectors.P1})
	r, err := srv.IssueHookRequest(it.Ref.Key, hookSecret, "d-1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	ev, err := gl.ParseWebhook(gl.HookEventType(r), body)
	if err != nil {
		t.Fatalf("client-go ParseWebhook: %v", err)
	}
	ie, ok := ev.(*gl.IssueEvent)
	if !ok || ie.ObjectAttributes.IID != 1 || ie.Project.PathWithNamespace != testProject || len(ie.Labels) != 1 {
		t.Errorf("client-go view of the Issue Hook: %#v", ev)
	}
}
