package e2e

// The operator console (GET /console, docs/operator.md) against the resident widget: a resident
// asks for a person, an operator takes the chat over, they talk while the bot keeps quiet, the
// chat becomes a ticket and the ticket's resolution reaches the resident; two operators race for
// one chat; markup a resident types stays text in the console.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/bayannur/hotline/internal/testkit"
)

// staffPassword is every test operator's password.
const staffPassword = "correct-horse-battery"

// askPerson is a resident's request for a person: the bot decides handoff (checked on the server
// by askForPerson).
const askPerson = "我要找人工客服"

func TestConsoleHandoff(t *testing.T) {
	d := newDesk(t, "op1")
	res := d.resident()
	op := d.operator("op1")

	openWidget(res, d.base)
	askForPerson(res, d.base)

	// Every operator is alerted: a count in the title, the chat in 等待人工 with what was said.
	op.waitJS("the handoff alert in the title", `/^\(1\) /.test(document.title) && document.querySelector('[data-testid=alert-count]').textContent === '1'`)
	if n := op.evalString(`document.querySelector('[data-testid=alert-count]').dataset.sounds || '0'`); n == "0" {
		t.Errorf("the handoff alert played no sound")
	}
	conv := op.waitingConversation(askPerson)
	op.click(takeButton(conv))
	op.waitJS("the chat live and the operator's", fmt.Sprintf(`(() => { const i = document.querySelector('[data-testid=live-item][data-conversation=%q]');
		return !!i && i.dataset.mine === '1' && !document.querySelector('[data-testid=chat-input]').disabled; })()`, conv))
	op.waitJS("the alert seen once the operator clicked", `!document.title.startsWith('(') && document.querySelector('[data-testid=alert-count]').textContent === '0'`)
	agent := op.evalString(fmt.Sprintf(`document.querySelector('[data-testid=live-item][data-conversation=%q]').dataset.agent`, conv))
	if agent == "" {
		t.Fatalf("the live chat shows no agent number\n%s", op.snapshot())
	}
	res.waitJS("the resident told that agent "+agent+" joined", root+`.querySelector('[data-testid=agent-status]').textContent.includes('工作人员 `+agent+` 已接入')`)
	botTurns := res.state().count("bot")

	// The resident types: the operator sees it.
	res.focusInput()
	res.do(chromedp.KeyEvent("请问"))
	op.waitJS("the resident typing, in the console", `document.querySelector('[data-testid=chat-typing]').textContent.includes('正在输入')`)
	res.setInput("")

	// The resident's question goes to the operator, not the bot.
	const question = "小区的垃圾好几天没人清运了，怎么办？"
	res.say(question, true)
	res.waitJS("the question marked received", sentMarked(question))
	op.waitJS("the question in the console", turnIs("resident", question))

	// The operator answers; the resident sees them typing, then a person's message.
	const answer = "您好，我是热线工作人员，这就为您登记，请稍等。"
	op.typeInto("[data-testid=chat-input]", answer)
	res.waitJS("the operator typing, in the widget", root+`.querySelector('[data-testid=typing]').classList.contains('on') && `+
		root+`.querySelector('[data-testid=typing]').textContent.includes('工作人员正在输入')`)
	op.click("[data-testid=chat-send]")
	res.waitState("the operator's answer in the widget", func(s *chatState) bool {
		return s.has("operator", answer) && s.has("operator", "工作人员 "+agent)
	})
	op.waitJS("the answer marked delivered", `(() => { const ts = [...document.querySelectorAll('[data-testid=chat-turn][data-from=operator]')];
		const t = ts.find(t => t.querySelector('[data-testid=chat-turn-text]').textContent === `+jsString(answer)+`);
		return !!t && !t.querySelector('[data-testid=delivered-mark]').hidden; })()`)
	if n := res.state().count("bot"); n != botTurns {
		t.Fatalf("the bot answered while an operator held the chat: %d bot messages, %d when the operator took it\n%s", n, botTurns, res.state())
	}

	// A guide entry found in the search box goes to the resident in one click, as a person's message.
	op.typeInto("[data-testid=guide-search-input]", "低保")
	op.click(`[data-testid=guide-result][data-kind=entry][data-id=dibao] [data-testid=guide-send]`)
	res.waitJS("the guide entry from the operator", `[...`+root+`.querySelectorAll('[data-testid=msg][data-from=operator] [data-testid=entry]')].some(e => e.textContent.includes('低保'))`)
	// A canned reply goes into the input, where the operator may change it before sending.
	op.click(`[data-testid=canned-item] [data-testid=canned-use]`)
	op.waitJS("the canned reply in the input", `(() => { const b = document.querySelector('[data-testid=canned-item] [data-testid=canned-use]');
		return document.querySelector('[data-testid=chat-input]').value === b.title && b.title !== ''; })()`)
	op.setValue("[data-testid=chat-input]", "")
	res.tab.screenshot("console-resident.png")

	// The chat becomes a ticket; the resident is told its number.
	op.click("[data-testid=ticket-button]")
	op.waitJS("the ticket form", `!document.querySelector('[data-testid=ticket-form]').hidden`)
	if c := op.evalString(`document.querySelector('[data-testid=ticket-community]').value`); c != "wy-jinqiao" {
		t.Errorf("the ticket form's community is %q, want the chat's wy-jinqiao", c)
	}
	if desc := op.evalString(`document.querySelector('[data-testid=ticket-description]').value`); !strings.Contains(desc, question) {
		t.Errorf("the ticket description does not default to the conversation: %q", desc)
	}
	op.setValue("[data-testid=ticket-category]", "environment")
	op.setValue("[data-testid=ticket-address]", "虹亚小区2号楼")
	op.setValue("[data-testid=ticket-phone]", "13812345678")
	op.click("[data-testid=ticket-submit]")
	op.waitJS("the ticket opened", `/^\d{8}-\d{4}$/.test(document.querySelector('[data-testid=status]').dataset.ticket || '')`)
	number := op.evalString(`document.querySelector('[data-testid=status]').dataset.ticket`)
	code := ""
	res.waitState("the ticket number and access code in the widget", func(s *chatState) bool {
		for _, m := range s.Msgs {
			if strings.Contains(m.Text, number) && codeIn(m.Text) != "" {
				code = codeIn(m.Text)
				return true
			}
		}
		return false
	})

	op.screenshot("console-chat.png")

	// The operator works the ticket to resolved from the queue.
	const reply = "垃圾已于今天下午清运完毕，今后每天早上7点清运。"
	op.click("[data-testid=tab-tickets]")
	row := fmt.Sprintf(`[data-testid=ticket-row][data-number=%q]`, number)
	op.waitJS("the ticket in the queue", fmt.Sprintf(`!!document.querySelector(%q)`, row))
	op.click(row)
	op.waitJS("the ticket's details", fmt.Sprintf(`document.querySelector('[data-testid=ticket-detail]').dataset.number === %q`, number))
	for step := 0; ; step++ {
		st := op.evalString(`document.querySelector('[data-testid=ticket-detail]').dataset.status`)
		if st == "resolved" {
			break
		}
		if step == 5 {
			t.Fatalf("the ticket is %s after %d steps\n%s", st, step, op.snapshot())
		}
		switch st {
		case "received", "returned":
			op.click("[data-testid=ticket-action-dispatch]")
		case "dispatched":
			op.click("[data-testid=ticket-action-sign]")
		case "signed", "in_progress":
			op.setValue("[data-testid=ticket-note]", reply)
			op.click("[data-testid=ticket-action-resolve]")
		default:
			t.Fatalf("unexpected ticket status %q\n%s", st, op.snapshot())
		}
		op.waitJS("the ticket past "+st, fmt.Sprintf(`(() => { const s = document.querySelector('[data-testid=status]');
			if (s.classList.contains('bad')) throw new Error('console status: ' + s.textContent);
			return document.querySelector('[data-testid=ticket-detail]').dataset.status !== %q; })()`, st))
	}
	if got := op.evalString(`document.querySelector('[data-testid=ticket-reply-value]').textContent`); got != reply {
		t.Errorf("the console shows the reply %q, want %q", got, reply)
	}

	// The resolution reaches the open chat, and the resident's status lookup.
	res.waitJS("the resolution notice in the widget", `[...`+root+`.querySelectorAll('[data-testid=msg][data-notice]')].some(m => m.textContent.includes(`+jsString(reply)+`))`)
	var looked struct {
		Status string `json:"status"`
		Reply  string `json:"reply"`
	}
	getJSON(t, d.base+"/api/v1/tickets/"+number+"?code="+code, &looked)
	if looked.Status != "resolved" || looked.Reply != reply {
		t.Errorf("status lookup of %s: status %q reply %q, want resolved with %q", number, looked.Status, looked.Reply, reply)
	}
	if n := res.state().count("bot"); n != botTurns {
		t.Errorf("the bot answered while an operator held the chat: %d bot messages, %d when the operator took it\n%s", n, botTurns, res.state())
	}

	op.screenshot("console-tickets.png")
	// At 800 px the columns stack and stay usable.
	op.do(chromedp.EmulateViewport(800, 900))
	op.waitJS("the narrow layout", `document.querySelector('[data-testid=ticket-detail]').getBoundingClientRect().width > 700`)
	op.screenshot("console-tickets-800.png")
	op.click("[data-testid=tab-chats]")
	op.waitJS("the chat view", `!document.getElementById('chats-view').hidden`)
	op.screenshot("console-chat-800.png")
	d.finish()
}

