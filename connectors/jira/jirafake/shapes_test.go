package jirafake

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
	"sort"
	"strings"
	"sync"
	"testing"
)

// missingKeys lists the object keys of fixture (recursively; for arrays the
// first element) that got lacks, except those in skip ("a.b" paths).
func missingKeys(fixture, got any, prefix string, skip map[string]bool) []string {
	var out []string
	switch f := fixture.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{prefix + " (not an object)"}
		}
		for k, fv := range f {
			p := strings.TrimPrefix(prefix+"."+k, ".")
			if skip[p] {
				continue
			}
			gv, ok := g[k]
			if !ok {
				out = append(out, p)
				continue
			}
			out = append(out, missingKeys(fv, gv, p, skip)...)
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{prefix + " (not an array)"}
		}
		if len(f) > 0 && len(g) > 0 {
			out = append(out, missingKeys(f[0], g[0], prefix+"[]", skip)...)
		}
	}
	sort.Strings(out)
	return out
}

func fixture(t *testing.T, name string) any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "rest", name))
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// TestShapesMatchFixtures: every key of the recorded Jira answers is in the
// simulator's, so that client code written against real answers works here.
func TestShapesMatchFixtures(t *testing.T) {
	s, c := start(t, Options{Flavor: Cloud, Workflow: ClassicWorkflow()})
	key := c.create("shape", nil)
	c.do("POST", "/rest/api/2/issue/"+key+"/comment", map[string]any{"body": "b", "visibility": map[string]string{"type": "role", "value": "Administrators"}})
	_, comments := c.do("GET", "/rest/api/2/issue/"+key+"/comment", nil)
	cid := str(comments, "comments", "0", "id")
	_, dc := start(t, Options{Flavor: DataCenter})
	dkey := dc.create("shape", nil)
	skipFields := map[string]bool{"transitions[].fields.summary": true, "transitions[].fields.colour": true}
	tests := []struct {
		name, fixture string
		c             *client
		path          string
		skip          map[string]bool
	}{
		{"cloud transitions", "atlassian-get-transitions.json", c, "/rest/api/2/issue/" + key + "/transitions?expand=transitions.fields", skipFields},
		{"dc transitions", "gojira-transitions.json", dc, "/rest/api/2/issue/" + dkey + "/transitions?expand=transitions.fields",
			map[string]bool{"transitions[].fields.summary": true, "transitions[].fields.colour": true, "expand": false}},
		{"comments", "atlassian-get-issue-comments.json", c, "/rest/api/2/issue/" + key + "/comment", map[string]bool{
			"comments[].body":       true, // v3 ADF in the fixture, a string in v2
			"comments[].author.key": true, "comments[].author.name": true, "comments[].author.emailAddress": true,
			"comments[].updateAuthor.key": true, "comments[].updateAuthor.name": true, "comments[].updateAuthor.emailAddress": true}},
		{"comment", "atlassian-get-issue-comment-by-id.json", c, "/rest/api/2/issue/" + key + "/comment/" + cid, map[string]bool{
			"body": true, "author.key": true, "author.name": true, "author.emailAddress": true,
			"updateAuthor.key": true, "updateAuthor.name": true, "updateAuthor.emailAddress": true}},
		{"cloud myself", "atlassian-create-user.json", c, "/rest/api/2/myself", map[string]bool{"key": true, "name": true}},
		{"dc search", "atlassian-search-issues.json", dc, "/rest/api/2/search?jql=project%3DPLAT&fields=*all", map[string]bool{
			"warningMessages": true, "issues[].fields.watcher": true, "issues[].fields.attachment": true, "issues[].fields.sub-tasks": true,
			"issues[].fields.issuelinks": true, "issues[].fields.worklog": true, "issues[].fields.timetracking": true,
			"issues[].fields.description": true, "issues[].fields.project.insight": true, "issues[].fields.project.avatarUrls": true,
			"issues[].fields.project.simplified": true, "issues[].fields.project.projectCategory": true,
			"issues[].fields.project.style": true,   // Cloud only
			"issues[].fields.comment":       true}}, // an array in this docs example, an object in real answers
		{"priorities", "atlassian-get_priorities.json", c, "/rest/api/2/priority", nil},
		{"server priorities", "gojira-all_priorities.json", dc, "/rest/api/2/priority", nil},
		{"resolutions", "gojira-all_resolutions.json", dc, "/rest/api/2/resolution", nil},
	}
	for _, tc := range tests {
		status, got := tc.c.do("GET", tc.path, nil)
		if status != 200 {
			t.Errorf("%s: GET %s got %d", tc.name, tc.path, status)
			continue
		}
		if miss := missingKeys(fixture(t, tc.fixture), got, "", tc.skip); len(miss) > 0 {
			t.Errorf("%s: keys of %s missing from the simulator's answer: %v", tc.name, tc.fixture, miss)
		}
	}
	_ = s
}

// TestWebhookDeliveries: the simulator signs (Cloud) or adds the URL secret
// (DC), carries the delivery identifier on Cloud, and fires jira:issue_updated
// alongside comment_created.
func TestWebhookDeliveries(t *testing.T) {
	for _, fl := range []Flavor{Cloud, DataCenter} {
		type got struct {
			event, id, sig, secret, retry string
			body                          []byte
		}
		var (
			mu   sync.Mutex
			seen []got
		)
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			var p struct{ WebhookEvent string }
			_ = json.Unmarshal(b, &p)
			mu.Lock()
			seen = append(seen, got{p.WebhookEvent, r.Header.Get("X-Atlassian-Webhook-Identifier"), r.Header.Get("X-Hub-Signature"),
				r.URL.Query().Get("secret"), r.Header.Get("X-Atlassian-Webhook-Retry"), b})
			mu.Unlock()
		}))
		t.Cleanup(recv.Close)
		s, c := start(t, Options{Flavor: fl, WebhookURL: recv.URL + "/hook", WebhookSecret: "sekrit"})
		key := c.create("hooked", nil)
		c.do("POST", "/rest/api/2/issue/"+key+"/comment", map[string]any{"body": "hi"})
		if err := s.Delete(key); err != nil {
			t.Fatal(err)
		}
		if err := s.FlushWebhooks(context.Background()); err != nil {
			t.Fatalf("%s: flush: %v", fl, err)
		}
		mu.Lock()
		var events []string
		for _, g := range seen {
			events = append(events, g.event)
			if fl == Cloud {
				mac := hmac.New(sha256.New, []byte("sekrit"))
				mac.Write(g.body)
				if g.sig != "sha256="+hex.EncodeToString(mac.Sum(nil)) || g.id == "" || g.secret != "" {
					t.Errorf("cloud %s: signature %q id %q secret %q, want a valid sha256 signature, an identifier, no URL secret", g.event, g.sig, g.id, g.secret)
				}
			} else if g.secret != "sekrit" || g.sig != "" || g.id != "" {
				t.Errorf("dc %s: secret %q signature %q id %q, want the URL secret only", g.event, g.secret, g.sig, g.id)
			}
		}
		mu.Unlock()
		want := []string{"jira:issue_created", "comment_created", "jira:issue_updated", "jira:issue_deleted"}
		if !slices.Equal(events, want) {
			t.Errorf("%s: events %v, want %v", fl, events, want)
		}
	}
}
