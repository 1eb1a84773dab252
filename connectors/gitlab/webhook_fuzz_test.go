package gitlab_test

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/conformance"
	"github.com/pmsync/pmsync/connectors/gitlab"
)

// fuzzProject is the project of the committed Issue Hook fixture, so that
// seeds reach the code that turns a payload into a key.
const fuzzProject = "gitlabhq/gitlab-test"

// fuzzHookSecret and fuzzToken are canaries: no error may carry them.
const (
	fuzzHookSecret = "fuzz-canary-gitlab-hook-secret-81be"
	fuzzToken      = "fuzz-canary-gitlab-token-0c42"
)

// Token modes of FuzzGitLabWebhook.
const (
	fuzzTokenValid   = iota // X-Gitlab-Token is the tracker's secret
	fuzzTokenWrong          // another token
	fuzzTokenMissing        // no X-Gitlab-Token header
	fuzzTokenPrefix         // the secret without its last byte
	fuzzTokenModes
)

// FuzzGitLabWebhook feeds arbitrary event names, bodies and delivery ids,
// with four token modes, through ParseWebhook. Bar: no panic, no input
// slower than 1 s, exactly the deliveries with the right token pass
// authentication, a failure is classified as unauthenticated or invalid,
// no error text carries a secret, every accepted delivery has a delivery
// id, and every key names an issue of the tracker's own project.
func FuzzGitLabWebhook(f *testing.F) {
	f.Add(gitlab.EventIssue, []byte(`{"object_kind":"issue","project":{"id":1,"path_with_namespace":"gitlabhq/gitlab-test"},"object_attributes":{"iid":5}}`), byte(fuzzTokenValid), "d-1")
	c, err := gitlab.New(connectors.Config{
		ID: "betabank", Kind: gitlab.Kind, URL: "http://127.0.0.1:1", Project: fuzzProject,
		Token: fuzzToken, WebhookSecret: fuzzHookSecret,
	})
	if err != nil {
		f.Fatalf("gitlab.New: %v", err)
	}
	f.Fuzz(func(t *testing.T, event string, body []byte, mode byte, delivery string) {
		mode %= fuzzTokenModes
		r, err := http.NewRequest(http.MethodPost, "http://127.0.0.1/webhooks/betabank", bytes.NewReader(body))
		if err != nil {
			t.Fatalf("NewRequest: %v", err)
		}
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Gitlab-Event", event)
		if delivery != "" {
			r.Header.Set("X-Gitlab-Event-UUID", delivery)
		}
		switch mode {
		case fuzzTokenValid:
			r.Header.Set("X-Gitlab-Token", fuzzHookSecret)
		case fuzzTokenWrong:
			r.Header.Set("X-Gitlab-Token", "not-the-secret")
		case fuzzTokenPrefix:
			r.Header.Set("X-Gitlab-Token", fuzzHookSecret[:len(fuzzHookSecret)-1])
		}

		conformance.CheckWebhook(t, c, r, body, mode == fuzzTokenValid, []string{fuzzHookSecret, fuzzToken}, func(k string) bool {
			num, ok := strings.CutPrefix(k, fuzzProject+"#")
			n, err := strconv.ParseInt(num, 10, 64)
			return ok && err == nil && n >= 1
		})
	})
}
