package github_test

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/conformance"
	"github.com/pmsync/pmsync/connectors/github"
	"github.com/pmsync/pmsync/connectors/github/githubfake"
)

// fuzzRepo is the repository of the committed webhook fixtures, so that
// seeds reach the code that turns a payload into a key.
const fuzzRepo = "Codertocat/Hello-World"

// fuzzHookSecret and fuzzToken are canaries: no error may carry them.
const (
	fuzzHookSecret = "fuzz-canary-hook-secret-3c9d"
	fuzzToken      = "fuzz-canary-token-a81f"
)

// Signature modes of FuzzGitHubWebhook.
const (
	fuzzSigValid   = iota // signed with the tracker's secret
	fuzzSigWrong          // signed with another secret
	fuzzSigMissing        // no X-Hub-Signature-256 header
	fuzzSigAltered        // valid signature of the body with its last byte flipped
	fuzzSigModes
)

// FuzzGitHubWebhook feeds arbitrary event names and bodies, signed in four
// ways, through ParseWebhook. Bar: no panic, no input slower than 1 s,
// exactly the validly signed deliveries pass authentication, a failure is
// classified as unauthenticated or invalid (nothing else), no error text
// carries a secret, and every key names an issue of the tracker's own
// repository.
func FuzzGitHubWebhook(f *testing.F) {
	f.Add("issues", []byte(`{"action":"opened","issue":{"number":1},"repository":{"full_name":"Codertocat/Hello-World"}}`), byte(fuzzSigValid))
	f.Add("ping", []byte(`{"zen":"Keep it logically awesome."}`), byte(fuzzSigValid))
	c, err := github.New(connectors.Config{
		ID: "janecorp", Kind: github.Kind, URL: "http://127.0.0.1:1/", Project: fuzzRepo,
		Token: fuzzToken, WebhookSecret: fuzzHookSecret,
	}, github.Options{})
	if err != nil {
		f.Fatalf("github.New: %v", err)
	}
	f.Fuzz(func(t *testing.T, event string, body []byte, mode byte) {
		mode %= fuzzSigModes
		r, err := http.NewRequest(http.MethodPost, "http://127.0.0.1/webhooks/janecorp", bytes.NewReader(body))
		if err != nil {
			t.Fatalf("NewRequest: %v", err)
		}
		r.Header.Set("Content-Type", "application/json")
		if strings.HasPrefix(string(body), "payload=") {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		r.Header.Set("X-GitHub-Event", event)
		r.Header.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
		switch mode {
		case fuzzSigValid:
			r.Header.Set("X-Hub-Signature-256", githubfake.Sign(fuzzHookSecret, body))
		case fuzzSigWrong:
			r.Header.Set("X-Hub-Signature-256", githubfake.Sign("another-secret", body))
		case fuzzSigAltered:
			altered := append([]byte(nil), body...)
			if len(altered) == 0 {
				altered = []byte{0}
			}
			altered[len(altered)-1] ^= 1
			r.Header.Set("X-Hub-Signature-256", githubfake.Sign(fuzzHookSecret, altered))
		}

		conformance.CheckWebhook(t, c, r, body, mode == fuzzSigValid && len(body) <= github.MaxWebhookBody,
			[]string{fuzzHookSecret, fuzzToken}, fuzzIsIssueKey)
	})
}

// fuzzIsIssueKey reports whether k names an issue of the fuzzed repository.
func fuzzIsIssueKey(k string) bool {
	num, ok := strings.CutPrefix(k, fuzzRepo+"#")
	n, err := strconv.Atoi(num)
	return ok && err == nil && n >= 1
}
