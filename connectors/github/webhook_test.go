package github_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/github"
	"github.com/pmsync/pmsync/connectors/github/githubfake"
)

const hookSecret = "hook-secret-for-tests"

// hookConnector is a connector for the repository of the Octokit fixtures.
func hookConnector(t *testing.T, secret string) *github.Connector {
	t.Helper()
	c, err := github.New(connectors.Config{ID: "janecorp", Project: "Codertocat/Hello-World", Token: "t", WebhookSecret: secret}, github.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestWebhookFixtures signs every Octokit example payload and parses it.
func TestWebhookFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/webhooks/*/*.payload.json")
	if err != nil || len(files) != 10 {
		t.Fatalf("fixtures: got %d files (%v), want 10", len(files), err)
	}
	c := hookConnector(t, hookSecret)
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			event := filepath.Base(filepath.Dir(f))
			var head struct{ Action string }
			if err := json.Unmarshal(body, &head); err != nil {
				t.Fatal(err)
			}
			r := hookRequest(t, event, "72d3162e-cc78-11e3-81ab-4c9367dc0958", githubfake.Sign(hookSecret, body), body)
			ev, err := c.ParseWebhook(r, body)
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			if want := []string{"Codertocat/Hello-World#1"}; !slices.Equal(ev.Keys, want) {
				t.Errorf("Keys: got %v, want %v", ev.Keys, want)
			}
			if want := event + "." + head.Action; ev.Event != want {
				t.Errorf("Event: got %q, want %q", ev.Event, want)
			}
			if ev.DeliveryID != "72d3162e-cc78-11e3-81ab-4c9367dc0958" {
				t.Errorf("DeliveryID: got %q", ev.DeliveryID)
			}
		})
	}
}

func TestWebhookRejected(t *testing.T) {
	body, err := os.ReadFile("testdata/webhooks/issues/opened.payload.json")
	if err != nil {
		t.Fatal(err)
	}
	good := githubfake.Sign(hookSecret, body)
	tests := []struct {
		name   string
		secret string // the connector's
		sig    string
		body   []byte
	}{
		{"missing signature", hookSecret, "", body},
		{"forged signature", hookSecret, githubfake.Sign("guessed", body), body},
		{"signature of another body", hookSecret, githubfake.Sign(hookSecret, []byte("{}")), body},
		{"body changed after signing", hookSecret, good, append([]byte(" "), body...)},
		{"not hex", hookSecret, "sha256=zzzz", body},
		{"truncated", hookSecret, good[:len(good)-2], body},
		{"sha1 scheme only", hookSecret, "sha1=" + strings.Repeat("0", 40), body},
		{"no secret configured, no signature", "", "", body},
		{"no secret configured, signature of the empty key", "", githubfake.Sign("", body), body},
		{"over the size limit", hookSecret, githubfake.Sign(hookSecret, make([]byte, github.MaxWebhookBody+1)), make([]byte, github.MaxWebhookBody+1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := hookConnector(t, tc.secret)
			_, err := c.ParseWebhook(hookRequest(t, "issues", "d-1", tc.sig, tc.body), tc.body)
			if !errors.Is(err, connectors.ErrUnauthenticated) {
				t.Fatalf("got %v, want ErrUnauthenticated", err)
			}
			if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
				t.Errorf("error text holds the secret: %q", err)
			}
		})
	}
}

func TestWebhookEvents(t *testing.T) {
	comment, err := os.ReadFile("testdata/webhooks/issue_comment/created.payload.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(comment, &m); err != nil {
		t.Fatal(err)
	}
	m["issue"].(map[string]any)["pull_request"] = map[string]any{"url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/1"}
	prComment, _ := json.Marshal(m)
	m["issue"].(map[string]any)["pull_request"] = nil
	delete(m["issue"].(map[string]any), "pull_request")
	m["repository"].(map[string]any)["full_name"] = "Codertocat/Other"
	otherRepo, _ := json.Marshal(m)
	form := []byte("payload=" + url.QueryEscape(string(comment)))

	tests := []struct {
		name, event, ctype string
		body               []byte
		wantKeys           []string
		wantErr            error
	}{
		{"comment on a pull request is ignored", "issue_comment", "", prComment, nil, nil},
		{"another repository is ignored", "issue_comment", "", otherRepo, nil, nil},
		{"ping", "ping", "", []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`), nil, nil},
		{"other event", "push", "", []byte(`{"ref":"refs/heads/main"}`), nil, nil},
		{"form encoded", "issue_comment", "application/x-www-form-urlencoded", form, []string{"Codertocat/Hello-World#1"}, nil},
		{"malformed JSON", "issues", "", []byte(`{"action":`), nil, connectors.ErrInvalid},
		{"no issue number", "issues", "", []byte(`{"action":"opened","issue":{}}`), nil, connectors.ErrInvalid},
	}
	c := hookConnector(t, hookSecret)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := hookRequest(t, tc.event, "d-2", githubfake.Sign(hookSecret, tc.body), tc.body)
			if tc.ctype != "" {
				r.Header.Set("Content-Type", tc.ctype)
			}
			ev, err := c.ParseWebhook(r, tc.body)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			if !slices.Equal(ev.Keys, tc.wantKeys) || ev.DeliveryID != "d-2" {
				t.Errorf("got keys %v delivery %q, want keys %v delivery d-2", ev.Keys, ev.DeliveryID, tc.wantKeys)
			}
		})
	}

	r := hookRequest(t, "issues", "", githubfake.Sign(hookSecret, comment), comment)
	if _, err := c.ParseWebhook(r, comment); !errors.Is(err, connectors.ErrInvalid) {
		t.Errorf("delivery without X-GitHub-Delivery: got %v, want ErrInvalid", err)
	}
}