// TestConsoleCannedReplies: a manager adds, edits and deletes a canned reply in the console; an
// operator sees them but has no editor.
func TestConsoleCannedReplies(t *testing.T) {
	d := newDesk(t, "op1", "manager:boss")
	mgr := d.operator("boss")
	op := d.operator("op1")
	if n := op.evalString(`String(document.querySelectorAll('[data-testid=canned-edit], [data-testid=canned-delete]').length) + String(document.querySelector('[data-testid=canned-new]').hidden)`); n != "0true" {
		t.Errorf("an operator sees the canned reply editor (edit/delete buttons, new hidden: %s)", n)
	}
	item := func(title string) string {
		return fmt.Sprintf(`[...document.querySelectorAll('[data-testid=canned-item] [data-testid=canned-use]')].find(b => b.textContent === %s)`, jsString(title))
	}
	mgr.click("[data-testid=canned-new]")
	mgr.setValue("[data-testid=canned-title]", "供暖")
	mgr.setValue("[data-testid=canned-text]", "供暖问题请留下小区和楼号，我们联系热力公司上门查看。")
	mgr.click("[data-testid=canned-save]")
	mgr.waitJS("the new canned reply", "!!"+item("供暖"))
	id := mgr.evalString(item("供暖") + ".closest('[data-testid=canned-item]').dataset.id")
	row := fmt.Sprintf(`[data-testid=canned-item][data-id=%q]`, id)
	mgr.click(row + " [data-testid=canned-edit]")
	mgr.setValue("[data-testid=canned-title]", "供暖不热")
	mgr.click("[data-testid=canned-save]")
	mgr.waitJS("the edited canned reply", "!!"+item("供暖不热"))
	op.do(chromedp.Reload())
	op.waitJS("the operator sees it", "!!"+item("供暖不热"))
	mgr.click(row + " [data-testid=canned-delete]")
	mgr.click(row + " [data-testid=canned-delete]") // the second click confirms
	mgr.waitJS("the canned reply gone", "!"+item("供暖不热"))
	d.finish()
}

