package e2e

// The survey and 这个回答有帮助吗 in the resident widget (docs/rates.md, "The survey" and "Was the
// bot's answer helpful?"), against the real binary: a resident votes on an answer, reports a
// problem, staff resolve the ticket through the API, the resident rates it in the chat, and the
// numbers reach the ticket and the managers' stats.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/bayannur/hotline/internal/testkit"
)

func TestWidgetSurvey(t *testing.T) {
	testkit.NeedChromium(t)
	data := filepath.Join(t.TempDir(), "data")
	addStaff(t, data, "operator", "op1")
	addStaff(t, data, "manager", "boss")
	addr := testkit.FreeAddr(t)
	base := "http://" + addr

	// Another site embedding the widget with one script tag: the rating page's link must point at
	// the hotline server, not at this page's origin. The resident's session is put in this
	// origin's localStorage, so that the widget resumes the same conversation here.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		session, _ := json.Marshal(r.URL.Query().Get("session")) // escapes <, > and &: safe in a script
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>别的网站</title></head>
<body><p>另一个网站上的页面，嵌入了热线的聊天窗口。</p>
<script>localStorage.setItem('hotline.session', %s);</script>
<script src="%s/widget.js" data-community="wy-jinqiao" async></script>
</body></html>`, session, base)
	}))
	defer other.Close()

	flags := []string{"--addr", addr, "--data", data, "--origins", other.URL}
	srv := testkit.Serve(t, addr, nil, flags...)
	srv.WaitReady(t, 60*time.Second)

	d := &deskEnv{t: t, srv: srv, base: base, browser: surveyBrowser(t)}
	h := &dashHotline{t: t, data: data, base: base, srv: srv}
	op := h.login("op1", staffPassword)
	mgr := h.login("boss", staffPassword)
	res := d.resident()

	// ---- 这个回答有帮助吗 ----

	openWidget(res, base)
	if n := res.evalString(`String(` + root + `.querySelectorAll('[data-testid=feedback-yes], [data-testid=feedback-no]').length)`); n != "0" {
		t.Errorf("feedback buttons before any answer: %s", n)
	}
	before := res.state().count("bot")
	res.say("低保咋申请", true)
	res.waitReply(before)
	answerID := res.evalString(lastAnswerID)
	if answerID == "" {
		t.Fatalf("the reply to 低保咋申请 is not an answer with data-reply-to\n%s", res.state())
	}
	answer := fmt.Sprintf(`[data-testid=msg][data-from=bot][data-reply-to=%q]`, answerID)
	res.waitJS("👍 and 👎 under the answer", fmt.Sprintf(`(() => { const m = %s.querySelector(%s);
		const y = m && m.querySelector('[data-testid=feedback-yes]'), n = m && m.querySelector('[data-testid=feedback-no]');
		return !!y && !!n && y.textContent.includes('有帮助') && n.textContent.includes('没帮助') &&
			y.getAttribute('aria-pressed') === 'false' && n.getAttribute('aria-pressed') === 'false'; })()`, root, jsString(answer)))

	// 👍, then a change of mind: 👎. The server keeps one vote per answer.
	res.clickUntil(answer+" [data-testid=feedback-yes]", "👍 highlighted", votePressed(answer, "yes"))
	surveyStats(t, mgr, "the 👍 counted", func(s *dashStats) bool {
		return s.Bot.Votes == 1 && s.Bot.Helpful == 1 && s.Bot.Unhelpful == 0
	})
	res.clickUntil(answer+" [data-testid=feedback-no]", "👎 highlighted instead", votePressed(answer, "no"))
	surveyStats(t, mgr, "the vote changed to 👎", func(s *dashStats) bool {
		return s.Bot.Votes == 1 && s.Bot.Helpful == 0 && s.Bot.Unhelpful == 1 && dibaoUnhelpful(s) == 1
	})

	// ---- a report through the widget: a ticket ----

	phone := "13812345678"
	number, code := reportByWidget(res, "虹亚小区3号楼门口的路灯坏了", "虹亚小区3号楼", phone)
	// Only answers ask whether they helped.
	if got := res.evalString(`(() => { const r = ` + root + `;
		const answers = r.querySelectorAll('[data-testid=msg][data-from=bot][data-decision=answer]').length;
		const asked = [...r.querySelectorAll('[data-testid=feedback-yes]')].filter(b => b.closest('[data-testid=msg][data-from=bot][data-decision=answer]')).length;
		return answers + ' ' + asked + ' ' + r.querySelectorAll('[data-testid=feedback-yes]').length; })()`); got != "1 1 1" {
		t.Errorf("answers, answers with 👍, 👍 buttons: %s; want 1 1 1 (no vote under a report's questions)\n%s", got, res.state())
	}

	// ---- staff resolve the ticket: the resident is told, and asked ----

	const resolution = "路灯已于今天下午修好，是线路老化，已更换。"
	for step := 0; ; step++ {
		tk := op.ticket(number)
		if tk.Status == "resolved" {
			break
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
			op.act(number, "resolve", map[string]any{"note": resolution})
		default:
			t.Fatalf("ticket %s: unexpected status %q", number, tk.Status)
		}
	}
	res.waitJS("the resolution notice", `[...`+root+`.querySelectorAll('[data-testid=msg][data-notice]')].some(m => m.textContent.includes(`+jsString(resolution)+`))`)
	card := fmt.Sprintf(`[data-testid=survey-card][data-number=%q]`, number)
	res.waitJS("the survey card for "+number, fmt.Sprintf(`!!%s.querySelector(%s)`, root, jsString(card)))
	checkCard(t, res.pageDriver, card, number, base)
	res.tab.screenshot("widget-survey-card.png")
	// Both answers are needed: a rating alone cannot be sent.
	res.click(card + " [data-testid=survey-rating-basically_satisfied]")
	res.waitJS("基本满意 chosen, 提交 still off", fmt.Sprintf(`(() => { const c = %s.querySelector(%s);
		return c.querySelector('[data-testid=survey-rating-basically_satisfied]').getAttribute('aria-pressed') === 'true' &&
			c.querySelector('[data-testid=survey-rating-satisfied]').getAttribute('aria-pressed') === 'false' &&
			c.querySelector('[data-testid=survey-submit]').disabled; })()`, root, jsString(card)))

	// ---- a server restart: the widget reconnects, the survey comes again, one card stays ----

	srv.Stop(t)
	res.waitJS("the widget to notice the restart", root+`.querySelector('[data-testid=status]').textContent.includes('连接中断')`)
	srv = testkit.Serve(t, addr, nil, flags...)
	d.srv, h.srv, res.srv = srv, srv, srv
	// The chat reconnects as soon as the server listens, before the bot is trained, and says so
	// for a few seconds: watch for it first, then wait for the bot.
	res.waitState("the reconnection", func(s *chatState) bool { return strings.Contains(s.Status, "已重新连接") })
	srv.WaitReady(t, 60*time.Second)
	// A question answered after the reconnection: the survey of the welcome came before it.
	before = res.state().count("bot")
	res.say("网格员电话多少", true)
	res.waitReply(before)
	if got := res.evalString(fmt.Sprintf(`(() => { const r = %s, c = r.querySelector(%s);
		return r.querySelectorAll('[data-testid=survey-card]').length + ' ' + (c ? c.dataset.state + ' ' +
			c.querySelector('[data-testid=survey-rating-basically_satisfied]').getAttribute('aria-pressed') : 'none'); })()`, root, jsString(card))); got != "1 open true" {
		t.Fatalf("after the reconnection: cards, state, 基本满意 pressed = %q; want one card, open, as the resident left it\n%s", got, res.state())
	}

	// ---- the same conversation on another site's page: the link goes to the hotline server ----

	session := res.evalString(`localStorage.getItem('hotline.session') || ''`)
	if session == "" {
		t.Fatal("no session in localStorage")
	}
	away := d.resident()
	away.do(chromedp.Navigate(other.URL + "/?session=" + url.QueryEscape(session)))
	away.waitJS("the widget on the other site", `location.origin === `+jsString(other.URL)+` && !!(document.getElementById('hotline-widget') && `+root+`.querySelector('[data-testid=launcher]'))`)
	away.click("[data-testid=launcher]")
	away.waitJS("the unrated ticket's survey on the next visit", fmt.Sprintf(`!!%s.querySelector(%s)`, root, jsString(card)))
	checkCard(t, away.pageDriver, card, number, base)
	away.click(card + " [data-testid=survey-rating-satisfied]")
	away.click(card + " [data-testid=survey-solved-no]")
	away.waitJS("提交 on once both are answered", fmt.Sprintf(`!%s.querySelector(%s).querySelector('[data-testid=survey-submit]').disabled`, root, jsString(card)))

	// ---- the resident rates in the chat ----

	res.click(card + " [data-testid=survey-solved-yes]")
	const comment = "修得很快，谢谢网格员！<b>好</b>"
	res.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`%s.querySelector(%s).querySelector('[data-testid=survey-comment]').focus()`, root, jsString(card))))
	res.do(chromedp.KeyEvent(comment))
	res.waitJS("the comment typed, 提交 on", fmt.Sprintf(`(() => { const c = %s.querySelector(%s);
		return c.querySelector('[data-testid=survey-comment]').value === %s && c.querySelector('[data-testid=survey-solved-yes]').getAttribute('aria-pressed') === 'true' &&
			!c.querySelector('[data-testid=survey-submit]').disabled; })()`, root, jsString(card), jsString(comment)))
	res.click(card + " [data-testid=survey-submit]")
	res.waitJS("the rating taken, the card closed", fmt.Sprintf(`(() => { const c = %s.querySelector(%s);
		return c.dataset.state === 'rated' && c.querySelector('[data-testid=survey-result]').textContent.includes('感谢') &&
			[...c.querySelectorAll('button, textarea')].every(e => e.disabled); })()`, root, jsString(card)))
	res.tab.screenshot("widget-survey.png")
	if n := res.evalString(`String(` + root + `.querySelectorAll('[data-testid=survey-card] b, b').length)`); n != "0" {
		t.Errorf("the comment's markup became %s elements", n)
	}

	// The other page's card, sent after: refused, and said in its card (not as a chat error).
	away.click(card + " [data-testid=survey-submit]")
	away.waitJS("the refusal in the other page's card", fmt.Sprintf(`(() => { const c = %s.querySelector(%s);
		return c.dataset.state === 'already_rated' && c.querySelector('[data-testid=survey-result]').textContent.includes('已经评价过') &&
			c.querySelector('[data-testid=survey-submit]').disabled; })()`, root, jsString(card)))
	if n := away.evalString(`String(` + root + `.querySelectorAll('[data-testid=msg][data-error]').length)`); n != "0" {
		t.Errorf("the refused rating also showed as %s chat errors", n)
	}

	// ---- what the server recorded ----

	surveyPoll(t, "GET /api/v1/tickets/"+number+"?code=…: rated", func() (bool, string) {
		st, b := h.anon(http.MethodGet, "/api/v1/tickets/"+number+"?code="+code, nil)
		var v struct {
			Status string `json:"status"`
		}
		json.Unmarshal(b, &v)
		return st == http.StatusOK && v.Status == "rated", fmt.Sprintf("%d %s", st, b)
	})
	if tk := op.ticket(number); tk.Rating != "basically_satisfied" || tk.Solved == nil || !*tk.Solved || tk.RatingNote != comment {
		t.Errorf("ticket %s: rating %q solved %v note %q; want basically_satisfied, solved, %q", number, tk.Rating, tk.Solved, tk.RatingNote, comment)
	}
	surveyStats(t, mgr, "the vote and the rating in the managers' stats", func(s *dashStats) bool {
		sat, solved := statsRate(s, "satisfied"), statsRate(s, "solved")
		basic := 0
		for _, day := range s.Daily {
			basic += day.BasicallySatisfied
		}
		return s.Bot.Unhelpful >= 1 && dibaoUnhelpful(s) >= 1 && sat.Denominator == 1 && sat.Numerator == 1 &&
			solved.Denominator == 1 && solved.Numerator == 1 && basic == 1
	})

	// ---- a reload: the history's answers can be voted on; no card for the rated ticket ----

	res.do(chromedp.Reload())
	res.waitJS("the widget after the reload", `!!(document.getElementById('hotline-widget') && `+root+`.querySelector('[data-testid=launcher]'))`)
	res.click("[data-testid=launcher]")
	res.waitState("the history after the reload", func(s *chatState) bool {
		return s.has("resident", "低保咋申请") && s.has("bot", number) && s.has("system", "感谢")
	})
	res.waitJS("👍 and 👎 under the answer in the history", fmt.Sprintf(`(() => { const m = %s.querySelector(%s);
		return !!m && !!m.querySelector('[data-testid=feedback-yes]') && !!m.querySelector('[data-testid=feedback-no]'); })()`, root, jsString(answer)))
	before = res.state().count("bot")
	res.say("低保咋申请", true)
	res.waitReply(before)
	again := res.evalString(lastAnswerID)
	if again == "" || again == answerID {
		t.Fatalf("the second 低保咋申请 is not a new answer (reply-to %q)\n%s", again, res.state())
	}
	if n := res.evalString(`String(` + root + `.querySelectorAll('[data-testid=survey-card]').length)`); n != "0" {
		t.Errorf("%s survey cards after the reload; the ticket is rated\n%s", n, res.state())
	}
	newAnswer := fmt.Sprintf(`[data-testid=msg][data-from=bot][data-reply-to=%q]`, again)
	res.clickUntil(newAnswer+" [data-testid=feedback-yes]", "👍 on the new answer", votePressed(newAnswer, "yes"))
	surveyStats(t, mgr, "the new answer's 👍", func(s *dashStats) bool {
		return s.Bot.Votes == 2 && s.Bot.Helpful == 1 && s.Bot.Unhelpful == 1
	})

	res.noMarkup(&d.dialogs)
	d.finish()
}

// lastAnswerID is JavaScript: the data-reply-to of the last bot message, if it is an answer.
const lastAnswerID = `(() => { const ms = [...` + root + `.querySelectorAll('[data-testid=msg][data-from=bot]')];
	const m = ms[ms.length - 1]; return m && m.dataset.decision === 'answer' ? m.dataset.replyTo || '' : ''; })()`

// votePressed is JavaScript: in the message sel, only the vote button which ("yes", "no") is on.
func votePressed(sel, which string) string {
	other := map[string]string{"yes": "no", "no": "yes"}[which]
	return fmt.Sprintf(`(() => { const m = %s.querySelector(%s);
		return !!m && m.querySelector('[data-testid=feedback-%s]').getAttribute('aria-pressed') === 'true' &&
			m.querySelector('[data-testid=feedback-%s]').getAttribute('aria-pressed') === 'false'; })()`, root, jsString(sel), which, other)
}

// checkCard checks a fresh survey card: its text, the three ratings, 是/否, the comment, 提交 off
// until both are answered, and the rating page's link on the hotline server.
func checkCard(t *testing.T, p *pageDriver, card, number, base string) {
	t.Helper()
	var got struct {
		State, Text, Href, Target, Rel string
		Ratings                        []string
		Solved                         []string
		Comment, Submit, Result        bool
		SubmitOff                      bool
	}
	js := fmt.Sprintf(`(() => { const c = %s.querySelector(%s), q = s => c.querySelector('[data-testid=' + s + ']');
		const a = q('survey-link') || {getAttribute: () => ''};
		return {
			state: c.dataset.state || '', text: c.textContent, href: a.href || '', target: a.getAttribute('target') || '', rel: a.getAttribute('rel') || '',
			ratings: ['satisfied', 'basically_satisfied', 'dissatisfied'].map(id => (q('survey-rating-' + id) || {}).textContent || ''),
			solved: ['yes', 'no'].map(x => (q('survey-solved-' + x) || {}).textContent || ''),
			comment: !!q('survey-comment'), submit: !!q('survey-submit'), result: !!q('survey-result'),
			submitOff: !!q('survey-submit') && q('survey-submit').disabled,
		}; })()`, root, jsString(card))
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[json.RawMessage](js))
	if err != nil || json.Unmarshal(v, &got) != nil {
		t.Fatalf("reading the survey card: %v %s", err, v)
	}
	if got.State != "open" || !strings.Contains(got.Text, number) || !slices.Equal(got.Ratings, []string{"满意", "基本满意", "不满意"}) ||
		!slices.Equal(got.Solved, []string{"是", "否"}) || !got.Comment || !got.Submit || !got.Result || !got.SubmitOff ||
		!strings.Contains(got.Text, "问题解决了吗") {
		t.Errorf("the survey card: %+v; want open, the ticket number, 满意/基本满意/不满意, 问题解决了吗 是/否, a comment, 提交 off", got)
	}
	// The link carries the ticket's access code in its fragment (the chat that opened it may know it).
	if want := base + "/rate?n=" + url.QueryEscape(number) + "#c="; !strings.HasPrefix(got.Href, want) || len(got.Href) != len(want)+6 ||
		got.Target != "_blank" || !slices.Contains(strings.Fields(got.Rel), "noopener") {
		t.Errorf("the rating page link: href %q target %q rel %q; want %q and 6 digits, in a new tab, noopener", got.Href, got.Target, got.Rel, want)
	}
	if !strings.Contains(got.Text, "也可以在评价页面评价") {
		t.Errorf("the card does not offer the rating page: %q", got.Text)
	}
	resp, err := http.Get(got.Href)
	if err != nil {
		t.Fatalf("GET %s: %v", got.Href, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %s", got.Href, resp.Status)
	}
}

// reportByWidget reports a problem in the widget, answering the bot's questions until it opens
// a ticket, and returns the ticket's number.
func reportByWidget(p *residentTab, text, place, phone string) (number, code string) {
	p.t.Helper()
	ticketRe := regexp.MustCompile(`\d{8}-\d{4}`)
	before := p.state().count("bot")
	p.say(text, true)
	for step := 0; step < 6; step++ {
		st := p.waitReply(before)
		last := st.last("bot")
		if m := ticketRe.FindString(last.Text); m != "" && strings.Contains(last.Ticket, m) {
			// The ticket-opened reply tells the resident the access code (issue 12).
			c := codeIn(last.Text)
			if c == "" {
				p.t.Fatalf("the ticket-opened reply has no access code: %q", last.Text)
			}
			return m, c
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
			p.say(place, true)
		case strings.Contains(question, "电话"):
			p.say(phone, true)
		default:
			p.t.Fatalf("unexpected step in the report: %q (options %v)", last.Text, st.Options)
		}
	}
	p.t.Fatalf("no ticket after the report:\n%s", p.state())
	return "", ""
}

// codeIn finds the access code the resident is told (查询码 123456) in a message, "" if none.
func codeIn(text string) string {
	if m := regexp.MustCompile(`查询码 (\d{6})`).FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return ""
}

// surveyPoll calls check until it holds, failing after 15 s with what it last saw.
func surveyPoll(t *testing.T, what string, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(waitWithin)
	for {
		ok, seen := check()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not within %v; last: %s", what, waitWithin, seen)
		}
		time.Sleep(2 * waitEvery)
	}
}

// surveyStats polls the manager's GET /api/v1/stats (the last 30 days) until ok holds.
func surveyStats(t *testing.T, mgr *dashStaff, what string, ok func(*dashStats) bool) {
	t.Helper()
	surveyPoll(t, what, func() (bool, string) {
		s := mgr.stats("", "")
		b, _ := json.Marshal(map[string]any{"bot": s.Bot, "unhelpful_topics": s.UnhelpfulTopics, "rates": s.Rates, "daily": s.Daily})
		return ok(s), string(b)
	})
}

func dibaoUnhelpful(s *dashStats) int {
	for _, tp := range s.UnhelpfulTopics {
		if tp.Topic == "dibao" {
			return tp.Unhelpful
		}
	}
	return 0
}

func statsRate(s *dashStats, name string) dashRate {
	for _, r := range s.Rates {
		if r.Rate == name {
			return r
		}
	}
	return dashRate{}
}

// surveyBrowser starts a headless chromium for the test's tabs (deskEnv.newTab opens them).
func surveyBrowser(t *testing.T) context.Context {
	t.Helper()
	browser, _ := testkit.Browser(t, 1280, 900)
	return browser
}

// fakeSocketJS replaces the page's WebSocket before the widget loads: the frames the widget sends
// are kept in window.__sent, and window.__emit(frame) plays a frame from the server.
const fakeSocketJS = `window.__sent = [];
window.WebSocket = class {
	constructor(url) { this.url = url; this.readyState = 0; window.__ws = this;
		setTimeout(() => { this.readyState = 1; if (this.onopen) this.onopen(); }, 0); }
	send(data) { window.__sent.push(JSON.parse(data)); }
	close() { if (this.readyState === 3) return; this.readyState = 3; if (this.onclose) this.onclose({code: 1006}); }
};
window.__emit = frame => window.__ws.onmessage({data: JSON.stringify(frame)});`

// TestWidgetSurveyFrames plays the server's side of the survey and the votes to the widget (a
// fake WebSocket): the refusals the real server rarely gives — a vote on an answer it no longer
// knows, a rating it finds incomplete, one already given — a survey asked twice, markup in the
// survey's text, a link that is not http, and a connection lost while a rating is on its way.
func TestWidgetSurveyFrames(t *testing.T) {
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
	defer site.Close()
	d := &deskEnv{t: t, srv: &testkit.Server{}, base: site.URL, browser: surveyBrowser(t)} // no hotline serve: its output is empty
	p := d.resident()
	if _, err := chromedp.Call(p.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: fakeSocketJS}); err != nil {
		t.Fatal(err)
	}
	p.do(chromedp.Navigate(site.URL + "/"))
	p.click("[data-testid=launcher]")
	p.waitJS("the hello", `window.__sent.length === 1 && window.__sent[0].type === 'hello'`)
	emit := func(frame any) {
		t.Helper()
		b, _ := json.Marshal(frame)
		p.do(chromedp.Evaluate[chromedp.Void](`window.__emit(` + string(b) + `)`))
	}
	lastSent := func() map[string]any {
		t.Helper()
		v, err := chromedp.Run(p.ctx, chromedp.Evaluate[map[string]any](`window.__sent[window.__sent.length - 1]`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	sentCount := func() string { return p.evalString(`String(window.__sent.length)`) }

	// A resumed conversation: an answer and a report's question in the history.
	emit(map[string]any{"type": "welcome", "session": "s1", "resumed": true, "community": "wy-jinqiao", "history": []any{
		map[string]any{"seq": 1, "from": "resident", "text": "低保咋申请"},
		map[string]any{"seq": 2, "from": "bot", "text": "【低保】……", "reply": map[string]any{"type": "reply", "reply_to": "old1", "decision": "answer", "topic": "dibao", "text": "【低保】……", "options": []any{}}},
		map[string]any{"seq": 3, "from": "resident", "text": "路灯坏了"},
		map[string]any{"seq": 4, "from": "bot", "text": "请问具体地点？", "reply": map[string]any{"type": "reply", "reply_to": "old2", "decision": "report", "text": "请问具体地点？", "options": []any{}}},
	}})
	answer, question := `[data-testid=msg][data-reply-to="old1"]`, `[data-testid=msg][data-reply-to="old2"]`
	p.waitJS("the history", fmt.Sprintf(`!!%s.querySelector(%s) && !!%s.querySelector(%s)`, root, jsString(answer), root, jsString(question)))
	if n := p.evalString(fmt.Sprintf(`String(%s.querySelector(%s).querySelectorAll('[data-testid^=feedback-]').length) + ' ' + %s.querySelector(%s).querySelectorAll('[data-testid^=feedback-]').length`, root, jsString(answer), root, jsString(question))); n != "2 0" {
		t.Errorf("vote buttons under the answer, under the question: %s; want 2 0", n)
	}

	// 👎, 👎 again (nothing sent), then 👍 (a change).
	p.click(answer + " [data-testid=feedback-no]")
	p.waitJS("👎 sent", `window.__sent.length === 2`)
	if f := lastSent(); f["type"] != "feedback" || f["reply_to"] != "old1" || f["helpful"] != false {
		t.Errorf("the 👎 frame: %v", f)
	}
	p.click(answer + " [data-testid=feedback-no]")
	p.click(answer + " [data-testid=feedback-yes]")
	p.waitJS("👍 sent", `window.__sent.length >= 3`)
	if n := sentCount(); n != "3" {
		t.Errorf("%s frames after 👎 👎 👍, want 3 (the same vote twice is sent once)", n)
	}
	if f := lastSent(); f["type"] != "feedback" || f["reply_to"] != "old1" || f["helpful"] != true {
		t.Errorf("the 👍 frame: %v", f)
	}
	// The server no longer knows the answer: said quietly under it, not as a chat error.
	emit(map[string]any{"type": "error", "code": "not_found", "message": "这条回答不能评价了", "reply_to": "old1"})
	p.waitJS("the refused vote under the answer", fmt.Sprintf(`(() => { const m = %s.querySelector(%s);
		return m.textContent.includes('这条回答不能评价了') && m.querySelector('[data-testid=feedback-yes]').getAttribute('aria-pressed') === 'false'; })()`, root, jsString(answer)))
	if n := p.evalString(`String(` + root + `.querySelectorAll('[data-testid=msg][data-error]').length)`); n != "0" {
		t.Errorf("the refused vote showed as %s chat errors", n)
	}

	// A survey, asked twice; its text is text; a link that is not http is not shown.
	survey := map[string]any{"type": "survey", "number": "20261125-0007", "text": `<img src=x onerror=alert(1)>工单 20261125-0007 已办结`,
		"ratings": []any{map[string]any{"id": "satisfied", "label": "满意"}, map[string]any{"id": "basically_satisfied", "label": "基本满意"}, map[string]any{"id": "dissatisfied", "label": "不满意"}},
		"link":    "javascript:alert(1)"}
	emit(survey)
	emit(survey)
	card := `[data-testid=survey-card][data-number="20261125-0007"]`
	p.waitJS("the survey card", fmt.Sprintf(`!!%s.querySelector(%s)`, root, jsString(card)))
	if got := p.evalString(fmt.Sprintf(`(() => { const r = %s, c = r.querySelector(%s);
		return r.querySelectorAll('[data-testid=survey-card]').length + ' ' + c.querySelectorAll('img').length + ' ' + !!c.querySelector('[data-testid=survey-link]') + ' ' + c.textContent.includes('<img src=x'); })()`, root, jsString(card))); got != "1 0 false true" {
		t.Errorf("cards, images, a link, the markup as text: %s; want 1 0 false true", got)
	}
	p.click(card + " [data-testid=survey-rating-dissatisfied]")
	p.click(card + " [data-testid=survey-solved-no]")
	p.click(card + " [data-testid=survey-submit]")
	p.waitJS("the rate frame", `window.__sent[window.__sent.length - 1].type === 'rate'`)
	f := lastSent()
	if f["number"] != "20261125-0007" || f["rating"] != "dissatisfied" || f["solved"] != false || f["comment"] != "" || f["id"] == "" || f["id"] == nil {
		t.Errorf("the rate frame: %v", f)
	}
	// Refused as incomplete: said in the card, which may be sent again.
	emit(map[string]any{"type": "error", "code": "bad_rating", "message": "评价不完整：solved", "reply_to": f["id"]})
	p.waitJS("the refusal in the card, 提交 on again", fmt.Sprintf(`(() => { const c = %s.querySelector(%s);
		return c.querySelector('[data-testid=survey-result]').textContent.includes('评价不完整') && !c.querySelector('[data-testid=survey-submit]').disabled; })()`, root, jsString(card)))
	p.click(card + " [data-testid=survey-submit]")
	p.waitJS("a second rate frame", fmt.Sprintf(`window.__sent[window.__sent.length - 1].type === 'rate' && window.__sent[window.__sent.length - 1].id !== %s`, jsString(f["id"].(string))))
	id := lastSent()["id"]
	emit(map[string]any{"type": "error", "code": "already_rated", "message": "这次办理已经评价过了", "reply_to": id})
	p.waitJS("already rated: the card closed", fmt.Sprintf(`(() => { const c = %s.querySelector(%s);
		return c.dataset.state === 'already_rated' && c.querySelector('[data-testid=survey-result]').textContent.includes('已经评价过') &&
			[...c.querySelectorAll('button, textarea')].every(e => e.disabled); })()`, root, jsString(card)))

	// The connection drops while a rating is on its way: the card says so, and takes it again
	// once connected.
	emit(map[string]any{"type": "survey", "number": "20261125-0008", "text": "工单 20261125-0008 已办结", "link": "/rate?n=20261125-0008"})
	card2 := `[data-testid=survey-card][data-number="20261125-0008"]`
	p.waitJS("the second card, with the default ratings", fmt.Sprintf(`!!%s.querySelector(%s + ' [data-testid=survey-rating-basically_satisfied]')`, root, jsString(card2)))
	if href := p.evalString(fmt.Sprintf(`%s.querySelector(%s + ' [data-testid=survey-link]').href`, root, jsString(card2))); href != site.URL+"/rate?n=20261125-0008" {
		t.Errorf("the link %q, want %q", href, site.URL+"/rate?n=20261125-0008")
	}
	p.click(card2 + " [data-testid=survey-rating-satisfied]")
	p.click(card2 + " [data-testid=survey-solved-yes]")
	p.click(card2 + " [data-testid=survey-submit]")
	p.waitJS("the rate frame", `window.__sent[window.__sent.length - 1].type === 'rate' && window.__sent[window.__sent.length - 1].number === '20261125-0008'`)
	p.do(chromedp.Evaluate[chromedp.Void](`window.__ws.close()`))
	p.waitJS("the card told of the lost connection", fmt.Sprintf(`(() => { const c = %s.querySelector(%s);
		return c.querySelector('[data-testid=survey-result]').textContent.includes('连接中断') && c.querySelector('[data-testid=survey-submit]').disabled; })()`, root, jsString(card2)))
	p.waitJS("the reconnection's hello", `window.__sent[window.__sent.length - 1].type === 'hello' && window.__ws.readyState === 1`)
	emit(map[string]any{"type": "welcome", "session": "s1", "resumed": true, "history": []any{}})
	emit(map[string]any{"type": "survey", "number": "20261125-0008", "text": "工单 20261125-0008 已办结", "link": "/rate?n=20261125-0008"})
	p.waitJS("the same card back, 提交 on", fmt.Sprintf(`(() => { const r = %s, c = r.querySelector(%s);
		return r.querySelectorAll('[data-testid=survey-card]').length === 1 && !!c && !c.querySelector('[data-testid=survey-submit]').disabled &&
			c.querySelector('[data-testid=survey-rating-satisfied]').getAttribute('aria-pressed') === 'true'; })()`, root, jsString(card2)))
	p.click(card2 + " [data-testid=survey-submit]")
	p.waitJS("the rate frame again", `window.__sent[window.__sent.length - 1].type === 'rate'`)
	emit(map[string]any{"type": "rated", "reply_to": lastSent()["id"], "number": "20261125-0008", "reopened": false, "text": "感谢您的评价！"})
	p.waitJS("the rating taken", fmt.Sprintf(`(() => { const c = %s.querySelector(%s);
		return c.dataset.state === 'rated' && c.querySelector('[data-testid=survey-result]').textContent === '感谢您的评价！'; })()`, root, jsString(card2)))

	// Redone (重办) and resolved again: the new resolution is rated afresh, in the same card.
	emit(map[string]any{"type": "survey", "number": "20261125-0008", "text": "工单 20261125-0008 重新办结", "link": "/rate?n=20261125-0008"})
	p.waitJS("the card open again for the new resolution", fmt.Sprintf(`(() => { const r = %s, c = r.querySelector(%s);
		return r.querySelectorAll('[data-testid=survey-card][data-number="20261125-0008"]').length === 1 && c.dataset.state === 'open' &&
			c.textContent.includes('重新办结') && c.querySelector('[data-testid=survey-result]').textContent === '' &&
			c.querySelector('[data-testid=survey-rating-satisfied]').getAttribute('aria-pressed') === 'false' &&
			!c.querySelector('[data-testid=survey-rating-satisfied]').disabled && c.querySelector('[data-testid=survey-submit]').disabled; })()`, root, jsString(card2)))

	p.noMarkup(&d.dialogs)
	d.finish()
}
