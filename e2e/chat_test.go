// Package e2e drives the real hotline binary from a real browser: the resident chat widget on the
// demo page, over the WebSocket protocol of docs/protocol.md.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/bayannur/hotline/internal/testkit"
)

// How long a condition in the page may take, and how often it is looked at.
const (
	waitWithin = 15 * time.Second
	waitEvery  = 100 * time.Millisecond
)

// TestChatWidget is a resident's visit to the demo page: a question, a report that becomes a
// ticket, a reload that resumes the conversation, markup typed as text, and a server restart the
// widget reconnects through.
func TestChatWidget(t *testing.T) {
	testkit.NeedChromium(t)
	addr := testkit.FreeAddr(t)
	data := filepath.Join(t.TempDir(), "data")
	srv := testkit.Serve(t, addr, nil, "--addr", addr, "--data", data)
	srv.WaitReady(t, 60*time.Second)
	base := "http://" + addr

	browser, stop := testkit.Browser(t, 1280, 900)
	ctx, cancel := context.WithTimeout(browser, 3*time.Minute)
	defer cancel()

	// Any dialog is a failure (an alert() would mean markup ran); close it so nothing hangs.
	var dialogs atomic.Int32
	var exceptions lockedList
	err := chromedp.Listen(browser, func(ev any) {
		switch ev := ev.(type) {
		case *page.EventJavascriptDialogOpening:
			dialogs.Add(1)
			exceptions.add("dialog: " + ev.Message)
			go chromedp.Call(browser, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	console := chromedp.Console(browser)
	consoleDone := make(chan struct{})
	defer func() { stop(); <-consoleDone }() // no logging after the test
	go func() {
		defer close(consoleDone)
		for m, err := range console {
			if err != nil {
				return
			}
			if m.IsException() {
				exceptions.add(m.String())
			} else if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning {
				t.Logf("browser console: %s", m)
			}
		}
	}()

	p := &pageDriver{t: t, ctx: ctx, srv: srv}
	p.do(chromedp.EmulateViewport(1280, 900))
	p.do(chromedp.Navigate(base + "/?community=wy-jinqiao"))
	p.waitJS("the widget on the page", `!!(document.getElementById('hotline-widget') && document.getElementById('hotline-widget').shadowRoot && `+root+`.querySelector('[data-testid=launcher]'))`)

	// The page's own CSS (buttons hot pink, 40px) must not reach into the widget.
	if bg := p.evalString(root + `.querySelector('[data-testid=launcher]') && getComputedStyle(` + root + `.querySelector('[data-testid=launcher]')).backgroundColor`); bg == "rgb(255, 105, 180)" {
		t.Errorf("the page's button style reached the launcher (background %s)", bg)
	}

	// Open it and ask a question.
	p.click("[data-testid=launcher]")
	p.waitJS("the panel open", root+`.querySelector('[data-testid=panel]').classList.contains('open')`)
	p.waitState("the welcome from GET /ws/chat", func(s *chatState) bool { return len(s.Msgs) > 0 })
	before := p.state().count("bot")
	p.say("低保咋申请", true)
	st := p.waitReply(before)
	if last := st.last("bot"); !strings.Contains(last.Text, "低保") {
		t.Fatalf("the answer to 低保咋申请 does not mention 低保: %q", last.Text)
	}

	// Shift+Enter is a new line, not a send; the counter counts.
	p.focusInput()
	p.do(chromedp.KeyEvent("第一行"))
	p.do(chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierShift)))
	p.do(chromedp.KeyEvent("第二行"))
	p.waitJS("Shift+Enter to add a line", root+`.querySelector('[data-testid=input]').value === "第一行\n第二行" && `+
		root+`.querySelector('[data-testid=counter]').textContent === "7/2000"`)
	if n := p.state().count("resident"); n != 1 {
		t.Fatalf("Shift+Enter sent the message: %d resident messages", n)
	}
	// Over 2,000 characters: the send button is off and the counter says so.
	p.setInput(strings.Repeat("长", 2001))
	p.waitJS("the send button off past 2000 characters", root+`.querySelector('[data-testid=send]').disabled && `+
		root+`.querySelector('[data-testid=counter]').classList.contains('over')`)
	p.setInput("")

	// A report, answered question by question until the ticket.
	const report = "虹亚小区3号楼门口的路灯坏了"
	before = p.state().count("bot")
	p.say(report, false)
	ticketRe := regexp.MustCompile(`\d{8}-\d{4}`)
	var ticket string
	for step := 0; ticket == "" && step < 6; step++ {
		st = p.waitReply(before)
		last := st.last("bot")
		if m := ticketRe.FindString(last.Text); m != "" {
			if !strings.Contains(last.Ticket, m) {
				t.Errorf("the ticket reply %q has no ticket card with %s (card %q)", last.Text, m, last.Ticket)
			}
			ticket = m
			break
		}
		before = st.count("bot")
		question := last.Text
		if i := strings.LastIndex(question, "\n\n"); i >= 0 {
			question = question[i+2:]
		}
		switch {
		case slices.Contains(st.Options, "confirm"):
			p.click(`[data-testid=option][data-option-id=confirm]:not([disabled])`)
		case strings.Contains(question, "地点"):
			p.say("虹亚小区3号楼", false)
		case strings.Contains(question, "电话"):
			p.say("13812345678", false)
		default:
			t.Fatalf("unexpected step in the report: %q (options %v)", last.Text, st.Options)
		}
	}
	if ticket == "" {
		t.Fatalf("no ticket number after the report:\n%s", p.state())
	}
	session := p.evalString(`localStorage.getItem('hotline.session') || ''`)
	if session == "" {
		t.Fatal("the widget kept no session in localStorage (hotline.session)")
	}

	// 大字: a larger font, remembered across the reload below.
	p.click("[data-testid=large]")
	p.waitJS("大字 on", `getComputedStyle(`+root+`.querySelector('[data-testid=panel]')).fontSize === '22px' && localStorage.getItem('hotline.largeText') === '1'`)

	// A reload resumes the conversation with its history.
	p.do(chromedp.Reload())
	p.waitJS("the widget after the reload", `!!(document.getElementById('hotline-widget') && `+root+`.querySelector('[data-testid=launcher]'))`)
	p.click("[data-testid=launcher]")
	st = p.waitState("the history after the reload", func(s *chatState) bool {
		return s.has("resident", "低保咋申请") && s.has("resident", report) && s.has("bot", ticket)
	})
	if got := p.evalString(`localStorage.getItem('hotline.session') || ''`); got != session {
		t.Errorf("the session changed across the reload: %q, then %q", session, got)
	}
	if fs := p.evalString(`getComputedStyle(` + root + `.querySelector('[data-testid=panel]')).fontSize`); fs != "22px" {
		t.Errorf("大字 not remembered across the reload: font size %s", fs)
	}
	p.click("[data-testid=large]")
	p.waitJS("大字 off", `getComputedStyle(`+root+`.querySelector('[data-testid=panel]')).fontSize === '18px'`)

	// Markup typed by a resident is text, in the widget and in the history.
	const markup = `<img src=x onerror=alert(1)>`
	before = st.count("bot")
	p.say(markup, true)
	st = p.waitReply(before)
	if last := st.last("resident"); last.Text != markup {
		t.Errorf("the resident's message reads %q, want %q", last.Text, markup)
	}
	p.noMarkup(&dialogs)

	// A server restart: the widget says so, reconnects with backoff and resumes.
	srv.Stop(t)
	p.waitJS("the widget to notice the restart", root+`.querySelector('[data-testid=status]').textContent.includes('连接中断，正在重新连接')`)
	srv = testkit.Serve(t, addr, nil, "--addr", addr, "--data", data)
	p.srv = srv
	// The chat reconnects as soon as the server listens, before the bot is trained, and says so
	// for a few seconds: watch for it first, then wait for the bot.
	st = p.waitState("the reconnection", func(s *chatState) bool {
		return strings.Contains(s.Status, "已重新连接") && s.has("bot", ticket) && s.hasExact("resident", markup)
	})
	srv.WaitReady(t, 60*time.Second)
	p.noMarkup(&dialogs)
	before = st.count("bot")
	p.say("网格员电话多少", false)
	p.waitReply(before)

	// Pictures for a person to look at: desktop, then phone width (the panel is the whole screen).
	shots := t.TempDir()
	p.do(chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	p.screenshot(filepath.Join(shots, "widget-desktop.png"), "/tmp/widget-desktop.png")
	p.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	p.waitJS("the panel full screen at phone width", `(() => { const r = `+root+`.querySelector('[data-testid=panel]').getBoundingClientRect();
		return r.left === 0 && r.top === 0 && Math.round(r.width) === window.innerWidth && Math.round(r.height) === window.innerHeight; })()`)
	p.screenshot(filepath.Join(shots, "widget-phone.png"), "/tmp/widget-phone.png")

	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d JavaScript dialogs opened", n)
	}
	for _, e := range exceptions.all() {
		t.Errorf("in the browser: %s", e)
	}
}

// root is the widget's shadow root, in the page's JavaScript.
const root = `document.getElementById('hotline-widget').shadowRoot`

// stateJS reads what the widget shows.
const stateJS = `(() => {
	const host = document.getElementById('hotline-widget');
	const r = host && host.shadowRoot;
	if (!r || !r.querySelector('[data-testid=messages]')) return null;
	return {
		msgs: [...r.querySelectorAll('[data-testid=msg]')].map(m => ({
			from: m.dataset.from || '',
			text: m.textContent,
			error: m.dataset.error || '',
			ticket: (m.querySelector('[data-testid=ticket]') || {}).textContent || '',
		})),
		options: [...r.querySelectorAll('[data-testid=option]:not([disabled])')].map(b => b.dataset.optionId),
		status: r.querySelector('[data-testid=status]').textContent,
		typing: r.querySelector('[data-testid=typing]').classList.contains('on'),
	};
})()`

type chatMsg struct {
	From   string `json:"from"`
	Text   string `json:"text"`
	Error  string `json:"error"`
	Ticket string `json:"ticket"`
}

type chatState struct {
	Msgs    []chatMsg `json:"msgs"`
	Options []string  `json:"options"`
	Status  string    `json:"status"`
	Typing  bool      `json:"typing"`
}

func (s *chatState) count(from string) int {
	n := 0
	for _, m := range s.Msgs {
		if m.From == from {
			n++
		}
	}
	return n
}

func (s *chatState) last(from string) chatMsg {
	for i := len(s.Msgs) - 1; i >= 0; i-- {
		if s.Msgs[i].From == from {
			return s.Msgs[i]
		}
	}
	return chatMsg{}
}

func (s *chatState) has(from, part string) bool {
	return slices.ContainsFunc(s.Msgs, func(m chatMsg) bool { return m.From == from && strings.Contains(m.Text, part) })
}

func (s *chatState) hasExact(from, text string) bool {
	return slices.ContainsFunc(s.Msgs, func(m chatMsg) bool { return m.From == from && m.Text == text })
}

func (s *chatState) String() string {
	if s == nil {
		return "(no widget)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "status %q, options %v, typing %v\n", s.Status, s.Options, s.Typing)
	for _, m := range s.Msgs {
		fmt.Fprintf(&b, "  [%s %s] %q\n", m.From, m.Error, m.Text)
	}
	return b.String()
}

// pageDriver runs actions on the tab and fails the test with what the widget showed.
type pageDriver struct {
	t   *testing.T
	ctx context.Context
	srv *testkit.Server
}

func (p *pageDriver) do(a chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, a); err != nil {
		p.t.Fatalf("browser: %v\nserver output:\n%s", err, p.srv.Output())
	}
}

func (p *pageDriver) evalString(js string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[*string](js))
	if err != nil {
		p.t.Fatalf("evaluating %s: %v", js, err)
	}
	if v == nil {
		return ""
	}
	return *v
}

func (p *pageDriver) state() *chatState {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Evaluate[*chatState](stateJS))
	if err != nil {
		p.t.Fatalf("reading the widget: %v", err)
	}
	if s == nil {
		return &chatState{}
	}
	return s
}