func TestConsoleTakeRace(t *testing.T) {
	d := newDesk(t, "op1", "op2")
	res := d.resident()
	ops := []*tab{d.operator("op1"), d.operator("op2")}

	openWidget(res, d.base)
	askForPerson(res, d.base)
	conv := ops[0].waitingConversation(askPerson)
	if c := ops[1].waitingConversation(askPerson); c != conv {
		t.Fatalf("the consoles show different waiting chats: %s and %s", conv, c)
	}

	// Both click 接入 at once.
	var xy [2][]float64
	for i, op := range ops {
		xy[i] = op.clickable(takeButton(conv))
	}
	var wg sync.WaitGroup
	var errs [2]error
	start := make(chan struct{})
	for i, op := range ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = chromedp.Do(op.ctx, chromedp.MouseClickXY(xy[i][0], xy[i][1]))
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s clicking take: %v", ops[i].name, err)
		}
	}

	// Exactly one holds it; the other sees it taken and held by the first.
	item := fmt.Sprintf(`document.querySelector('[data-testid=live-item][data-conversation=%q]')`, conv)
	for _, op := range ops {
		op.waitJS("the chat live", "!!"+item)
	}
	var winner, loser *tab
	for _, op := range ops {
		if op.evalString(item+".dataset.mine") == "1" {
			if winner != nil {
				t.Fatalf("both operators hold the chat\n%s\n%s", ops[0].snapshot(), ops[1].snapshot())
			}
			winner = op
		} else {
			loser = op
		}
	}
	if winner == nil {
		t.Fatalf("neither operator holds the chat\n%s\n%s", ops[0].snapshot(), ops[1].snapshot())
	}
	agent := winner.evalString(item + ".dataset.agent")
	loser.waitJS("the chat shown as the winner's", fmt.Sprintf(`%s.dataset.agent === %q && %s.dataset.mine === '0'`, item, agent, item))
	code := loser.evalString(`document.querySelector('[data-testid=status]').dataset.code || ''`)
	if code == "ok" {
		t.Errorf("%s lost the race but its console says its take succeeded", loser.name)
	}
	t.Logf("%s won (agent %s); %s's last result: %q", winner.name, agent, loser.name, code)
	if winner.evalString(`document.querySelector('[data-testid=status]').dataset.code || ''`) != "ok" {
		t.Errorf("%s holds the chat but its take did not answer ok\n%s", winner.name, winner.snapshot())
	}
	// The loser may look but not talk.
	loser.click(fmt.Sprintf(`[data-testid=live-item][data-conversation=%q]`, conv))
	loser.waitJS("the loser's pane read-only", `document.querySelector('[data-testid=chat-input]').disabled && document.querySelector('[data-testid=release-button]').disabled`)
	res.waitJS("the resident told the winner joined", root+`.querySelector('[data-testid=agent-status]').textContent.includes('工作人员 `+agent+` 已接入')`)
	d.finish()
}

