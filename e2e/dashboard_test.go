package e2e

// The managers' dashboard (GET /dashboard) and the residents' rating page (GET /rate) in a real
// browser, against the real binary, over a ticket history built through the API (docs/rates.md).

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/sqlite"
	"github.com/bayannur/hotline/internal/testkit"
	"github.com/bayannur/hotline/search"
)

// Markup a manager typed as an assignee: the dashboard must show it as text.
const dashMarkup = `<img src=x onerror=alert(1)>`

var dashRateNames = []string{"signed_on_time", "resolved_on_time", "solved", "satisfied"}

// TestDashboard builds a known history — tickets of three weeks ago (one overdue, one resolved
// late, one signed late), today's tickets signed, resolved and rated by residents (one 不满意, which
// reopens it), two chats with 👍/👎 votes — then logs in to /dashboard and checks that every number
// it shows is what GET /api/v1/stats answers for the same period, that the CSV links work, that an
// operator is told the page is not theirs, and that another period and English work.
func TestDashboard(t *testing.T) {
	testkit.NeedChromium(t)
	h := dashStart(t, func(s *dashSeeder) {
		now := time.Now()
		base := now.Add(-20 * 24 * time.Hour).Truncate(time.Minute)
		// S1: signed on time, never resolved: overdue now. Its assignee is markup.
		s.at(base)
		s.s1 = s.create(intake.NewTicket{Topic: "report-streetlight", Community: "wy-jinqiao", Address: "虹亚小区5号楼",
			Description: "路灯一直不亮", Phone: "13800000001"})
		s.at(base.Add(time.Minute))
		s.s1 = s.act(s.s1, intake.Change{Action: intake.ActDispatch, Actor: "mgr", Assignee: dashMarkup, Grid: s.s1.Grid})
		// S2: signed on time, resolved two days ago (late), rated 满意 then.
		s.s2 = s.create(intake.NewTicket{Topic: "report-noise", Community: "wy-jinqiao", Address: "金桥小区2号楼",
			Description: "夜里施工太吵", Phone: "13800000002"})
		// S3: not signed in time (escalated by the deadline check), then resolved on time, 基本满意.
		s.at(base.Add(2 * time.Minute))
		s.s3 = s.create(intake.NewTicket{Topic: "report-garbage", Community: "wy-jinqiao", Address: "虹亚小区",
			Description: "垃圾三天没人收", Phone: "13800000003"})
		s.at(base.Add(10 * time.Minute))
		s.s1 = s.act(s.s1, intake.Change{Action: intake.ActSign, Actor: "mgr"})
		s.at(base.Add(15 * time.Minute))
		s.s2 = s.act(s.s2, intake.Change{Action: intake.ActSign, Actor: "mgr"})
		s.at(base.Add(3 * time.Hour))
		s.checkDeadlines()
		s.s3 = s.get(s.s3.Number)
		if s.s3.SignedOnTime == nil || *s.s3.SignedOnTime || s.s3.Tier != intake.TierCommunity {
			s.t.Fatalf("S3 after its sign deadline: signed on time %v, tier %s; want escalated and late", s.s3.SignedOnTime, s.s3.Tier)
		}
		s.at(base.Add(4 * time.Hour))
		s.s3 = s.act(s.s3, intake.Change{Action: intake.ActSign, Actor: "mgr"})
		s.at(base.Add(5 * time.Hour))
		s.s3 = s.act(s.s3, intake.Change{Action: intake.ActResolve, Actor: "mgr", Note: "已清运"})
		s.at(base.Add(6 * time.Hour))
		s.s3 = s.rate(s.s3, intake.BasicallySatisfied, true, "")
		s.at(now.Add(-48 * time.Hour))
		s.s2 = s.act(s.s2, intake.Change{Action: intake.ActResolve, Actor: "mgr", Note: "已协调停工"})
		s.at(now.Add(-47 * time.Hour))
		s.s2 = s.rate(s.s2, intake.Satisfied, true, "")
		s.at(now)
		s.checkDeadlines()
		if s.s1 = s.get(s.s1.Number); !s.s1.Overdue {
			s.t.Fatalf("S1 is not overdue after its deadline (due %v)", s.s1.DueBy)
		}
	})
	mgr := h.login("mgr", dashManagerPassword)

	// Today: five tickets from residents, worked by the manager, rated by the residents.
	type live struct{ topic, community, address, phone string }
	var l, codes [5]string
	for i, c := range []live{
		{"report-streetlight", "wy-jinqiao", "虹亚小区3号楼", "13900000011"},
		{"report-noise", "wy-jinqiao", "金桥小区1号楼", "13900000012"},
		{"report-streetlight", "wy-zhongshan", "中山小区2号楼", "13900000013"},
		{"report-garbage", "wy-zhongshan", "中山小区", "13900000014"},
		{"report-noise", "wy-zhongshan", "中山小区5号楼", "13900000015"},
	} {
		l[i], codes[i] = h.reportCode(c.topic, c.community, c.address, c.phone)
	}
	for _, n := range l[:4] {
		mgr.act(n, "sign", nil)
	}
	for _, n := range l[:3] {
		mgr.act(n, "resolve", map[string]any{"note": "已处理"})
	}
	for _, r := range []struct {
		number, code, rating string
		solved               bool
	}{
		{l[0], codes[0], "satisfied", true},
		{l[1], codes[1], "basically_satisfied", true},
		{l[2], codes[2], "dissatisfied", false},
	} {
		if st, body := h.anon(http.MethodPost, "/api/v1/tickets/"+r.number+"/rating",
			map[string]any{"code": r.code, "rating": r.rating, "solved": r.solved, "comment": "谢谢"}); st != http.StatusOK {
			t.Fatalf("rating %s %s: %d %s", r.number, r.rating, st, body)
		}
	}
	if tk := mgr.ticket(l[2]); tk.Status == "resolved" || tk.Status == "rated" || tk.Reopened != 1 {
		t.Errorf("docs/rates.md: 不满意 reopens the ticket; %s is %s, reopened %d", l[2], tk.Status, tk.Reopened)
	}

	// Two chats: one the bot settles (four answers, 👍 and 👎), one that becomes a ticket.
	chat := h.chat()
	votes := []struct {
		q       string
		helpful bool
	}{{"低保咋申请", false}, {"养老保险怎么交", true}, {"医保怎么报销", true}, {"医保怎么报销", false}}
	topics := map[string]string{}
	for i, v := range votes {
		id := fmt.Sprintf("q%d", i)
		rep := chat.ask(id, v.q)
		if rep.Decision != "answer" || rep.Topic == "" {
			t.Fatalf("%q: decision %q topic %q, want an answer", v.q, rep.Decision, rep.Topic)
		}
		topics[v.q] = rep.Topic
		chat.send(map[string]any{"type": "feedback", "reply_to": id, "helpful": v.helpful})
	}
	chat.sync()
	chat.close()
	chatTicket := h.chat().report("虹亚小区3号楼门口的路灯坏了", "虹亚小区3号楼", "13900000016")

	// What the API says, for the dashboard's default period.
	tab := h.browser(1280, 900)
	tab.navigate(h.base + "/dashboard")
	tab.waitJS("the login form (GET /api/v1/me is 401)", `dashVisible('[data-testid=login]')`)
	tab.waitJS("the page in Chinese", `document.querySelector('h1').textContent === '热线统计看板' && document.querySelector('[data-testid=login] h2').textContent === '经理登录' && document.documentElement.lang === 'zh-CN'`)

	// An operator is told that the dashboard is for managers.
	tab.login("op", dashOperatorPassword)
	tab.waitJS("the operator told the page is not theirs", `dashVisible('[data-testid=forbidden]') && !dashVisible('[data-testid=dashboard]')`)
	if txt := tab.text(`[data-testid=forbidden]`); !strings.Contains(txt, "经理") || !strings.Contains(txt, "op") {
		t.Errorf("the forbidden message %q does not say who and that managers may", txt)
	}
	tab.click(`[data-testid=switch-user]`)
	tab.waitJS("the login form again", `dashVisible('[data-testid=login]')`)

	// A wrong password, then the manager.
	tab.login("mgr", "not-the-password")
	tab.waitJS("the login error", `document.querySelector('[data-testid=login-error]').textContent.trim() !== ''`)
	tab.login("mgr", dashManagerPassword)
	tab.waitReady()

	pg := tab.state()
	// The last 30 days, Beijing time, today included (the API's to is exclusive). The day is read
	// again after the page's, in case the test runs over midnight.
	today := time.Now().In(intake.Beijing)
	if pg.To != today.AddDate(0, 0, 1).Format(time.DateOnly) {
		today = today.AddDate(0, 0, -1)
	}
	if want := today.AddDate(0, 0, -29).Format(time.DateOnly); pg.From != want || pg.To != today.AddDate(0, 0, 1).Format(time.DateOnly) {
		t.Errorf("default period from %s to %s (exclusive), want the last 30 days: %s to %s", pg.From, pg.To,
			want, today.AddDate(0, 0, 1).Format(time.DateOnly))
	}
	if got := tab.evalString(`document.querySelector('[data-testid=to]').value`); got != today.Format(time.DateOnly) {
		t.Errorf("the picker's last day %q, want today %s (the API's to is exclusive)", got, today.Format(time.DateOnly))
	}
	api := mgr.stats(pg.From, pg.To)
	if def := mgr.stats("", ""); def.From != api.From || def.To != api.To {
		t.Logf("the API's default period is %s..%s, the page's %s..%s", def.From, def.To, api.From, api.To)
	}
	dashCompare(t, "default period", pg, api)

	// The contract, over the history above (nine tickets in the period).
	rate := func(name string) dashRate {
		for _, r := range api.Rates {
			if r.Rate == name {
				return r
			}
		}
		t.Errorf("stats: no rate %s in %v", name, api.Rates)
		return dashRate{}
	}
	if sum := dashSum(api.ByCategory); sum != 9 {
		t.Errorf("by_category counts %d tickets, want the 9 created in the period", sum)
	}
	if sum := dashSum(api.ByCommunity); sum != 9 {
		t.Errorf("by_community counts %d tickets, want 9", sum)
	}
	for _, g := range api.ByCommunity {
		if g.Key == "wy-zhongshan" && g.Tickets != 3 {
			t.Errorf("wy-zhongshan has %d tickets, want 3", g.Tickets)
		}
	}
	if r := rate("satisfied"); r.Numerator != 4 || r.Denominator != 5 {
		t.Errorf("docs/rates.md 群众满意率: %d/%d, want 4/5 (满意 L1 S2, 基本满意 L2 S3, 不满意 L3 — its latest rating, though it was reopened)", r.Numerator, r.Denominator)
	}
	if r := rate("solved"); r.Numerator != 4 || r.Denominator != 5 {
		t.Errorf("docs/rates.md 问题解决率: %d/%d, want 4/5 (L3 said not solved)", r.Numerator, r.Denominator)
	}
	if r := rate("signed_on_time"); r.Numerator != 6 {
		t.Errorf("docs/rates.md 及时签收率: %d/%d, want 6 signed on time (L1-L4, S1, S2; S3 late)", r.Numerator, r.Denominator)
	} else {
		t.Logf("及时签收率 %d/%d (dispatched at least once: 9; of them signed or past the deadline: 7)", r.Numerator, r.Denominator)
	}
	if r := rate("resolved_on_time"); r.Denominator-r.Numerator != 2 {
		t.Errorf("docs/rates.md 按时办结率: %d/%d, want exactly two due tickets late (S1 overdue, S2 resolved late)", r.Numerator, r.Denominator)
	}
	for _, r := range api.Rates {
		if (r.Value == nil) != (r.Denominator == 0) {
			t.Errorf("%s: value %v with denominator %d", r.Rate, r.Value, r.Denominator)
		}
	}
	if len(api.Overdue) != 1 || api.Overdue[0].Number != h.seed.s1.Number || api.Overdue[0].Assignee != dashMarkup {
		t.Errorf("overdue %+v, want only %s (assignee %q)", api.Overdue, h.seed.s1.Number, dashMarkup)
	}
	var sat, basic, dis int
	for _, d := range api.Daily {
		sat, basic, dis = sat+d.Satisfied, basic+d.BasicallySatisfied, dis+d.Dissatisfied
	}
	if sat != 2 || basic != 2 || dis != 1 {
		t.Errorf("daily counts 满意 %d 基本满意 %d 不满意 %d, want 2 2 1: %+v", sat, basic, dis, api.Daily)
	}
	s3day := h.seed.s3.RatedAt.In(intake.Beijing).Format(time.DateOnly)
	if !slices.ContainsFunc(api.Daily, func(d dashDay) bool { return d.Day == s3day && d.BasicallySatisfied == 1 }) {
		t.Errorf("daily has no 基本满意 on %s (S3's rating day): %+v", s3day, api.Daily)
	}
	if api.Bot.Conversations != 2 || api.Bot.Settled != 1 || api.Bot.Helpful != 2 || api.Bot.Unhelpful != 2 {
		t.Errorf("bot %+v, want 2 conversations, 1 settled, 2 👍, 2 👎", api.Bot)
	}
	if len(api.UnhelpfulTopics) != 2 || api.UnhelpfulTopics[0].Topic != topics["低保咋申请"] || api.UnhelpfulTopics[1].Topic != topics["医保怎么报销"] {
		t.Errorf("unhelpful_topics %+v, want %s (0 👍 1 👎) then %s (1 👍 1 👎)", api.UnhelpfulTopics, topics["低保咋申请"], topics["医保怎么报销"])
	}
	if chatTicket == "" {
		t.Error("the chat made no ticket")
	}

	// Every CSV link answers, as a spreadsheet would want it.
	for _, table := range []string{"rates", "communities", "categories", "tiers", "daily", "overdue", "topics"} {
		href := pg.CSV[table]
		want := "/api/v1/stats/" + table + ".csv?from=" + pg.From + "&to=" + pg.To
		if href != want {
			t.Errorf("csv-%s links %q, want %q", table, href, want)
			continue
		}
		st, hdr, body := mgr.get(href)
		if st != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") || !strings.HasPrefix(string(body), "\ufeff") {
			t.Errorf("GET %s: %d %s, body %.60q; want 200 text/csv with a byte-order mark", href, st, hdr.Get("Content-Type"), body)
		}
		if table == "overdue" && !strings.Contains(string(body), h.seed.s1.Number) {
			t.Errorf("overdue.csv lacks %s:\n%s", h.seed.s1.Number, body)
		}
	}
	// The browser's download link carries the session too.
	if st := tab.evalString(`fetch(document.querySelector('[data-testid=csv-categories]').href).then(r => String(r.status))`); st != "200" {
		t.Errorf("the page's CSV link answers %s in the browser", st)
	}
	tab.noMarkup()
	tab.screenshot("dashboard-desktop.png", true)

	// English: the words change, the numbers do not.
	tab.click(`[data-testid=lang]`)
	tab.waitJS("English", `document.querySelector('h1').textContent === 'Hotline dashboard' && document.documentElement.lang === 'en'`)
	dashCompare(t, "in English", tab.state(), api)
	tab.click(`[data-testid=lang]`)
	tab.waitJS("Chinese again", `document.querySelector('h1').textContent === '热线统计看板'`)

	// A period with nothing in it: every rate "—", empty tables.
	tab.setPeriod("2020-01-01", "2020-01-31")
	tab.waitJS("the January 2020 figures", `document.querySelector('[data-testid=dashboard]').dataset.state === 'ready' && document.querySelector('[data-testid=dashboard]').dataset.from === '2020-01-01'`)
	pg = tab.state()
	if pg.From != "2020-01-01" || pg.To != "2020-02-01" {
		t.Errorf("period 2020-01-01..2020-01-31 asked the API for %s..%s, want to=2020-02-01 (exclusive)", pg.From, pg.To)
	}
	empty := mgr.stats(pg.From, pg.To)
	dashCompare(t, "January 2020", pg, empty)
	for _, n := range dashRateNames {
		if r := pg.Rates[n]; r == nil || r.Text != "—" || r.State != "none" {
			t.Errorf("January 2020: rate-%s shows %+v, want — with no verdict", n, r)
		}
	}
	if len(pg.Category) != 0 || len(pg.Overdue) != 0 {
		t.Errorf("January 2020 shows rows: categories %v, overdue %v", pg.Category, pg.Overdue)
	}

	// Reload: the period stays (in the address), the session too.
	tab.do(chromedp.Reload())
	tab.waitReady()
	if pg = tab.state(); pg.From != "2020-01-01" || pg.To != "2020-02-01" {
		t.Errorf("after a reload the period is %s..%s, want 2020-01-01..2020-02-01", pg.From, pg.To)
	}
	tab.finish()
}

