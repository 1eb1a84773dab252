package jira_test

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/conformance"
	"github.com/pmsync/pmsync/connectors/jira"
	"github.com/pmsync/pmsync/connectors/jira/jirafake"
)

// fuzzHookSecret and fuzzToken are canaries: no error may carry them.
const (
	fuzzHookSecret = "fuzz-canary-jira-hook-secret-6a2f"
	fuzzToken      = "fuzz-canary-jira-token-d93e"
)

// Authentication modes of FuzzJiraWebhook: Cloud signs the body
// (X-Hub-Signature), Data Center carries the secret in the URL query.
const (
	fuzzAuthValid   = iota // the tracker's secret
	fuzzAuthWrong          // another secret
	fuzzAuthMissing        // no signature, no query secret
	fuzzAuthAltered        // Cloud: a valid signature of another body; DC: the secret with a suffix
	fuzzAuthModes
)

// fuzzKeyRE is what a key out of a delivery may look like: an issue key or
// a numeric issue id.
var fuzzKeyRE = regexp.MustCompile(`^(?:[A-Za-z][A-Za-z0-9_]*-[0-9]+|[0-9]+)$`)

// FuzzJiraWebhook feeds arbitrary bodies and delivery ids, authenticated
// four ways, through ParseWebhook of a Cloud and a Data Center tracker.
// Bar: no panic, no input slower than 1 s, exactly the authentic
// deliveries pass, failures are classified as unauthenticated or invalid,
// no error text carries a secret, an accepted delivery has a delivery id
// and names at most one well-formed key.
func FuzzJiraWebhook(f *testing.F) {
	f.Add([]byte(`{"timestamp":1,"webhookEvent":"jira:issue_updated","issue":{"id":"10001","key":"PLAT-1"}}`), byte(fuzzAuthValid), "d-1", true)
	conns := map[bool]connectors.Connector{}
	for _, cloud := range []bool{true, false} {
		flavor := jira.FlavorDataCenter
		if cloud {
			flavor = jira.FlavorCloud
		}
		c, err := jira.New(connectors.Config{
			ID: "platform", Kind: jira.Kind, URL: "http://127.0.0.1:1", Flavor: flavor, Project: "PLAT",
			Token: fuzzToken, User: "bot@example.com", WebhookSecret: fuzzHookSecret,
		})
		if err != nil {
			f.Fatalf("jira.New(%s): %v", flavor, err)
		}
		conns[cloud] = c
	}
	f.Fuzz(func(t *testing.T, body []byte, mode byte, delivery string, cloud bool) {
		mode %= fuzzAuthModes
		target := "http://127.0.0.1/webhooks/platform"
		secret := ""
		switch mode {
		case fuzzAuthValid:
			secret = fuzzHookSecret
		case fuzzAuthWrong:
			secret = "not-the-secret"
		case fuzzAuthAltered:
			secret = fuzzHookSecret + "x"
		}
		if !cloud && secret != "" {
			target += "?secret=" + url.QueryEscape(secret)
		}
		r, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
		if err != nil {
			t.Fatalf("NewRequest: %v", err)
		}
		r.Header.Set("Content-Type", "application/json")
		if delivery != "" {
			r.Header.Set("X-Atlassian-Webhook-Identifier", delivery)
		}
		if cloud && secret != "" {
			signed := body
			if mode == fuzzAuthAltered {
				signed, secret = append(append([]byte(nil), body...), ' '), fuzzHookSecret
			}
			r.Header.Set("X-Hub-Signature", "sha256="+jirafake.Sign(secret, signed))
		}

		conformance.CheckWebhook(t, conns[cloud], r, body, mode == fuzzAuthValid,
			[]string{fuzzHookSecret, fuzzToken}, fuzzKeyRE.MatchString)
	})
}
