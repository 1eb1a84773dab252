package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/conformance"
	"github.com/pmsync/pmsync/connectors/gitlab/gitlabfake"
)

const testToken = "glpat-test-token-1234"

// setup starts a simulator with opts (token and project filled in) and a
// connector on it whose clock is the simulator's.
func setup(t *testing.T, opts gitlabfake.Options) (*Client, *gitlabfake.Server) {
	t.Helper()
	opts.Token = testToken
	if len(opts.Projects) == 0 {
		opts.Projects = []string{testProject}
	}
	srv := gitlabfake.Start(opts)
	t.Cleanup(srv.Close)
	c, err := newClient(connectors.Config{
		ID: "acme", Kind: Kind, URL: srv.URL(), Project: testProject, Token: testToken,
		WebhookSecret: "hook-secret", Now: srv.Now,
	})
	if err != nil {
		t.Fatalf("newClient: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, srv
}

func mustCreate(t *testing.T, c *Client, marker string, it connectors.Item) *connectors.Item {
	t.Helper()
	got, err := c.Create(t.Context(), marker, &it)
	if err != nil {
		t.Fatalf("Create(%q): %v", it.Title, err)
	}
	return got
}

func marker(n int) string {
	return connectors.MarkerID([]byte("test"), "platform", strconv.Itoa(n), "acme")
}

// TestLostCreateIsNotRetried is the duplicate hazard of issue 4: GitLab
// commits the create, a proxy answers 502. The connector must not send
// the POST again; the engine finds the issue by its marker.
func TestLostCreateIsNotRetried(t *testing.T) {
	c, srv := setup(t, gitlabfake.Options{})
	srv.Inject(conformance.Fault{Op: conformance.OpCreate, Status: http.StatusBadGateway, AfterCommit: true})
	m := marker(1)
	_, err := c.Create(t.Context(), m, &connectors.Item{Title: "lost answer", Status: connectors.StatusOpen})
	if !errors.Is(err, connectors.ErrTemporary) {
		t.Fatalf("Create answered 502 after commit: got %v, want a temporary error", err)
	}
	if got := srv.Writes(); got != 1 {
		t.Errorf("write requests: got %d, want 1 (the library must not retry the POST)", got)
	}
	if got := srv.Count(); got != 1 {
		t.Fatalf("issues: got %d, want 1", got)
	}
	found, err := c.FindByMarker(t.Context(), m, connectors.FindHint{CreatedAfter: srv.Now().Add(-time.Minute)})
	if err != nil {
		t.Fatalf("FindByMarker after the lost create: %v", err)
	}
	if found.Title != "lost answer" || found.Marker != m {
		t.Errorf("FindByMarker: got title %q marker %q, want %q %q", found.Title, found.Marker, "lost answer", m)
	}
	if got := srv.Count(); got != 1 {
		t.Errorf("issues after find: got %d, want 1", got)
	}
}

// TestWritesAreNeverRetried covers 5xx and 429 on POST and PUT: one write
// request each, and the error says what happened.
func TestWritesAreNeverRetried(t *testing.T) {
	tests := []struct {
		name  string
		fault conformance.Fault
		call  func(c *Client, key string) error
		want  *connectors.Error
	}{
		{"create 500", conformance.Fault{Op: conformance.OpCreate, Status: 500}, func(c *Client, _ string) error {
			_, err := c.Create(context.Background(), marker(2), &connectors.Item{Title: "x", Status: connectors.StatusOpen})
			return err
		}, connectors.ErrTemporary},
		{"create 429", conformance.Fault{Op: conformance.OpCreate, Status: 429, Header: http.Header{"Retry-After": {"7"}}}, func(c *Client, _ string) error {
			_, err := c.Create(context.Background(), marker(3), &connectors.Item{Title: "x", Status: connectors.StatusOpen})
			return err
		}, connectors.ErrRateLimited},
		{"update 503", conformance.Fault{Op: conformance.OpUpdate, Status: 503}, func(c *Client, key string) error {
			_, err := c.Update(context.Background(), key, connectors.Patch{Title: ptr("renamed")})
			return err
		}, connectors.ErrTemporary},
		{"note 502 after commit", conformance.Fault{Op: conformance.OpComment, Status: 502, AfterCommit: true}, func(c *Client, key string) error {
			_, err := c.AddComment(context.Background(), key, marker(4), "hello")
			return err
		}, connectors.ErrTemporary},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, srv := setup(t, gitlabfake.Options{})
			key := mustCreate(t, c, marker(1), connectors.Item{Title: "target", Status: connectors.StatusOpen}).Ref.Key
			w0 := srv.Writes()
			srv.Inject(tc.fault)
			err := tc.call(c, key)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want code %v", err, tc.want.Code)
			}
			if got := srv.Writes() - w0; got != 1 {
				t.Errorf("write requests: got %d, want exactly 1", got)
			}
		})
	}
}