// TestRatePage is a resident rating a resolved ticket on /rate at phone width: a wrong access code
// (or the phone's tail, which proves nothing) is refused and records nothing, the right one records the rating, a second rating is offered as
// a change (PUT), an unresolved ticket and a change after 24 hours are explained.
func TestRatePage(t *testing.T) {
	testkit.NeedChromium(t)
	h := dashStart(t, func(s *dashSeeder) {
		// Rated two days ago: too late to change.
		now := time.Now()
		s.at(now.Add(-72 * time.Hour))
		s.s1 = s.create(intake.NewTicket{Topic: "report-streetlight", Community: "wy-jinqiao", Address: "虹亚小区5号楼",
			Description: "路灯一直不亮", Phone: "13800005555"})
		s.at(now.Add(-71 * time.Hour))
		s.s1 = s.act(s.s1, intake.Change{Action: intake.ActSign, Actor: "mgr"})
		s.at(now.Add(-70 * time.Hour))
		s.s1 = s.act(s.s1, intake.Change{Action: intake.ActResolve, Actor: "mgr", Note: "已修好"})
		s.at(now.Add(-48 * time.Hour))
		s.s1 = s.rate(s.s1, intake.Satisfied, true, "")
	})
	mgr := h.login("mgr", dashManagerPassword)
	resolved, code := h.reportCode("report-streetlight", "wy-jinqiao", "虹亚小区3号楼", "13812341111")
	mgr.act(resolved, "sign", nil)
	mgr.act(resolved, "resolve", map[string]any{"note": "路灯已修好"})
	open, openCode := h.reportCode("report-noise", "wy-zhongshan", "中山小区", "13812342222")

	tab := h.browser(390, 844)
	// As the chat's survey links it: the code in the fragment fills the code field.
	tab.navigate(h.base + "/rate?n=" + resolved + "#c=" + code)
	tab.waitJS("the rating page", `!!document.querySelector('[data-testid=rate-submit]')`)
	if got := tab.text(`[data-testid=rate-number]`); got != resolved {
		t.Errorf("the page shows the number %q, want %s", got, resolved)
	}
	if got := tab.evalString(`document.querySelector('[data-testid=rate-tail]').value`); got != code {
		t.Errorf("the code field holds %q after a link with #c=%s", got, code)
	}
	// Phone width: nothing wider than the screen, large type.
	if w := tab.evalString(`document.documentElement.scrollWidth > window.innerWidth ? document.documentElement.scrollWidth + ' > ' + window.innerWidth : ''`); w != "" {
		t.Errorf("the page is wider than the phone: %s", w)
	}
	for _, sel := range []string{"rate-satisfied", "rate-solved-yes", "rate-submit", "rate-tail"} {
		if px := tab.evalString(`getComputedStyle(document.querySelector('[data-testid=` + sel + `]')).fontSize`); tab.evalString(`String(parseFloat('`+px+`') >= 18)`) != "true" {
			t.Errorf("%s: font size %s, want large type (at least 18px)", sel, px)
		}
	}

	// Nothing chosen: the page says what is missing and sends nothing.
	tab.typeInto(`[data-testid=rate-tail]`, code)
	tab.click(`[data-testid=rate-submit]`)
	tab.waitJS("the missing choice", `document.querySelector('[data-testid=rate-result]').textContent.includes('请选择')`)

	// A wrong code: the page says so; nothing is recorded.
	tab.typeInto(`[data-testid=rate-tail]`, wrongCode(code))
	tab.click(`[data-testid=rate-satisfied]`)
	tab.click(`[data-testid=rate-solved-yes]`)
	const comment = `<b>修得快</b> 谢谢`
	tab.typeInto(`[data-testid=rate-comment]`, comment)
	tab.click(`[data-testid=rate-submit]`)
	tab.waitResult("error", "工单号或查询码不对")
	if tk := mgr.ticket(resolved); tk.Rating != "" || tk.Status != "resolved" {
		t.Errorf("a wrong code recorded something: rating %q, status %s", tk.Rating, tk.Status)
	}

	// The right code.
	tab.typeInto(`[data-testid=rate-tail]`, code)
	tab.click(`[data-testid=rate-submit]`)
	tab.waitResult("ok", "感谢")
	tk := mgr.ticket(resolved)
	if tk.Rating != "satisfied" || tk.Solved == nil || !*tk.Solved || tk.RatingNote != comment || tk.Status != "rated" {
		t.Errorf("after rating: rating %q solved %v note %q status %s; want satisfied, solved, %q, rated", tk.Rating, tk.Solved, tk.RatingNote, tk.Status, comment)
	}
	tab.noMarkup()
	tab.screenshot("rate-phone.png", true)

	// Again, from a fresh page: already rated, offered as a change.
	tab.navigate(h.base + "/rate?n=" + resolved)
	tab.waitJS("the rating page", `!!document.querySelector('[data-testid=rate-submit]')`)
	tab.typeInto(`[data-testid=rate-tail]`, code)
	tab.click(`[data-testid=rate-basically_satisfied]`)
	tab.click(`[data-testid=rate-solved-yes]`)
	tab.click(`[data-testid=rate-submit]`)
	tab.waitResult("error", "已经评价过")
	if tk := mgr.ticket(resolved); tk.Rating != "satisfied" {
		t.Errorf("a second POST changed the rating to %q", tk.Rating)
	}
	tab.click(`[data-testid=rate-change]`)
	tab.waitResult("ok", "已修改")
	if tk := mgr.ticket(resolved); tk.Rating != "basically_satisfied" || tk.Solved == nil || !*tk.Solved {
		t.Errorf("after the change (PUT): rating %q solved %v, want basically_satisfied, solved", tk.Rating, tk.Solved)
	}

	// A ticket still being worked on.
	tab.navigate(h.base + "/rate?n=" + open)
	tab.waitJS("the rating page", `!!document.querySelector('[data-testid=rate-submit]')`)
	tab.typeInto(`[data-testid=rate-tail]`, openCode)
	tab.click(`[data-testid=rate-dissatisfied]`)
	tab.click(`[data-testid=rate-solved-no]`)
	tab.click(`[data-testid=rate-submit]`)
	tab.waitResult("error", "工单还没有办结")
	if tk := mgr.ticket(open); tk.Rating != "" || tk.Status != "dispatched" {
		t.Errorf("rating an open ticket recorded: rating %q, status %s", tk.Rating, tk.Status)
	}

	// Rated two days ago: the change is too late.
	old := h.seed.s1.Number
	tab.navigate(h.base + "/rate?n=" + old)
	tab.waitJS("the rating page", `!!document.querySelector('[data-testid=rate-submit]')`)
	tab.typeInto(`[data-testid=rate-tail]`, h.seed.s1.AccessCode)
	tab.click(`[data-testid=rate-dissatisfied]`)
	tab.click(`[data-testid=rate-solved-no]`)
	tab.click(`[data-testid=rate-submit]`)
	tab.waitResult("error", "已经评价过")
	tab.click(`[data-testid=rate-change]`)
	tab.waitResult("error", "评价已超过24小时")
	if tk := mgr.ticket(old); tk.Rating != "satisfied" || tk.Status != "rated" {
		t.Errorf("a late change recorded: rating %q, status %s", tk.Rating, tk.Status)
	}
	tab.finish()
}