func TestConsoleResidentMarkupIsText(t *testing.T) {
	d := newDesk(t, "op1")
	res := d.resident()
	op := d.operator("op1")

	openWidget(res, d.base)
	askForPerson(res, d.base)
	conv := op.waitingConversation(askPerson)

	// Markup while waiting (shown in the waiting list), then while live (in the transcript).
	const img = `<img src=x onerror="window.__pwned=1">`
	const script = `<script>window.__pwned=1</script>`
	res.say(img, true)
	res.waitJS("the markup received", sentMarked(img))
	op.waitJS("the markup in the waiting list, as text", fmt.Sprintf(`[...document.querySelectorAll('[data-testid=waiting-item][data-conversation=%q] [data-testid=preview-turn]')].some(e => e.textContent.includes(%s))`, conv, jsString(img)))
	op.click(takeButton(conv))
	op.waitJS("the chat live and the operator's", `!document.querySelector('[data-testid=chat-input]').disabled`)
	res.waitJS("the agent joined", root+`.querySelector('[data-testid=agent-status]').textContent.includes('已接入')`)
	res.say(script, true)
	res.waitJS("the script received", sentMarked(script))
	op.waitJS("the script in the transcript, as text", turnIs("resident", script))
	op.waitJS("the img in the transcript, as text", turnIs("resident", img))

	// The staff labels come in Chinese, switch to English and back; resident text stays text
	// through the re-render.
	op.waitJS("Chinese labels first", `document.querySelector('[data-testid=tab-chats]').textContent === '会话' && document.querySelector('[data-testid=chat-send]').textContent === '发送' && document.documentElement.lang === 'zh-CN'`)
	op.click("[data-testid=lang-toggle]")
	op.waitJS("English labels", `document.querySelector('[data-testid=tab-chats]').textContent === 'Chats' && document.querySelector('[data-testid=chat-send]').textContent === 'Send' && document.documentElement.lang === 'en'`)
	op.waitJS("the markup still text in English", turnIs("resident", img)+" && "+turnIs("resident", script))
	op.click("[data-testid=lang-toggle]")
	op.waitJS("Chinese labels", `document.querySelector('[data-testid=tab-chats]').textContent === '会话' && document.querySelector('[data-testid=chat-send]').textContent === '发送'`)

	// The console page has three scripts of its own (messages.js, staff.js and console.js), the
	// widget's page one.
	for _, p := range []struct {
		b       *tab
		scripts int
	}{{op, 3}, {res.tab, 1}} {
		if got := p.b.evalString(`String(typeof window.__pwned) + ' ' + document.images.length + ' ' + document.querySelectorAll('[onerror]').length + ' ' + document.scripts.length`); got != fmt.Sprintf("undefined 0 0 %d", p.scripts) {
			t.Errorf("%s: markup became elements or ran (__pwned type, images, [onerror], scripts): %s", p.b.name, got)
		}
	}
	res.noMarkup(&d.dialogs)
	d.finish()
}