// waitJS re-evaluates a JavaScript boolean every 100 ms until it is true, failing the test after
// 15 s.
func (p *pageDriver) waitJS(what, js string) {
	p.t.Helper()
	pollJS(p.t, p.ctx, what, js, func() string {
		st, _ := chromedp.Run(p.ctx, chromedp.Evaluate[*chatState](stateJS))
		return fmt.Sprintf("widget:\n%s\nserver output:\n%s", st, p.srv.Output())
	})
}

// waitState polls the widget's state every 100 ms until cond holds, failing the test after 15 s.
func (p *pageDriver) waitState(what string, cond func(*chatState) bool) *chatState {
	p.t.Helper()
	deadline := time.Now().Add(waitWithin)
	for {
		st, err := chromedp.Run(p.ctx, chromedp.Evaluate[*chatState](stateJS))
		if err == nil && st != nil && cond(st) {
			return st
		}
		if time.Now().After(deadline) || p.ctx.Err() != nil {
			p.t.Fatalf("waiting for %s: not within %v (error: %v)\nwidget:\n%s\nserver output:\n%s", what, waitWithin, err, st, p.srv.Output())
		}
		time.Sleep(waitEvery)
	}
}

// waitReply waits for a bot message past the first before ones, failing on an error message.
func (p *pageDriver) waitReply(before int) *chatState {
	p.t.Helper()
	st := p.waitState("a reply", func(s *chatState) bool {
		return s.count("bot") > before || slices.ContainsFunc(s.Msgs, func(m chatMsg) bool { return m.Error != "" })
	})
	for _, m := range st.Msgs {
		if m.Error != "" {
			p.t.Fatalf("the widget shows an error (%s): %q\n%s", m.Error, m.Text, st)
		}
	}
	return st
}

