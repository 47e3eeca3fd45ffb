package e2e

import (
	"context"
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
