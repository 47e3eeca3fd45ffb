package e2e

// The dashboard's chats and emergencies, from real conversations: one the bot answers (👍), one
// emergency an operator takes from the alert, one handoff an operator takes and answers. The
// manager's page shows the bot's resolution, the handoff taken with its wait and first response,
// and today's emergency with its time to an operator.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestDashboardChatFigures(t *testing.T) {
	d := newDesk(t, "op1", "manager:mgr")
	defer d.finish()
	op := d.operator("op1")

	// 1. Answered, voted helpful.
	a := dialResident(t, d.base, "wy-jinqiao")
	if r := a.ask("q1", "低保怎么申请"); r.Decision != "answer" {
		t.Fatalf("低保怎么申请: decision %q, want answer", r.Decision)
	}
	a.send(map[string]any{"type": "feedback", "reply_to": "q1", "helpful": true})

	// 2. An emergency, taken from the alert.
	e := dialResident(t, d.base, "wy-jinqiao")
	if r := e.ask("e1", "着火了 快来人"); r.Decision != "emergency" {
		t.Fatalf("着火了: decision %q", r.Decision)
	}
	op.click(`[data-testid=emergency-take]`)
	e.wait("the emergency taken", func(f *wsFrame) bool { return f.Type == "handoff" && f.State == "live" })

	// 3. A handoff, taken and answered.
	h := dialResident(t, d.base, "wy-jinqiao")
	if r := h.ask("h1", askPerson); r.Decision != "handoff" {
		t.Fatalf("%s: decision %q", askPerson, r.Decision)
	}
	conv := op.waitingConversation(askPerson)
	op.click(takeButton(conv))
	op.waitJS("the handoff taken", fmt.Sprintf(`(() => { const i = document.querySelector('[data-testid=live-item][data-conversation=%q]');
		return !!i && i.dataset.mine === '1' && !document.querySelector('[data-testid=chat-input]').disabled; })()`, conv))
	op.typeInto("[data-testid=chat-input]", "您好，请讲")
	op.click("[data-testid=chat-send]")
	h.wait("the operator's message", func(f *wsFrame) bool { return f.Type == "agent" })
	a.send(map[string]any{"type": "ping"})
	a.wait("the vote read", func(f *wsFrame) bool { return f.Type == "pong" })

	// The manager's dashboard.
	m := d.newTab("mgr")
	m.do(chromedp.Navigate(d.base + "/dashboard"))
	m.waitJS("the login form", `!document.querySelector('[data-testid=login]').hidden`)
	m.typeInto("[data-testid=login-name]", "mgr")
	m.typeInto("[data-testid=login-password]", staffPassword)
	m.click("[data-testid=login-submit]")
	m.waitJS("the dashboard ready", `document.querySelector('[data-testid=dashboard]').dataset.state === 'ready'`)
	field := func(k string) string {
		return m.evalString(`document.querySelector('[data-testid=chat-details] [data-field=` + k + `]').textContent`)
	}
	for k, want := range map[string]string{"conversations": "3", "answered": "1", "resolved": "1", "handoffs": "1", "taken": "1", "abandoned": "0 (0.0%)", "waiting": "0"} {
		if got := field(k); got != want {
			t.Errorf("chat figure %s: %q, want %q", k, got, want)
		}
	}
	if got := m.evalString(`document.querySelector('[data-testid=chat-resolution]').textContent`); got != "33.3%" {
		t.Errorf("bot resolution %q, want 33.3%% (1 of 3)", got)
	}
	for _, k := range []string{"wait", "firstResponse"} {
		if got := field(k); strings.Contains(got, "—") || !strings.Contains(got, "秒") {
			t.Errorf("%s: %q, want a time in seconds", k, got)
		}
	}
	row := m.evalString(`(() => { const r = document.querySelector('[data-testid=emergency-table] tbody tr[data-key]');
		return r ? [...r.children].map(c => c.textContent).join('|') : ''; })()`)
	cells := strings.Split(row, "|")
	if len(cells) != 5 || cells[1] != "1" || cells[2] != "1" || !strings.Contains(cells[3], "秒") {
		t.Errorf("the emergency row %q: want today's, 1 emergency, 1 taken, a time to the operator", row)
	}
}
