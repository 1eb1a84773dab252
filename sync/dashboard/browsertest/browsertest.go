// Package browsertest loads pmsync's dashboard in headless Chromium
// (Debian's /usr/bin/chromium, driven by chromedp) for tests: it checks the
// page at a laptop and a phone width and saves full-page screenshots. It
// is used only by tests, and only when PMSYNC_BROWSER_TEST=1 (make
// browser).
package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// BrowserEnv turns on TestDashboardBrowser (make browser sets it).
const BrowserEnv = "PMSYNC_BROWSER_TEST"

// ArtifactsEnv names the directory screenshots are written to; by
// default testdata/screenshots (git-ignored).
const ArtifactsEnv = "PMSYNC_ARTIFACTS"

// ChromiumPath is Debian's chromium, which .ci/run installs.
const ChromiumPath = "/usr/bin/chromium"

// Viewport is a browser window size to check the page at.
type Viewport struct {
	Name          string
	Width, Height int64
	Mobile        bool
}

// Viewports are a laptop screen and a phone.
var Viewports = []Viewport{{"desktop", 1366, 900, false}, {"phone", 390, 844, true}}

// BrowserCheck is what CheckInBrowser found at one viewport.
type BrowserCheck struct {
	Viewport   Viewport
	Text       string // the page's visible text
	Screenshot string // path of the full-page PNG
	// TableHeadVisible reports whether the items table head is shown
	// (tables on a laptop, cards on a phone).
	TableHeadVisible bool
	// ScrollWidth is the document's width; on a phone it must not exceed
	// the viewport (no sideways scrolling).
	ScrollWidth int64
}

// CheckInBrowser loads url in headless Chromium at every viewport, waits
// for the page, and returns its text and a full-page screenshot saved under
// dir, logging each path.
func CheckInBrowser(t *testing.T, url, dir, prefix string) []BrowserCheck {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("create screenshot directory: %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(ChromiumPath),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	var out []BrowserCheck
	for _, vp := range Viewports {
		emulate := chromedp.EmulateViewport(vp.Width, vp.Height)
		if vp.Mobile {
			emulate = chromedp.EmulateViewport(vp.Width, vp.Height, chromedp.EmulateScale(2), chromedp.EmulateMobile)
		}
		if err := chromedp.Do(bctx, emulate, chromedp.Navigate(url), chromedp.WaitVisible("#readiness")); err != nil {
			t.Fatalf("%s: load %s: %v", vp.Name, url, err)
		}
		c := BrowserCheck{Viewport: vp}
		var err error
		if c.Text, err = chromedp.Run(bctx, chromedp.Text("body")); err != nil {
			t.Fatalf("%s: read page text: %v", vp.Name, err)
		}
		if c.TableHeadVisible, err = chromedp.Run(bctx, chromedp.Evaluate[bool](
			`(() => { const h = document.querySelector("table.items thead"); return !!h && getComputedStyle(h).display !== "none"; })()`)); err != nil {
			t.Fatalf("%s: inspect layout: %v", vp.Name, err)
		}
		if c.ScrollWidth, err = chromedp.Run(bctx, chromedp.Evaluate[int64](`document.documentElement.scrollWidth`)); err != nil {
			t.Fatalf("%s: measure page: %v", vp.Name, err)
		}
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("%s: screenshot: %v", vp.Name, err)
		}
		c.Screenshot = filepath.Join(dir, prefix+"-"+vp.Name+".png")
		if err := os.WriteFile(c.Screenshot, png, 0o644); err != nil {
			t.Fatalf("%s: save screenshot: %v", vp.Name, err)
		}
		abs, _ := filepath.Abs(c.Screenshot)
		t.Logf("%s screenshot (%d×%d): %s", vp.Name, vp.Width, vp.Height, abs)
		out = append(out, c)
	}
	return out
}

// ScreenshotDir is $PMSYNC_ARTIFACTS, else testdata/screenshots.
func ScreenshotDir() string {
	if d := os.Getenv(ArtifactsEnv); d != "" {
		return d
	}
	return filepath.Join("testdata", "screenshots")
}

// Require skips t unless PMSYNC_BROWSER_TEST=1; with it set, a
// missing Chromium is a failure, not a skip.
func Require(t *testing.T) {
	t.Helper()
	if os.Getenv(BrowserEnv) != "1" {
		t.Skipf("set %s=1 (make browser) to run the headless-Chromium test", BrowserEnv)
	}
	if _, err := os.Stat(ChromiumPath); err != nil {
		t.Fatalf("%s=1 but %s is missing (apt-get install chromium): %v", BrowserEnv, ChromiumPath, err)
	}
}