// ---- the desk: a server with staff, a browser with a tab for each person ----

type deskEnv struct {
	t        *testing.T
	srv      *testkit.Server
	base     string
	browser  context.Context
	dialogs  atomic.Int32
	problems lockedList // exceptions and dialogs: failures
	logs     lockedList // console errors and warnings: logged
}

// newDesk starts hotline serve with desk hours always (so that handoffs are taken whatever the
// time) and the staff given (names of operators, or "role:name"), and a headless browser.
func newDesk(t *testing.T, staff ...string) *deskEnv {
	t.Helper()
	testkit.NeedChromium(t)
	addr := testkit.FreeAddr(t)
	data := filepath.Join(t.TempDir(), "data")
	for _, s := range staff {
		role, name, ok := strings.Cut(s, ":")
		if !ok {
			role, name = "operator", s
		}
		addStaff(t, data, role, name)
	}
	srv := testkit.Serve(t, addr, nil, "--addr", addr, "--data", data, "--desk-hours", "always")
	srv.WaitReady(t, 60*time.Second)
	d := &deskEnv{t: t, srv: srv, base: "http://" + addr}

	browser, _ := testkit.Browser(t, 1280, 900)
	d.browser = browser
	return d
}

// addStaff adds a staff account with staffPassword.
func addStaff(t *testing.T, data, role, name string) {
	t.Helper()
	addUser(t, data, role, name, staffPassword)
}

// addUser runs `hotline user add --role ROLE --data DATA NAME` with the password on stdin.
func addUser(t *testing.T, data, role, name, password string) {
	t.Helper()
	cmd := testkit.Command(t, "user", "add", "--role", role, "--data", data, name)
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hotline user add %s: %v\n%s", name, err, out)
	}
}

