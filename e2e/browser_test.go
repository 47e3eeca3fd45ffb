package e2e

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// startBrowser starts Debian's headless chromium with a fresh profile, nothing that talks to the
// network on its own, and no throttling of background tabs (tests keep several on screen). It
// returns the browser's context, already started, and stop, which closes the browser; stop may be
// called more than once and is called when the test ends.
func startBrowser(t *testing.T, width, height int) (browser context.Context, stop func()) {
	t.Helper()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
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
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	var once sync.Once
	stop = func() { once.Do(func() { cancelBrowser(); cancelAlloc() }) }
	t.Cleanup(stop)
	if err := chromedp.Do(browser); err != nil { // starts the browser, with no deadline
		stop()
		t.Fatalf("starting %s: %v", chromiumPath, err)
	}
	return browser, stop
}

// clickUntil clicks sel until js holds: a real click can miss while the page is still moving (a
// long reply scrolled into view), and this one may safely be repeated.
func (p *pageDriver) clickUntil(sel, what, js string) {
	p.t.Helper()
	deadline := time.Now().Add(waitWithin)
	for {
		p.click(sel)
		for settle := time.Now().Add(2 * time.Second); time.Now().Before(settle); time.Sleep(waitEvery) {
			if ok, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](js)); err == nil && ok {
				return
			}
		}
		if time.Now().After(deadline) {
			p.waitJS(what, js) // fails with the widget's state
			return
		}
	}
}

// pollJS re-evaluates a JavaScript boolean in ctx every waitEvery until it is true, failing the
// test after waitWithin with dump: what the page shows.
func pollJS(t *testing.T, ctx context.Context, what, js string, dump func() string) {
	t.Helper()
	deadline := time.Now().Add(waitWithin)
	var lastErr error
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		lastErr = err
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("waiting for %s: not within %v (last error: %v)\n%s", what, waitWithin, lastErr, dump())
		}
		time.Sleep(waitEvery)
	}
}
