package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/bayannur/hotline/internal/testkit"
)

// TestAnswerFoldsOnAPhone: on a phone, 办低保要什么材料 (688 characters before, taller than the
// chat) is answered with a short text that fits the chat; 更多 unfolds the rest — the materials
// among it — in the same bubble, by mouse or keyboard, and 收起 folds it again.
func TestAnswerFoldsOnAPhone(t *testing.T) {
	testkit.NeedChromium(t)
	addr := testkit.FreeAddr(t)
	srv := testkit.Serve(t, addr, nil, "--addr", addr, "--data", filepath.Join(t.TempDir(), "data"))
	srv.WaitReady(t, 60*time.Second)
	base := "http://" + addr

	browser, stop := testkit.Browser(t, 390, 844)
	ctx, cancel := context.WithTimeout(browser, 2*time.Minute)
	defer cancel()
	var exceptions lockedList
	console := chromedp.Console(browser)
	consoleDone := make(chan struct{})
	defer func() { stop(); <-consoleDone }()
	go func() {
		defer close(consoleDone)
		for m, err := range console {
			if err != nil {
				return
			}
			if m.IsException() {
				exceptions.add(m.String())
			}
		}
	}()

	p := &pageDriver{t: t, ctx: ctx, srv: srv}
	p.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	p.do(chromedp.Navigate(base + "/?community=wy-jinqiao"))
	p.waitJS("the widget on the page", `!!(document.getElementById('hotline-widget') && `+root+`.querySelector('[data-testid=launcher]'))`)
	p.click("[data-testid=launcher]")
	p.waitJS("the panel full screen at phone width", `(() => { const r = `+root+`.querySelector('[data-testid=panel]').getBoundingClientRect();
		return r.left === 0 && r.top === 0 && Math.round(r.width) === window.innerWidth && Math.round(r.height) === window.innerHeight; })()`)
	p.waitState("the welcome from GET /ws/chat", func(s *chatState) bool { return len(s.Msgs) > 0 })

	const q = "办低保要什么材料"
	before := p.state().count("bot")
	p.say(q, true)
	p.waitReply(before)

	// The answer: its bubble, the 更多 button, the sections behind it.
	const answer = `[...` + root + `.querySelectorAll('[data-testid=msg][data-from=bot]')].pop()`
	const materials = `(` + answer + `.querySelector('[data-testid=more-section][data-title="材料"]'))`
	visible := func(e string) string { // rendered, and inside the chat's visible part
		return fmt.Sprintf(`(() => { const e = %s, l = %s.querySelector('[data-testid=messages]');
			if (!e || e.getClientRects().length === 0) return false;
			const r = e.getBoundingClientRect(), lr = l.getBoundingClientRect();
			return r.height > 0 && r.bottom > lr.top && r.top < lr.bottom; })()`, e, root)
	}
	p.waitJS("the answer with a folded 更多", `(() => { const m = `+answer+`, b = m && m.querySelector('[data-testid=more]');
		return !!b && b.tagName === 'BUTTON' && b.textContent === '更多' && b.getAttribute('aria-expanded') === 'false' &&
			m.dataset.decision === 'answer' && !!`+materials+` && `+materials+`.getClientRects().length === 0; })()`)
	if !strings.Contains(p.evalString(answer+`.querySelector('.bubble').textContent`), "低保") {
		t.Errorf("the answer does not mention 低保:\n%s", p.state())
	}
	// Folded, the bubble is shorter than the chat: the whole answer is in view at once.
	sizes := p.evalString(`(() => { const b = ` + answer + `.querySelector('.bubble'), l = ` + root + `.querySelector('[data-testid=messages]');
		return Math.round(b.getBoundingClientRect().height) + ' ' + l.clientHeight; })()`)
	var folded, chat int
	fmt.Sscan(sizes, &folded, &chat)
	t.Logf("folded answer %d px, chat %d px", folded, chat)
	if folded <= 0 || chat <= 0 || folded >= chat {
		t.Errorf("the folded answer is %d px tall, the chat %d px: want it shorter than the chat", folded, chat)
	}
	if got := p.evalString(answer + `.querySelector('[data-testid=more]').getAttribute('aria-controls') === ` + answer + `.querySelector('[data-testid=more-body]').id ? 'ok' : 'no'`); got != "ok" {
		t.Errorf("更多 does not name the sections it unfolds (aria-controls)")
	}
	p.screenshot(filepath.Join(t.TempDir(), "answers-fold.png"), "/tmp/answers-fold.png")

	// 更多 with a tap: the sections unfold inside the same bubble, the materials among them.
	p.click("[data-testid=msg][data-from=bot] [data-testid=more]")
	p.waitJS("the sections unfolded", `(() => { const b = `+answer+`.querySelector('[data-testid=more]');
		return b.getAttribute('aria-expanded') === 'true' && b.textContent === '收起' && `+materials+`.getClientRects().length > 0; })()`)
	if got := p.evalString(materials + `.closest('.bubble') === ` + answer + `.querySelector('.bubble') ? 'same' : 'other'`); got != "same" {
		t.Errorf("the sections unfolded outside the answer's bubble")
	}
	text := p.evalString(materials + `.textContent`)
	for _, want := range []string{"材料", "1. 申请人及家庭成员的身份证、户口簿", "5. 签署家庭经济状况核对授权书"} {
		if !strings.Contains(text, want) {
			t.Errorf("the materials read %q, want %q in them", text, want)
		}
	}
	titles := p.evalString(`[...` + answer + `.querySelectorAll('[data-testid=more-section]')].map(s => s.dataset.title).join(',')`)
	if titles != "说明,条件,材料,地点,时间,电话,步骤,时限" {
		t.Errorf("sections %s", titles)
	}
	p.do(chromedp.Evaluate[chromedp.Void](materials + `.scrollIntoView({block: 'start'})`))
	p.waitJS("the materials in view", visible(materials))
	unfolded := 0
	fmt.Sscan(p.evalString(`String(Math.round(`+answer+`.querySelector('.bubble').getBoundingClientRect().height))`), &unfolded)
	if unfolded <= folded {
		t.Errorf("unfolded, the answer is %d px tall; folded %d px", unfolded, folded)
	}
	p.screenshot(filepath.Join(t.TempDir(), "answers-unfold.png"), "/tmp/answers-unfold.png")

	// The keyboard: 收起 with Enter folds, 更多 with Space unfolds again.
	focusMore := chromedp.Evaluate[chromedp.Void](answer + `.querySelector('[data-testid=more]').focus()`)
	p.do(focusMore)
	p.do(chromedp.KeyEvent(kb.Enter))
	p.waitJS("收起 by Enter", `(() => { const b = `+answer+`.querySelector('[data-testid=more]');
		return b.getAttribute('aria-expanded') === 'false' && b.textContent === '更多' && `+materials+`.getClientRects().length === 0 &&
			b.getRootNode().activeElement === b; })()`)
	p.do(focusMore)
	p.do(chromedp.KeyEvent(" "))
	p.waitJS("更多 by Space", `(() => { const b = `+answer+`.querySelector('[data-testid=more]');
		return b.getAttribute('aria-expanded') === 'true' && `+materials+`.getClientRects().length > 0; })()`)
	if v := p.evalString(root + `.querySelector('[data-testid=input]').value`); v != "" {
		t.Errorf("the keys reached the input: %q", v)
	}

	for _, e := range exceptions.all() {
		t.Errorf("in the browser: %s", e)
	}
}
