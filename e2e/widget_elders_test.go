package e2e

// The widget for elders and phones (issue "what they meet on a phone"), measured in the page:
// every control at least 44×44 px, no text under 18 px, every text at least 4.5:1 against what is
// behind it, emergency numbers as call buttons, times on messages in one date format, nothing said
// twice by a message and its card, the resolution notice styled as a notice, and the hidden tab's
// title cue. At phone size (390×844, touch) and on a desktop (1280×900).

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/bayannur/hotline/internal/testkit"
)

// measureJS measures the widget as shown: the controls (buttons, call links, text fields) smaller
// than 44×44, the texts (an element's own text, the ::before/::after content the CSS draws, a
// text field's) under 18 px or under 4.5:1 against the background behind them (composited up
// the tree, across the shadow root). Inline links in running text (a phone number in an answer)
// are text, not controls: WCAG 2.5.8 exempts them, and they are measured for contrast.
const measureJS = `(() => {
	const r = document.getElementById('hotline-widget').shadowRoot;
	const shown = e => { const cs = getComputedStyle(e); return e.getClientRects().length > 0 && cs.visibility !== 'hidden'; };
	const name = e => (e.dataset && e.dataset.testid ? '[' + e.dataset.testid + ']' : e.tagName.toLowerCase() + '.' + String(e.className)) +
		' "' + (e.textContent || e.value || '').trim().slice(0, 16) + '"';
	const out = {controls: 0, texts: 0, small: [], fonts: [], contrast: [], worst: 99};
	for (const e of r.querySelectorAll('button, a.call, a.s-link, textarea, input:not([type=file]), select')) {
		if (!shown(e)) continue;
		out.controls++;
		const b = e.getBoundingClientRect();
		if (b.width < 43.5 || b.height < 43.5) out.small.push(name(e) + ' ' + b.width.toFixed(1) + '×' + b.height.toFixed(1));
	}
	const parse = c => { const m = /rgba?\(([^)]+)\)/.exec(c); if (!m) return null;
		const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
	const over = (t, u) => ({r: t.r * t.a + u.r * (1 - t.a), g: t.g * t.a + u.g * (1 - t.a), b: t.b * t.a + u.b * (1 - t.a), a: 1});
	const up = n => n.parentElement || (n.getRootNode && n.getRootNode().host) || null;
	const background = (e, own) => {
		const layers = own ? [own] : [];
		for (let n = e; n && !(layers.length && layers[layers.length - 1].a >= 1); n = up(n)) {
			const c = parse(getComputedStyle(n).backgroundColor);
			if (c && c.a > 0) layers.push(c);
		}
		let bg = {r: 255, g: 255, b: 255, a: 1};
		for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
		return bg;
	};
	const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
		return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
	const ratio = (x, y) => { const a = lum(x), b = lum(y); return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); };
	const check = (e, pseudo) => {
		const cs = getComputedStyle(e, pseudo || null);
		out.texts++;
		if (parseFloat(cs.fontSize) < 17.99) out.fonts.push(name(e) + (pseudo || '') + ' ' + cs.fontSize);
		let own = pseudo ? parse(cs.backgroundColor) : null;
		if (own && own.a === 0) own = null;
		const bg = background(e, own);
		const fg = parse(cs.color);
		const k = ratio(over(fg, bg), bg);
		out.worst = Math.min(out.worst, k);
		if (k < 4.5) out.contrast.push(name(e) + (pseudo || '') + ' ' + cs.color + ' on ' + JSON.stringify(bg) + ' = ' + k.toFixed(2));
	};
	for (const e of r.querySelectorAll('*')) {
		if (e.tagName === 'STYLE' || !shown(e)) continue;
		if ([...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim() !== '') || e.tagName === 'TEXTAREA') check(e);
		for (const p of ['::before', '::after']) {
			const c = getComputedStyle(e, p).content;
			if (c && c !== 'none' && c !== 'normal' && c !== '""' && c !== "''") check(e, p);
		}
	}
	return JSON.stringify(out);
})()`

type measured struct {
	Controls, Texts        int
	Small, Fonts, Contrast []string
	Worst                  float64
}

func measure(t *testing.T, p *residentTab, where string) {
	t.Helper()
	var m measured
	if err := json.Unmarshal([]byte(p.evalString(measureJS)), &m); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d controls, %d texts, lowest contrast %.2f", where, m.Controls, m.Texts, m.Worst)
	if m.Controls < 10 || m.Texts < 20 {
		t.Errorf("%s: only %d controls and %d texts measured", where, m.Controls, m.Texts)
	}
	for _, s := range m.Small {
		t.Errorf("%s: a control under 44×44: %s", where, s)
	}
	for _, s := range m.Fonts {
		t.Errorf("%s: text under 18px: %s", where, s)
	}
	for _, s := range m.Contrast {
		t.Errorf("%s: contrast under 4.5: %s", where, s)
	}
}

