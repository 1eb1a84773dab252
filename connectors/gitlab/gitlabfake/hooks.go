package gitlabfake

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// The webhook event names GitLab sends in X-Gitlab-Event.
const (
	EventIssue             = "Issue Hook"
	EventConfidentialIssue = "Confidential Issue Hook"
	EventNote              = "Note Hook"
	EventConfidentialNote  = "Confidential Note Hook"
)

// Delivery is one webhook request the simulator sent (or will send).
type Delivery struct {
	EventUUID      string // X-Gitlab-Event-UUID
	IdempotencyKey string // Idempotency-Key, stable across redeliveries
	Event          string // X-Gitlab-Event
	URL            string
	Body           []byte
	Status         int // the receiver's last answer, 0 when none arrived
	Attempts       int
}

type hook struct {
	id        int64
	projectID int64
	url       string
	token     string
	uuid      string // X-Gitlab-Webhook-UUID
}

type hookState struct {
	mu     sync.Mutex
	client *http.Client
	hooks  []*hook
	log    []*Delivery
	nextID int64
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
}

func (h *hookState) init(c *http.Client) {
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	h.client = c
	h.ctx, h.cancel = context.WithCancel(context.Background())
}

func (h *hookState) close() {
	h.cancel()
	h.wg.Wait()
}

// AddHook registers a project webhook for issue and note events that
// POSTs to url with X-Gitlab-Token: token ("" sends no token).
func (s *Server) AddHook(projectPath, url, token string) (int64, error) {
	s.mu.Lock()
	p := s.projectLocked(projectPath)
	s.mu.Unlock()
	if p == nil {
		return 0, fmt.Errorf("gitlabfake: add hook: no project %q", projectPath)
	}
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	s.hooks.nextID++
	s.hooks.hooks = append(s.hooks.hooks, &hook{id: s.hooks.nextID, projectID: p.id, url: url, token: token, uuid: newUUID()})
	return s.hooks.nextID, nil
}

// Deliveries returns copies of every delivery so far, oldest first.
func (s *Server) Deliveries() []Delivery {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	out := make([]Delivery, len(s.hooks.log))
	for i, d := range s.hooks.log {
		out[i] = *d
	}
	return out
}

// WaitDeliveries blocks until every delivery in flight has been answered.
func (s *Server) WaitDeliveries() { s.hooks.wg.Wait() }

// Redeliver sends the delivery with the given X-Gitlab-Event-UUID again,
// with the same headers and body, as "Resend request" does.
func (s *Server) Redeliver(eventUUID string) error {
	s.hooks.mu.Lock()
	var d *Delivery
	var hk *hook
	for _, x := range s.hooks.log {
		if x.EventUUID == eventUUID {
			d = x
		}
	}
	if d != nil {
		for _, h := range s.hooks.hooks {
			if h.url == d.URL {
				hk = h
			}
		}
	}
	s.hooks.mu.Unlock()
	if d == nil || hk == nil {
		return fmt.Errorf("gitlabfake: redeliver: no delivery %q", eventUUID)
	}
	s.send(hk, d)
	return nil
}

// HookRequest builds a webhook request as GitLab sends it, with the given
// event name, secret token and delivery id (used for both Idempotency-Key
// and X-Gitlab-Event-UUID) around body.
func (s *Server) HookRequest(event, token, deliveryID string, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "http://pmsync.invalid/webhooks/gitlab", bytes.NewReader(body))
	setHookHeaders(r.Header, event, token, deliveryID, deliveryID, "", s.URL())
	return r
}

// IssueHookRequest builds an Issue Hook request ("update") for the issue
// with key "group/project#iid", from its current state.
func (s *Server) IssueHookRequest(key, token, deliveryID string) (*http.Request, error) {
	s.mu.Lock()
	is, err := s.issueByKeyLocked(key)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	event, body := s.issuePayloadLocked(is, s.botLocked(), "update", map[string][2]any{})
	s.mu.Unlock()
	return s.HookRequest(event, token, deliveryID, body), nil
}

func setHookHeaders(h http.Header, event, token, eventUUID, idemKey, hookUUID, instance string) {
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "GitLab/18.5.0")
	h.Set("X-Gitlab-Event", event)
	h.Set("X-Gitlab-Event-UUID", eventUUID)
	h.Set("Idempotency-Key", idemKey)
	h.Set("X-Gitlab-Instance", instance)
	if hookUUID != "" {
		h.Set("X-Gitlab-Webhook-UUID", hookUUID)
	}
	if token != "" {
		h.Set("X-Gitlab-Token", token)
	}
}

// queueLocked records a delivery of body to every hook of project pid and
// sends it in the background. It runs under s.mu; sending does not.
func (s *Server) queueLocked(pid int64, event string, body []byte) {
	s.hooks.mu.Lock()
	var sends []func()
	for _, h := range s.hooks.hooks {
		if h.projectID != pid {
			continue
		}
		d := &Delivery{EventUUID: newUUID(), IdempotencyKey: newUUID(), Event: event, URL: h.url, Body: body}
		s.hooks.log = append(s.hooks.log, d)
		sends = append(sends, func() { s.send(h, d) })
	}
	s.hooks.mu.Unlock()
	for _, f := range sends {
		f()
	}
}

// send POSTs d to its hook in a goroutine tracked for WaitDeliveries.
func (s *Server) send(h *hook, d *Delivery) {
	s.hooks.wg.Add(1)
	go func() {
		defer s.hooks.wg.Done()
		req, err := http.NewRequestWithContext(s.hooks.ctx, http.MethodPost, h.url, bytes.NewReader(d.Body))
		if err != nil {
			return
		}
		s.hooks.mu.Lock()
		setHookHeaders(req.Header, d.Event, h.token, d.EventUUID, d.IdempotencyKey, h.uuid, s.URL())
		d.Attempts++
		s.hooks.mu.Unlock()
		status := 0
		if resp, err := s.hooks.client.Do(req); err == nil {
			status = resp.StatusCode
			resp.Body.Close()
		}
		s.hooks.mu.Lock()
		d.Status = status
		s.hooks.mu.Unlock()
	}()
}

func (s *Server) hasHooks(pid int64) bool {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	for _, h := range s.hooks.hooks {
		if h.projectID == pid {
			return true
		}
	}
	return false
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("gitlabfake: payload does not encode: " + err.Error())
	}
	return b
}
