package config

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/pmsync/pmsync/connectors"
)

// validateTracker checks one tracker section at path, gives it its id and
// fills in the per-tracker defaults (workers, rate, Jira issue type).
func validateTracker(c *collector, path, id string, t *Tracker, s *Sync) {
	t.ID = id
	if !oneOf(c, join(path, "kind"), t.Kind, trackerKinds) {
		return // the other checks depend on the kind
	}
	jira := t.Kind == "jira"
	if t.URL != "" {
		if err := checkURL(t.URL); err != nil {
			c.errf(join(path, "url"), "%v", err)
		}
	} else if jira {
		c.errf(join(path, "url"), "required for kind jira: the site URL, e.g. https://example.atlassian.net")
	}
	switch {
	case jira && t.Flavor == "":
		c.errf(join(path, "flavor"), "required for kind jira: cloud or datacenter")
	case jira:
		oneOf(c, join(path, "flavor"), t.Flavor, jiraFlavors)
	case t.Flavor != "":
		c.errf(join(path, "flavor"), "only used with kind jira; remove it")
	}
	checkProject(c, join(path, "project"), t.Kind, t.Project)
	if !t.Auth.Token.IsSet() {
		c.errf(join(path, "auth.token"), "required: set auth.token_env (or auth.token_file) to where the API token is")
	}
	switch {
	case jira && t.Flavor == "cloud" && !t.Auth.User.IsSet():
		c.errf(join(path, "auth.user"), "Jira Cloud needs the account e-mail: set auth.user_env (or auth.user_file)")
	case t.Auth.User.IsSet() && !jira:
		// Jira Data Center ignores it (a personal access token is enough).
		c.errf(join(path, "auth.user"), "only used by Jira Cloud (basic auth); remove it")
	}
	validateLabels(c, join(path, "labels"), t)
	validateJiraOptions(c, path, t)
	validateGitHubOptions(c, path, t)
	if _, written := c.lines[join(path, "workers")]; written {
		between(c, join(path, "workers"), t.Workers, 1, 256)
	} else {
		t.Workers = s.WorkersPerTracker
	}
	if _, written := c.lines[join(path, "requests_per_second")]; written {
		rate(c, join(path, "requests_per_second"), t.RequestsPerSecond)
	} else {
		t.RequestsPerSecond = s.RequestsPerSecond
	}
}

func checkProject(c *collector, path, kind, project string) {
	switch {
	case project == "":
		want := map[string]string{"github": "owner/repo", "gitlab": "group/project or a numeric project id", "jira": "a project key such as PLAT"}[kind]
		c.errf(path, "required: %s", want)
	case kind == "github" && !githubRepoRE.MatchString(project):
		c.errf(path, "%q is not a GitHub owner/repo", clip(project))
	case kind == "gitlab" && !gitlabPathRE.MatchString(project) && !gitlabIDRE.MatchString(project):
		c.errf(path, "%q is not a GitLab group/project path or numeric project id", clip(project))
	case kind == "jira" && !jiraKeyRE.MatchString(project):
		c.errf(path, "%q is not a Jira project key (upper-case letter, then upper-case letters, digits or _)", clip(project))
	}
}

// checkURL accepts absolute http(s) URLs without credentials, query or
// fragment.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL: %q", clip(s))
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("want an absolute http:// or https:// URL, got %q", clip(s))
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("URL %q has no host", clip(s))
	case u.User != nil:
		return fmt.Errorf("URL must not carry credentials; use auth.token_env")
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return fmt.Errorf("URL %q must not have a query or fragment", clip(s))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("URL %q has an invalid port", clip(s))
		}
	}
	return nil
}

