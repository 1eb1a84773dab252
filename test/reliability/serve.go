package reliability

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pmsync/pmsync/sync/engine"
)

// ServeOptions shape the configuration of a `pmsync serve` daemon that
// syncs a world of simulators.
type ServeOptions struct {
	Dir          string        // where the configuration file and the store go
	PollInterval time.Duration // sync.poll_interval
	Workers      int           // sync.workers_per_tracker
	CreateSettle time.Duration // sync.create_settle; 0 leaves the default
}

// ServeConfig writes pmsync.yaml for `pmsync serve` on the simulators of s:
// the platform's Jira Data Center and every customer, with the defaults
// for labels and sharing, the test's marker key and comment prefix, no
// GitHub creation pacing (as on a GitHub Enterprise Server with its
// limits lifted), no request rate limit, and a listener on a free
// loopback port. It returns the file's path and the environment holding
// the secrets the file names.
func (s *Sims) ServeConfig(o ServeOptions) (path string, env []string, err error) {
	var b strings.Builder
	envName := func(id, what string) string {
		return "PMSYNC_TEST_" + strings.ToUpper(strings.ReplaceAll(id, "-", "_")) + "_" + what
	}
	secret := func(name, value string) string {
		env = append(env, name+"="+value)
		return name
	}
	tracker := func(indent string, t *SimTracker) {
		p := func(format string, a ...any) { fmt.Fprintf(&b, indent+format+"\n", a...) }
		switch t.Kind {
		case "github":
			p("kind: github")
			p("creates_per_minute: 100000")
		case "gitlab":
			p("kind: gitlab")
		default:
			p("kind: jira")
			p("flavor: %s", strings.TrimPrefix(t.Kind, "jira-"))
		}
		p("url: %q", t.URL)
		p("project: %q", t.Project())
		p("requests_per_second: 1000")
		p("auth:")
		p("  token_env: %s", secret(envName(t.ID, "TOKEN"), TokenOf(t.ID)))
		if t.Kind == "jira-cloud" {
			p("  user_env: %s", secret(envName(t.ID, "USER"), "bot@"+t.ID+".example"))
		}
		p("webhook_secret_env: %s", secret(envName(t.ID, "HOOK"), HookSecret))
	}
	store := filepath.Join(o.Dir, "pmsync.db")
	fmt.Fprintf(&b, "store:\n  path: %q\nhttp:\n  listen: 127.0.0.1:0\nlog:\n  level: info\n", store)
	fmt.Fprintf(&b, "sync:\n  poll_interval: %s\n  workers_per_tracker: %d\n  marker_key_env: %s\n",
		o.PollInterval, o.Workers, secret("PMSYNC_TEST_MARKER_KEY", MarkerKey))
	if o.CreateSettle > 0 {
		fmt.Fprintf(&b, "  create_settle: %s\n", o.CreateSettle)
	}
	fmt.Fprintf(&b, "platform:\n  name: Example Cloud\n  tracker:\n")
	tracker("    ", s.Trackers[engine.PlatformID])
	b.WriteString("customers:\n")
	for _, id := range s.IDs {
		fmt.Fprintf(&b, "  - id: %s\n    name: %s\n    tracker:\n", id, strings.ToUpper(id[:1])+id[1:])
		tracker("      ", s.Trackers[id])
	}
	path = filepath.Join(o.Dir, "pmsync.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return "", nil, err
	}
	return path, env, nil
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// PmsyncBinary builds the pmsync command once per test binary, with the
// race detector when race is true, and returns its path.
func PmsyncBinary(race bool) (string, error) {
	binOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		}
		dir, err := os.MkdirTemp("", "pmsync-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "pmsync")
		args := []string{"build", "-o", binPath}
		if race {
			args = append(args, "-race")
		}
		cmd := exec.Command(goTool, append(args, "github.com/pmsync/pmsync/cmd/pmsync")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build pmsync: %v\n%s", err, out)
		}
	})
	return binPath, binErr
}

// RemovePmsyncBinary deletes what PmsyncBinary built.
func RemovePmsyncBinary() {
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
}