// resolveByAPI moves a ticket to resolved with reply as the result, as an operator would.
func resolveByAPI(t *testing.T, op *dashStaff, number, reply string) {
	t.Helper()
	for step := 0; ; step++ {
		tk := op.ticket(number)
		if tk.Status == "resolved" {
			return
		}
		if step == 5 {
			t.Fatalf("ticket %s is %s after %d actions", number, tk.Status, step)
		}
		switch tk.Status {
		case "received", "returned":
			op.act(number, "dispatch", nil)
		case "dispatched":
			op.act(number, "sign", nil)
		case "signed", "in_progress":
			op.act(number, "resolve", map[string]any{"note": reply})
		default:
			t.Fatalf("ticket %s: unexpected status %q", number, tk.Status)
		}
	}
}

var touch = chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
	_, err := cdp.Call(ctx, tg, emulation.SetTouchEmulationEnabled, emulation.SetTouchEmulationEnabledParams{Enabled: true, MaxTouchPoints: 5})
	return err
})

func TestWidgetForElders(t *testing.T) {
	testkit.NeedChromium(t)
	data := filepath.Join(t.TempDir(), "data")
	addStaff(t, data, "operator", "op1")
	addr := testkit.FreeAddr(t)
	base := "http://" + addr
	srv := testkit.Serve(t, addr, nil, "--addr", addr, "--data", data)
	srv.WaitReady(t, 60*time.Second)
	d := &deskEnv{t: t, srv: srv, base: base, browser: surveyBrowser(t)}
	defer d.finish()
	h := &dashHotline{t: t, data: data, base: base, srv: srv}
	op := h.login("op1", staffPassword)

	// ---- a phone ----
	res := d.resident()
	res.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	res.do(touch)
	openWidget(res, base)

	// The greeting's emergency numbers are buttons that call.
	res.waitJS("the greeting's call buttons", `(() => { const g = `+root+`.querySelector('[data-testid=msg][data-greeting]');
		const hrefs = g ? [...g.querySelectorAll('a[data-testid=call]')].map(a => a.getAttribute('href')) : [];
		return hrefs.join(' ') === 'tel:119 tel:120 tel:110'; })()`)
	// No Enter-key hint on a touch screen.
	if shown := res.evalString(`String(` + root + `.querySelector('[data-testid=hint]').getClientRects().length > 0)`); shown != "false" {
		t.Errorf("the Enter/Shift+Enter hint shows on a phone")
	}

	// An answer (👍/👎, 更多), a report to its ticket, its resolution (the notice, the survey).
	before := res.state().count("bot")
	res.say("低保咋申请", true)
	res.waitReply(before)
	number, code := reportByWidget(res, "虹亚小区3号楼门口的路灯坏了", "虹亚小区3号楼", "13812345678")
	const resolution = "路灯已于今天下午修好，是线路老化，已更换。"
	resolveByAPI(t, op, number, resolution)
	notice := `[...` + root + `.querySelectorAll('[data-testid=msg][data-notice]')].find(m => m.textContent.includes(` + jsString(resolution) + `))`
	res.waitJS("the resolution notice", "!!"+notice)
	res.waitJS("the survey card", `!!`+root+`.querySelector('[data-testid=survey-card][data-number="`+number+`"]')`)
	// The notice is a notice: left-aligned on its own background at the full size, and says the
	// result once (not again in its card).
	got := res.evalString(`(() => { const m = ` + notice + `, b = m.querySelector('.bubble'), cs = getComputedStyle(b);
		return [cs.textAlign, cs.fontSize, cs.backgroundColor, m.textContent.split(` + jsString(resolution) + `).length - 1].join('|'); })()`)
	if parts := strings.Split(got, "|"); len(parts) != 4 || parts[0] != "left" || parts[1] != "18px" || parts[2] == "rgba(0, 0, 0, 0)" || parts[3] != "1" {
		t.Errorf("the resolution notice: align, size, background, times the result is said = %s; want left, 18px, a colour, 1", got)
	}

	// The status, looked up: its steps once (in the card), in the one date format.
	before = res.state().count("bot")
	res.say("查一下我的工单进度", true)
	res.waitReply(before)
	before = res.state().count("bot")
	res.say(number+" "+code, true)
	res.waitReply(before)
	res.waitJS("the status reply", "!!"+root+".querySelector('[data-testid=msg][data-from=bot][data-decision=status] [data-testid=ticket]')")
	status := `[...` + root + `.querySelectorAll('[data-testid=msg][data-from=bot][data-decision=status]')].pop()`
	text := res.evalString(`(() => { const m = ` + status + `; const b = m.querySelector('.bubble').cloneNode(true);
		b.querySelectorAll('[data-testid=ticket]').forEach(c => c.remove()); return b.textContent; })()`)
	card := res.evalString(status + `.querySelector('[data-testid=ticket]').textContent`)
	dateRe := regexp.MustCompile(`\d{1,2}月\d{1,2}日 \d{2}:\d{2}`)
	if !strings.Contains(text, number) || dateRe.MatchString(text) || strings.Contains(text, resolution) {
		t.Errorf("the status text %q repeats the card's steps or result (or lacks the number)", text)
	}
	if len(dateRe.FindAllString(card, -1)) < 2 || !strings.Contains(card, resolution) {
		t.Errorf("the status card %q lacks its steps (12月9日 14:30) or the result", card)
	}
	if slash := regexp.MustCompile(`\d{1,2}/\d{1,2}`); slash.MatchString(text + card) {
		t.Errorf("a date written 12/9: %q %q", text, card)
	}
	// Every message but the greeting has its time: HH:MM today, or 12月9日 HH:MM.
	if bad := res.evalString(`[...` + root + `.querySelectorAll('[data-testid=msg]:not([data-greeting]):not([data-survey])')]
		.filter(m => { const t = m.querySelector('[data-testid=time]'); return !t || !/^(\d{1,2}月\d{1,2}日 )?\d{2}:\d{2}$/.test(t.dataset.time); })
		.map(m => m.dataset.from + ': ' + m.textContent.slice(0, 20)).join('; ')`); bad != "" {
		t.Errorf("messages without a time: %s", bad)
	}

	// An emergency: a full-width call button for each number.
	before = res.state().count("bot")
	res.say("楼道里着火了，好大的烟", true)
	res.waitReply(before)
	calls := res.evalString(`(() => { const m = [...` + root + `.querySelectorAll('[data-testid=msg][data-decision=emergency]')].pop();
		if (!m) return 'no emergency reply';
		const bubble = m.querySelector('.bubble').getBoundingClientRect();
		return [...m.querySelectorAll('a[data-testid=call]')].map(a => { const b = a.getBoundingClientRect();
			return a.getAttribute('href') + (b.height >= 44 && b.width >= bubble.width - 40 ? '' : ' too small ' + b.width + '×' + b.height); }).join(' '); })()`)
	// A fire's reply names 119 (火警) and 120 (急救) first: both are buttons.
	for _, want := range []string{"tel:119", "tel:120"} {
		if !strings.Contains(calls, want) {
			t.Errorf("the emergency card's call buttons %q lack %s", calls, want)
		}
	}
	if strings.Contains(calls, "too small") || strings.Contains(calls, "no emergency") {
		t.Errorf("emergency call buttons: %s", calls)
	}

	measure(t, res, "phone")
	res.click("[data-testid=large]")
	res.waitJS("大字", `getComputedStyle(`+root+`.querySelector('[data-testid=panel]')).fontSize === '22px'`)
	measure(t, res, "phone, 大字")
	res.click("[data-testid=large]")
	res.screenshot(filepath.Join(t.TempDir(), "elders-phone.png"), "/tmp/widget-elders-phone.png")

	// A reply while the tab is hidden: "(1) 新消息" in the title, gone once it is seen.
	title := res.evalString(`document.title`)
	res.do(chromedp.Evaluate[chromedp.Void](`(() => {
		Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
		Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
		document.dispatchEvent(new Event('visibilitychange')); })()`))
	before = res.state().count("bot")
	res.say("低保咋申请", true)
	res.waitReply(before)
	res.waitJS("the title cue", `document.title === '(1) 新消息 - ' + `+jsString(title))
	res.do(chromedp.Evaluate[chromedp.Void](`(() => {
		Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'visible'});
		Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});
		document.dispatchEvent(new Event('visibilitychange')); })()`))
	res.waitJS("the title back", `document.title === `+jsString(title))

	// ---- a desktop: the same conversation in another tab ----
	session := res.evalString(`localStorage.getItem('hotline.session') || ''`)
	desk := d.resident()
	desk.do(chromedp.Navigate(base + "/"))
	desk.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`localStorage.setItem('hotline.session', %s)`, jsString(session))))
	openWidget(desk, base)
	desk.waitState("the history", func(s *chatState) bool { return s.has("bot", number) })
	desk.waitJS("the hint on a desktop, at full size", `(() => { const h = `+root+`.querySelector('[data-testid=hint]');
		return h.getClientRects().length > 0 && getComputedStyle(h).fontSize === '18px'; })()`)
	measure(t, desk, "desktop")
	desk.screenshot(filepath.Join(t.TempDir(), "elders-desktop.png"), "/tmp/widget-elders-desktop.png")
}

