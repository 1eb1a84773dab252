package reliability

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/pmsync/pmsync/connectors/github/githubfake"
	"github.com/pmsync/pmsync/connectors/jira/jirafake"
)

// HookAuth says how a test delivery is authenticated.
type HookAuth int

// The authentication modes of HookRequest.
const (
	HookValid    HookAuth = iota // signed or tokened with the tracker's secret
	HookWrong                    // with another secret
	HookUnsigned                 // with no signature, token or secret at all
)

// HookBody returns a delivery body, as tracker kind sends it, saying that
// the item numbered n changed.
func (t *SimTracker) HookBody(n int) []byte {
	switch t.Kind {
	case "github":
		return fmt.Appendf(nil, `{"action":"edited","issue":{"number":%d,"title":"t","state":"open"},"repository":{"full_name":%q,"name":"reliability"},"sender":{"login":"octocat","type":"User"}}`, n, t.Project())
	case "gitlab":
		return fmt.Appendf(nil, `{"object_kind":"issue","event_type":"issue","project":{"id":1,"path_with_namespace":%q},"object_attributes":{"iid":%d,"action":"update","updated_at":"2026-03-02 09:00:00 UTC"}}`, t.Project(), n)
	default:
		return fmt.Appendf(nil, `{"timestamp":1772441000000,"webhookEvent":"jira:issue_updated","issue_event_type_name":"issue_updated","issue":{"id":"%d","key":"%s-%d"}}`, 10000+n, t.Project(), n)
	}
}

// HookRequest builds a delivery of body to the webhook URL base +
// "/webhooks/" + the tracker id, authenticated as auth says, with the
// tracker's delivery id header set to delivery. With chunked the body is
// sent without Content-Length (chunked transfer encoding).
func (t *SimTracker) HookRequest(base string, body []byte, delivery string, auth HookAuth, chunked bool) (*http.Request, error) {
	secret := HookSecret
	if auth == HookWrong {
		secret = "not-" + HookSecret
	}
	target := base + "/webhooks/" + t.ID
	if t.Kind == "jira-datacenter" && auth != HookUnsigned {
		target += "?secret=" + url.QueryEscape(secret)
	}
	var rd io.Reader = bytes.NewReader(body)
	if chunked {
		rd = io.MultiReader(bytes.NewReader(body)) // hides the length: sent chunked
	}
	r, err := http.NewRequest(http.MethodPost, target, rd)
	if err != nil {
		return nil, err
	}
	r.Header.Set("Content-Type", "application/json")
	switch t.Kind {
	case "github":
		r.Header.Set("X-GitHub-Event", "issues")
		r.Header.Set("X-GitHub-Delivery", delivery)
		if auth != HookUnsigned {
			r.Header.Set("X-Hub-Signature-256", githubfake.Sign(secret, body))
		}
	case "gitlab":
		r.Header.Set("X-Gitlab-Event", "Issue Hook")
		r.Header.Set("X-Gitlab-Event-UUID", delivery)
		if auth != HookUnsigned {
			r.Header.Set("X-Gitlab-Token", secret)
		}
	default:
		r.Header.Set("X-Atlassian-Webhook-Identifier", delivery)
		if t.Kind == "jira-cloud" && auth != HookUnsigned {
			r.Header.Set("X-Hub-Signature", "sha256="+jirafake.Sign(secret, body))
		}
	}
	return r, nil
}
