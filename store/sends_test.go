package store

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
)

func TestBeginSendExactlyOnce(t *testing.T) {
	db := openTest(t, Options{})
	const callers = 16
	const key = "weekly/2026-W10/acme/ops@acme.example"
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		started int
	)
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ok, err := db.BeginSend(key, "acme")
			if err != nil {
				t.Errorf("BeginSend: %v", err)
				return
			}
			if ok {
				mu.Lock()
				started++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if started != 1 {
		t.Fatalf("%d of %d concurrent BeginSend calls started the send; want exactly 1", started, callers)
	}
	steps := []struct {
		name        string
		do          func() error
		wantStarted bool
		wantState   SendState
		attempts    int
	}{
		{"pending blocks", nil, false, SendPending, 1},
		{"failed allows a retry", func() error { return db.FinishSend(key, SendFailed, "smtp: 451") }, true, SendPending, 2},
		{"sent blocks", func() error { return db.FinishSend(key, SendSent, "") }, false, SendSent, 2},
	}
	for _, s := range steps {
		if s.do != nil {
			if err := s.do(); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
		rec, ok, err := db.BeginSend(key, "acme")
		if err != nil || ok != s.wantStarted || rec.State != s.wantState || rec.Attempts != s.attempts {
			t.Errorf("%s: BeginSend = %+v, %v, %v; want started %v, state %s, %d attempts", s.name, rec, ok, err, s.wantStarted, s.wantState, s.attempts)
		}
	}
	if err := db.FinishSend(key, SendFailed, "late"); !errors.Is(err, ErrConflict) {
		t.Errorf("FinishSend(failed) after sent = %v; want ErrConflict", err)
	}
	if err := db.FinishSend("nope", SendSent, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("FinishSend of an unknown key = %v; want ErrNotFound", err)
	}
	if err := db.FinishSend(key, SendPending, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("FinishSend(pending) = %v; want ErrInvalid", err)
	}
	if _, _, err := db.BeginSend(key, "bolt"); !errors.Is(err, ErrConflict) {
		t.Errorf("BeginSend of acme's key for bolt = %v; want ErrConflict", err)
	}
}

func TestSendPendingSurvivesCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pmsync.db")
	db := openAt(t, path, Options{})
	if _, ok, err := db.BeginSend("k", ""); err != nil || !ok {
		t.Fatalf("BeginSend = %v, %v; want started", ok, err)
	}
	db.Close() // the process dies between render and send
	db = openAt(t, path, Options{})
	defer db.Close()
	if rec, ok, err := db.BeginSend("k", ""); err != nil || ok || rec.State != SendPending {
		t.Errorf("BeginSend after restart = %+v, %v, %v; want not started, pending", rec, ok, err)
	}
}

func TestSendsAreScopedByCustomer(t *testing.T) {
	db := openTest(t, Options{})
	for _, s := range []struct{ key, customer string }{{"w/a/1", "acme"}, {"w/p/1", ""}, {"w/b/1", "bolt"}, {"w/a/2", "acme"}} {
		if _, _, err := db.BeginSend(s.key, s.customer); err != nil {
			t.Fatalf("BeginSend: %v", err)
		}
	}
	tests := []struct {
		customer string
		want     []string
	}{{"acme", []string{"w/a/1", "w/a/2"}}, {"bolt", []string{"w/b/1"}}, {"", []string{"w/p/1"}}, {"zed", nil}}
	for _, tt := range tests {
		rs, err := db.Sends(tt.customer)
		if err != nil {
			t.Fatalf("Sends(%q): %v", tt.customer, err)
		}
		var keys []string
		for _, r := range rs {
			keys = append(keys, r.Key)
		}
		if len(keys) != len(tt.want) || (len(keys) > 0 && keys[0] != tt.want[0]) || (len(keys) > 1 && keys[1] != tt.want[1]) {
			t.Errorf("Sends(%q) = %v; want %v", tt.customer, keys, tt.want)
		}
	}
}

func TestState(t *testing.T) {
	db := openTest(t, Options{})
	if _, err := db.GetState("remind/acme"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetState before put = %v; want ErrNotFound", err)
	}
	if err := db.PutState("remind/acme", []byte("2026-03-02")); err != nil {
		t.Fatalf("PutState: %v", err)
	}
	v, err := db.GetState("remind/acme")
	if err != nil || string(v) != "2026-03-02" {
		t.Errorf("GetState = %q, %v; want 2026-03-02", v, err)
	}
	v[0] = 'X' // the returned slice is the caller's own
	if v2, _ := db.GetState("remind/acme"); string(v2) != "2026-03-02" {
		t.Errorf("GetState after changing the returned slice = %q; want it unchanged", v2)
	}
	if err := db.PutState("remind/acme", nil); err != nil {
		t.Fatalf("PutState(nil): %v", err)
	}
	if _, err := db.GetState("remind/acme"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetState after delete = %v; want ErrNotFound", err)
	}
}
