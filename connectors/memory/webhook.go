package memory

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/pmsync/pmsync/connectors"
)

// A memory webhook delivery is a POST whose body is a JSON Delivery and
// whose SignatureHeader is "sha256=" followed by the hex HMAC-SHA256 of the
// raw body under the webhook secret.

// SignatureHeader carries the delivery's signature.
const SignatureHeader = "X-Memory-Signature-256"

// DefaultEvent is the event name of deliveries that do not give one.
const DefaultEvent = "item.updated"

// maxKeys bounds the keys of one delivery.
const maxKeys = 1000

// Delivery is the body of a webhook delivery.
type Delivery struct {
	Delivery string   `json:"delivery"`        // delivery id, stable across redeliveries
	Event    string   `json:"event,omitempty"` // default DefaultEvent
	Keys     []string `json:"keys"`            // items that may have changed
}

// Sign returns the SignatureHeader value for body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// NewWebhookRequest builds a signed delivery to target (a pmsync webhook
// URL) saying that keys may have changed.
func NewWebhookRequest(target, secret, deliveryID string, keys ...string) (*http.Request, error) {
	body, err := json.Marshal(Delivery{Delivery: deliveryID, Event: DefaultEvent, Keys: keys})
	if err != nil {
		return nil, fmt.Errorf("memory: encode delivery: %w", err)
	}
	return NewSignedRequest(target, secret, body)
}

// NewSignedRequest builds a delivery to target with any body, signed.
func NewSignedRequest(target, secret string, body []byte) (*http.Request, error) {
	r, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("memory: build delivery request: %w", err)
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(SignatureHeader, Sign(secret, body))
	return r, nil
}

// ParseWebhook authenticates a delivery by its HMAC signature (constant-
// time compare) and returns the keys it names.
func (c *Connector) ParseWebhook(r *http.Request, body []byte) (*connectors.WebhookEvent, error) {
	what := "memory: webhook for " + c.id
	if c.secret == "" {
		return nil, connectors.Errorf(connectors.CodeUnauthenticated, what, errors.New("no webhook secret configured: deliveries are refused"))
	}
	got, ok := strings.CutPrefix(r.Header.Get(SignatureHeader), "sha256=")
	sig, err := hex.DecodeString(got)
	if !ok || err != nil || len(sig) != sha256.Size {
		return nil, connectors.Errorf(connectors.CodeUnauthenticated, what, fmt.Errorf("missing or malformed %s header", SignatureHeader))
	}
	m := hmac.New(sha256.New, []byte(c.secret))
	m.Write(body)
	if !hmac.Equal(sig, m.Sum(nil)) {
		return nil, connectors.Errorf(connectors.CodeUnauthenticated, what, errors.New("signature does not match"))
	}
	var d Delivery
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, connectors.Errorf(connectors.CodeInvalid, what, errors.New("body is not a JSON delivery"))
	}
	if d.Delivery == "" {
		return nil, connectors.Errorf(connectors.CodeInvalid, what, errors.New("delivery id is empty"))
	}
	if len(d.Keys) > maxKeys {
		return nil, connectors.Errorf(connectors.CodeInvalid, what, fmt.Errorf("delivery names %d keys, more than %d", len(d.Keys), maxKeys))
	}
	for i, k := range d.Keys {
		if k == "" || len(k) > 100 || strings.ContainsAny(k, " \t\r\n") {
			return nil, connectors.Errorf(connectors.CodeInvalid, what, fmt.Errorf("keys[%d] is not an item key", i))
		}
	}
	if d.Event == "" {
		d.Event = DefaultEvent
	}
	return &connectors.WebhookEvent{DeliveryID: d.Delivery, Event: d.Event, Keys: d.Keys}, nil
}
