package testkit

// A real browser for the tests that drive the web pages: Debian's headless chromium, through
// chromedp.

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian's chromium package puts the browser.
const ChromiumPath = "/usr/bin/chromium"

// NeedChromium fails the test, never skips it, when chromium is not installed.
func NeedChromium(tb testing.TB) {
	tb.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		tb.Fatalf("the browser test needs Debian's chromium at %s (%v): run `apt-get install -y chromium` (scripts/test.sh does)", ChromiumPath, err)
	}
}

// Browser starts headless chromium with a fresh profile, a window of width×height, nothing that
// talks to the network on its own, and no throttling of background tabs (tests keep several on
// screen). It returns the browser's context, already started, and stop, which closes the browser;
// stop may be called more than once and is called when the test ends.
func Browser(tb testing.TB, width, height int) (browser context.Context, stop func()) {
	tb.Helper()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(ChromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.WindowSize(width, height),
	)
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	var once sync.Once
	stop = func() { once.Do(func() { cancelBrowser(); cancelAlloc() }) }
	tb.Cleanup(stop)
	if err := chromedp.Do(browser); err != nil { // starts the browser, with no deadline
		stop()
		tb.Fatalf("starting %s: %v", ChromiumPath, err)
	}
	return browser, stop
}