// TestWidgetQueueFrames plays the desk's queue frames the server does not send yet (see
// docs/protocol.md): the widget shows the place in the queue, and that nobody is on duty with the
// ticket offer; without them it shows only that it is waiting.
func TestWidgetQueueFrames(t *testing.T) {
	p := fakeWidget(t)
	p.emit(`{"type":"welcome","session":"s1","resumed":false,"history":[]}`)
	p.emit(`{"type":"handoff","state":"waiting","text":"正在为您转接人工客服"}`)
	p.waitJS("waiting, no place", root+`.querySelector('[data-testid=agent-status]').textContent === '正在为您转接人工客服…'`)
	p.emit(`{"type":"queue","position":3,"online":2}`)
	p.waitJS("the place in the queue", root+`.querySelector('[data-testid=agent-status]').textContent.includes('您前面还有 3 位')`)
	p.emit(`{"type":"handoff","state":"waiting","position":0,"online":1}`)
	p.waitJS("next", root+`.querySelector('[data-testid=agent-status]').textContent.includes('马上就到您了')`)
	p.emit(`{"type":"queue","online":0,"options":[{"id":"handoff_ticket","label":"登记成工单"},{"id":"keep_bot","label":"继续问机器人"}]}`)
	p.waitJS("nobody on duty, with the ticket offer", `(() => { const r = `+root+`;
		return r.querySelector('[data-testid=agent-status]').textContent === '现在没有工作人员在线' &&
			!!r.querySelector('[data-testid=msg][data-queue=nobody] [data-testid=option][data-option-id=handoff_ticket]:not([disabled])'); })()`)
}

