package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

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

// docShots are the screenshots docs/screenshots holds (README shows them). A run with
// HOTLINE_SCREENSHOTS=DIR writes them there as well as to the temporary directory:
//
//	HOTLINE_SCREENSHOTS=$PWD/docs/screenshots go test ./e2e -run 'TestChatWidget|TestWidgetCommunityPicker|TestConsoleHandoff|TestWidgetPhoto|TestDashboard$'
var docShots = map[string]bool{
	"widget-phone.png":        true,
	"widget-desktop.png":      true,
	"widget-picker-phone.png": true,
	"console-chat.png":        true,
	"console-tickets.png":     true,
	"console-photo.png":       true,
	"dashboard-desktop.png":   true,
}

// saveShot writes a screenshot to the temporary directory (for a person to look at after a run)
// and, for the docs' ones, to $HOTLINE_SCREENSHOTS.
func saveShot(t testing.TB, name string, png []byte) {
	t.Helper()
	paths := []string{filepath.Join(os.TempDir(), name)}
	if dir := os.Getenv("HOTLINE_SCREENSHOTS"); dir != "" && docShots[name] {
		paths = append(paths, filepath.Join(dir, name))
	}
	for _, f := range paths {
		if err := os.WriteFile(f, png, 0o644); err != nil {
			t.Errorf("writing the screenshot: %v", err)
		}
	}
	t.Logf("screenshot: %s", paths[len(paths)-1])
}
