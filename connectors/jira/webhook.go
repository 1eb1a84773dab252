package jira

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/pmsync/pmsync/connectors"
)

// Webhooks. Cloud admin webhooks saved with a secret are signed as
// "X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>". Data Center
// does not sign, so its webhook URL carries the secret as the "secret" query
// parameter (/webhooks/platform?secret=…). Both are compared in constant
// time. The delivery id is X-Atlassian-Webhook-Identifier (the same on every
// retry); without it (older Data Center) it is a hash of the body, which
// holds the event's millisecond timestamp.

// webhookPayload is the part of a delivery pmsync reads. Every field is
// optional: Cloud comment events carry a cut-down issue and no user, old
// Server comment events carry no issue at all.
type webhookPayload struct {
	Timestamp    json.Number `json:"timestamp"`
	WebhookEvent string      `json:"webhookEvent"`
	TypeName     string      `json:"issue_event_type_name"`
	Issue        *struct {
		ID     string `json:"id"`
		Key    string `json:"key"`
		Fields struct {
			Project struct {
				Key string `json:"key"`
			} `json:"project"`
		} `json:"fields"`
	} `json:"issue"`
	Comment *struct {
		ID   string `json:"id"`
		Self string `json:"self"`
	} `json:"comment"`
}

// ParseWebhook authenticates a delivery and says which issue it concerns.
// A delivery that names the issue only by id (old Server comment events)
// gets the key when this connector has seen the issue, else the id, which
// Get accepts too (and answers with the key).
func (c *Connector) ParseWebhook(r *http.Request, body []byte) (*connectors.WebhookEvent, error) {
	op := c.op("webhook for %s", c.id)
	if err := c.authenticate(r, body); err != nil {
		return nil, connectors.Errorf(connectors.CodeUnauthenticated, op, err)
	}
	var p webhookPayload
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		return nil, invalid(op, "the body is not a JSON object")
	}
	if p.WebhookEvent == "" {
		return nil, invalid(op, "the body has no webhookEvent")
	}
	ev := &connectors.WebhookEvent{DeliveryID: r.Header.Get("X-Atlassian-Webhook-Identifier"), Event: p.WebhookEvent}
	if ev.DeliveryID == "" {
		sum := sha256.Sum256(append([]byte(p.Timestamp.String()+"\n"), body...))
		ev.DeliveryID = "sha256-" + hex.EncodeToString(sum[:16])
	}
	if !isIssueEvent(p.WebhookEvent) {
		return ev, nil // another event (worklog, version, ...): nothing to reconcile
	}
	key, project := "", ""
	switch {
	case p.Issue != nil && p.Issue.Key != "":
		key, project = p.Issue.Key, projectOf(p.Issue.Key)
	case p.Issue != nil && p.Issue.ID != "":
		key, project = c.keyOfID(p.Issue.ID), p.Issue.Fields.Project.Key
	case p.Comment != nil:
		key = c.keyOfID(issueIDOfComment(p.Comment.Self))
	}
	if key == "" || !issueRefRE.MatchString(key) {
		return nil, connectors.Errorf(connectors.CodeInvalid, op, errNoIssue)
	}
	if project != "" && project != c.project {
		// Admin webhooks fire for every project unless filtered: an issue
		// of another project is none of this tracker's business.
		return ev, nil
	}
	ev.Keys = []string{key}
	c.cache.drop(key) // changed since it was last read
	return ev, nil
}

// projectOf returns the project part of an issue key ("PLAT" of "PLAT-7").
func projectOf(key string) string {
	if i := strings.LastIndexByte(key, '-'); i > 0 {
		return key[:i]
	}
	return ""
}

func isIssueEvent(e string) bool {
	return strings.HasPrefix(e, "jira:issue_") || strings.HasPrefix(e, "comment_")
}

// authenticate checks the signature (Cloud) or the URL secret (DC).
func (c *Connector) authenticate(r *http.Request, body []byte) error {
	if len(c.hookKey) == 0 {
		return errors.New("no webhook secret is configured for this tracker")
	}
	if c.flavor == FlavorCloud {
		sig, ok := strings.CutPrefix(r.Header.Get("X-Hub-Signature"), "sha256=")
		if !ok {
			return errors.New("missing X-Hub-Signature sha256 signature")
		}
		got, err := hex.DecodeString(strings.TrimSpace(sig))
		if err != nil {
			return errors.New("X-Hub-Signature is not hex")
		}
		m := hmac.New(sha256.New, c.hookKey)
		m.Write(body)
		if !hmac.Equal(got, m.Sum(nil)) {
			return errors.New("X-Hub-Signature does not match the body")
		}
		return nil
	}
	got := r.URL.Query().Get("secret")
	if got == "" || subtle.ConstantTimeCompare([]byte(got), c.hookKey) != 1 {
		return errors.New("the secret query parameter is missing or wrong")
	}
	return nil
}
