package e2e

// The console's ticket form is filled from what the chat collected — the report's topic, place
// and phone, the resident's own words — its refusals read as Chinese sentences, the ticket's
// history names people and grids in words; on a phone (390×844) the waiting card fits and 接入 is
// on screen; a console page that is left stops counting as an operator online.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestConsoleTicketFormFromTheChat(t *testing.T) {
	d := newDesk(t, "op1")
	defer d.finish()
	op := d.operator("op1")

	res := dialResident(t, d.base, "wy-jinqiao")
	const (
		problem = "俺们楼门口的路灯坏了好几天了"
		place   = "虹亚小区3号楼门口"
		phone   = "13812345678"
	)
	r := res.ask("f1", problem)
	if r.Decision != "report" || r.Topic == "" {
		t.Fatalf("%q: decision %q topic %q, want a report", problem, r.Decision, r.Topic)
	}
	topic := r.Topic
	res.ask("f2", place)
	res.ask("f3", phone)
	if r := res.ask("f4", askPerson); r.Decision != "handoff" {
		t.Fatalf("%q: decision %q, want handoff", askPerson, r.Decision)
	}

	conv := op.waitingConversation("路灯")
	op.click(takeButton(conv))
	op.waitJS("the chat live and the operator's", fmt.Sprintf(`(() => { const i = document.querySelector('[data-testid=live-item][data-conversation=%q]');
		return !!i && i.dataset.mine === '1'; })()`, conv))
	op.click("[data-testid=ticket-button]")
	op.waitJS("the ticket form", `!document.querySelector('[data-testid=ticket-form]').hidden`)
	val := func(sel string) string {
		return op.evalString(`document.querySelector('[data-testid=` + sel + `]').value`)
	}
	for sel, want := range map[string]string{"ticket-phone": phone, "ticket-address": place, "ticket-community": "wy-jinqiao", "ticket-topic": topic} {
		if got := val(sel); got != want {
			t.Errorf("the form's %s: %q, want %q from the chat", sel, got, want)
		}
	}
	desc := val("ticket-description")
	said := map[string]bool{problem: true, place: true, phone: true, askPerson: true}
	for _, line := range strings.Split(desc, "\n") {
		if !said[line] {
			t.Errorf("the summary has %q, which the resident did not say (the whole summary: %q)", line, desc)
		}
	}
	if !strings.Contains(desc, problem) {
		t.Errorf("the summary %q lacks the resident's problem", desc)
	}

	// A bad phone: a sentence in Chinese, no code, no field name, no English.
	op.setValue("[data-testid=ticket-phone]", "12345")
	op.click("[data-testid=ticket-submit]")
	op.waitJS("the refusal", `document.querySelector('[data-testid=status]').dataset.code === 'bad_request'`)
	readableStatus(t, op, "联系电话")

	op.setValue("[data-testid=ticket-phone]", phone)
	op.click("[data-testid=ticket-submit]")
	op.waitJS("the ticket made", `document.querySelector('[data-testid=status]').dataset.code === 'ok' && !!document.querySelector('[data-testid=status]').dataset.ticket`)
	number := op.evalString(`document.querySelector('[data-testid=status]').dataset.ticket`)

	// Its history in words.
	op.click("[data-testid=tab-tickets]")
	row := fmt.Sprintf(`[data-testid=ticket-row][data-number=%q]`, number)
	op.waitJS("the ticket in the queue", `!!document.querySelector(`+jsString(row)+`)`)
	op.click(row)
	op.waitJS("the ticket's history", `document.querySelectorAll('[data-testid=ticket-event]').length >= 2`)
	hist := op.evalString(`document.querySelector('[data-testid=ticket-events]').innerText`)
	for _, want := range []string{"在线咨询", "系统"} {
		if !strings.Contains(hist, want) {
			t.Errorf("the history lacks %q:\n%s", want, hist)
		}
	}
	for _, code := range []string{"system", "resident", "chat", "wy-jinqiao"} {
		if strings.Contains(hist, code) {
			t.Errorf("the history shows the code %q:\n%s", code, hist)
		}
	}
	if grid := op.evalString(`document.querySelector('[data-testid=ticket-detail]').innerText`); strings.Contains(grid, "wy-jinqiao-") {
		t.Errorf("the ticket shows a grid id:\n%s", grid)
	}

	// A note with no text: a sentence again.
	op.click("[data-testid=ticket-action-note]")
	op.waitJS("the refusal of an empty note", `['invalid', 'bad_request'].includes(document.querySelector('[data-testid=status]').dataset.code)`)
	readableStatus(t, op, "备注")
}

