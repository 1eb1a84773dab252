package githubfake_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors/github/githubfake"
)

// received is one delivery as the receiver saw it.
type received struct {
	event, guid, sig string
	body             []byte
	payload          map[string]any
}

// receiver collects deliveries.
type receiver struct {
	mu  sync.Mutex
	got []received
	srv *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		d := received{event: r.Header.Get("X-GitHub-Event"), guid: r.Header.Get("X-GitHub-Delivery"),
			sig: r.Header.Get("X-Hub-Signature-256"), body: body}
		_ = json.Unmarshal(body, &d.payload)
		rc.mu.Lock()
		rc.got = append(rc.got, d)
		rc.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) deliveries(t *testing.T, f *githubfake.Fake) []received {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.FlushWebhooks(ctx); err != nil {
		t.Fatalf("FlushWebhooks: %v", err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

func actions(ds []received) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.event+"."+d.payload["action"].(string))
	}
	return out
}

func TestWebhookDelivery(t *testing.T) {
	rc := newReceiver(t)
	a := newAPI(t, githubfake.Options{WebhookURL: rc.srv.URL, WebhookSecret: "s3cret"})
	a.create("x", map[string]any{"labels": []string{"bug"}})
	a.want(a.do("PATCH", "/repos/acme/widgets/issues/1", map[string]any{"title": "y", "state": "closed", "labels": []string{"P1"}}), 200)
	c := a.want(a.do("POST", "/repos/acme/widgets/issues/1/comments", map[string]any{"body": "hello"}), 201)
	a.want(a.do("PATCH", "/repos/acme/widgets/issues/comments/"+jsonNum(c.body.(map[string]any)["id"]), map[string]any{"body": "hello again"}), 200)
	pr, _ := a.f.AddPullRequest("acme/widgets", "a pull request")
	if err := a.f.AddComment("acme/widgets#2", "alice", "on the pull request", false); err != nil || pr != 2 {
		t.Fatal(err, pr)
	}
	if err := a.f.Delete("acme/widgets#1"); err != nil {
		t.Fatal(err)
	}
	ds := rc.deliveries(t, a.f)
	want := []string{"issues.opened", "issues.edited", "issues.closed", "issues.labeled", "issues.unlabeled",
		"issue_comment.created", "issue_comment.edited", "issue_comment.created", "issues.deleted"}
	if got := actions(ds); !slices.Equal(got, want) {
		t.Fatalf("deliveries: got %v, want %v", got, want)
	}
	guids := map[string]bool{}
	for _, d := range ds {
		m := hmac.New(sha256.New, []byte("s3cret"))
		m.Write(d.body)
		if d.sig != "sha256="+hex.EncodeToString(m.Sum(nil)) {
			t.Errorf("%s: signature %q does not match the body", d.event, d.sig)
		}
		if d.guid == "" || guids[d.guid] {
			t.Errorf("%s: delivery id %q empty or repeated", d.event, d.guid)
		}
		guids[d.guid] = true
	}
	if edited := ds[1].payload["changes"].(map[string]any)["title"].(map[string]any)["from"]; edited != "x" {
		t.Errorf("edited changes.title.from: got %v, want x", edited)
	}
	if _, isPR := ds[7].payload["issue"].(map[string]any)["pull_request"]; !isPR {
		t.Errorf("comment on a pull request: issue.pull_request missing")
	}
	checkFixtureShapes(t, ds)
}

func jsonNum(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// checkFixtureShapes requires every key of Octokit's example payload for
// the same event and action in the fake's delivery (installation aside:
// only GitHub App deliveries carry it).
func checkFixtureShapes(t *testing.T, ds []received) {
	t.Helper()
	checked := 0
	for _, d := range ds {
		file := filepath.Join("..", "testdata", "webhooks", d.event, d.payload["action"].(string)+".payload.json")
		data, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		var fix map[string]any
		if err := json.Unmarshal(data, &fix); err != nil {
			t.Fatal(err)
		}
		checked++
		for _, part := range []string{"", "issue", "comment", "repository", "sender"} {
			w, g := fix, d.payload
			if part != "" {
				w, _ = fix[part].(map[string]any)
				g, _ = d.payload[part].(map[string]any)
			}
			if w == nil {
				continue
			}
			for k := range w {
				if _, ok := g[k]; !ok && k != "installation" && !(part == "repository" && !slices.Contains(repoKeys, k)) {
					t.Errorf("%s.%s %s: key %q of the Octokit example missing", d.event, d.payload["action"], part, k)
				}
			}
		}
	}
	if checked < 5 {
		t.Errorf("compared %d deliveries with fixtures, want at least 5", checked)
	}
}

// repoKeys are the repository fields the fake sends (GitHub sends ~80).
var repoKeys = []string{"id", "node_id", "name", "full_name", "private", "owner", "html_url", "url"}

func TestWebhookDuplicatesAndRedelivery(t *testing.T) {
	rc := newReceiver(t)
	a := newAPI(t, githubfake.Options{})
	a.create("before the hook", nil)
	a.f.SetWebhook(rc.srv.URL, "s", true)
	a.create("after", nil)
	ds := rc.deliveries(t, a.f)
	if len(ds) != 2 || ds[0].guid != ds[1].guid || !strings.Contains(string(ds[0].body), `"after"`) {
		t.Fatalf("duplicate delivery: got %v, want the same delivery twice", actions(ds))
	}
	if err := a.f.Redeliver(ds[0].guid); err != nil {
		t.Fatal(err)
	}
	ds = rc.deliveries(t, a.f)
	if len(ds) != 3 || ds[2].guid != ds[0].guid {
		t.Errorf("redelivery: got %d deliveries, want 3 with the same GUID", len(ds))
	}
	if err := a.f.Redeliver("no-such-guid"); err == nil {
		t.Errorf("Redeliver(unknown): got no error")
	}
	if got := a.f.Deliveries(); len(got) != 3 || got[0].Status != http.StatusAccepted {
		t.Errorf("Deliveries: got %d, first status %d; want 3, 202", len(got), got[0].Status)
	}
}