// ---- comparing the page with the API ----

type dashRate struct {
	Rate        string   `json:"rate"`
	Label       string   `json:"label"`
	Numerator   int      `json:"numerator"`
	Denominator int      `json:"denominator"`
	Value       *float64 `json:"value"`
	Target      float64  `json:"target"`
}

type dashGroup struct {
	Key     string     `json:"key"`
	Label   string     `json:"label"`
	Tickets int        `json:"tickets"`
	Rates   []dashRate `json:"rates"`
}

type dashDay struct {
	Day                string   `json:"day"`
	Satisfied          int      `json:"satisfied"`
	BasicallySatisfied int      `json:"basically_satisfied"`
	Dissatisfied       int      `json:"dissatisfied"`
	Rate               *float64 `json:"rate"`
}

type dashOverdue struct {
	Number    string `json:"number"`
	Category  string `json:"category"`
	Community string `json:"community"`
	Tier      string `json:"tier"`
	Status    string `json:"status"`
	DueBy     string `json:"due_by"`
	Assignee  string `json:"assignee"`
}

type dashTopic struct {
	Topic     string   `json:"topic"`
	Title     string   `json:"title"`
	Helpful   int      `json:"helpful"`
	Unhelpful int      `json:"unhelpful"`
	Share     *float64 `json:"share"`
}

