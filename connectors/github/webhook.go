package github

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

	gh "github.com/google/go-github/v62/github"

	"github.com/pmsync/pmsync/connectors"
)

// MaxWebhookBody is the largest delivery ParseWebhook accepts.
const MaxWebhookBody = 1 << 20

// ParseWebhook authenticates a delivery by its X-Hub-Signature-256 (an
// HMAC-SHA256 of the raw body under the webhook secret, compared in
// constant time) and returns the issue it concerns. A tracker without a
// secret refuses every delivery: unlike go-github's ValidatePayload, an
// empty secret never means "no check". Events other than issues and
// issue_comment (ping included) are accepted with no keys, as are comments
// on pull requests and events of other repositories.
func (c *Connector) ParseWebhook(r *http.Request, body []byte) (*connectors.WebhookEvent, error) {
	op := "github: webhook for " + c.id
	if err := c.authenticate(r, body); err != nil {
		return nil, connectors.Errorf(connectors.CodeUnauthenticated, op, err)
	}
	event := r.Header.Get(gh.EventTypeHeader)
	delivery := r.Header.Get(gh.DeliveryIDHeader)
	switch {
	case event == "":
		return nil, invalid(op, errors.New("header X-GitHub-Event is missing"))
	case delivery == "" || len(delivery) > 128:
		return nil, invalid(op, errors.New("header X-GitHub-Delivery is missing or too long"))
	}
	ev := &connectors.WebhookEvent{DeliveryID: delivery, Event: event}
	if event != "issues" && event != "issue_comment" {
		return ev, nil
	}
	payload, err := payloadOf(r, body)
	if err != nil {
		return nil, invalid(op, err)
	}
	parsed, err := gh.ParseWebHook(event, payload)
	if err != nil {
		return nil, invalid(op, fmt.Errorf("%s payload is not valid JSON of that event", event))
	}
	var (
		is     *gh.Issue
		repo   *gh.Repository
		action string
	)
	switch e := parsed.(type) {
	case *gh.IssuesEvent:
		is, repo, action = e.GetIssue(), e.GetRepo(), e.GetAction()
	case *gh.IssueCommentEvent:
		is, repo, action = e.GetIssue(), e.GetRepo(), e.GetAction()
	}
	if action != "" {
		ev.Event += "." + action
	}
	if is.GetNumber() < 1 {
		return nil, invalid(op, fmt.Errorf("%s payload has no issue number", event))
	}
	if is.IsPullRequest() || !strings.EqualFold(repo.GetFullName(), c.full()) {
		return ev, nil
	}
	// The issue changed: an Update must read it again rather than trust
	// the issue remembered from before.
	c.cache.drop(is.GetNumber())
	ev.Keys = []string{c.ref().key(is.GetNumber())}
	return ev, nil
}

// authenticate checks X-Hub-Signature-256 over the raw body.
func (c *Connector) authenticate(r *http.Request, body []byte) error {
	if len(c.secret) == 0 {
		return errors.New("no webhook secret is configured for this tracker")
	}
	if len(body) > MaxWebhookBody {
		return fmt.Errorf("body of %d bytes is over the %d-byte limit", len(body), MaxWebhookBody)
	}
	sig, ok := strings.CutPrefix(r.Header.Get(gh.SHA256SignatureHeader), "sha256=")
	if !ok {
		return errors.New("header X-Hub-Signature-256 is missing or not sha256=<hex>")
	}
	got, err := hex.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return errors.New("header X-Hub-Signature-256 is not a hex SHA-256 HMAC")
	}
	m := hmac.New(sha256.New, c.secret)
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return errors.New("signature does not match the body")
	}
	return nil
}

// payloadOf returns the JSON of a delivery: the body itself, or the
// "payload" field of a form-encoded one.
func payloadOf(r *http.Request, body []byte) ([]byte, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" {
		return body, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("payload") == "" {
		return nil, errors.New("form-encoded delivery has no payload field")
	}
	return []byte(form.Get("payload")), nil
}