// newTab opens a tab in a browser context of its own: its own cookies and localStorage.
func (d *deskEnv) newTab(name string) *tab {
	t := d.t
	t.Helper()
	tctx, cancel := chromedp.NewContext(d.browser, chromedp.WithNewBrowserContext())
	if err := chromedp.Do(tctx); err != nil {
		t.Fatalf("opening a tab for %s: %v", name, err)
	}
	err := chromedp.Listen(tctx, func(ev any) {
		if e, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			d.dialogs.Add(1)
			d.problems.add(name + ": dialog: " + e.Message)
			go chromedp.Call(tctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range chromedp.Console(tctx) {
			if err != nil {
				return
			}
			if m.IsException() {
				d.problems.add(name + ": " + m.String())
			} else if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning {
				d.logs.add(name + ": " + m.String())
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done }) // before the browser's: cleanups run last first
	ctx, cancelCtx := context.WithTimeout(tctx, 4*time.Minute)
	t.Cleanup(cancelCtx)
	b := &tab{t: t, name: name, ctx: ctx, env: d}
	b.do(chromedp.EmulateViewport(1280, 900))
	return b
}

// resident opens a tab for a resident, driven like the widget test's.
func (d *deskEnv) resident() *residentTab {
	b := d.newTab("resident")
	return &residentTab{pageDriver: &pageDriver{t: d.t, ctx: b.ctx, srv: d.srv}, tab: b}
}

// operator opens the console in a tab of its own and logs name in.
func (d *deskEnv) operator(name string) *tab {
	b := d.newTab(name)
	b.do(chromedp.Navigate(d.base + "/console"))
	b.waitJS("the login form", `!document.getElementById('login-view').hidden`)
	b.typeInto("[data-testid=login-name]", name)
	b.typeInto("[data-testid=login-password]", staffPassword)
	b.click("[data-testid=login-submit]")
	b.waitJS("the console connected", `!document.getElementById('desk').hidden && document.querySelector('[data-testid=connection]').dataset.state === 'open'`)
	return b
}

// finish fails the test for any exception or dialog in a tab, and logs console errors.
func (d *deskEnv) finish() {
	for _, l := range d.logs.all() {
		d.t.Logf("browser console: %s", l)
	}
	for _, p := range d.problems.all() {
		d.t.Errorf("in the browser: %s", p)
	}
}

// residentTab is the resident's tab: the widget driver, and the tab's own helpers.
type residentTab struct {
	*pageDriver
	tab *tab
}

// openWidget opens the demo page and the chat panel, and waits for the welcome.
func openWidget(p *residentTab, base string) {
	p.t.Helper()
	p.do(chromedp.Navigate(base + "/?community=wy-jinqiao"))
	p.waitJS("the widget on the page", `!!(document.getElementById('hotline-widget') && `+root+`.querySelector('[data-testid=launcher]'))`)
	p.click("[data-testid=launcher]")
	p.waitState("the welcome from GET /ws/chat", func(s *chatState) bool { return len(s.Msgs) > 0 })
}

// askForPerson asks for a person and checks that the bot took it as a handoff.
func askForPerson(p *residentTab, base string) {
	p.t.Helper()
	var dec struct {
		Decision string `json:"decision"`
	}
	postJSON(p.t, base+"/api/v1/ask", map[string]string{"text": askPerson}, &dec)
	if dec.Decision != "handoff" {
		p.t.Fatalf("POST /api/v1/ask %q: decision %q, want handoff", askPerson, dec.Decision)
	}
	before := p.state().count("bot")
	p.say(askPerson, true)
	p.waitReply(before)
	p.waitJS("the resident told a person is being called", root+`.querySelector('[data-testid=agent-status]').dataset.state === 'waiting'`)
	if got := p.evalString(`(() => { const ms = [...` + root + `.querySelectorAll('[data-testid=msg][data-from=bot]')]; return ms.length ? ms[ms.length - 1].dataset.decision || '' : ''; })()`); got != "handoff" {
		p.t.Fatalf("the widget's reply to %q has decision %q, want handoff\n%s", askPerson, got, p.state())
	}
}

// sentMarked is JavaScript: the resident's message text is marked sent (a received frame came).
func sentMarked(text string) string {
	return `[...` + root + `.querySelectorAll('[data-testid=msg][data-from=resident]')].some(m => m.dataset.sent === '1' && m.textContent === ` + jsString(text) + `)`
}

// turnIs is JavaScript: the console's transcript has a turn from from with exactly text.
func turnIs(from, text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('[data-testid=chat-turn][data-from=%s] [data-testid=chat-turn-text]')].some(e => e.textContent === %s && e.children.length === 0)`, from, jsString(text))
}

func takeButton(conv string) string {
	return fmt.Sprintf(`[data-testid=waiting-item][data-conversation=%q] [data-testid=take-button]`, conv)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// ---- a tab of the console ----

type tab struct {
	t    *testing.T
	name string
	ctx  context.Context
	env  *deskEnv
}

func (b *tab) do(a chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, a); err != nil {
		b.t.Fatalf("%s: browser: %v\nserver output:\n%s", b.name, err, b.env.srv.Output())
	}
}

func (b *tab) evalString(js string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[*string](js))
	if err != nil {
		b.t.Fatalf("%s: evaluating %s: %v", b.name, js, err)
	}
	if v == nil {
		return ""
	}
	return *v
}

// snapshot is what the console shows, for failure messages.
func (b *tab) snapshot() string {
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(() => {
		const q = s => { const e = document.querySelector(s); return e ? e.innerText.trim().slice(0, 1500) : '(none)'; };
		return 'title: ' + document.title + '\nstatus: ' + q('[data-testid=status]') + '\nconnection: ' + q('[data-testid=connection]') +
			'\nwaiting: ' + q('[data-testid=waiting-list]') + '\nlive: ' + q('[data-testid=live-list]') +
			'\ntranscript: ' + q('[data-testid=chat-transcript]') + '\nticket: ' + q('[data-testid=ticket-detail]');
	})()`))
	if err != nil {
		return fmt.Sprintf("(%s: no snapshot: %v)", b.name, err)
	}
	return b.name + ":\n" + s
}

