package githubfake_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pmsync/pmsync/connectors/github/githubfake"
)

// TestReadsDuringEdits reads an issue through every API path that renders
// it while a person (and the API) edits the same issue, its lock and its
// milestone. Each answer must be one consistent version: a closed issue
// carries the reason it was closed with, an open one none or "reopened".
// Under -race it also proves no answer is encoded from shared state after
// the fake's lock is released.
func TestReadsDuringEdits(t *testing.T) {
	const rounds = 150
	a := newAPI(t, githubfake.Options{SecondaryPerMinute: -1, SearchPerMinute: 1 << 20})
	a.want(a.do("POST", "/repos/acme/widgets/milestones", map[string]any{"title": "Q3"}), 201)
	a.create("target", map[string]any{"milestone": 1, "body": "first"})
	const key = "acme/widgets#1"

	writers := []struct {
		name string
		step func(i int) error
	}{
		{"SetState", func(i int) error {
			if i%2 == 0 {
				return a.f.SetState(key, "closed", []string{"completed", "not_planned"}[i/2%2])
			}
			return a.f.SetState(key, "open", "")
		}},
		{"EditTitle", func(i int) error { return a.f.EditTitle(key, fmt.Sprintf("title %d", i)) }},
		{"SetBody", func(i int) error { return a.f.SetBody(key, fmt.Sprintf("body %d", i)) }},
		{"PATCH issue", func(i int) error {
			body := map[string]any{"state": "open"}
			if i%2 == 0 {
				body = map[string]any{"state": "closed", "state_reason": "not_planned"}
			}
			return apiStatus(a, "PATCH", "/repos/acme/widgets/issues/1", body, 200)
		}},
		{"lock", func(i int) error {
			if i%2 == 0 {
				return apiStatus(a, "PUT", "/repos/acme/widgets/issues/1/lock", map[string]any{"lock_reason": []string{"resolved", "too heated"}[i/2%2]}, 204)
			}
			return apiStatus(a, "DELETE", "/repos/acme/widgets/issues/1/lock", nil, 204)
		}},
		{"PATCH milestone", func(i int) error {
			return apiStatus(a, "PATCH", "/repos/acme/widgets/milestones/1", map[string]any{"description": fmt.Sprintf("d%d", i)}, 200)
		}},
	}
	readers := []string{
		"/repos/acme/widgets/issues/1",
		"/repos/acme/widgets/issues?state=all",
		"/repos/acme/widgets/milestones/1",
		"/search/issues?q=repo:acme/widgets+target",
	}

	var done atomic.Bool
	var reads atomic.Int64
	var wg sync.WaitGroup
	for _, path := range readers {
		wg.Go(func() {
			for !done.Load() {
				raw, err := get(a, path)
				if err != nil {
					t.Errorf("GET %s: %v", path, err)
					return
				}
				if err := consistent(raw); err != nil {
					t.Errorf("GET %s: %v", path, err)
					return
				}
				reads.Add(1)
			}
		})
	}
	var ww sync.WaitGroup
	for _, w := range writers {
		ww.Go(func() {
			for i := range rounds {
				if err := w.step(i); err != nil {
					t.Errorf("%s round %d: %v", w.name, i, err)
					return
				}
			}
		})
	}
	ww.Wait()
	done.Store(true)
	wg.Wait()
	if reads.Load() < int64(len(readers)) {
		t.Errorf("got %d reads, want at least one per path", reads.Load())
	}
}

// apiStatus sends one request and checks its status, without t.Fatal (it
// runs off the test goroutine).
func apiStatus(a *api, method, path string, body any, want int) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: got status %d (%s), want %d", method, path, resp.StatusCode, raw, want)
	}
	return nil
}

func get(a *api, path string) ([]byte, error) {
	req, err := http.NewRequest("GET", a.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("got status %d, want 200", resp.StatusCode)
	}
	return raw, err
}

// consistent checks every issue in an answer (object, list or search
// result) for a state_reason that matches its state.
func consistent(raw []byte) error {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("answer is not JSON: %v", err)
	}
	var issues []any
	switch x := v.(type) {
	case []any:
		issues = x
	case map[string]any:
		if items, ok := x["items"].([]any); ok {
			issues = items
		} else {
			issues = []any{x}
		}
	}
	for _, it := range issues {
		is, _ := it.(map[string]any)
		if _, isIssue := is["locked"]; !isIssue {
			continue // a milestone
		}
		state, _ := is["state"].(string)
		reason, _ := is["state_reason"].(string)
		switch {
		case state == "closed" && reason != "completed" && reason != "not_planned":
			return fmt.Errorf("closed issue with state_reason %q, want completed or not_planned", reason)
		case state == "open" && reason != "" && reason != "reopened":
			return fmt.Errorf("open issue with state_reason %q, want null or reopened", reason)
		}
		locked, _ := is["locked"].(bool)
		if lr, _ := is["active_lock_reason"].(string); locked != (lr != "") {
			return fmt.Errorf("locked %v with active_lock_reason %q", locked, lr)
		}
	}
	return nil
}