// readableStatus checks that the console's status line is a sentence for people: Chinese words,
// want among them, no error code, no field name, no English.
func readableStatus(t *testing.T, op *tab, want string) {
	t.Helper()
	text := op.evalString(`document.querySelector('[data-testid=status]').textContent`)
	if !strings.Contains(text, want) {
		t.Errorf("the status %q does not say %q", text, want)
	}
	for _, c := range []string{"invalid", "bad_request", "phone", "note", "·", "needs", "want"} {
		if strings.Contains(text, c) {
			t.Errorf("the status %q shows %q", text, c)
		}
	}
}

func TestConsolePhoneLayout(t *testing.T) {
	d := newDesk(t, "op1", "op2")
	defer d.finish()
	op := d.operator("op1")
	op.do(chromedp.EmulateViewport(390, 844))
	other := d.operator("op2")
	op.waitJS("two operators online", `document.querySelector('[data-testid=online]').textContent.includes('2')`)

	res := dialResident(t, d.base, "wy-jinqiao")
	res.ask("p1", "小区的垃圾好几天没人清运了，物业也不管，楼道里味道很大，请帮忙联系一下社区和网格员尽快处理")
	if r := res.ask("p2", askPerson); r.Decision != "handoff" {
		t.Fatalf("%q: decision %q", askPerson, r.Decision)
	}
	conv := op.waitingConversation("垃圾")
	fits := fmt.Sprintf(`(() => {
		const card = document.querySelector('[data-testid=waiting-item][data-conversation=%q]');
		const b = card.querySelector('[data-testid=take-button]').getBoundingClientRect();
		const c = card.getBoundingClientRect();
		return document.documentElement.scrollWidth <= innerWidth && card.scrollWidth <= card.clientWidth + 1 &&
			c.right <= innerWidth && b.left >= 0 && b.right <= innerWidth && b.top >= 0 && b.bottom <= innerHeight;
	})()`, conv)
	metrics := fmt.Sprintf(`(() => {
		const card = document.querySelector('[data-testid=waiting-item][data-conversation=%q]');
		const b = card.querySelector('[data-testid=take-button]').getBoundingClientRect();
		return JSON.stringify({doc: document.documentElement.scrollWidth, inner: [innerWidth, innerHeight], card: [card.scrollWidth, card.clientWidth, card.getBoundingClientRect().right], take: [b.left, b.top, b.right, b.bottom]});
	})()`, conv)
	if ok := op.evalString(fits + ` ? 'yes' : 'no'`); ok != "yes" {
		t.Errorf("on a 390×844 phone: %s", op.evalString(metrics))
	}
	op.waitJS("the waiting card within 390 px and 接入 on screen", fits)
	op.click(takeButton(conv))
	op.waitJS("taken on the phone", `document.querySelector('[data-testid=live-item]') && document.querySelector('[data-testid=live-item]').dataset.mine === '1'`)

	// The other operator leaves the console for another page of the site (the back/forward
	// cache may keep it): 在线坐席 counts one.
	other.do(chromedp.Navigate(d.base + "/?community=wy-jinqiao"))
	op.waitJS("one operator online once the other page is left", `document.querySelector('[data-testid=online]').textContent.includes('1')`)
}