// click clicks the middle of an element of the widget with the mouse, as a person would, once it
// is visible, enabled and not covered by anything.
func (p *pageDriver) click(sel string) {
	p.t.Helper()
	center := fmt.Sprintf(`(() => {
		const r = %s, e = r.querySelector(%q);
		if (!e || e.disabled) return null;
		e.scrollIntoView({block: 'nearest'});
		const b = e.getBoundingClientRect(), x = b.left + b.width / 2, y = b.top + b.height / 2;
		const hit = r.elementFromPoint(x, y);
		return b.width > 0 && b.height > 0 && hit && (hit === e || e.contains(hit)) ? [x, y] : null;
	})()`, root, sel)
	p.waitJS(sel+" to be clickable", center+" !== null")
	xy, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]float64](center))
	if err != nil || len(xy) != 2 {
		p.t.Fatalf("locating %s: %v %v", sel, xy, err)
	}
	p.do(chromedp.MouseClickXY(xy[0], xy[1]))
}

func (p *pageDriver) focusInput() {
	p.t.Helper()
	p.do(chromedp.Evaluate[chromedp.Void](root + `.querySelector('[data-testid=input]').focus()`))
}

// setInput puts text in the input as a paste would.
func (p *pageDriver) setInput(text string) {
	p.t.Helper()
	b, _ := json.Marshal(text)
	p.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const i = %s.querySelector('[data-testid=input]');
		i.value = %s; i.dispatchEvent(new Event('input', {bubbles: true})); })()`, root, b)))
}

// say types text with the keyboard and sends it with Enter or the 发送 button, then waits for it
// to show as the resident's message.
func (p *pageDriver) say(text string, enter bool) {
	p.t.Helper()
	n := p.state().count("resident")
	p.focusInput()
	p.do(chromedp.KeyEvent(text))
	b, _ := json.Marshal(text)
	p.waitJS("the typed text, ready to send", fmt.Sprintf(`%s.querySelector('[data-testid=input]').value === %s && !%s.querySelector('[data-testid=send]').disabled`, root, b, root))
	if enter {
		p.do(pressEnter)
	} else {
		p.click("[data-testid=send]")
	}
	p.waitState("the sent message "+string(b), func(s *chatState) bool {
		return s.count("resident") > n && s.last("resident").Text == text
	})
	p.waitJS("the input cleared", root+`.querySelector('[data-testid=input]').value === ''`)
}

// pressEnter is the Enter key as a keyboard sends it: a key down and a key up. (KeyEvent(kb.Enter)
// adds a separate char event, which would type a line break after the widget took the key.)
var pressEnter = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
		_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{
			Type: typ, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13,
		})
		if err != nil {
			return err
		}
	}
	return nil
})

// noMarkup checks that no markup from a message became an element or ran.
func (p *pageDriver) noMarkup(dialogs *atomic.Int32) {
	p.t.Helper()
	if n := p.evalString(`String(` + root + `.querySelectorAll('img, script, iframe').length + document.querySelectorAll('img').length)`); n != "0" {
		p.t.Errorf("%s elements made from message text", n)
	}
	if n := dialogs.Load(); n != 0 {
		p.t.Errorf("%d JavaScript dialogs opened", n)
	}
}

// screenshot writes a PNG of the screen, as a person sees it, to path and to copyTo. (A full-page
// capture, FullScreenshot, lays the page out again beyond the viewport: the fixed panel then shows
// its message list at another scroll offset than the screen does.)
func (p *pageDriver) screenshot(path, copyTo string) {
	p.t.Helper()
	// Two animation frames: the last layout is painted.
	p.do(chromedp.Evaluate[chromedp.Void](`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))`, chromedp.EvalAwaitPromise))
	png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Errorf("writing the screenshot: %v", err)
	}
	saveShot(p.t, filepath.Base(copyTo), png)
}

type lockedList struct {
	mu sync.Mutex
	l  []string
}

func (l *lockedList) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.l = append(l.l, s)
}

func (l *lockedList) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.l)
}