// TestDefaultClientDuplicates shows the hazard the connector avoids: the
// library with its default options re-sends the POST after a 502 and
// GitLab ends up with two issues.
func TestDefaultClientDuplicates(t *testing.T) {
	srv := gitlabfake.Start(gitlabfake.Options{Token: testToken, Projects: []string{testProject}})
	defer srv.Close()
	api, err := gl.NewClient(testToken, gl.WithBaseURL(srv.URL()), gl.WithCustomRetryWaitMinMax(time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	srv.Inject(conformance.Fault{Op: conformance.OpCreate, Status: http.StatusBadGateway, AfterCommit: true})
	if _, _, err := api.Issues.CreateIssue(testProject, &gl.CreateIssueOptions{Title: gl.Ptr("once")}); err != nil {
		t.Fatalf("default client create: %v", err)
	}
	if got := srv.Count(); got != 2 {
		t.Errorf("issues after one create with the default client: got %d, want 2 (the retry duplicates)", got)
	}
}

func TestNotes(t *testing.T) {
	c, srv := setup(t, gitlabfake.Options{})
	key := mustCreate(t, c, marker(1), connectors.Item{Title: "noted", Status: connectors.StatusOpen}).Ref.Key
	if _, err := c.AddComment(t.Context(), key, marker(2), "from pmsync"); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddComment(key, "bob", "internal: customer runs the old SDK", true); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddComment(key, "alice", "public", false); err != nil {
		t.Fatal(err)
	}
	// A real system note, written by GitLab for a label change.
	if _, err := c.Update(t.Context(), key, connectors.Patch{Priority: ptr(connectors.P1)}); err != nil {
		t.Fatal(err)
	}
	notes, _ := srv.Notes(key)
	if !strings.HasPrefix(notes[len(notes)-1], "[system] added ~") {
		t.Fatalf("simulator notes: got %q, want a system note for the label last", notes)
	}
	got, err := c.ListComments(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		body       string
		restricted bool
	}{{"from pmsync", false}, {"internal: customer runs the old SDK", true}, {"public", false}}
	if len(got) != len(want) {
		t.Fatalf("ListComments: got %d comments %+v, want %d (no system note)", len(got), got, len(want))
	}
	for i, w := range want {
		if got[i].Body != w.body || got[i].Restricted != w.restricted {
			t.Errorf("comment %d: got body %q restricted %v, want %q %v", i, got[i].Body, got[i].Restricted, w.body, w.restricted)
		}
	}
	if got[1].Author != "Bob Brown" || !strings.HasSuffix(got[1].URL, "#note_"+got[1].ID) {
		t.Errorf("comment 1: author %q url %q, want Bob Brown and a #note_ URL", got[1].Author, got[1].URL)
	}

	// On a confidential issue every note is restricted.
	if err := srv.PersonEdit(key, gitlabfake.Edit{Confidential: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	got, err = c.ListComments(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	for i, cm := range got {
		if !cm.Restricted {
			t.Errorf("confidential issue: comment %d (%q) not restricted", i, cm.Body)
		}
	}
	added, err := c.AddComment(t.Context(), key, "", "after it became confidential")
	if err != nil {
		t.Fatal(err)
	}
	if !added.Restricted {
		t.Errorf("AddComment on a confidential issue: Restricted false, want true")
	}
}

func TestEditSystemNoteRefused(t *testing.T) {
	c, srv := setup(t, gitlabfake.Options{})
	key := mustCreate(t, c, marker(1), connectors.Item{Title: "t", Status: connectors.StatusOpen}).Ref.Key
	if err := srv.AddSystemNote(key, "changed the description"); err != nil {
		t.Fatal(err)
	}
	w0 := srv.Writes()
	// The only note is the system note; ids start at 1.
	_, err := c.EditComment(t.Context(), key, "1", "rewritten")
	if !errors.Is(err, connectors.ErrInvalid) || srv.Writes() != w0 {
		t.Errorf("EditComment(system note): got %v and %d writes, want invalid and none", err, srv.Writes()-w0)
	}
}

// TestKeysetModes lists more than two pages on servers that support,
// ignore and refuse keyset pagination.
func TestKeysetModes(t *testing.T) {
	tests := []struct {
		mode          gitlabfake.KeysetMode
		first, second int // requests of the first and a second full listing
	}{
		{gitlabfake.KeysetSupported, 3, 3},
		{gitlabfake.KeysetIgnored, 3, 3},
		{gitlabfake.KeysetRejected, 4, 3},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.mode), func(t *testing.T) {
			c, srv := setup(t, gitlabfake.Options{MaxPerPage: 20, Keyset: tc.mode})
			for i := range 45 {
				mustCreate(t, c, marker(i), connectors.Item{Title: fmt.Sprintf("item %d", i), Status: connectors.StatusOpen})
			}
			for n, want := range []int{tc.first, tc.second} {
				r0 := srv.Requests()
				ch, err := c.Changes(t.Context(), "")
				if err != nil {
					t.Fatalf("Changes #%d: %v", n, err)
				}
				if len(ch.Items) != 45 || ch.Requests != want || srv.Requests()-r0 != want {
					t.Errorf("Changes #%d: got %d items in %d requests (server saw %d), want 45 in %d",
						n, len(ch.Items), ch.Requests, srv.Requests()-r0, want)
				}
			}
		})
	}
}

// TestFreeTierStatusWalk: without scoped-label exclusivity (GitLab Free)
// the connector's explicit removals keep one status label.
func TestFreeTierStatusWalk(t *testing.T) {
	c, _ := setup(t, gitlabfake.Options{FreeTier: true})
	key := mustCreate(t, c, marker(1), connectors.Item{Title: "t", Status: connectors.StatusOpen}).Ref.Key
	for _, s := range []connectors.Status{connectors.StatusInProgress, connectors.StatusWontDo, connectors.StatusInProgress,
		connectors.StatusDone, connectors.StatusWontDo, connectors.StatusOpen} {
		got, err := connectors.SetStatus(t.Context(), c, key, s)
		if err != nil {
			t.Fatalf("SetStatus %s: %v", s, err)
		}
		if got.Status != s {
			t.Errorf("SetStatus %s: got %s", s, got.Status)
		}
	}
}

func TestNumericProjectID(t *testing.T) {
	srv := gitlabfake.Start(gitlabfake.Options{Token: testToken, Projects: []string{"other/one", testProject}})
	defer srv.Close()
	c, err := newClient(connectors.Config{ID: "acme", URL: srv.URL(), Project: "2", Token: testToken, Now: srv.Now})
	if err != nil {
		t.Fatal(err)
	}
	it := mustCreate(t, c, marker(1), connectors.Item{Title: "by id", Status: connectors.StatusOpen})
	if it.Ref.Key != testProject+"#1" {
		t.Errorf("key: got %q, want %q", it.Ref.Key, testProject+"#1")
	}
	r0 := srv.Requests()
	for range 2 {
		if _, err := c.Get(t.Context(), it.Ref.Key); err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.Requests() - r0; got != 2 {
		t.Errorf("two Gets after the path is known: got %d requests, want 2", got)
	}
	if _, err := c.Get(t.Context(), "other/one#1"); !errors.Is(err, connectors.ErrInvalid) {
		t.Errorf("Get of another project's key: got %v, want invalid", err)
	}
}

// TestRedirectToOtherHostRefused: the PRIVATE-TOKEN header would follow a
// redirect to another host (Go strips only Authorization and Cookie).
func TestRedirectToOtherHostRefused(t *testing.T) {
	var leaked atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Private-Token") != "" {
			leaked.Add(1)
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer other.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
	}))
	defer redirector.Close()
	c, err := newClient(connectors.Config{ID: "acme", URL: redirector.URL, Project: testProject, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Get(t.Context(), testProject+"#1")
	if !errors.Is(err, connectors.ErrInvalid) {
		t.Errorf("Get answered by a redirect to another host: got %v, want invalid", err)
	}
	if leaked.Load() != 0 {
		t.Errorf("the token reached the other host")
	}
}

func TestNewConfigErrors(t *testing.T) {
	base := connectors.Config{ID: "acme", Project: "g/p", Token: testToken}
	tests := []struct {
		name string
		edit func(*connectors.Config)
		want string
	}{
		{"no token", func(c *connectors.Config) { c.Token = "" }, "token is empty"},
		{"no project", func(c *connectors.Config) { c.Project = "" }, `project ""`},
		{"project without group", func(c *connectors.Config) { c.Project = "justone" }, `project "justone"`},
		{"project with space", func(c *connectors.Config) { c.Project = "g/p q" }, `project "g/p q"`},
		{"bad scheme", func(c *connectors.Config) { c.URL = "ftp://gitlab.example.com" }, `url "ftp://gitlab.example.com"`},
		{"credentials in url", func(c *connectors.Config) { c.URL = "https://u:pw@gitlab.example.com" }, "must not carry credentials"},
		{"comma label", func(c *connectors.Config) { c.Labels.KindPrefix = "type,"; c.Labels.InProgress = "" }, `label "type,"`},
	}
	for _, tc := range tests {
		cfg := base
		tc.edit(&cfg)
		_, err := New(cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `tracker "acme"`) {
			t.Errorf("%s: got %v, want an error naming the tracker and %s", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("%s: error shows the URL's password: %v", tc.name, err)
		}
	}
	for _, u := range []string{"", "https://gitlab.example.com/", "https://gitlab.example.com/api/v4", "http://127.0.0.1:8080/gitlab"} {
		cfg := base
		cfg.URL = u
		c, err := newClient(cfg)
		if err != nil {
			t.Errorf("URL %q: %v", u, err)
			continue
		}
		if got := c.api.BaseURL().String(); !strings.HasSuffix(got, "/api/v4/") || strings.Contains(got, "api/v4/api/v4") {
			t.Errorf("URL %q: client base %q, want one /api/v4/", u, got)
		}
	}
}

// TestIdlePoll: a poll with nothing changed is one request with no items,
// and once the changes are older than the overlap the cursor is GitLab's
// clock (its Date header) and nothing else.
func TestIdlePoll(t *testing.T) {
	c, srv := setup(t, gitlabfake.Options{})
	for i := range 3 {
		mustCreate(t, c, marker(i), connectors.Item{Title: "t", Status: connectors.StatusOpen})
	}
	cur := ""
	for i, want := range []int{3, 0, 0, 0} {
		r0 := srv.Requests()
		ch, err := c.Changes(t.Context(), cur)
		if err != nil {
			t.Fatal(err)
		}
		if len(ch.Items) != want || ch.Requests != 1 || srv.Requests()-r0 != 1 {
			t.Errorf("poll %d: got %d items in %d requests, want %d in 1", i, len(ch.Items), ch.Requests, want)
		}
		if wantCur := (cursor{t: srv.Now().Truncate(time.Second)}).format(); i > 0 && ch.Cursor != wantCur {
			t.Errorf("poll %d: cursor %q, want %q (GitLab's time)", i, ch.Cursor, wantCur)
		}
		cur = ch.Cursor
		srv.Advance(time.Hour)
	}
}
