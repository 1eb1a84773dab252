package gitlabfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
)

var hookTimeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$`)

func TestWebhookDelivery(t *testing.T) {
	s := start(t, Options{})
	var mu sync.Mutex
	var got []*http.Request
	var bodies [][]byte
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, b)
		mu.Unlock()
	}))
	defer sink.Close()
	if _, err := s.AddHook(proj, sink.URL, "hook-token"); err != nil {
		t.Fatal(err)
	}
	create(t, s, map[string]any{"title": "hooked", "labels": "p"})
	s.WaitDeliveries()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("deliveries: got %d, want 1", len(got))
	}
	h := got[0].Header
	if h.Get("X-Gitlab-Event") != EventIssue || h.Get("X-Gitlab-Token") != "hook-token" || h.Get("Idempotency-Key") == "" ||
		h.Get("X-Gitlab-Event-UUID") == "" || h.Get("X-Gitlab-Webhook-UUID") == "" {
		t.Errorf("delivery headers: %v", h)
	}
	var p struct {
		ObjectKind string `json:"object_kind"`
		Project    struct {
			Path string `json:"path_with_namespace"`
		} `json:"project"`
		Attrs struct {
			IID       int    `json:"iid"`
			Action    string `json:"action"`
			UpdatedAt string `json:"updated_at"`
			Labels    []struct {
				Title     string `json:"title"`
				CreatedAt string `json:"created_at"`
			} `json:"labels"`
		} `json:"object_attributes"`
	}
	if err := json.Unmarshal(bodies[0], &p); err != nil {
		t.Fatal(err)
	}
	if p.ObjectKind != "issue" || p.Project.Path != proj || p.Attrs.IID != 1 || p.Attrs.Action != "open" ||
		!hookTimeRE.MatchString(p.Attrs.UpdatedAt) || len(p.Attrs.Labels) != 1 || p.Attrs.Labels[0].Title != "p" {
		t.Errorf("payload: %+v", p)
	}
	d := s.Deliveries()[0]
	mu.Unlock()
	if err := s.Redeliver(d.EventUUID); err != nil {
		t.Fatal(err)
	}
	s.WaitDeliveries()
	mu.Lock()
	if len(got) != 2 || got[1].Header.Get("Idempotency-Key") != d.IdempotencyKey || got[1].Header.Get("X-Gitlab-Event-UUID") != d.EventUUID {
		t.Errorf("redelivery: %d deliveries, want 2 with the same Idempotency-Key and event UUID", len(got))
	}
}
