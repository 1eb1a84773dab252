package gitlab

import (
	"net/http"
	"sync"
	"testing"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/conformance"
	"github.com/pmsync/pmsync/connectors/gitlab/gitlabfake"
)

// testProject is the project every harness simulator holds.
const testProject = "janecorp/remediation"

// testPageSize is the simulator's page cap in the harness, so that the
// pagination tests need several pages with few items.
const testPageSize = 20

// harness plugs the GitLab connector and gitlabfake into the suite. It
// remembers the simulator made for each test, so that Webhook renders the
// delivery from that simulator's state.
type harness struct {
	servers sync.Map // *testing.T → *gitlabfake.Server
}

func (*harness) Name() string { return "gitlab" }

func (*harness) Capabilities() conformance.Capabilities {
	return conformance.Capabilities{Assignees: []string{"alice", "bob"}, PageSize: testPageSize}
}

func (h *harness) Make(t *testing.T, trackerID string) (connectors.Connector, conformance.Backend) {
	t.Helper()
	srv := gitlabfake.Start(gitlabfake.Options{
		Token: conformance.Secret, Projects: []string{testProject}, MaxPerPage: testPageSize,
	})
	t.Cleanup(srv.Close)
	h.servers.Store(t, srv)
	t.Cleanup(func() { h.servers.Delete(t) })
	return connect(t, srv, trackerID), srv
}

func (*harness) Reconnect(t *testing.T, b conformance.Backend, trackerID string) connectors.Connector {
	t.Helper()
	return connect(t, b.(*gitlabfake.Server), trackerID)
}

func (h *harness) Webhook(t *testing.T, key, deliveryID string, valid bool) *http.Request {
	t.Helper()
	v, ok := h.servers.Load(t)
	if !ok {
		t.Fatalf("Webhook(%s): no simulator was made for this test", key)
	}
	token := conformance.WebhookSecret
	if !valid {
		token = "not-the-secret"
	}
	r, err := v.(*gitlabfake.Server).IssueHookRequest(key, token, deliveryID)
	if err != nil {
		t.Fatalf("IssueHookRequest(%s): %v", key, err)
	}
	return r
}

func (*harness) RawWebhook(t *testing.T, body []byte) *http.Request {
	t.Helper()
	srv := gitlabfake.New(gitlabfake.Options{})
	return srv.HookRequest(gitlabfake.EventIssue, conformance.WebhookSecret, "raw-delivery", body)
}

// connect builds a connector on srv the way the daemon would.
func connect(t *testing.T, srv *gitlabfake.Server, trackerID string) connectors.Connector {
	t.Helper()
	c, err := New(connectors.Config{
		ID: trackerID, Kind: Kind, URL: srv.URL(), Project: testProject,
		Token: conformance.Secret, WebhookSecret: conformance.WebhookSecret, Now: srv.Now,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func TestConformance(t *testing.T) {
	conformance.Run(t, &harness{})
}