// fakePage is the widget on a page of its own with a fake WebSocket (fakeSocketJS): the test plays
// the server.
type fakePage struct {
	*residentTab
}

func fakeWidget(t *testing.T) *fakePage {
	t.Helper()
	testkit.NeedChromium(t)
	widget, err := os.ReadFile(filepath.Join("..", "web", "static", "widget.js"))
	if err != nil {
		t.Fatal(err)
	}
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>社区</title></head>
<body><p>社区页面</p><script src="/widget.js" data-community="wy-jinqiao"></script></body></html>`)
		case "/widget.js":
			w.Header().Set("Content-Type", "application/javascript; charset=utf-8")
			w.Write(widget)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(site.Close)
	d := &deskEnv{t: t, srv: &testkit.Server{}, base: site.URL, browser: surveyBrowser(t)}
	t.Cleanup(d.finish)
	p := d.resident()
	if _, err := chromedp.Call(p.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: fakeSocketJS}); err != nil {
		t.Fatal(err)
	}
	p.do(chromedp.Navigate(site.URL + "/"))
	p.click("[data-testid=launcher]")
	p.waitJS("the hello", `window.__sent.length === 1 && window.__sent[0].type === 'hello'`)
	return &fakePage{p}
}

func (p *fakePage) emit(frame string) {
	p.t.Helper()
	p.do(chromedp.Evaluate[chromedp.Void](`window.__emit(` + frame + `)`))
}

// TestWidgetAsideKeepsTheWait: the bot's numbers to a resident in danger while they wait for an
// operator (a reply marked aside) show with their call buttons and leave the wait as it was; a
// reply that is not an aside means the bot answers again.
func TestWidgetAsideKeepsTheWait(t *testing.T) {
	p := fakeWidget(t)
	p.emit(`{"type":"welcome","session":"s1","resumed":false,"history":[]}`)
	p.emit(`{"type":"handoff","state":"waiting","text":"正在为您转接人工客服"}`)
	waitingJS := root + `.querySelector('[data-testid=agent-status]').textContent === '正在为您转接人工客服…'`
	p.waitJS("waiting", waitingJS)
	p.emit(`{"type":"reply","reply_to":"m1","decision":"emergency","aside":true,"text":"119（火警）、120（急救）：着火了立即打119\n您的话也已转给工作人员。","options":[]}`)
	p.waitJS("the numbers as call buttons", `(() => { const m = [...`+root+`.querySelectorAll('[data-testid=msg][data-from=bot]')].pop();
		return !!m && [...m.querySelectorAll('a[data-testid=call]')].some(a => a.getAttribute('href') === 'tel:119'); })()`)
	if got := p.evalString(`String(` + waitingJS + `)`); got != "true" {
		t.Errorf("after the aside the wait is gone: %s", p.evalString(root+`.querySelector('[data-testid=agent-status]').textContent`))
	}
	p.emit(`{"type":"reply","reply_to":"m2","decision":"smalltalk","text":"您好","options":[]}`)
	p.waitJS("the bot answering again", `!(`+waitingJS+`)`)
}
