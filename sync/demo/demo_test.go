package demo

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pmsync/pmsync/sync/dashboard/browsertest"
)

// TestScriptOnly is `pmsync demo --script-only`: the whole story against
// the three simulators must reach every expected state.
func TestScriptOnly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, logs bytes.Buffer
	err := Run(ctx, Options{Out: &out, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Listen: "127.0.0.1:0", Dir: t.TempDir()}, true)
	if err != nil {
		t.Logf("story:\n%s\nlog:\n%s", out.String(), logs.String())
		t.Fatalf("Run: %v", err)
	}
	for _, want := range []string{"8. Nobody has closed", "Every expected state was reached", "Action-item digest: JaneCorp", TitlePaging} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("story output lacks %q", want)
		}
	}
	for _, leak := range []string{"storage-frontend-7", "cache node 7", githubToken, gitlabToken, jiraToken, hookSecret} {
		if strings.Contains(out.String(), leak) || strings.Contains(logs.String(), leak) {
			t.Errorf("the demo's output or log contains %q", leak)
		}
	}
}

// TestPlayNamesFirstUnmetExpectation: a step whose state is never reached
// fails the story with its number and expectation, and later steps do not
// run.
func TestPlayNamesFirstUnmetExpectation(t *testing.T) {
	d := &Demo{opts: Options{Out: &bytes.Buffer{}, StepTimeout: 200 * time.Millisecond}}
	ran := false
	steps := []step{
		{Say: "nothing happens", Expect: "the first thing", Check: func(context.Context) error { return nil }},
		{Say: "still nothing", Expect: "the impossible", Check: func(context.Context) error { return errors.New("never") }},
		{Say: "too late", Act: func(context.Context) error { ran = true; return nil }, Expect: "x", Check: func(context.Context) error { return nil }},
	}
	err := d.play(context.Background(), steps)
	if err == nil || !strings.Contains(err.Error(), "step 2: expected: the impossible") || !strings.Contains(err.Error(), "never") {
		t.Errorf("play: got %v, want an error naming step 2, its expectation and the last check", err)
	}
	if ran {
		t.Errorf("a step after the failed one ran")
	}
}

// TestDashboardBrowserDemo loads the dashboard of the demo's real daemon
// after the story in Chromium, at laptop and phone widths.
func TestDashboardBrowserDemo(t *testing.T) {
	browsertest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	d, err := Start(ctx, Options{Listen: "127.0.0.1:0", Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer d.Close()
	if err := d.Play(ctx); err != nil {
		t.Fatalf("Play: %v", err)
	}
	for _, c := range browsertest.CheckInBrowser(t, d.URL(), browsertest.ScreenshotDir(), "dashboard-demo") {
		for _, want := range []string{
			"JaneCorp", "Acme Analytics", "Incident INC-2041", "ready",
			TitleTests, TitlePaging, TitleDocs, TitleDashboard, TitleDrill,
			"done", "in progress", "open", "overdue", "PLAT-1", "janecorp/reliability#", "acme/ops#",
		} {
			if !strings.Contains(c.Text, want) {
				t.Errorf("%s: dashboard text lacks %q", c.Viewport.Name, want)
			}
		}
		if strings.Contains(c.Text, "not ready") {
			t.Errorf("%s: dashboard says not ready after the story", c.Viewport.Name)
		}
	}
}
