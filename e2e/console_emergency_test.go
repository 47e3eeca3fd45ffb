package e2e

// A resident's emergency reaches the operators' console the moment the bot decides it — a red
// alert above the queue with the resident's words and place, a sound, and 立即接入 — before any
// ticket exists. The resident is driven over the chat WebSocket from Go, the console in chromium.

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestConsoleEmergencyAlert(t *testing.T) {
	d := newDesk(t, "op1")
	defer d.finish()
	op := d.operator("op1")
	op.waitJS("an empty queue", `document.querySelectorAll('[data-testid=waiting-item]').length === 0`)

	res := dialResident(t, d.base, "wy-jinqiao")
	const fire = "着火了 快来人 楼道里全是烟"
	r := res.ask("e1", fire)
	if r.Decision != "emergency" {
		t.Fatalf("the bot's decision on %q: %q, want emergency (%s)", fire, r.Decision, r.Text)
	}
	if r.Ticket != nil {
		t.Fatalf("a ticket already with the first reply: %+v", r.Ticket)
	}

	// The console: the red alert with the resident's words and the community, a sound, the count.
	alert := `document.querySelector('[data-testid=emergency-alert]')`
	op.waitJS("the emergency alert with the resident's words", `!!`+alert+` && `+alert+`.querySelector('[data-testid=emergency-words]').textContent.includes(`+jsString(fire)+`)`)
	if place := op.evalString(alert + `.querySelector('[data-testid=emergency-place]').textContent`); !strings.Contains(place, "金桥") {
		t.Errorf("the alert's place %q does not name the community 金桥社区", place)
	}
	if n := op.evalString(`document.querySelector('[data-testid=alert-count]').dataset.sounds || '0'`); n == "0" {
		t.Errorf("the emergency alert played no sound")
	}
	conv := op.evalString(alert + `.dataset.conversation`)
	// In the queue too, first and in red — not in the colour of a topic.
	op.waitJS("the waiting chat marked an emergency", fmt.Sprintf(`(() => { const i = document.querySelector('[data-testid=waiting-item]');
		return !!i && i.dataset.conversation === %q && i.dataset.emergency === '1' && i.classList.contains('emergency'); })()`, conv))
	color := op.evalString(`getComputedStyle(document.querySelector('[data-testid=waiting-item]')).borderLeftColor`)
	if color != "rgb(197, 34, 31)" {
		t.Errorf("the emergency's waiting card has border %s, want the red rgb(197, 34, 31)", color)
	}
	// No ticket exists yet: the alert came first.
	if n := op.evalString(`(() => { const x = new XMLHttpRequest(); x.open('GET', '/api/v1/tickets', false); x.send();
		const v = JSON.parse(x.responseText); return String((Array.isArray(v) ? v : v.tickets || []).length); })()`); n != "0" {
		t.Fatalf("%s tickets exist before the operator took the emergency", n)
	}

	// 立即接入: the chat is the operator's, and the resident is told a person joined.
	op.click(`[data-testid=emergency-take]`)
	op.waitJS("the emergency chat live and the operator's", fmt.Sprintf(`(() => { const i = document.querySelector('[data-testid=live-item][data-conversation=%q]');
		return !!i && i.dataset.mine === '1' && !document.querySelector('[data-testid=chat-input]').disabled; })()`, conv))
	op.waitJS("the alert gone once taken", `!document.querySelector('[data-testid=emergency-alert]')`)
	res.wait("the resident told a person joined", func(f *wsFrame) bool { return f.Type == "handoff" && f.State == "live" })

	// 转为工单: the emergency's topic, and the resident is told who acts and when, in minutes.
	op.click("[data-testid=ticket-button]")
	op.waitJS("the ticket form", `!document.querySelector('[data-testid=ticket-form]').hidden`)
	if topic := op.evalString(`document.querySelector('[data-testid=ticket-topic]').value`); !strings.HasPrefix(topic, "emergency-") {
		t.Errorf("the form's topic %q, want the emergency the chat is about", topic)
	}
	if desc := op.evalString(`document.querySelector('[data-testid=ticket-description]').value`); desc != fire {
		t.Errorf("the form's summary %q, want the resident's words %q", desc, fire)
	}
	op.setValue("[data-testid=ticket-address]", "虹亚小区3号楼")
	op.click("[data-testid=ticket-submit]")
	n := res.wait("the ticket's notice", func(f *wsFrame) bool { return f.Type == "notice" })
	if !strings.Contains(n.Text, "分钟内") || strings.Contains(n.Text, "办结") {
		t.Errorf("the resident's notice of the emergency ticket: %q; want who acts within minutes, no 办结 date", n.Text)
	}
}

// ---- a resident over the chat WebSocket (docs/protocol.md) ----

type wsResident struct {
	t    *testing.T
	conn *websocket.Conn
}

type wsFrame struct {
	Type     string          `json:"type"`
	ReplyTo  string          `json:"reply_to"`
	Decision string          `json:"decision"`
	Topic    string          `json:"topic"`
	Text     string          `json:"text"`
	State    string          `json:"state"`
	Code     string          `json:"code"`
	Ticket   json.RawMessage `json:"ticket"`
}

func dialResident(t *testing.T, base, community string) *wsResident {
	t.Helper()
	ws := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	conn, _, err := ws.Dial("ws"+strings.TrimPrefix(base, "http")+"/ws/chat", nil)
	if err != nil {
		t.Fatalf("GET /ws/chat: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	r := &wsResident{t: t, conn: conn}
	r.send(map[string]any{"type": "hello", "session": "", "community": community})
	r.wait("welcome", func(f *wsFrame) bool { return f.Type == "welcome" })
	return r
}

func (r *wsResident) send(frame map[string]any) {
	r.t.Helper()
	if err := r.conn.WriteJSON(frame); err != nil {
		r.t.Fatalf("chat: %v", err)
	}
}

// wait reads frames until one satisfies ok, within 20 s.
func (r *wsResident) wait(what string, ok func(*wsFrame) bool) *wsFrame {
	r.t.Helper()
	r.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		var f wsFrame
		if err := r.conn.ReadJSON(&f); err != nil {
			r.t.Fatalf("chat, waiting for %s: %v", what, err)
		}
		if f.Type == "error" {
			r.t.Fatalf("chat, waiting for %s: error %s", what, f.Code)
		}
		if ok(&f) {
			return &f
		}
	}
}

// ask sends a question and returns the bot's reply to it (a ticket, if any, in Ticket).
func (r *wsResident) ask(id, text string) *askReply {
	r.t.Helper()
	r.send(map[string]any{"type": "ask", "id": id, "text": text})
	f := r.wait("the reply to "+id, func(f *wsFrame) bool { return f.Type == "reply" && f.ReplyTo == id })
	out := &askReply{Decision: f.Decision, Topic: f.Topic, Text: f.Text}
	if len(f.Ticket) > 0 && string(f.Ticket) != "null" {
		out.Ticket = f.Ticket
	}
	return out
}

type askReply struct {
	Decision string
	Topic    string
	Text     string
	Ticket   json.RawMessage
}
