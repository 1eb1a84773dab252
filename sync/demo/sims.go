package demo

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/pmsync/pmsync/connectors/github/githubfake"
	"github.com/pmsync/pmsync/connectors/gitlab/gitlabfake"
	"github.com/pmsync/pmsync/connectors/jira/jirafake"
)

// The demo's trackers: the platform on Jira Data Center, JaneCorp on GitHub
// and Acme Analytics on GitLab. The credentials are the simulators' own;
// they reach pmsync through the environment of the generated
// configuration, as real ones would.
const (
	PlatformProject = "PLAT"
	JaneCorpRepo    = "janecorp/reliability"
	AcmeProject     = "acme/ops"

	githubToken = "demo-github-token"
	gitlabToken = "demo-gitlab-token"
	jiraToken   = "demo-jira-token"
	hookSecret  = "demo-webhook-secret"
)

// Simulators are the three tracker simulators of the demo, each a real
// HTTP server on 127.0.0.1 that can be stopped and started again on the
// same address (an outage).
type Simulators struct {
	GitHub *githubfake.Fake
	GitLab *gitlabfake.Server
	Jira   *jirafake.Server

	endpoints map[string]*Endpoint // by tracker id
}

// StartSimulators starts the simulators. hooks is the base URL of the
// daemon's listener ("http://127.0.0.1:PORT"): each simulator delivers its
// webhooks to hooks + "/webhooks/<tracker-id>"; "" turns webhooks off, so
// only polls carry changes.
func StartSimulators(hooks string) (*Simulators, error) {
	gh, err := githubfake.New(githubfake.Options{Token: githubToken, Repos: []string{JaneCorpRepo}, Login: "pmsync-bot"})
	if err != nil {
		return nil, err
	}
	gl := gitlabfake.New(gitlabfake.Options{Token: gitlabToken, Projects: []string{AcmeProject}, Now: time.Now, Users: []string{"dana"}})
	jo := jirafake.Options{
		Flavor: jirafake.DataCenter, Project: PlatformProject, Token: jiraToken, Now: time.Now,
		Users: []jirafake.User{
			{Name: "priya", DisplayName: "Priya Raman", Email: "priya@example.test", TimeZone: "Europe/Berlin"},
			{Name: "sam", DisplayName: "Sam Okafor", Email: "sam@example.test", TimeZone: "Europe/Berlin"},
		},
	}
	if hooks != "" {
		jo.WebhookURL, jo.WebhookSecret = hooks+"/webhooks/platform", hookSecret
	}
	s := &Simulators{GitHub: gh, GitLab: gl, Jira: jirafake.New(jo), endpoints: map[string]*Endpoint{}}
	for id, h := range map[string]http.Handler{"platform": s.Jira, "janecorp": gh, "acme-analytics": gl} {
		ep, err := Listen(h)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.endpoints[id] = ep
	}
	gl.SetBaseURL(s.endpoints["acme-analytics"].URL())
	if hooks != "" {
		gh.SetWebhook(hooks+"/webhooks/janecorp", hookSecret, false)
		if _, err := gl.AddHook(AcmeProject, hooks+"/webhooks/acme-analytics", hookSecret); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// Endpoint returns the server of a tracker id ("platform", "janecorp",
// "acme-analytics").
func (s *Simulators) Endpoint(id string) *Endpoint { return s.endpoints[id] }

// Close stops every simulator and its webhook delivery.
func (s *Simulators) Close() {
	for _, ep := range s.endpoints {
		ep.Stop()
	}
	if s.GitHub != nil {
		_ = s.GitHub.Close()
	}
	if s.GitLab != nil {
		s.GitLab.Close()
	}
	if s.Jira != nil {
		s.Jira.Close()
	}
}

// Endpoint serves a handler on 127.0.0.1 and can stop and start again on
// the same port.
type Endpoint struct {
	h    http.Handler
	addr string

	mu  sync.Mutex
	srv *http.Server
}

// Listen serves h on a free port of 127.0.0.1.
func Listen(h http.Handler) (*Endpoint, error) {
	ep := &Endpoint{h: h, addr: "127.0.0.1:0"}
	if err := ep.Start(); err != nil {
		return nil, err
	}
	return ep, nil
}

// URL is the server's base URL, without a trailing slash.
func (e *Endpoint) URL() string { return "http://" + e.addr }

// Start serves again after Stop (on the same address).
func (e *Endpoint) Start() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.srv != nil {
		return nil
	}
	ln, err := net.Listen("tcp", e.addr)
	if err != nil {
		return fmt.Errorf("demo: listen on %s: %w", e.addr, err)
	}
	e.addr = ln.Addr().String()
	srv := &http.Server{Handler: e.h, ReadHeaderTimeout: 10 * time.Second}
	e.srv = srv
	go func() { _ = srv.Serve(ln) }() // returns when Stop closes the server
	return nil
}

// Stop closes the listener and every open connection: requests fail as if
// the tracker were down.
func (e *Endpoint) Stop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.srv != nil {
		_ = e.srv.Close()
		e.srv = nil
	}
}
