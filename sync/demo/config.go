package demo

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"text/template"
	"time"

	"github.com/pmsync/pmsync/config"
)

// The environment variables the generated configuration reads its
// secrets from. The demo resolves them itself; to run the written file
// with `pmsync serve`, export them (their values are the simulators').
var demoEnv = map[string]string{
	"PMSYNC_DEMO_JIRA_TOKEN":     jiraToken,
	"PMSYNC_DEMO_GITHUB_TOKEN":   githubToken,
	"PMSYNC_DEMO_GITLAB_TOKEN":   gitlabToken,
	"PMSYNC_DEMO_WEBHOOK_SECRET": hookSecret,
}

var configTemplate = template.Must(template.New("pmsync.yaml").Parse(`# The configuration ` + "`pmsync demo`" + ` runs with: the platform on Jira Data Center,
# JaneCorp on GitHub, Acme Analytics on GitLab, all three simulated on 127.0.0.1.
# To use real trackers, change url, project and the *_env names below and
# see docs/trackers.md; every key is in docs/configuration.md.
store:
  path: {{.Store}}
http:
  listen: {{.Listen}}
sync:
  poll_interval: {{.Poll}}
platform:
  name: Example Cloud
  action_item_label: postmortem-action
  tracker:
    kind: jira
    flavor: datacenter
    url: {{.Jira}}
    project: PLAT
    auth:
      token_env: PMSYNC_DEMO_JIRA_TOKEN
    webhook_secret_env: PMSYNC_DEMO_WEBHOOK_SECRET
customers:
  - id: janecorp
    name: JaneCorp
    tracker:
      kind: github
      url: {{.GitHub}}/
      project: janecorp/reliability
      auth:
        token_env: PMSYNC_DEMO_GITHUB_TOKEN
      webhook_secret_env: PMSYNC_DEMO_WEBHOOK_SECRET
    share:
      description: summary
      comment_prefix: "[customer]"   # platform comments starting with this are copied
  - id: acme-analytics
    name: Acme Analytics
    tracker:
      kind: gitlab
      url: {{.GitLab}}
      project: acme/ops
      auth:
        token_env: PMSYNC_DEMO_GITLAB_TOKEN
      webhook_secret_env: PMSYNC_DEMO_WEBHOOK_SECRET
    share:
      description: summary
      comment_prefix: "[customer]"
reminders:
  critical: [P0, P1]
  due_after: {P0: 7d, P1: 30d, P2: 90d}
  stale_after: 14d
`))

// ConfigText renders the demo configuration for the simulators: the bbolt
// file at storePath, the listener at listen, polls every poll.
func (s *Simulators) ConfigText(storePath, listen string, poll time.Duration) []byte {
	var b bytes.Buffer
	err := configTemplate.Execute(&b, map[string]string{
		"Store": storePath, "Listen": listen, "Poll": poll.String(),
		"Jira": s.Endpoint("platform").URL(), "GitHub": s.Endpoint("janecorp").URL(), "GitLab": s.Endpoint("acme-analytics").URL(),
	})
	if err != nil {
		panic("demo: configuration template: " + err.Error()) // the template is fixed and its data complete
	}
	return b.Bytes()
}

// LookupEnv resolves the environment variables the demo configuration
// names (the simulators' credentials); other names are not set.
func LookupEnv(name string) (string, bool) {
	v, ok := demoEnv[name]
	return v, ok
}

// writeConfig writes the demo configuration for the simulators into dir
// and loads it back as pmsync would.
func writeConfig(dir, listen string, s *Simulators, poll time.Duration) (*config.Config, error) {
	text := s.ConfigText(filepath.Join(dir, "pmsync.db"), listen, poll)
	path := filepath.Join(dir, "pmsync.yaml")
	if err := os.WriteFile(path, text, 0o600); err != nil {
		return nil, fmt.Errorf("demo: write configuration: %w", err)
	}
	return config.Parse(text, path, LookupEnv)
}