// waitJS re-evaluates a JavaScript boolean every 100 ms until it is true, failing the test after
// 15 s (at once if it throws an Error whose message starts with "console status").
func (b *tab) waitJS(what, js string) {
	b.t.Helper()
	deadline := time.Now().Add(waitWithin)
	var lastErr error
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		lastErr = err
		if err != nil && strings.Contains(err.Error(), "console status") || time.Now().After(deadline) || b.ctx.Err() != nil {
			b.t.Fatalf("%s: waiting for %s: not within %v (last error: %v)\n%s\nserver output:\n%s", b.name, what, waitWithin, lastErr, b.snapshot(), b.env.srv.Output())
		}
		time.Sleep(waitEvery)
	}
}

// clickable waits until an element is visible, enabled and on top, and returns its middle.
func (b *tab) clickable(sel string) []float64 {
	b.t.Helper()
	center := fmt.Sprintf(`(() => {
		const e = document.querySelector(%s);
		if (!e || e.disabled) return null;
		e.scrollIntoView({block: 'nearest'});
		const r = e.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
		const hit = document.elementFromPoint(x, y);
		return r.width > 0 && r.height > 0 && hit && (hit === e || e.contains(hit)) ? [x, y] : null;
	})()`, jsString(sel))
	b.waitJS(sel+" to be clickable", center+" !== null")
	xy, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]float64](center))
	if err != nil || len(xy) != 2 {
		b.t.Fatalf("%s: locating %s: %v %v", b.name, sel, xy, err)
	}
	return xy
}

// click clicks the middle of an element with the mouse, as a person would.
func (b *tab) click(sel string) {
	b.t.Helper()
	xy := b.clickable(sel)
	b.do(chromedp.MouseClickXY(xy[0], xy[1]))
}

// typeInto focuses an input and types text with the keyboard.
func (b *tab) typeInto(sel, text string) {
	b.t.Helper()
	b.clickable(sel)
	b.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%s).focus()`, jsString(sel))))
	b.do(chromedp.KeyEvent(text))
	b.waitJS("the typed text in "+sel, fmt.Sprintf(`document.querySelector(%s).value.endsWith(%s)`, jsString(sel), jsString(text)))
}

// setValue sets an input's or a select's value as a paste or a pick would.
func (b *tab) setValue(sel, value string) {
	b.t.Helper()
	b.clickable(sel)
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%s); e.value = %s;
		e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true}));
		return e.value === %s; })()`, jsString(sel), jsString(value), jsString(value))
	ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](js))
	if err != nil || !ok {
		b.t.Fatalf("%s: setting %s to %q: %v (no such option?)\n%s", b.name, sel, value, err, b.snapshot())
	}
}

// waitingConversation waits for a waiting chat whose preview shows text and returns its id.
func (b *tab) waitingConversation(text string) string {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const i = [...document.querySelectorAll('[data-testid=waiting-list] [data-testid=waiting-item]')]
		.find(i => i.textContent.includes(%s)); return i ? i.dataset.conversation : ''; })()`, jsString(text))
	b.waitJS("a waiting chat with "+text, js+" !== ''")
	return b.evalString(js)
}

func (b *tab) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	saveShot(b.t, name, png)
}

// ---- HTTP ----

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	decodeResponse(t, "GET "+url, resp, v)
}

func postJSON(t *testing.T, url string, body, v any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	decodeResponse(t, "POST "+url, resp, v)
}

func decodeResponse(t *testing.T, what string, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s\n%s", what, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, body)
	}
}