// dashStats is GET /api/v1/stats.
type dashStats struct {
	From        string        `json:"from"`
	To          string        `json:"to"`
	Rates       []dashRate    `json:"rates"`
	ByCommunity []dashGroup   `json:"by_community"`
	ByCategory  []dashGroup   `json:"by_category"`
	ByTier      []dashGroup   `json:"by_tier"`
	Daily       []dashDay     `json:"daily"`
	Overdue     []dashOverdue `json:"overdue"`
	Bot         struct {
		Conversations int      `json:"conversations"`
		Settled       int      `json:"settled"`
		Share         *float64 `json:"share"`
		Votes         int      `json:"votes"`
		Helpful       int      `json:"helpful"`
		Unhelpful     int      `json:"unhelpful"`
	} `json:"bot"`
	UnhelpfulTopics []dashTopic `json:"unhelpful_topics"`
}

func dashSum(gs []dashGroup) int {
	n := 0
	for _, g := range gs {
		n += g.Tickets
	}
	return n
}

// dashPct is how the page must show a fraction: a percent with one decimal, "—" for none.
func dashPct(v *float64) string {
	if v == nil {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", math.Round(*v*1000)/10)
}

func dashVerdict(r dashRate) string {
	switch {
	case r.Value == nil:
		return "none"
	case *r.Value >= r.Target:
		return "good"
	}
	return "bad"
}

// dashPage is what the dashboard shows (read by dashStateJS).
type dashPage struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Rates map[string]*struct {
		Text  string `json:"text"`
		State string `json:"state"`
		Color string `json:"color"`
	} `json:"rates"`
	Category  []dashRow         `json:"category"`
	Community []dashRow         `json:"community"`
	Tier      []dashRow         `json:"tier"`
	Overdue   []dashRow         `json:"overdue"`
	Topics    []dashRow         `json:"topics"`
	Daily     []dashDay         `json:"daily"`
	Bot       string            `json:"bot"`
	CSV       map[string]string `json:"csv"`
	Missing   []string          `json:"missing"`
	Charts    map[string][]int  `json:"charts"`
}

type dashRow struct {
	Key    string            `json:"key"`
	Cells  map[string]string `json:"cells"`
	States map[string]string `json:"states"`
}

