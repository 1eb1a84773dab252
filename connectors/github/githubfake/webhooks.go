package githubfake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Delivery is one webhook delivery, as GitHub's "recent deliveries" list
// shows it.
type Delivery struct {
	GUID    string // X-GitHub-Delivery; the same on redelivery
	Event   string // X-GitHub-Event
	Action  string
	Payload []byte
	Status  int    // HTTP status of the answer, 0 when none arrived
	Err     string // transport error, if any
}

// hookQueue sends deliveries one at a time, in order, never retrying (like
// GitHub). Its goroutine starts with the first delivery and stops on close.
type hookQueue struct {
	mu       sync.Mutex
	url      string
	secret   string
	dup      bool
	pending  []Delivery
	sent     []Delivery
	inflight bool
	started  bool
	closed   bool
	wake     chan struct{}
	changed  chan struct{} // closed and replaced on every state change
	ctx      context.Context
	cancel   context.CancelFunc
	client   *http.Client
}

func newHookQueue(url, secret string, dup bool) *hookQueue {
	ctx, cancel := context.WithCancel(context.Background())
	return &hookQueue{url: url, secret: secret, dup: dup, wake: make(chan struct{}, 1),
		changed: make(chan struct{}), ctx: ctx, cancel: cancel, client: &http.Client{Timeout: 10 * time.Second}}
}

// SetWebhook points deliveries at url, signed with secret ("" url stops
// new deliveries). dup sends each delivery twice with the same GUID.
func (f *Fake) SetWebhook(url, secret string, dup bool) {
	q := f.hooks
	q.mu.Lock()
	defer q.mu.Unlock()
	q.url, q.secret, q.dup = url, secret, dup
}

// Deliveries returns the deliveries made so far, oldest first.
func (f *Fake) Deliveries() []Delivery {
	q := f.hooks
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]Delivery(nil), q.sent...)
}

// Redeliver sends a past delivery again with the same GUID, as GitHub's
// "Redeliver" button does.
func (f *Fake) Redeliver(guid string) error {
	q := f.hooks
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, d := range q.sent {
		if d.GUID == guid {
			q.push(Delivery{GUID: d.GUID, Event: d.Event, Action: d.Action, Payload: d.Payload})
			return nil
		}
	}
	return fmt.Errorf("githubfake: no delivery %q", guid)
}

// FlushWebhooks waits until every queued delivery has been attempted.
func (f *Fake) FlushWebhooks(ctx context.Context) error {
	q := f.hooks
	for {
		q.mu.Lock()
		idle := len(q.pending) == 0 && !q.inflight
		ch := q.changed
		q.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// emitIssue queues an "issues" event. Called with f.mu held.
func (f *Fake) emitIssue(action, actor string, is *issue, extra map[string]any) {
	if is.pr {
		return
	}
	u := urlsFor(f.base)
	body := map[string]any{"action": action, "issue": u.issue(is), "repository": u.repo(is.repo), "sender": u.user(actor)}
	for k, v := range extra {
		body[k] = v
	}
	f.hooks.enqueue("issues", action, body)
}

// emitComment queues an "issue_comment" event (also for comments on pull
// requests, as GitHub does). Called with f.mu held.
func (f *Fake) emitComment(action string, c *comment, extra map[string]any) {
	u := urlsFor(f.base)
	body := map[string]any{"action": action, "issue": u.issue(c.issue), "comment": u.comment(c),
		"repository": u.repo(c.issue.repo), "sender": u.user(c.user)}
	for k, v := range extra {
		body[k] = v
	}
	f.hooks.enqueue("issue_comment", action, body)
}

func (q *hookQueue) enqueue(event, action string, body map[string]any) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.url == "" || q.closed {
		return
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return
	}
	d := Delivery{GUID: newGUID(), Event: event, Action: action, Payload: payload}
	q.push(d)
	if q.dup {
		q.push(d)
	}
}

// push queues d and starts the sender. Called with q.mu held.
func (q *hookQueue) push(d Delivery) {
	if q.closed {
		return
	}
	q.pending = append(q.pending, d)
	q.notify()
	if !q.started {
		q.started = true
		go q.run()
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// notify wakes FlushWebhooks waiters. Called with q.mu held.
func (q *hookQueue) notify() {
	close(q.changed)
	q.changed = make(chan struct{})
}

func (q *hookQueue) run() {
	for {
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.mu.Unlock()
			select {
			case <-q.ctx.Done():
				return
			case <-q.wake:
				continue
			}
		}
		d := q.pending[0]
		q.pending = q.pending[1:]
		q.inflight = true
		url, secret := q.url, q.secret
		q.mu.Unlock()

		d.Status, d.Err = q.send(url, secret, d)

		q.mu.Lock()
		q.inflight = false
		q.sent = append(q.sent, d)
		q.notify()
		q.mu.Unlock()
	}
}

func (q *hookQueue) send(url, secret string, d Delivery) (int, string) {
	req, err := http.NewRequestWithContext(q.ctx, http.MethodPost, url, bytes.NewReader(d.Payload))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/githubfake")
	req.Header.Set("X-GitHub-Event", d.Event)
	req.Header.Set("X-GitHub-Delivery", d.GUID)
	req.Header.Set("X-GitHub-Hook-ID", "1")
	req.Header.Set("X-GitHub-Hook-Installation-Target-Type", "repository")
	if secret != "" {
		req.Header.Set("X-Hub-Signature-256", Sign(secret, d.Payload))
		m := hmac.New(sha1.New, []byte(secret))
		m.Write(d.Payload)
		req.Header.Set("X-Hub-Signature", "sha1="+hex.EncodeToString(m.Sum(nil)))
	}
	resp, err := q.client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	resp.Body.Close()
	return resp.StatusCode, ""
}

func (q *hookQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.pending = nil
	q.notify()
	q.mu.Unlock()
	q.cancel()
}

// Sign returns the X-Hub-Signature-256 value for body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
