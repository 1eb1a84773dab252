package jirafake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Delivery is one webhook delivery, pending or done.
type Delivery struct {
	ID       string // X-Atlassian-Webhook-Identifier, the same on every retry
	Event    string // webhookEvent
	Key      string // issue key
	Body     []byte
	Attempts int
	Status   int // last HTTP status, 0 before the first attempt or on a network error
}

// maxKept bounds the deliveries kept when no webhook URL is configured.
const maxKept = 1000

// maxAttempts is how often Cloud tries one delivery (first try + retries).
const maxAttempts = 4

// Outbox returns the deliveries not yet delivered, oldest first.
func (s *Server) Outbox() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copyDeliveries(s.outbox)
}

// Delivered returns the deliveries answered with 2xx, oldest first.
func (s *Server) Delivered() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copyDeliveries(s.delivered)
}

// copyDeliveries returns copies of ds, for callers outside the lock.
func copyDeliveries(ds []*Delivery) []Delivery {
	out := make([]Delivery, len(ds))
	for i, d := range ds {
		out[i] = *d
	}
	return out
}

func (s *Server) enqueue(event, key string, payload map[string]any) {
	body, err := json.Marshal(payload)
	if err != nil {
		return
	}
	n := len(s.outbox) + len(s.delivered) + 1
	d := &Delivery{ID: fmt.Sprintf("%d-%x", s.clock.Now().UnixMilli(), n), Event: event, Key: key, Body: body}
	s.outbox = append(s.outbox, d)
	if s.opts.WebhookURL == "" && len(s.outbox) > maxKept {
		s.outbox = s.outbox[len(s.outbox)-maxKept:]
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Server) emitIssue(base, event, typeName string, it *issue, log []changelogItem) {
	p := map[string]any{
		"timestamp": s.clock.Now().UnixMilli(), "webhookEvent": event, "issue_event_type_name": typeName,
		"user": s.userJSON(base, s.handle(s.opts.Me)), "issue": s.issueJSON(base, it, navigable, nil),
	}
	if log != nil {
		p["changelog"] = map[string]any{"id": strconv.FormatInt(s.clock.Now().UnixMilli()%100000, 10), "items": log}
	}
	if s.opts.Flavor == Cloud {
		p["matchedWebhookIds"] = []int{1}
	}
	s.enqueue(event, it.key, p)
}

// emitComment fires a comment event; Cloud's carries a cut-down issue and
// no user.
func (s *Server) emitComment(base, event string, it *issue, c *comment) {
	fields := s.fieldsJSON(base, it, map[string]bool{"summary": true, "status": true, "issuetype": true, "priority": true, "assignee": true, "project": true})
	p := map[string]any{
		"timestamp": s.clock.Now().UnixMilli(), "webhookEvent": event, "comment": s.commentJSON(base, it, c),
		"issue": map[string]any{"id": strconv.Itoa(it.id), "self": base + "/rest/api/2/issue/" + strconv.Itoa(it.id), "key": it.key, "fields": fields},
	}
	if s.opts.Flavor == Cloud {
		p["matchedWebhookIds"] = []int{1}
	}
	s.enqueue(event, it.key, p)
}

// emitIssueComment fires the jira:issue_updated that accompanies a comment.
func (s *Server) emitIssueComment(base, typeName string, it *issue, c *comment) {
	p := map[string]any{
		"timestamp": s.clock.Now().UnixMilli(), "webhookEvent": "jira:issue_updated", "issue_event_type_name": typeName,
		"user": s.userJSON(base, s.handle(s.opts.Me)), "issue": s.issueJSON(base, it, navigable, nil),
		"comment": s.commentJSON(base, it, c),
	}
	s.enqueue("jira:issue_updated", it.key, p)
}

// WebhookBody builds the jira:issue_updated payload for an existing issue
// as a delivery would carry it.
func (s *Server) WebhookBody(key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.lookup(key)
	if it == nil {
		return nil, fmt.Errorf("jirafake: no issue %s", key)
	}
	base := "http://jira.invalid"
	if s.ts != nil {
		base = s.ts.URL
	}
	return json.Marshal(map[string]any{
		"timestamp": s.clock.Now().UnixMilli(), "webhookEvent": "jira:issue_updated", "issue_event_type_name": "issue_updated",
		"user": s.userJSON(base, s.handle(s.opts.Me)), "issue": s.issueJSON(base, it, navigable, nil),
		"changelog": map[string]any{"id": "10400", "items": []changelogItem{}},
	})
}

// SignedRequest builds a delivery of body to target as this site sends it:
// Cloud signs it with X-Hub-Signature, Data Center puts the secret in the
// URL query. deliveryID ("" for none) goes in X-Atlassian-Webhook-Identifier.
// With valid false the signature or secret is wrong.
func (s *Server) SignedRequest(target string, body []byte, deliveryID string, valid bool) (*http.Request, error) {
	secret := s.opts.WebhookSecret
	if !valid {
		secret += "-forged"
	}
	if s.opts.Flavor != Cloud && secret != "" {
		u, err := url.Parse(target)
		if err != nil {
			return nil, fmt.Errorf("jirafake: webhook URL: %w", err)
		}
		q := u.Query()
		q.Set("secret", secret)
		u.RawQuery = q.Encode()
		target = u.String()
	}
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("jirafake: webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	req.Header.Set("User-Agent", "Atlassian Webhook HTTP Client")
	if deliveryID != "" {
		req.Header.Set("X-Atlassian-Webhook-Identifier", deliveryID)
	}
	if s.opts.Flavor == Cloud {
		req.Header.Set("X-Atlassian-Webhook-Flow", "Primary")
		if secret != "" {
			req.Header.Set("X-Hub-Signature", "sha256="+Sign(secret, body))
		}
	}
	return req, nil
}

// Sign returns the hex HMAC-SHA256 of body under secret, as Cloud's
// X-Hub-Signature carries it after "sha256=".
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// FlushWebhooks attempts every pending delivery once, in order. Cloud
// deliveries carry their identifier (the same on retries) and a retry count;
// Data Center ones carry neither. Failed deliveries stay pending until
// maxAttempts, as Cloud's retry policy keeps them.
func (s *Server) FlushWebhooks(ctx context.Context) error {
	s.flushMu.Lock() // one flush at a time keeps deliveries in order
	defer s.flushMu.Unlock()
	s.mu.Lock()
	pending := s.outbox
	s.outbox = nil
	s.mu.Unlock()
	var firstErr error
	var keep []*Delivery
	for _, d := range pending {
		if s.opts.WebhookURL == "" {
			keep = append(keep, d)
			continue
		}
		if err := s.deliver(ctx, d); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			if d.Attempts < maxAttempts {
				keep = append(keep, d)
			}
			continue
		}
		s.mu.Lock()
		s.delivered = append(s.delivered, d)
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.outbox = append(keep, s.outbox...)
	s.mu.Unlock()
	return firstErr
}

func (s *Server) deliver(ctx context.Context, d *Delivery) error {
	id := ""
	if s.opts.Flavor == Cloud {
		id = d.ID
	}
	req, err := s.SignedRequest(s.opts.WebhookURL, d.Body, id, true)
	if err != nil {
		return err
	}
	req = req.WithContext(ctx)
	if d.Attempts > 0 && s.opts.Flavor == Cloud {
		req.Header.Set("X-Atlassian-Webhook-Retry", strconv.Itoa(d.Attempts))
	}
	d.Attempts++
	resp, err := s.opts.WebhookClient.Do(req)
	if err != nil {
		d.Status = 0
		return fmt.Errorf("jirafake: deliver %s: %w", d.Event, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	d.Status = resp.StatusCode
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("jirafake: deliver %s: HTTP %d", d.Event, resp.StatusCode)
	}
	return nil
}

// deliverLoop delivers in the background until ctx ends, retrying failed
// deliveries after a second.
func (s *Server) deliverLoop(ctx context.Context) {
	defer s.deliverW.Done()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-retry.C:
		}
		if s.FlushWebhooks(ctx) != nil {
			retry.Reset(time.Second)
		}
	}
}