const dashStateJS = `(() => {
	const q = s => document.querySelector(s);
	const rows = id => Array.from(document.querySelectorAll('[data-testid=' + id + '] tbody tr:not(.empty)')).map(tr => {
		const cells = {}, states = {};
		for (const td of tr.cells) {
			cells[td.dataset.col || ''] = td.textContent;
			if (td.dataset.state) states[td.dataset.col] = td.dataset.state;
		}
		return {key: tr.dataset.key || tr.dataset.number || '', cells, states};
	});
	const rates = {}, missing = [];
	for (const n of ['signed_on_time', 'resolved_on_time', 'solved', 'satisfied']) {
		const e = q('[data-testid=rate-' + n + ']');
		rates[n] = e ? {text: e.textContent, state: e.dataset.state || '', color: getComputedStyle(e).color} : null;
	}
	for (const id of ['daily-chart', 'category-table', 'community-table', 'overdue-table', 'topics-table', 'bot-share']) {
		if (!q('[data-testid=' + id + ']')) missing.push(id);
	}
	const csv = {};
	for (const a of document.querySelectorAll('a[data-testid^="csv-"]')) csv[a.dataset.testid.slice(4)] = a.getAttribute('href');
	const daily = Array.from(document.querySelectorAll('[data-testid=daily-chart] g[data-day][data-satisfied]')).map(g => ({
		day: g.dataset.day, satisfied: +g.dataset.satisfied, basically_satisfied: +g.dataset.basicallySatisfied,
		dissatisfied: +g.dataset.dissatisfied}));
	const charts = {};
	for (const k of ['category', 'community']) {
		charts[k] = Array.from(document.querySelectorAll('[data-testid=' + k + '-chart] g[data-key]')).map(g => +g.dataset.tickets);
	}
	return {from: q('[data-testid=period]').dataset.from || '', to: q('[data-testid=period]').dataset.to || '',
		rates, missing, csv, daily, charts,
		category: rows('category-table'), community: rows('community-table'), tier: rows('tier-table'),
		overdue: rows('overdue-table'), topics: rows('topics-table'),
		bot: (q('[data-testid=bot-share]') || {}).textContent || ''};
})()`

// dashCompare checks that the page shows api.
func dashCompare(t *testing.T, when string, pg *dashPage, api *dashStats) {
	t.Helper()
	if len(pg.Missing) > 0 {
		t.Errorf("%s: the page lacks %v", when, pg.Missing)
	}
	if api.From != pg.From || api.To != pg.To {
		t.Errorf("%s: the page asked for %s..%s, the API answered for %s..%s", when, pg.From, pg.To, api.From, api.To)
	}
	if len(api.Rates) != 4 {
		t.Errorf("%s: the API gives %d rates, want 4", when, len(api.Rates))
	}
	for _, r := range api.Rates {
		got := pg.Rates[r.Rate]
		if got == nil {
			t.Errorf("%s: no rate-%s on the page", when, r.Rate)
			continue
		}
		if got.Text != dashPct(r.Value) || got.State != dashVerdict(r) {
			t.Errorf("%s: rate-%s shows %q (%s), want %q (%s) for %d/%d, target %v", when, r.Rate, got.Text, got.State,
				dashPct(r.Value), dashVerdict(r), r.Numerator, r.Denominator, r.Target)
		}
		want := map[string]string{"good": "rgb(30, 123, 52)", "bad": "rgb(197, 34, 31)"}[dashVerdict(r)]
		if want != "" && got.Color != want {
			t.Errorf("%s: rate-%s is %s, want %s (%s)", when, r.Rate, got.Color, want, dashVerdict(r))
		}
	}
	groups := func(what string, rows []dashRow, gs []dashGroup, chart []int, labelled bool) {
		if len(rows) != len(gs) {
			t.Errorf("%s: %s has %d rows, the API %d groups", when, what, len(rows), len(gs))
			return
		}
		for i, g := range gs {
			row := rows[i]
			if row.Key != g.Key || labelled && row.Cells["label"] != g.Label || row.Cells["tickets"] != fmt.Sprint(g.Tickets) {
				t.Errorf("%s: %s row %d is %s %q %s, want %s %q %d", when, what, i, row.Key, row.Cells["label"], row.Cells["tickets"], g.Key, g.Label, g.Tickets)
			}
			for _, r := range g.Rates {
				if row.Cells[r.Rate] != dashPct(r.Value) || row.States[r.Rate] != dashVerdict(r) {
					t.Errorf("%s: %s %s %s shows %q (%s), want %q (%s)", when, what, g.Key, r.Rate, row.Cells[r.Rate], row.States[r.Rate], dashPct(r.Value), dashVerdict(r))
				}
			}
		}
		if chart != nil {
			var want []int
			for _, g := range gs {
				want = append(want, g.Tickets)
			}
			slices.Sort(want)
			slices.Reverse(want)
			if len(want) > 12 {
				want = want[:12]
			}
			if !slices.Equal(chart, want) {
				t.Errorf("%s: the %s chart draws %v, want %v", when, what, chart, want)
			}
		}
	}
	groups("category-table", pg.Category, api.ByCategory, pg.Charts["category"], true)
	groups("community-table", pg.Community, api.ByCommunity, pg.Charts["community"], true)
	groups("tier-table", pg.Tier, api.ByTier, nil, false)

	var wantDaily []dashDay
	for _, d := range api.Daily {
		wantDaily = append(wantDaily, dashDay{Day: d.Day, Satisfied: d.Satisfied, BasicallySatisfied: d.BasicallySatisfied, Dissatisfied: d.Dissatisfied})
	}
	gotDaily := slices.Clone(pg.Daily)
	for _, d := range []*[]dashDay{&wantDaily, &gotDaily} {
		slices.SortFunc(*d, func(a, b dashDay) int { return strings.Compare(a.Day, b.Day) })
	}
	if fmt.Sprint(gotDaily) != fmt.Sprint(wantDaily) {
		t.Errorf("%s: the daily chart draws %v, want %v", when, gotDaily, wantDaily)
	}

	if len(pg.Overdue) != len(api.Overdue) {
		t.Errorf("%s: overdue-table has %d rows, the API %d", when, len(pg.Overdue), len(api.Overdue))
	} else {
		for i, o := range api.Overdue {
			if c := pg.Overdue[i].Cells; c["number"] != o.Number || c["assignee"] != o.Assignee {
				t.Errorf("%s: overdue row %d is %s %q, want %s %q", when, i, c["number"], c["assignee"], o.Number, o.Assignee)
			}
		}
	}
	if pg.Bot != dashPct(api.Bot.Share) {
		t.Errorf("%s: bot-share shows %q, want %q", when, pg.Bot, dashPct(api.Bot.Share))
	}
	if len(pg.Topics) != len(api.UnhelpfulTopics) {
		t.Errorf("%s: topics-table has %d rows, the API %d", when, len(pg.Topics), len(api.UnhelpfulTopics))
	} else {
		for i, tp := range api.UnhelpfulTopics {
			c := pg.Topics[i].Cells
			if pg.Topics[i].Key != tp.Topic || c["helpful"] != fmt.Sprint(tp.Helpful) || c["unhelpful"] != fmt.Sprint(tp.Unhelpful) || c["share"] != dashPct(tp.Share) {
				t.Errorf("%s: topics row %d is %s %v, want %+v", when, i, pg.Topics[i].Key, c, tp)
			}
		}
	}
}