func validateLabels(c *collector, path string, t *Tracker) {
	l := t.Labels
	if t.Kind == "jira" {
		if len(l.Priority) > 0 {
			c.errf(join(path, "priority"), "Jira has native priorities: map them with priorities: instead")
		}
		if l.InProgress != "" {
			c.errf(join(path, "in_progress"), "Jira has native statuses: in_progress is not a label there")
		}
	}
	for _, k := range []struct{ key, val string }{
		{"kind_prefix", l.KindPrefix}, {"in_progress", l.InProgress},
		{"incident_prefix", l.IncidentPrefix}, {"owner_prefix", l.OwnerPrefix},
	} {
		if _, written := c.lines[join(path, k.key)]; written && strings.TrimSpace(k.val) == "" {
			c.errf(join(path, k.key), "must not be empty (remove the key to keep the default)")
		}
	}
	uniqueNames(c, join(path, "priority"), l.Priority)
}

func validateJiraOptions(c *collector, path string, t *Tracker) {
	if t.Kind != "jira" {
		for key, set := range map[string]bool{
			"issue_type": t.IssueType != "", "priorities": len(t.Priorities) > 0,
			"done_transition": t.DoneTransition != "", "wont_do_resolution": t.WontDoResolution != "",
		} {
			if set {
				c.errf(join(path, key), "only used with kind jira; remove it")
			}
		}
		return
	}
	if t.IssueType == "" {
		t.IssueType = DefaultJiraIssueType
	}
	uniqueNames(c, join(path, "priorities"), t.Priorities)
}

// The bounds of creates_per_minute and creates_per_hour.
const (
	maxCreatesPerMinute = 100_000
	maxCreatesPerHour   = 60 * maxCreatesPerMinute
)

// validateGitHubOptions checks the content-creation limits of a GitHub
// tracker and fills in their defaults: GitHub.com's, or for a raised
// per-minute limit alone the same multiple of the hourly one (as the
// GitHub connector does).
func validateGitHubOptions(c *collector, path string, t *Tracker) {
	_, perMinute := c.lines[join(path, "creates_per_minute")]
	_, perHour := c.lines[join(path, "creates_per_hour")]
	if t.Kind != "github" {
		for key, set := range map[string]bool{"creates_per_minute": perMinute || t.CreatesPerMinute != 0, "creates_per_hour": perHour || t.CreatesPerHour != 0} {
			if set {
				c.errf(join(path, key), "only used with kind github; remove it")
			}
		}
		return
	}
	if perMinute || t.CreatesPerMinute != 0 {
		between(c, join(path, "creates_per_minute"), t.CreatesPerMinute, 1, maxCreatesPerMinute)
	} else {
		t.CreatesPerMinute = connectors.GitHubCreatesPerMinute
	}
	switch {
	case perHour || t.CreatesPerHour != 0:
		between(c, join(path, "creates_per_hour"), t.CreatesPerHour, 1, maxCreatesPerHour)
	case t.CreatesPerMinute > connectors.GitHubCreatesPerMinute:
		t.CreatesPerHour = connectors.GitHubCreatesPerHour * t.CreatesPerMinute / connectors.GitHubCreatesPerMinute
	default:
		t.CreatesPerHour = connectors.GitHubCreatesPerHour
	}
}

// uniqueNames checks that a priority → name map has non-empty names that
// are all different (otherwise the mapping back is ambiguous).
func uniqueNames(c *collector, path string, m map[connectors.Priority]string) {
	seen := map[string]connectors.Priority{}
	for _, p := range connectors.Priorities {
		name, ok := m[p]
		if !ok {
			continue
		}
		kp := join(path, string(p))
		if strings.TrimSpace(name) == "" {
			c.errf(kp, "must not be empty")
			continue
		}
		if other, dup := seen[strings.ToLower(name)]; dup {
			c.errf(kp, "%q is also the name of %s; each priority needs its own", clip(name), other)
		}
		seen[strings.ToLower(name)] = p
	}
}

// trackerIdentity names the project a tracker points at, so that two
// trackers on one project (a tenant leak) are refused.
func trackerIdentity(t *Tracker) string {
	if t.Kind == "" || t.Project == "" {
		return ""
	}
	base := t.URL
	if base == "" {
		base = defaultURLHost[t.Kind]
	}
	base = strings.TrimRight(strings.ToLower(base), "/")
	base = strings.TrimSuffix(base, "/api/v3")
	return t.Kind + "|" + base + "|" + strings.ToLower(t.Project)
}
