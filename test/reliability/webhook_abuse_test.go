package reliability

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/store"
	"github.com/pmsync/pmsync/sync/engine"
)

// simEngine is an engine over the simulators with its store and its
// webhook intake served over HTTP.
type simEngine struct {
	sims  *Sims
	conns map[string]connectors.Connector
	db    *store.DB
	logs  *LogBuffer
}

func newSimEngine(t *testing.T, o SimOptions) *simEngine {
	t.Helper()
	s := &simEngine{sims: StartSims(t, o), conns: map[string]connectors.Connector{}, logs: &LogBuffer{}}
	for id, st := range s.sims.Trackers {
		s.conns[id] = st.Conn(t, nil, s.logger())
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "pmsync.db"), store.Options{NoSync: true, Logger: s.logger()})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	s.db = db
	return s
}

func (s *simEngine) logger() *slog.Logger { return NewLogger(s.logs) }

// engine builds a fresh engine (an empty work queue) on the world.
func (s *simEngine) engine(t *testing.T) *engine.Engine {
	t.Helper()
	o := s.sims.EngineOptions(s.conns)
	o.Store, o.Logger = s.db, s.logger()
	e, err := engine.New(o)
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	return e
}

// post sends r and returns the status and body; a transport error (the
// server cutting an oversized upload short) is status 0.
func post(t *testing.T, r *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b)
}

// TestWebhookAbuse sends every kind of bad delivery to the engine's
// webhook intake for each tracker kind (Jira Data Center, GitHub, GitLab,
// Jira Cloud): unsigned, wrongly signed, malformed JSON, over 1 MiB (with
// and without Content-Length), and a replay of an accepted delivery. Each
// is refused with the right status and queues no work; a delivery of
// exactly 1 MiB is still accepted; no answer carries a secret.
func TestWebhookAbuse(t *testing.T) {
	s := newSimEngine(t, SimOptions{})
	pad := func(body []byte, size int) []byte {
		out := append([]byte(nil), body[:len(body)-1]...)
		out = append(out, bytes.Repeat([]byte(" "), size-len(body))...)
		return append(out, '}')
	}
	for _, id := range append([]string{engine.PlatformID}, s.sims.IDs...) {
		st := s.sims.Trackers[id]
		valid := st.HookBody(1)
		cases := []struct {
			name    string
			body    []byte
			auth    HookAuth
			chunked bool
			want    int
			queued  bool
		}{
			{"unsigned", valid, HookUnsigned, false, http.StatusUnauthorized, false},
			{"wrongly signed", valid, HookWrong, false, http.StatusUnauthorized, false},
			{"malformed JSON", []byte(`{"webhookEvent":"jira:issue_updated","issue":`), HookValid, false, http.StatusBadRequest, false},
			{"not an object", []byte(`["jira:issue_updated"]`), HookValid, false, http.StatusBadRequest, false},
			{"1 MiB + 1", pad(valid, engine.MaxWebhookBody+1), HookValid, false, http.StatusRequestEntityTooLarge, false},
			{"2 MiB chunked", pad(valid, 2*engine.MaxWebhookBody), HookValid, true, http.StatusRequestEntityTooLarge, false},
			{"8 MiB", pad(valid, 8*engine.MaxWebhookBody), HookValid, false, http.StatusRequestEntityTooLarge, false},
			{"exactly 1 MiB", pad(valid, engine.MaxWebhookBody), HookValid, false, http.StatusAccepted, true},
		}
		for i, tc := range cases {
			t.Run(id+"/"+tc.name, func(t *testing.T) {
				e := s.engine(t)
				srv := httptest.NewServer(e.WebhookHandler())
				defer srv.Close()
				r, err := st.HookRequest(srv.URL, tc.body, fmt.Sprintf("abuse-%s-%d", id, i), tc.auth, tc.chunked)
				if err != nil {
					t.Fatal(err)
				}
				code, body := post(t, r)
				if code != tc.want && !(code == 0 && tc.want == http.StatusRequestEntityTooLarge) {
					t.Errorf("got HTTP %d %q, want %d", code, body, tc.want)
				}
				if leaks := Leaks(body, HookSecret, TokenOf(id)); len(leaks) > 0 {
					t.Errorf("answer %q carries %v", body, leaks)
				}
				if depth := e.Status().QueueDepth; (depth > 0) != tc.queued {
					t.Errorf("queue depth %d after the delivery, want queued=%v", depth, tc.queued)
				}
			})
		}
		t.Run(id+"/replay", func(t *testing.T) {
			e := s.engine(t)
			srv := httptest.NewServer(e.WebhookHandler())
			defer srv.Close()
			var depth []int
			for i, want := range []int{http.StatusAccepted, http.StatusOK, http.StatusOK} {
				r, err := st.HookRequest(srv.URL, valid, "replayed-"+id, HookValid, false)
				if err != nil {
					t.Fatal(err)
				}
				if code, body := post(t, r); code != want {
					t.Fatalf("delivery %d: got HTTP %d %q, want %d", i+1, code, body, want)
				}
				depth = append(depth, e.Status().QueueDepth)
			}
			if depth[0] == 0 || depth[1] != depth[0] || depth[2] != depth[0] {
				t.Errorf("queue depth after each delivery %v, want the first > 0 and the repeats adding nothing", depth)
			}
			// A new engine (a restart) still knows the delivery: the id is in the store.
			e2 := s.engine(t)
			srv2 := httptest.NewServer(e2.WebhookHandler())
			defer srv2.Close()
			r, _ := st.HookRequest(srv2.URL, valid, "replayed-"+id, HookValid, false)
			if code, body := post(t, r); code != http.StatusOK || e2.Status().QueueDepth != 0 {
				t.Errorf("replay after a restart: got HTTP %d %q and queue depth %d, want 200 and 0", code, body, e2.Status().QueueDepth)
			}
		})
	}
	if leaks := Leaks(s.logs.String(), HookSecret, TokenOf(engine.PlatformID), TokenOf(JaneCorp), TokenOf(Acme), TokenOf(Globex)); len(leaks) > 0 {
		t.Errorf("logs carry %v", leaks)
	}
	if strings.Contains(s.logs.String(), "secret=") {
		t.Errorf("logs carry a webhook URL with its secret query")
	}
}
