// Package scenario is the storage-frontend latency incident that pmsync's
// end-to-end tests, golden tests and demo share: the platform on a Jira
// Data Center simulator, JaneCorp on a GitHub simulator and Acme Analytics
// on a GitLab simulator, each a real HTTP server on 127.0.0.1 that the
// real client libraries talk to, and the postmortem's action items seeded
// as the people of each organisation would write them.
//
// Every request a simulator receives is recorded (method, path, body), so
// tests can prove what did and did not reach each tenant. Canary strings
// mark text that must stay where it was written: InternalCanary in the
// platform's internal descriptions and comments, JaneCanary in JaneCorp's
// items and comments.
package scenario

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/github"
	"github.com/pmsync/pmsync/connectors/github/githubfake"
	"github.com/pmsync/pmsync/connectors/gitlab"
	"github.com/pmsync/pmsync/connectors/gitlab/gitlabfake"
	"github.com/pmsync/pmsync/connectors/jira"
	"github.com/pmsync/pmsync/connectors/jira/jirafake"
	"github.com/pmsync/pmsync/store"
	"github.com/pmsync/pmsync/sync/engine"
)

// The trackers of the scenario.
const (
	Platform        = engine.PlatformID
	Jane            = "janecorp"
	Acme            = "acme-analytics"
	PlatformName    = "Example Cloud"
	JaneName        = "JaneCorp"
	AcmeName        = "Acme Analytics"
	PlatformProject = "PLAT"
	JaneRepo        = "janecorp/reliability"
	AcmeProject     = "acme/ops"
	ActionLabel     = "postmortem-action"
	InboundLabel    = "share-with-platform"
	CommentPrefix   = "[customer]"

	jiraToken   = "scenario-jira-token"
	githubToken = "scenario-github-token"
	gitlabToken = "scenario-gitlab-token"
	hookSecret  = "scenario-hook-secret"
)

// Request is one API request a simulator received.
type Request struct {
	Method, Path, Query string
	Body                string
}

// Write reports whether the request changes something.
func (r Request) Write() bool {
	return r.Method != http.MethodGet && r.Method != http.MethodHead
}

// Recorder records the requests reaching a handler.
type Recorder struct {
	h  http.Handler
	mu sync.Mutex
	rs []Request
}

// ServeHTTP records the request and passes it on.
func (rec *Recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	rec.mu.Lock()
	rec.rs = append(rec.rs, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: string(body)})
	rec.mu.Unlock()
	rec.h.ServeHTTP(w, r)
}

// Requests returns a copy of every request recorded so far.
func (rec *Recorder) Requests() []Request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]Request(nil), rec.rs...)
}

// Writes counts the write requests recorded so far.
func (rec *Recorder) Writes() int {
	n := 0
	for _, r := range rec.Requests() {
		if r.Write() {
			n++
		}
	}
	return n
}

// Sims are the three simulators of the scenario, served on 127.0.0.1.
type Sims struct {
	Jira   *jirafake.Server
	GitHub *githubfake.Fake
	GitLab *gitlabfake.Server
	// URL and Rec are by tracker id (Platform, Jane, Acme).
	URL map[string]string
	Rec map[string]*Recorder

	servers []*httptest.Server
}

// Start starts the simulators, their clocks on the wall clock.
func Start() (*Sims, error) {
	gh, err := githubfake.New(githubfake.Options{Token: githubToken, Repos: []string{JaneRepo}, SecondaryPerMinute: -1})
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	s := &Sims{
		GitHub: gh,
		GitLab: gitlabfake.New(gitlabfake.Options{Token: gitlabToken, Projects: []string{AcmeProject}, Now: time.Now, Users: []string{"dana"}}),
		Jira: jirafake.New(jirafake.Options{
			Flavor: jirafake.DataCenter, Project: PlatformProject, Token: jiraToken, Now: time.Now,
			Users: []jirafake.User{
				{Name: "priya", DisplayName: "Priya Raman", Email: "priya@example.test", TimeZone: "Europe/Berlin"},
				{Name: "sam", DisplayName: "Sam Okafor", Email: "sam@example.test", TimeZone: "Europe/Berlin"},
			},
		}),
		URL: map[string]string{}, Rec: map[string]*Recorder{},
	}
	for id, h := range map[string]http.Handler{Platform: s.Jira, Jane: gh, Acme: s.GitLab} {
		rec := &Recorder{h: h}
		srv := httptest.NewServer(rec)
		s.servers = append(s.servers, srv)
		s.URL[id], s.Rec[id] = srv.URL, rec
	}
	s.GitLab.SetBaseURL(s.URL[Acme])
	return s, nil
}

// Close stops the simulators.
func (s *Sims) Close() {
	for _, srv := range s.servers {
		srv.Close()
	}
	_ = s.GitHub.Close()
	s.GitLab.Close()
	s.Jira.Close()
}

// Writes counts the write requests every simulator received.
func (s *Sims) Writes() int {
	n := 0
	for _, rec := range s.Rec {
		n += rec.Writes()
	}
	return n
}

// Connector builds the connector of tracker id with its real client
// library, as pmsync's configuration would.
func (s *Sims) Connector(id string) (connectors.Connector, error) {
	cfg := connectors.Config{ID: id, URL: s.URL[id], WebhookSecret: hookSecret}
	switch id {
	case Platform:
		cfg.Kind, cfg.Flavor, cfg.Project, cfg.Token = "jira", "datacenter", PlatformProject, jiraToken
		cfg.Labels = connectors.LabelScheme{KindPrefix: "type:", IncidentPrefix: "incident:", OwnerPrefix: "owner:"}
		return jira.New(cfg)
	case Jane:
		cfg.Kind, cfg.Project, cfg.Token = "github", JaneRepo, githubToken
		cfg.URL += "/"
		return github.New(cfg, github.Options{CreatesPerMinute: 1e6})
	case Acme:
		cfg.Kind, cfg.Project, cfg.Token = "gitlab", AcmeProject, gitlabToken
		return gitlab.New(cfg)
	}
	return nil, fmt.Errorf("scenario: no tracker %q", id)
}

// EngineOptions returns the options of an engine over the simulators: the
// platform and both customers with their sharing rules, on store st.
func (s *Sims) EngineOptions(st *store.DB) (engine.Options, error) {
	conns := map[string]connectors.Connector{}
	for _, id := range []string{Platform, Jane, Acme} {
		c, err := s.Connector(id)
		if err != nil {
			return engine.Options{}, err
		}
		conns[id] = c
	}
	share := engine.Share{Description: engine.DescriptionSummary, CommentPrefix: CommentPrefix}
	return engine.Options{
		Store: st,
		Platform: engine.Tracker{
			Name: PlatformName, Conn: conns[Platform], ActionItemLabel: ActionLabel,
			InternalURLs: append(engine.InternalURLs("jira", s.URL[Platform], PlatformProject), "wiki.example.internal"),
			KeyPattern:   engine.KeyPattern("jira", PlatformProject),
		},
		Customers: []engine.Customer{
			{ID: Jane, Name: JaneName, Tracker: engine.Tracker{Conn: conns[Jane]}, Share: share},
			{ID: Acme, Name: AcmeName, Tracker: engine.Tracker{Conn: conns[Acme]}, Share: share},
		},
		MarkerKey: []byte("scenario-marker-key"),
	}, nil
}
