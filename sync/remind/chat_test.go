package remind

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// hookServer is a chat incoming-webhook endpoint that answers with the
// given statuses in turn (the last one repeats) and keeps the bodies.
type hookServer struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	bodies   [][]byte
	types    []string
}

func startHook(t *testing.T, statuses ...int) *hookServer {
	t.Helper()
	h := &hookServer{statuses: statuses}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies = append(h.bodies, b)
		h.types = append(h.types, r.Method+" "+r.Header.Get("Content-Type")+" "+r.URL.Path)
		st := h.statuses[min(len(h.bodies)-1, len(h.statuses)-1)]
		h.mu.Unlock()
		w.WriteHeader(st)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) hits() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.bodies)
}

// secretPath stands for the token part of a real webhook URL.
const secretPath = "/services/T000/B000/SECRET-HOOK-TOKEN"

func chatJob(t *testing.T, h *hookServer, id string, a Audience) DigestJob {
	t.Helper()
	w, err := NewChatWebhook(h.URL+secretPath, h.Client())
	if err != nil {
		t.Fatal(err)
	}
	return DigestJob{ID: id, Audience: a, Schedule: mustSchedule(t, "0 9 * * MON"),
		Recipients: []Recipient{{ID: "chat", Channel: "chat", Guarantee: AtLeastOnce, Deliverer: w}}}
}

func TestChatWebhookBody(t *testing.T) {
	db, b := openScenario(t)
	h := startHook(t, http.StatusOK)
	s := newService(t, db, b, newFakeClock(scenarioNow), []DigestJob{chatJob(t, h, "janecorp", Audience{Customer: "janecorp"})}, nil)
	res, err := s.SendNow(context.Background(), Audience{Customer: "janecorp"})
	if err != nil || len(res) != 1 || res[0].Outcome != OutcomeSent {
		t.Fatalf("SendNow: %+v, %v; want one sent", res, err)
	}
	if h.hits() != 1 {
		t.Fatalf("webhook hits: got %d, want 1", h.hits())
	}
	if want := "POST application/json; charset=utf-8 " + secretPath; h.types[0] != want {
		t.Errorf("request: got %q, want %q", h.types[0], want)
	}
	var p struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type string `json:"type"`
			Text *struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"text"`
			Elements []map[string]string `json:"elements"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(h.bodies[0], &p); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, h.bodies[0])
	}
	if want := "Action items for JaneCorp: 3 open critical, 1 overdue"; p.Text != want {
		t.Errorf("text: got %q, want %q", p.Text, want)
	}
	var types []string
	var all strings.Builder
	for _, bl := range p.Blocks {
		types = append(types, bl.Type)
		if bl.Text != nil {
			all.WriteString(bl.Text.Text + "\n")
		}
	}
	if got, want := strings.Join(types, ","), "header,section,section,section,context"; got != want {
		t.Errorf("block types: got %s, want %s", got, want)
	}
	if p.Blocks[0].Text.Type != "plain_text" || p.Blocks[0].Text.Text != "Action-item digest: JaneCorp" {
		t.Errorf("header block: got %+v", p.Blocks[0].Text)
	}
	for _, want := range []string{
		"*Incident INC-2041*: open critical items",
		"• <https://github.com/janecorp/reliability/issues/41|janecorp/reliability#41> add uncached-read latency tests (P1, in progress, owner Example Cloud, due 2025-03-14 (policy), 10 d overdue)",
		"• <https://github.com/janecorp/reliability/issues/7|janecorp/reliability#7> dashboard for platform storage latency",
		"*Overdue*",
	} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("blocks lack %q:\n%s", want, all.String())
		}
	}
	assertNoCanary(t, "chat body", string(h.bodies[0]), janeCanaries)
}