// ---- the server, its users and its history ----

const (
	dashManagerPassword  = "manager-secret-1"
	dashOperatorPassword = "operator-secret-1"
)

// dashHotline is a running server with its users and seeded history.
type dashHotline struct {
	t    *testing.T
	data string
	base string
	srv  *testkit.Server
	seed *dashSeeder
	ips  atomic.Uint32
}

// dashStart builds the binary, adds a manager (mgr) and an operator (op), lets seed write a
// history in the past straight into the store, and starts `hotline serve`.
func dashStart(t *testing.T, seed func(*dashSeeder)) *dashHotline {
	t.Helper()
	h := &dashHotline{t: t, data: filepath.Join(t.TempDir(), "data")}
	h.addUser("manager", "mgr", dashManagerPassword)
	h.addUser("operator", "op", dashOperatorPassword)
	h.seed = newDashSeeder(t, h.data)
	if seed != nil {
		seed(h.seed)
	}
	h.seed.close()
	addr := testkit.FreeAddr(t)
	h.base = "http://" + addr
	h.srv = testkit.Serve(t, addr, nil, "--addr", addr, "--data", h.data)
	h.srv.WaitReady(t, 60*time.Second)
	return h
}

// addUser adds a staff account to the server's data directory.
func (h *dashHotline) addUser(role, name, password string) {
	h.t.Helper()
	addUser(h.t, h.data, role, name, password)
}

// client is an HTTP client whose connections come from an address of their own on the loopback
// network (127.1.x.y), so that the per-address limits on anonymous requests count each resident
// apart, as they would be.
func (h *dashHotline) client(jar http.CookieJar) *http.Client {
	n := h.ips.Add(1)
	local := &net.TCPAddr{IP: net.IPv4(127, 1, byte(n>>8), byte(n))}
	d := &net.Dialer{LocalAddr: local, Timeout: 5 * time.Second}
	return &http.Client{Jar: jar, Timeout: 15 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
}

func (h *dashHotline) send(c *http.Client, method, path string, body any, header http.Header) (int, http.Header, []byte) {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, h.base+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v\nserver output:\n%s", method, path, err, h.srv.Output())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// anon is a resident's request, from an address of its own.
func (h *dashHotline) anon(method, path string, body any) (int, []byte) {
	h.t.Helper()
	st, _, b := h.send(h.client(nil), method, path, body, nil)
	return st, b
}

// reportCode files a ticket as a resident (POST /api/v1/tickets) and returns its number and its
// access code (the resident's proof of it).
func (h *dashHotline) reportCode(topic, community, address, phone string) (number, code string) {
	h.t.Helper()
	st, b := h.anon(http.MethodPost, "/api/v1/tickets", map[string]any{
		"topic": topic, "community": community, "address": address, "phone": phone, "description": "居民反映：" + address,
	})
	var v struct {
		Number     string `json:"number"`
		AccessCode string `json:"access_code"`
	}
	if st != http.StatusCreated || json.Unmarshal(b, &v) != nil || v.Number == "" || len(v.AccessCode) != 6 {
		h.t.Fatalf("POST /api/v1/tickets: %d %s", st, b)
	}
	return v.Number, v.AccessCode
}

// wrongCode is an access code that is not code.
func wrongCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

// dashStaff is a logged-in staff member's HTTP session.
type dashStaff struct {
	h    *dashHotline
	c    *http.Client
	csrf string
}

func (h *dashHotline) login(name, password string) *dashStaff {
	h.t.Helper()
	jar, _ := cookiejar.New(nil)
	s := &dashStaff{h: h, c: h.client(jar)}
	st, _, b := h.send(s.c, http.MethodPost, "/api/v1/login", map[string]any{"name": name, "password": password}, nil)
	var v struct {
		CSRF string `json:"csrf"`
	}
	if st != http.StatusOK || json.Unmarshal(b, &v) != nil || v.CSRF == "" {
		h.t.Fatalf("login %s: %d %s", name, st, b)
	}
	s.csrf = v.CSRF
	return s
}

func (s *dashStaff) do(method, path string, body any) (int, []byte) {
	s.h.t.Helper()
	st, _, b := s.h.send(s.c, method, path, body, http.Header{"X-Csrf-Token": {s.csrf}})
	return st, b
}

func (s *dashStaff) get(path string) (int, http.Header, []byte) {
	s.h.t.Helper()
	return s.h.send(s.c, http.MethodGet, path, nil, nil)
}

// dashTicket is what a staff member sees of a ticket.
type dashTicket struct {
	Number     string `json:"number"`
	Status     string `json:"status"`
	Version    int    `json:"version"`
	Rating     string `json:"rating"`
	Solved     *bool  `json:"solved"`
	RatingNote string `json:"rating_note"`
	Reopened   int    `json:"reopened"`
}

func (s *dashStaff) ticket(number string) dashTicket {
	s.h.t.Helper()
	st, b := s.do(http.MethodGet, "/api/v1/tickets/"+number, nil)
	var v dashTicket
	if st != http.StatusOK || json.Unmarshal(b, &v) != nil {
		s.h.t.Fatalf("GET /api/v1/tickets/%s: %d %s", number, st, b)
	}
	return v
}

// act applies an action to the ticket's current version.
func (s *dashStaff) act(number, action string, body map[string]any) dashTicket {
	s.h.t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	body["version"] = s.ticket(number).Version
	st, b := s.do(http.MethodPost, "/api/v1/tickets/"+number+"/"+action, body)
	var v dashTicket
	if st != http.StatusOK || json.Unmarshal(b, &v) != nil {
		s.h.t.Fatalf("%s %s: %d %s", action, number, st, b)
	}
	return v
}

func (s *dashStaff) stats(from, to string) *dashStats {
	s.h.t.Helper()
	path := "/api/v1/stats"
	if from != "" || to != "" {
		path += "?from=" + from + "&to=" + to
	}
	st, b := s.do(http.MethodGet, path, nil)
	var v dashStats
	if st != http.StatusOK {
		s.h.t.Fatalf("GET %s: %d %s", path, st, b)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		s.h.t.Fatalf("GET %s: %v\n%s", path, err, b)
	}
	return &v
}

// dashSeeder writes a history in the past through the intake service, with its own clock, before
// the server starts (the server's clock cannot be moved).
type dashSeeder struct {
	t          *testing.T
	st         *sqlite.Store
	svc        *intake.Service
	now        time.Time
	s1, s2, s3 *intake.Ticket
}

func newDashSeeder(t *testing.T, data string) *dashSeeder {
	t.Helper()
	if err := os.MkdirAll(data, 0o750); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(filepath.Join(data, "hotline.db"))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := search.LoadSpec(search.SpecFS())
	if err != nil {
		t.Fatal(err)
	}
	g, problems := search.Load(search.SampleGuide(), spec)
	if len(problems) > 0 {
		t.Fatalf("the sample guide: %v", problems)
	}
	s := &dashSeeder{t: t, st: st, now: time.Now()}
	s.svc = &intake.Service{Store: st, SLA: intake.DefaultSLA(intake.DefaultCalendar()),
		Dir: intake.GuideDirectory{Spec: spec, Guide: g}, Now: func() time.Time { return s.now }}
	return s
}

func (s *dashSeeder) close() {
	if err := s.st.Close(); err != nil {
		s.t.Fatal(err)
	}
}

func (s *dashSeeder) at(t time.Time) { s.now = t }

func (s *dashSeeder) create(n intake.NewTicket) *intake.Ticket {
	s.t.Helper()
	n.PhoneRequired, n.Channel, n.Actor = true, intake.ChannelAPI, "resident"
	tk, _, err := s.svc.Create(context.Background(), n, "")
	if err != nil {
		s.t.Fatalf("seeding a ticket: %v", err)
	}
	return tk
}

func (s *dashSeeder) get(number string) *intake.Ticket {
	s.t.Helper()
	tk, err := s.svc.Get(context.Background(), number)
	if err != nil {
		s.t.Fatal(err)
	}
	return tk
}

func (s *dashSeeder) act(tk *intake.Ticket, c intake.Change) *intake.Ticket {
	s.t.Helper()
	tk = s.get(tk.Number)
	next, err := s.svc.Apply(context.Background(), tk.Number, tk.Version, c)
	if err != nil {
		s.t.Fatalf("seeding %s %s: %v", c.Action, tk.Number, err)
	}
	return next
}

func (s *dashSeeder) rate(tk *intake.Ticket, rating string, solved bool, note string) *intake.Ticket {
	return s.act(tk, intake.Change{Action: intake.ActRate, Actor: "resident", Rating: rating, Solved: &solved, Note: note})
}

func (s *dashSeeder) checkDeadlines() {
	s.t.Helper()
	if _, _, err := s.svc.CheckDeadlines(context.Background()); err != nil {
		s.t.Fatal(err)
	}
}

// ---- a resident's chat, over the WebSocket (docs/protocol.md) ----

type dashChat struct {
	h    *dashHotline
	conn *websocket.Conn
}

type dashReply struct {
	Type     string `json:"type"`
	ReplyTo  string `json:"reply_to"`
	Decision string `json:"decision"`
	Topic    string `json:"topic"`
	Text     string `json:"text"`
	Code     string `json:"code"`
	Message  string `json:"message"`
	Options  []struct {
		ID string `json:"id"`
	} `json:"options"`
	Ticket *struct {
		Number string `json:"number"`
	} `json:"ticket"`
}

func (h *dashHotline) chat() *dashChat {
	h.t.Helper()
	n := h.ips.Add(1)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 1, byte(n>>8), byte(n))}, Timeout: 5 * time.Second}
	ws := websocket.Dialer{NetDialContext: d.DialContext, HandshakeTimeout: 5 * time.Second}
	conn, _, err := ws.Dial("ws"+strings.TrimPrefix(h.base, "http")+"/ws/chat", nil)
	if err != nil {
		h.t.Fatalf("GET /ws/chat: %v", err)
	}
	c := &dashChat{h: h, conn: conn}
	h.t.Cleanup(func() { conn.Close() })
	c.send(map[string]any{"type": "hello", "session": "", "community": ""})
	c.wait("welcome", func(r *dashReply) bool { return r.Type == "welcome" })
	return c
}

