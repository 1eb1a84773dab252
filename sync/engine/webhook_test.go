package engine

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pmsync/pmsync/connectors/memory"
)

func TestWebhookHandler(t *testing.T) {
	w := newWorld(t, "jane", "beta")
	pk := w.plat.Open("A", "", actionL, "customer:jane")
	h := w.eng.WebhookHandler()
	depth := func() int { return w.eng.Status().QueueDepth }

	post := func(r *http.Request) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	valid := func(delivery string, keys ...string) *http.Request {
		r, err := memory.NewWebhookRequest("http://pmsync.test/webhooks/platform", testSecret, delivery, keys...)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	tests := []struct {
		name      string
		req       func() *http.Request
		status    int
		addsDepth int
	}{
		{"bad signature", func() *http.Request {
			r, _ := memory.NewWebhookRequest("http://pmsync.test/webhooks/platform", "wrong-secret", "d-1", pk)
			return r
		}, http.StatusUnauthorized, 0},
		{"missing signature", func() *http.Request {
			r := valid("d-2", pk)
			r.Header.Del(memory.SignatureHeader)
			return r
		}, http.StatusUnauthorized, 0},
		{"unknown tracker", func() *http.Request {
			r, _ := memory.NewWebhookRequest("http://pmsync.test/webhooks/nobody", testSecret, "d-3", pk)
			return r
		}, http.StatusNotFound, 0},
		{"oversized", func() *http.Request {
			body, _ := json.Marshal(memory.Delivery{Delivery: "d-4", Keys: []string{strings.Repeat("x", MaxWebhookBody)}})
			r, _ := memory.NewSignedRequest("http://pmsync.test/webhooks/platform", testSecret, body)
			return r
		}, http.StatusRequestEntityTooLarge, 0},
		{"malformed", func() *http.Request {
			r, _ := memory.NewSignedRequest("http://pmsync.test/webhooks/platform", testSecret, []byte("{not json"))
			return r
		}, http.StatusBadRequest, 0},
		{"wrong method", func() *http.Request {
			r := valid("d-5", pk)
			r.Method = http.MethodGet
			return r
		}, http.StatusMethodNotAllowed, 0},
		// A platform ref fans out to one key per customer.
		{"valid", func() *http.Request { return valid("d-6", pk) }, http.StatusAccepted, 2},
		{"duplicate", func() *http.Request { return valid("d-6", pk) }, http.StatusOK, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := depth()
			rec := post(tc.req())
			if rec.Code != tc.status {
				t.Fatalf("status = %d (%s), want %d", rec.Code, strings.TrimSpace(rec.Body.String()), tc.status)
			}
			if got := depth() - before; got != tc.addsDepth {
				t.Errorf("queued %d keys, want %d", got, tc.addsDepth)
			}
		})
	}
	if rec := post(valid("d-6", pk)); !strings.Contains(rec.Body.String(), "duplicate") {
		t.Errorf("duplicate answer body = %q", rec.Body.String())
	}

	t.Run("store failure", func(t *testing.T) {
		w.db.SetMaxSize(1) // every write now fails with ErrNoSpace
		defer w.db.SetMaxSize(0)
		before := depth()
		rec := post(valid("d-7", pk))
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("status = %d, want 503", rec.Code)
		}
		if depth() != before {
			t.Errorf("an unrecorded delivery queued work")
		}
		w.db.SetMaxSize(0)
		if rec := post(valid("d-7", pk)); rec.Code != http.StatusAccepted {
			t.Errorf("redelivery after the store recovered: status %d, want 202", rec.Code)
		}
	})
}

func TestWebhookBodyAtLimit(t *testing.T) {
	w := newWorld(t, "jane")
	body := []byte(`{"delivery":"d","keys":["PLAT-1"],"pad":"`)
	body = append(body, bytes.Repeat([]byte("x"), MaxWebhookBody-len(body)-2)...)
	body = append(body, '"', '}')
	r, _ := memory.NewSignedRequest("http://pmsync.test/webhooks/platform", testSecret, body)
	rec := httptest.NewRecorder()
	w.eng.WebhookHandler().ServeHTTP(rec, r)
	if rec.Code == http.StatusRequestEntityTooLarge {
		t.Fatalf("a body of exactly %d bytes was refused as too large", len(body))
	}
}
