package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/github"
	"github.com/pmsync/pmsync/connectors/github/githubfake"
	"github.com/pmsync/pmsync/store"
)

// syncFixture is a platform and one customer on GitHub simulators, and a
// configuration naming them.
type syncFixture struct {
	plat, jane *githubfake.Fake
	platURL    string
	dir        string
	config     string
}

const (
	platToken = "canary-sync-platform-token"
	janeToken = "canary-sync-jane-token"
)

func newSyncFixture(t *testing.T) *syncFixture {
	t.Helper()
	f := &syncFixture{dir: t.TempDir()}
	serve := func(token, repo string) (*githubfake.Fake, string) {
		fk, err := githubfake.New(githubfake.Options{Token: token, Repos: []string{repo}})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(fk)
		t.Cleanup(func() { srv.Close(); _ = fk.Close() })
		return fk, srv.URL + "/"
	}
	var janeURL string
	f.plat, f.platURL = serve(platToken, "example/platform")
	f.jane, janeURL = serve(janeToken, "janecorp/reliability")
	t.Setenv("PM_TEST_PLAT_TOKEN", platToken)
	t.Setenv("PM_TEST_JANE_TOKEN", janeToken)
	f.config = f.writeConfig(t, "pmsync.db", janeURL)
	return f
}

func (f *syncFixture) writeConfig(t *testing.T, dbName, janeURL string) string {
	t.Helper()
	yaml := fmt.Sprintf(`store:
  path: %s
platform:
  name: Example Cloud
  tracker:
    kind: github
    url: %s
    project: example/platform
    auth:
      token_env: PM_TEST_PLAT_TOKEN
customers:
  - id: janecorp
    name: JaneCorp
    tracker:
      kind: github
      url: %s
      project: janecorp/reliability
      auth:
        token_env: PM_TEST_JANE_TOKEN
`, filepath.Join(f.dir, dbName), f.platURL, janeURL)
	p := filepath.Join(f.dir, strings.TrimSuffix(dbName, ".db")+".yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// openItem creates a platform issue as a person would.
func (f *syncFixture) openItem(t *testing.T, title string, labels ...string) {
	t.Helper()
	c, err := github.New(connectors.Config{ID: "person", URL: f.platURL, Project: "example/platform", Token: platToken},
		github.Options{CreatesPerMinute: 1e6})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(context.Background(), "", &connectors.Item{Title: title, Status: connectors.StatusOpen, Labels: labels}); err != nil {
		t.Fatal(err)
	}
}

func TestSyncOnceCommand(t *testing.T) {
	f := newSyncFixture(t)
	f.openItem(t, "Add uncached-read latency tests", "postmortem-action", "customer:janecorp", "P1")
	f.openItem(t, "Internal only", "postmortem-action")

	code, out, errOut := runPmsync(t, "--config", f.config, "sync", "--once", "--dry-run")
	if code != ExitOK {
		t.Fatalf("sync --once --dry-run: exit %d, stderr:\n%s", code, errOut)
	}
	if !strings.Contains(out, "would write 1 change") || !strings.Contains(out, "tracker janecorp") {
		t.Errorf("dry-run output:\n%s", out)
	}
	if n := f.jane.Writes(); n != 0 {
		t.Fatalf("dry run made %d write requests to the customer, want 0", n)
	}

	code, out, errOut = runPmsync(t, "--config", f.config, "sync", "--once")
	if code != ExitOK {
		t.Fatalf("sync --once: exit %d, stderr:\n%s", code, errOut)
	}
	if !strings.Contains(out, "wrote 1 change") || f.jane.Count() != 1 {
		t.Errorf("sync --once wrote %d items; output:\n%s", f.jane.Count(), out)
	}
	code, out, _ = runPmsync(t, "--config", f.config, "sync", "--once")
	if code != ExitOK || !strings.Contains(out, "wrote 0 changes") {
		t.Errorf("second pass: exit %d, output:\n%s", code, out)
	}
	assertNoSecrets(t, out, errOut)
	for _, tok := range []string{platToken, janeToken} {
		if strings.Contains(out+errOut, tok) {
			t.Errorf("output holds a token")
		}
	}

	code, out, errOut = runPmsync(t, "--config", f.config, "status")
	if code != ExitOK || !strings.Contains(out, "janecorp") || !strings.Contains(out, "stored") {
		t.Errorf("status: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = runPmsync(t, "--config", f.config, "status", "--json")
	if code != ExitOK || !strings.Contains(out, `"links": 1`) || !strings.Contains(out, `"open_critical": 1`) {
		t.Errorf("status --json: exit %d\n%s", code, out)
	}
	if code, _, _ := runPmsync(t, "--config", f.config, "sync"); code != ExitUsage {
		t.Errorf("sync without --once: exit %d, want %d", code, ExitUsage)
	}
}

func TestStoreCommands(t *testing.T) {
	f := newSyncFixture(t)
	f.openItem(t, "Page on regional latency SLO", "postmortem-action", "customer:janecorp")
	if code, _, errOut := runPmsync(t, "--config", f.config, "sync", "--once"); code != ExitOK {
		t.Fatalf("sync: exit %d\n%s", code, errOut)
	}
	code, out, errOut := runPmsync(t, "--config", f.config, "store", "check")
	if code != ExitOK || !strings.Contains(out, "1 links") {
		t.Errorf("store check: exit %d\n%s%s", code, out, errOut)
	}
	backup := filepath.Join(f.dir, "backup.db")
	if code, _, errOut := runPmsync(t, "--config", f.config, "store", "backup", backup); code != ExitOK {
		t.Fatalf("store backup: exit %d\n%s", code, errOut)
	}
	db, err := store.Open(backup, store.Options{})
	if err != nil {
		t.Fatalf("open backup: %v", err)
	}
	if ls, err := db.Links("janecorp"); err != nil || len(ls) != 1 {
		t.Errorf("backup holds %d links (err %v), want 1", len(ls), err)
	}
	_ = db.Close()

	// The store is lost: rebuild a new one from the markers.
	janeURL := strings.TrimSuffix(f.configValue(t, "janecorp"), "\n")
	lost := f.writeConfig(t, "rebuilt.db", janeURL)
	code, out, errOut = runPmsync(t, "--config", lost, "store", "rebuild")
	if code != ExitOK || !strings.Contains(out, "rebuilt 1 links") || !strings.Contains(errOut, "1/1 mirrors") {
		t.Fatalf("store rebuild: exit %d\n%s\n%s", code, out, errOut)
	}
	before := f.jane.Writes()
	if code, out, _ := runPmsync(t, "--config", lost, "sync", "--once"); code != ExitOK || !strings.Contains(out, "wrote 0 changes") {
		t.Errorf("sync after rebuild: exit %d\n%s", code, out)
	}
	if f.jane.Writes() != before {
		t.Errorf("sync after rebuild wrote to the customer")
	}
}

// configValue returns the url of a customer's tracker in the fixture's
// configuration.
func (f *syncFixture) configValue(t *testing.T, customer string) string {
	t.Helper()
	b, err := os.ReadFile(f.config)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(b), "id: "+customer)
	_, rest, _ = strings.Cut(rest, "url: ")
	u, _, _ := strings.Cut(rest, "\n")
	return u
}