func (c *dashChat) send(frame map[string]any) {
	c.h.t.Helper()
	if err := c.conn.WriteJSON(frame); err != nil {
		c.h.t.Fatalf("chat: %v", err)
	}
}

// wait reads frames until one satisfies ok, failing on an error frame.
func (c *dashChat) wait(what string, ok func(*dashReply) bool) *dashReply {
	c.h.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		var r dashReply
		if err := c.conn.ReadJSON(&r); err != nil {
			c.h.t.Fatalf("chat, waiting for %s: %v\nserver output:\n%s", what, err, c.h.srv.Output())
		}
		if r.Type == "error" {
			c.h.t.Fatalf("chat, waiting for %s: error %s %q", what, r.Code, r.Message)
		}
		if ok(&r) {
			return &r
		}
	}
}

func (c *dashChat) ask(id, text string) *dashReply {
	c.h.t.Helper()
	time.Sleep(300 * time.Millisecond) // under a message a second on average
	c.send(map[string]any{"type": "ask", "id": id, "text": text})
	return c.wait("the reply to "+id, func(r *dashReply) bool { return r.Type == "reply" && r.ReplyTo == id })
}

// sync waits until the server has read every frame sent before (a ping is answered in order).
func (c *dashChat) sync() {
	c.h.t.Helper()
	c.send(map[string]any{"type": "ping"})
	c.wait("pong", func(r *dashReply) bool { return r.Type == "pong" })
}

func (c *dashChat) close() { c.conn.Close() }

// report tells the bot of a problem and answers its questions until it opens a ticket.
func (c *dashChat) report(text, place, phone string) string {
	c.h.t.Helper()
	defer c.close()
	r := c.ask("r0", text)
	for step := 1; step < 8; step++ {
		if r.Ticket != nil && r.Ticket.Number != "" {
			return r.Ticket.Number
		}
		id := fmt.Sprintf("r%d", step)
		q := r.Text
		if i := strings.LastIndex(q, "\n\n"); i >= 0 {
			q = q[i+2:]
		}
		switch {
		case slices.ContainsFunc(r.Options, func(o struct {
			ID string `json:"id"`
		}) bool {
			return o.ID == "confirm"
		}):
			time.Sleep(300 * time.Millisecond)
			c.send(map[string]any{"type": "choose", "id": id, "option": "confirm"})
			r = c.wait("the reply to "+id, func(r *dashReply) bool { return r.Type == "reply" && r.ReplyTo == id })
		case strings.Contains(q, "地点"):
			r = c.ask(id, place)
		case strings.Contains(q, "电话"):
			r = c.ask(id, phone)
		default:
			c.h.t.Fatalf("unexpected step in the chat report: %q (%s)", r.Text, r.Decision)
		}
	}
	c.h.t.Fatalf("no ticket after the chat report")
	return ""
}

// ---- the browser ----

type dashTab struct {
	t          *testing.T
	h          *dashHotline
	ctx        context.Context
	dialogs    *atomic.Int32
	exceptions *lockedList
}

// dashHelpersJS is put in every page the tab opens: small predicates the waits use.
const dashHelpersJS = `window.dashVisible = function (sel) {
	const e = document.querySelector(sel);
	if (!e) return false;
	const r = e.getBoundingClientRect();
	return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden';
};`

