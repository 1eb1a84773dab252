package gitlab_test

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
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

		start := time.Now()
		ev, err := c.ParseWebhook(r, body)
		if d := time.Since(start); d > time.Second {
			t.Fatalf("ParseWebhook took %v on a %d-byte body, want under 1s", d, len(body))
		}
		if err != nil {
			for _, s := range []string{fuzzHookSecret, fuzzToken} {
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
		case mode != fuzzTokenValid && !errors.Is(err, connectors.ErrUnauthenticated):
			t.Fatalf("token mode %d: got error %v, want unauthenticated", mode, err)
		case mode == fuzzTokenValid && err != nil && !errors.Is(err, connectors.ErrInvalid):
			t.Fatalf("valid token: got error %v, want nil or invalid", err)
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
			num, ok := strings.CutPrefix(k, fuzzProject+"#")
			n, convErr := strconv.ParseInt(num, 10, 64)
			if !ok || convErr != nil || n < 1 {
				t.Fatalf("key %q is not an issue of %s", k, fuzzProject)
			}
		}
	})
}