// TestChatRetryBackoff: 503, 503, 200 is delivered on the third attempt,
// after waiting 1 s and then 2 s on the injected clock.
func TestChatRetryBackoff(t *testing.T) {
	db, b := openScenario(t)
	h := startHook(t, http.StatusServiceUnavailable, http.StatusServiceUnavailable, http.StatusOK)
	clk := newFakeClock(scenarioNow)
	s := newService(t, db, b, clk, []DigestJob{chatJob(t, h, "janecorp", Audience{Customer: "janecorp"})}, nil)
	done := make(chan []SendResult, 1)
	go func() {
		res, _ := s.SendNow(context.Background(), Audience{Customer: "janecorp"})
		done <- res
	}()
	for i, wait := range []time.Duration{time.Second, 2 * time.Second} {
		deadline := clk.waitTimer(t)
		if got := deadline.Sub(clk.Now()); got != wait {
			t.Errorf("backoff %d: got %v, want %v", i+1, got, wait)
		}
		if got := h.hits(); got != i+1 {
			t.Errorf("before backoff %d elapsed: %d attempts, want %d", i+1, got, i+1)
		}
		clk.Set(deadline)
	}
	res := <-done
	if len(res) != 1 || res[0].Outcome != OutcomeSent || h.hits() != 3 {
		t.Fatalf("got %+v after %d attempts, want sent after 3", res, h.hits())
	}
}

// TestChatPermanentFailure: a 404 is not retried, is recorded as failed,
// and neither the error nor the status holds the webhook URL.
func TestChatPermanentFailure(t *testing.T) {
	db, b := openScenario(t)
	h := startHook(t, http.StatusNotFound)
	var hooked []string
	s, err := New(Options{Store: db, Builder: b, Clock: newFakeClock(scenarioNow),
		Jobs:    []DigestJob{chatJob(t, h, "janecorp", Audience{Customer: "janecorp"})},
		Metrics: func(kind, channel string, o Outcome) { hooked = append(hooked, kind+"/"+channel+"/"+string(o)) }})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.SendNow(context.Background(), Audience{Customer: "janecorp"})
	if err != nil || len(res) != 1 || res[0].Outcome != OutcomeFailed {
		t.Fatalf("SendNow: %+v, %v; want one failed", res, err)
	}
	if h.hits() != 1 {
		t.Errorf("attempts: got %d, want 1", h.hits())
	}
	st, err := s.Status()
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Problems) != 1 || st.Problems[0].LastError != "chat webhook: answered 404" {
		t.Errorf("problems: got %+v, want one with \"chat webhook: answered 404\"", st.Problems)
	}
	if st.Counts["chat/failed"] != 1 {
		t.Errorf("counts: got %v, want chat/failed 1", st.Counts)
	}
	if strings.Join(hooked, ",") != "digest/chat/failed" {
		t.Errorf("metrics hook: got %v, want [digest/chat/failed]", hooked)
	}
}

// TestChatTransportErrorHidesURL: a connection refused names no URL.
func TestChatTransportErrorHidesURL(t *testing.T) {
	h := startHook(t, http.StatusOK)
	url := h.URL + secretPath
	h.Close()
	w, err := NewChatWebhook(url, &http.Client{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = w.Deliver(context.Background(), &Message{Text: "hello"})
	if err == nil {
		t.Fatal("Deliver to a closed server: got nil error")
	}
	if strings.Contains(err.Error(), "SECRET-HOOK-TOKEN") || strings.Contains(err.Error(), "http://") {
		t.Errorf("error %q reveals the webhook URL", err)
	}
	if _, err := NewChatWebhook("ftp://example.com/x", nil); err == nil {
		t.Errorf("NewChatWebhook(ftp URL): got nil error, want one")
	}
}

func TestSlackEscapeAndClip(t *testing.T) {
	if got, want := slackEscape("a<b>&c"), "a&lt;b&gt;&amp;c"; got != want {
		t.Errorf("slackEscape: got %q, want %q", got, want)
	}
	s := strings.Repeat("é", 10) // 20 bytes
	got := clip(s, 9)
	if len(got) > 9 || !strings.HasSuffix(got, "…") || !strings.HasPrefix(s, strings.TrimSuffix(got, "…")) {
		t.Errorf("clip: got %q (%d bytes), want at most 9 bytes on a rune boundary", got, len(got))
	}
}