// browser opens a headless chromium tab of the given size (a phone's, under 500 pixels wide).
func (h *dashHotline) browser(width, height int64) *dashTab {
	t := h.t
	t.Helper()
	browser, stop := testkit.Browser(t, int(width), int(height))
	ctx, cancel := context.WithTimeout(browser, 3*time.Minute)
	tab := &dashTab{t: t, h: h, ctx: ctx, dialogs: &atomic.Int32{}, exceptions: &lockedList{}}
	if err := chromedp.Listen(browser, func(ev any) {
		if ev, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			tab.dialogs.Add(1)
			tab.exceptions.add("dialog: " + ev.Message)
			go chromedp.Call(browser, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}); err != nil {
		t.Fatal(err)
	}
	console := chromedp.Console(browser)
	consoleDone := make(chan struct{})
	go func() {
		defer close(consoleDone)
		for m, err := range console {
			if err != nil {
				return
			}
			switch {
			case m.IsException():
				tab.exceptions.add(m.String())
			case strings.Contains(m.Text, "Content Security Policy"):
				tab.exceptions.add("CSP: " + m.String())
			case m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning:
				t.Logf("browser console: %s", m)
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		stop()
		<-consoleDone
	})
	if width < 500 {
		tab.do(chromedp.EmulateViewport(width, height, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	} else {
		tab.do(chromedp.EmulateViewport(width, height))
	}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: dashHelpersJS}); err != nil {
		t.Fatalf("adding the page helpers: %v", err)
	}
	return tab
}

func (p *dashTab) do(a chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, a); err != nil {
		p.t.Fatalf("browser: %v\nserver output:\n%s", err, p.h.srv.Output())
	}
}

func (p *dashTab) navigate(url string) {
	p.t.Helper()
	p.do(chromedp.Navigate(url))
}

func (p *dashTab) evalString(js string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[*string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("evaluating %s: %v", js, err)
	}
	if v == nil {
		return ""
	}
	return *v
}

func (p *dashTab) text(sel string) string {
	p.t.Helper()
	b, _ := json.Marshal(sel)
	return p.evalString(fmt.Sprintf(`(document.querySelector(%s) || {}).textContent || ''`, b))
}

// waitJS re-evaluates a JavaScript boolean until it is true, failing the test after 15 s with
// what the page shows.
func (p *dashTab) waitJS(what, js string) {
	p.t.Helper()
	pollJS(p.t, p.ctx, what, js, func() string {
		shown, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 3000) : ''`))
		return fmt.Sprintf("the page shows:\n%s\nserver output:\n%s", shown, p.h.srv.Output())
	})
}

// click clicks the middle of an element with the mouse once it is visible, enabled and not
// covered.
func (p *dashTab) click(sel string) {
	p.t.Helper()
	b, _ := json.Marshal(sel)
	center := fmt.Sprintf(`(() => {
		const e = document.querySelector(%s);
		if (!e || e.disabled) return null;
		e.scrollIntoView({block: 'center'});
		const r = e.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
		const hit = document.elementFromPoint(x, y);
		return r.width > 0 && r.height > 0 && hit && (hit === e || e.contains(hit)) ? [x, y] : null;
	})()`, b)
	p.waitJS(sel+" to be clickable", center+" !== null")
	xy, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]float64](center))
	if err != nil || len(xy) != 2 {
		p.t.Fatalf("locating %s: %v %v", sel, xy, err)
	}
	p.do(chromedp.MouseClickXY(xy[0], xy[1]))
}

// typeInto empties a field and types text into it with the keyboard.
func (p *dashTab) typeInto(sel, text string) {
	p.t.Helper()
	b, _ := json.Marshal(sel)
	p.click(sel)
	p.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const e = document.querySelector(%s); e.focus(); e.value = '';
		e.dispatchEvent(new Event('input', {bubbles: true})); })()`, b)))
	p.do(chromedp.KeyEvent(text))
	want, _ := json.Marshal(text)
	p.waitJS("the typed text in "+sel, fmt.Sprintf(`document.querySelector(%s).value === %s`, b, want))
}

// login fills the dashboard's login form.
func (p *dashTab) login(name, password string) {
	p.t.Helper()
	p.waitJS("the login form", `dashVisible('[data-testid=login]')`)
	p.typeInto(`[data-testid=login-name]`, name)
	p.typeInto(`[data-testid=login-password]`, password)
	p.click(`[data-testid=login-submit]`)
}

// waitReady waits for the dashboard to show a period's figures.
func (p *dashTab) waitReady() {
	p.t.Helper()
	p.waitJS("the dashboard's figures", `dashVisible('[data-testid=dashboard]') && document.querySelector('[data-testid=dashboard]').dataset.state === 'ready'`)
}

// setPeriod picks the first and the last day (both included) and asks for them.
func (p *dashTab) setPeriod(first, last string) {
	p.t.Helper()
	p.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		for (const [id, v] of [['from', %q], ['to', %q]]) {
			const e = document.querySelector('[data-testid=' + id + ']');
			e.value = v; e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true}));
		}
	})()`, first, last)))
	p.click(`[data-testid=apply]`)
}

func (p *dashTab) state() *dashPage {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[*dashPage](dashStateJS))
	if err != nil || v == nil {
		p.t.Fatalf("reading the dashboard: %v", err)
	}
	return v
}

// waitResult waits for the rating page's answer of the given kind containing text.
func (p *dashTab) waitResult(kind, text string) {
	p.t.Helper()
	p.waitJS(fmt.Sprintf("the %s %q", kind, text), fmt.Sprintf(`(() => { const r = document.querySelector('[data-testid=rate-result]');
		return r.dataset.state === %q && r.textContent.includes(%q); })()`, kind, text))
}

// noMarkup checks that no text from the server became an element or ran.
func (p *dashTab) noMarkup() {
	p.t.Helper()
	if n := p.evalString(`String(document.querySelectorAll('img, iframe, b').length)`); n != "0" {
		p.t.Errorf("%s elements made from text", n)
	}
	if n := p.dialogs.Load(); n != 0 {
		p.t.Errorf("%d JavaScript dialogs opened", n)
	}
}

// screenshot writes the page (full: beyond the screen too) as saveShot does.
func (p *dashTab) screenshot(name string, full bool) {
	p.t.Helper()
	p.do(chromedp.Evaluate[chromedp.Void](`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))`, chromedp.EvalAwaitPromise))
	shot := chromedp.CaptureScreenshot()
	if full {
		shot = chromedp.FullScreenshot(100)
	}
	png, err := chromedp.Run(p.ctx, shot)
	if err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	saveShot(p.t, name, png)
}

// finish fails the test on anything the browser reported.
func (p *dashTab) finish() {
	p.t.Helper()
	if n := p.dialogs.Load(); n != 0 {
		p.t.Errorf("%d JavaScript dialogs opened", n)
	}
	for _, e := range p.exceptions.all() {
		p.t.Errorf("in the browser: %s", e)
	}
}
