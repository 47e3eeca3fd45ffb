package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/web"
)

// The operator desk over real WebSockets: a resident's chat on /ws/chat, consoles on
// /ws/operator, against the fully wired server of chat_test.go.

// opClient is a console's connection.
type opClient struct {
	t    *testing.T
	ws   *websocket.Conn
	name string
	seq  int
}

// opFrame is any frame a console is sent.
type opFrame struct {
	Type         string          `json:"type"`
	ReplyTo      string          `json:"reply_to"`
	OK           bool            `json:"ok"`
	Code         string          `json:"code"`
	Message      string          `json:"message"`
	ID           string          `json:"id"`
	Kind         string          `json:"kind"`
	Conversation string          `json:"conversation"`
	Number       string          `json:"number"`
	Action       string          `json:"action"`
	Ticket       json.RawMessage `json:"ticket"`
	Turn         intake.Turn     `json:"turn"`
	Online       int             `json:"online"`
	Chats        []struct {
		ID       string        `json:"id"`
		State    string        `json:"state"`
		Operator string        `json:"operator"`
		Agent    string        `json:"agent"`
		Turns    []intake.Turn `json:"turns"`
		Guess    *struct {
			ID string `json:"id"`
		} `json:"guess"`
	} `json:"chats"`
}

// session makes a staff account with a logged-in session and returns its cookie.
func (e *chatEnv) session(name string, role intake.Role, grid string) *http.Cookie {
	e.t.Helper()
	ctx := context.Background()
	if err := e.store.AddUser(ctx, &intake.User{Name: name, Role: role, Grid: grid}); err != nil {
		e.t.Fatal(err)
	}
	token, hash := web.NewToken()
	if err := e.store.AddSession(ctx, intake.Session{TokenHash: hash, User: name, CSRF: "csrf-" + name, Expires: time.Now().Add(time.Hour)}); err != nil {
		e.t.Fatal(err)
	}
	return &http.Cookie{Name: "hotline_session", Value: token}
}

func (e *chatEnv) opURL() string { return strings.Replace(e.url, "/ws/chat", "/ws/operator", 1) }

// console logs an operator in and connects their console; it returns after the first state.
func (e *chatEnv) console(name string) *opClient {
	e.t.Helper()
	cookie := e.session(name, intake.RoleOperator, "")
	h := http.Header{"Cookie": {cookie.String()}}
	ws, resp, err := (&websocket.Dialer{HandshakeTimeout: chatReadWait}).Dial(e.opURL(), h)
	if err != nil {
		e.t.Fatalf("console %s: %v (%v)", name, err, resp)
	}
	e.t.Cleanup(func() { ws.Close() })
	o := &opClient{t: e.t, ws: ws, name: name}
	o.want("hello", nil)
	o.want("state", nil)
	return o
}

func (o *opClient) send(v map[string]string) string {
	o.t.Helper()
	o.seq++
	id := fmt.Sprintf("%s-%d", o.name, o.seq)
	v["id"] = id
	o.ws.SetWriteDeadline(time.Now().Add(chatReadWait))
	if err := o.ws.WriteJSON(v); err != nil {
		o.t.Fatal(err)
	}
	return id
}

// want reads frames until one of type typ for which ok (if given) holds, skipping others.
func (o *opClient) want(typ string, ok func(opFrame) bool) opFrame {
	o.t.Helper()
	deadline := time.Now().Add(chatReadWait)
	for {
		o.ws.SetReadDeadline(deadline)
		_, b, err := o.ws.ReadMessage()
		if err != nil {
			o.t.Fatalf("console %s waiting for %s: %v", o.name, typ, err)
		}
		var f opFrame
		if err := json.Unmarshal(b, &f); err != nil {
			o.t.Fatalf("console frame %s: %v", b, err)
		}
		if f.Type == typ && (ok == nil || ok(f)) {
			return f
		}
	}
}

// do sends a request and returns its result.
func (o *opClient) do(v map[string]string) opFrame {
	o.t.Helper()
	id := o.send(v)
	return o.want("result", func(f opFrame) bool { return f.ReplyTo == id })
}

// readUntil reads resident frames until one of type typ, failing on a bot reply first when
// noReply is set.
func (c *chatClient) readUntil(typ string, noReply bool) chatFrame {
	c.t.Helper()
	for {
		f := c.read()
		if f.Type == typ {
			return f
		}
		if noReply && f.Type == "reply" {
			c.t.Fatalf("the bot answered while a person holds the chat: %s", f)
		}
	}
}

// waiting has a resident ask for a person and returns the conversation id as consoles see it.
func waiting(t *testing.T, c *chatClient, o *opClient) string {
	t.Helper()
	f := c.ask("我要找人工客服")
	wantDecisionTopic(t, f, bot.Handoff, "")
	wantOptions(t, f, "keep_bot")
	alert := o.want("alert", func(f opFrame) bool { return f.Kind == "handoff" })
	st := o.want("state", func(f opFrame) bool {
		for _, ch := range f.Chats {
			if ch.ID == alert.Conversation && ch.State == intake.HandoffWaiting && len(ch.Turns) >= 2 {
				return true
			}
		}
		return false
	})
	_ = st
	return alert.Conversation
}

func TestOperatorHandoff(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	op := e.console("zhang")
	c := e.dial()
	welcome := c.hello("", "wy-jinqiao")
	c.ask("暖气不热咋办")
	conv := waiting(t, c, op)

	// While waiting the bot is silent too: the message goes to the queue.
	c.send(map[string]string{"type": "ask", "id": "w1", "text": "人呢"})
	if f := c.readUntil("received", true); f.ReplyTo != "w1" {
		t.Fatalf("received %s, want reply_to w1", f)
	}
	op.want("turn", func(f opFrame) bool { return f.Conversation == conv && f.Turn.Text == "人呢" })

	if r := op.do(map[string]string{"type": "take", "conversation": conv}); !r.OK {
		t.Fatalf("take: %+v", r)
	}
	f := c.readUntil("handoff", true)
	if f.State != intake.HandoffLive || f.Agent != "0001" || strings.Contains(f.Text, "zhang") {
		t.Fatalf("resident got %s, want live with the operator's number and not their name", f)
	}

	// The bot is silent; resident and operator talk.
	c.send(map[string]string{"type": "ask", "id": "m1", "text": "低保咋申请"})
	if f := c.readUntil("received", true); f.ReplyTo != "m1" {
		t.Fatalf("received %s", f)
	}
	op.want("turn", func(f opFrame) bool {
		return f.Conversation == conv && f.Turn.From == "resident" && f.Turn.Text == "低保咋申请"
	})
	c.send(map[string]string{"type": "typing"})
	op.want("typing", func(f opFrame) bool { return f.Conversation == conv })
	op.send(map[string]string{"type": "typing", "conversation": conv})
	c.readUntil("typing", true)
	say := op.do(map[string]string{"type": "say", "conversation": conv, "text": "您好，请问您家住哪个小区？"})
	if !say.OK || say.ID == "" {
		t.Fatalf("say: %+v", say)
	}
	f = c.readUntil("agent", true)
	if f.Text != "您好，请问您家住哪个小区？" || f.Agent != "0001" || f.ID != say.ID {
		t.Fatalf("resident got %s", f)
	}
	c.send(map[string]string{"type": "ack", "id": f.ID})
	op.want("delivered", func(d opFrame) bool { return d.Conversation == conv && d.ID == say.ID })

	// A guide entry in one click.
	if r := op.do(map[string]string{"type": "send_entry", "conversation": conv, "entry": "dibao"}); !r.OK {
		t.Fatalf("send_entry: %+v", r)
	}
	if f = c.readUntil("agent", true); !strings.Contains(f.Text, "低保") {
		t.Fatalf("entry sent as %s", f)
	}

	// A ticket from the chat, then its resolution reaches the resident.
	r := op.do(map[string]string{"type": "ticket", "conversation": conv, "topic": "report-heating",
		"address": "金桥小区5号楼2单元", "phone": "13912345678"})
	if !r.OK {
		t.Fatalf("ticket: %+v", r)
	}
	var ti intake.TicketInfo
	json.Unmarshal(r.Ticket, &ti)
	f = c.readUntil("notice", true)
	if f.Ticket == nil || f.Ticket.Number != ti.Number || !strings.Contains(f.Text, ti.Number) {
		t.Fatalf("resident notice %s, want ticket %s", f, ti.Number)
	}
	tk, err := e.store.Get(context.Background(), ti.Number)
	if err != nil {
		t.Fatal(err)
	}
	if tk.ConversationID != conv || !strings.Contains(tk.Description, "低保咋申请") || tk.Channel != intake.ChannelChat {
		t.Errorf("ticket: conversation %q channel %q description %q; want the chat attached", tk.ConversationID, tk.Channel, tk.Description)
	}
	ctx := context.Background()
	for _, ch := range []intake.Change{{Action: intake.ActSign, Actor: "w"}, {Action: intake.ActResolve, Actor: "w", Note: "已修好暖气阀门"}} {
		if tk.Status == intake.Received && ch.Action == intake.ActSign {
			if tk, err = e.svc.Apply(ctx, tk.Number, 0, intake.Change{Action: intake.ActDispatch, Actor: "zhang", Grid: tk.Grid}); err != nil {
				t.Fatal(err)
			}
		}
		if tk, err = e.svc.Apply(ctx, tk.Number, 0, ch); err != nil {
			t.Fatal(err)
		}
	}
	op.want("ticket", func(f opFrame) bool { return f.Number == ti.Number && f.Action == "resolve" })
	f = c.readUntil("notice", true)
	if !strings.Contains(f.Text, "已修好暖气阀门") || f.Ticket == nil || f.Ticket.Status != string(intake.Resolved) {
		t.Fatalf("resolution notice %s", f)
	}
	resp, err := http.Get(e.ts.URL + "/api/v1/tickets/" + ti.Number + "?code=" + tk.AccessCode)
	if err != nil {
		t.Fatal(err)
	}
	var lookup struct {
		Reply string `json:"reply"`
	}
	json.NewDecoder(resp.Body).Decode(&lookup)
	resp.Body.Close()
	if lookup.Reply != "已修好暖气阀门" {
		t.Errorf("status lookup reply %q, want the resolution", lookup.Reply)
	}

	// Back to the bot.
	if r := op.do(map[string]string{"type": "release", "conversation": conv}); !r.OK {
		t.Fatalf("release: %+v", r)
	}
	if f = c.readUntil("handoff", true); f.State != "ended" {
		t.Fatalf("resident got %s, want ended", f)
	}
	if f = c.ask("低保咋申请"); f.Type != "reply" || f.Decision != bot.Answer {
		t.Fatalf("after release the bot answers: got %s", f)
	}

	// A reload shows the operator's turns with their number.
	c2 := e.dial()
	w := c2.hello(welcome.Session, "")
	found := false
	for _, turn := range w.History {
		found = found || turn.From == "operator" && turn.Agent == "0001"
	}
	if !found {
		t.Errorf("history after reload lacks the operator's turns: %+v", w.History)
	}
}

// Two operators take one chat at the same moment: exactly one wins, the other is told.
func TestOperatorTakeRace(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	a, b := e.console("a"), e.console("b")
	for round := range 3 {
		c := e.dial()
		c.hello("", "")
		conv := waiting(t, c, a)
		var wg sync.WaitGroup
		results := make([]opFrame, 2)
		for i, o := range []*opClient{a, b} {
			id := o.send(map[string]string{"type": "take", "conversation": conv})
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = o.want("result", func(f opFrame) bool { return f.ReplyTo == id })
			}()
		}
		wg.Wait()
		if results[0].OK == results[1].OK {
			t.Fatalf("round %d: results %+v and %+v, want exactly one take", round, results[0], results[1])
		}
		lost := results[0]
		if lost.OK {
			lost = results[1]
		}
		if lost.Code != "taken" {
			t.Errorf("round %d: the loser got %+v, want code taken", round, lost)
		}
		stored, err := e.store.Conversation(context.Background(), conv)
		if err != nil || stored.Handoff != intake.HandoffLive || (stored.Operator != "a") != results[1].OK {
			t.Errorf("round %d: stored %+v, %v; want it live with the winner", round, stored, err)
		}
		c.readUntil("handoff", true)
	}
}

// An operator acts only on chats they hold; bad frames are refused and the console stays.
func TestOperatorRefusals(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	a, b := e.console("a"), e.console("b")
	c := e.dial()
	c.hello("", "")
	conv := waiting(t, c, a)
	if r := b.do(map[string]string{"type": "say", "conversation": conv, "text": "hi"}); r.OK || r.Code != "not_yours" {
		t.Errorf("say on a waiting chat: %+v, want not_yours", r)
	}
	if r := a.do(map[string]string{"type": "take", "conversation": conv}); !r.OK {
		t.Fatal(r)
	}
	for _, req := range []map[string]string{
		{"type": "say", "conversation": conv, "text": "hi"},
		{"type": "release", "conversation": conv},
		{"type": "ticket", "conversation": conv, "category": "other", "phone": "13912345678"},
		{"type": "send_entry", "conversation": conv, "entry": "dibao"},
	} {
		if r := b.do(req); r.OK || r.Code != "not_yours" {
			t.Errorf("b %s on a's chat: %+v, want not_yours", req["type"], r)
		}
	}
	for _, tc := range []struct {
		req  map[string]string
		code string
	}{
		{map[string]string{"type": "take", "conversation": "nope"}, "not_found"},
		{map[string]string{"type": "take", "conversation": conv}, "taken"},
		{map[string]string{"type": "say", "conversation": conv, "text": "  "}, "bad_request"},
		{map[string]string{"type": "say", "conversation": conv, "text": strings.Repeat("字", 2001)}, "bad_request"},
		{map[string]string{"type": "send_entry", "conversation": conv, "entry": "nope"}, "bad_request"},
		{map[string]string{"type": "send_card", "conversation": conv, "community": "nope"}, "bad_request"},
		{map[string]string{"type": "ticket", "conversation": conv, "category": "cooking", "phone": "13912345678"}, "bad_request"},
	} {
		if r := a.do(tc.req); r.OK || r.Code != tc.code {
			t.Errorf("%v: %+v, want %s", tc.req, r, tc.code)
		}
	}
	a.ws.WriteMessage(websocket.TextMessage, []byte("not json"))
	if f := a.want("error", nil); f.Code != "bad_json" {
		t.Errorf("bad frame: %+v", f)
	}
	if r := a.do(map[string]string{"type": "say", "conversation": conv, "text": "还在"}); !r.OK {
		t.Errorf("the console did not survive a bad frame: %+v", r)
	}
}

// A resident who waits too long is offered a ticket; choosing the bot ends the wait.
func TestHandoffSweep(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, intake.Beijing)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := newChatEnv(t, chatOptions{wait: time.Minute, now: clock})
	op := e.console("a")
	c := e.dial()
	c.hello("", "")
	conv := waiting(t, c, op)

	if n, err := e.srv.SweepHandoffs(context.Background()); err != nil || n != 0 {
		t.Fatalf("sweep before the wait: %d, %v; want none offered", n, err)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	if n, err := e.srv.SweepHandoffs(context.Background()); err != nil || n != 1 {
		t.Fatalf("sweep after the wait: %d, %v; want 1", n, err)
	}
	f := c.readUntil("handoff", true)
	if f.State != intake.HandoffOffered {
		t.Fatalf("resident got %s, want offered", f)
	}
	wantOptions(t, f, "handoff_ticket", "keep_bot")
	op.want("state", func(f opFrame) bool {
		return len(f.Chats) == 1 && f.Chats[0].ID == conv && f.Chats[0].State == intake.HandoffOffered
	})
	if f = c.choose("keep_bot"); f.Type != "reply" {
		t.Fatalf("keep_bot: %s", f)
	}
	if f = c.ask("低保咋申请"); f.Decision != bot.Answer {
		t.Fatalf("the bot is back: got %s", f)
	}
	if st, _ := e.store.Conversation(context.Background(), conv); st.Handoff != intake.HandoffNone {
		t.Errorf("handoff %q after keep_bot, want none", st.Handoff)
	}
}

// A resident who stops waiting goes back to the bot; consoles see the chat leave the queue.
func TestHandoffKeepBot(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	op := e.console("a")
	c := e.dial()
	c.hello("", "")
	waiting(t, c, op)
	f := c.choose("keep_bot")
	if f.Type != "reply" || !strings.Contains(f.Text, "取消") {
		t.Fatalf("keep_bot: %s", f)
	}
	op.want("state", func(f opFrame) bool { return len(f.Chats) == 0 })
	if f = c.ask("低保咋申请"); f.Decision != bot.Answer {
		t.Fatalf("the bot is back: got %s", f)
	}
}

// Resident markup reaches consoles as the same text: data, never markup the server rewrote.
func TestOperatorSeesResidentTextVerbatim(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	op := e.console("a")
	c := e.dial()
	c.hello("", "")
	conv := waiting(t, c, op)
	payload := `<img src=x onerror="alert(1)"><script>alert(2)</script>`
	c.send(map[string]string{"type": "ask", "id": "x1", "text": payload})
	op.want("turn", func(f opFrame) bool { return f.Conversation == conv && f.Turn.Text == payload })
}

// Who may open /ws/operator: staff of the desk roles, from the console's own origin.
func TestOperatorSocketAccess(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	dial := func(h http.Header) int {
		ws, resp, err := (&websocket.Dialer{HandshakeTimeout: chatReadWait}).Dial(e.opURL(), h)
		if err == nil {
			ws.Close()
			return http.StatusSwitchingProtocols
		}
		if resp == nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	cookie := func(name string, role intake.Role) string { return e.session(name, role, "g1").String() }
	for _, tc := range []struct {
		name   string
		header http.Header
		want   int
	}{
		{"anonymous", http.Header{}, http.StatusUnauthorized},
		{"grid worker", http.Header{"Cookie": {cookie("gw", intake.RoleGridWorker)}}, http.StatusForbidden},
		{"operator", http.Header{"Cookie": {cookie("op", intake.RoleOperator)}}, http.StatusSwitchingProtocols},
		{"manager", http.Header{"Cookie": {cookie("mg", intake.RoleManager)}}, http.StatusSwitchingProtocols},
		{"admin", http.Header{"Cookie": {cookie("ad", intake.RoleAdmin)}}, http.StatusSwitchingProtocols},
		{"operator from another site", http.Header{"Cookie": {cookie("op2", intake.RoleOperator)}, "Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"operator from the console", http.Header{"Cookie": {cookie("op3", intake.RoleOperator)}, "Origin": {e.ts.URL}}, http.StatusSwitchingProtocols},
	} {
		if got := dial(tc.header); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

// A console flooding requests is slowed down with a clear result, and stays connected.
func TestOperatorFlood(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	op := e.console("a")
	var ids []string
	for range 60 {
		ids = append(ids, op.send(map[string]string{"type": "take", "conversation": "nope"}))
	}
	limited := 0
	for _, id := range ids {
		r := op.want("result", func(f opFrame) bool { return f.ReplyTo == id })
		if r.Code == "rate_limited" {
			limited++
		} else if r.Code != "not_found" {
			t.Errorf("request %s: %+v", id, r)
		}
	}
	if limited == 0 || limited == len(ids) {
		t.Errorf("%d of %d requests limited; want the burst through and the rest limited", limited, len(ids))
	}
	op.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`))
	op.want("pong", nil)
}

// A waiting resident is told their place in the queue and how many operators are on duty, and,
// when none is, honestly so with the offer of a ticket, which they may take while waiting.
func TestHandoffQueueFrames(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	op := e.console("a")
	first, second := e.dial(), e.dial()
	first.hello("", "")
	second.hello("", "")
	waiting(t, first, op)
	if f := first.readUntil("queue", false); f.Position != 0 || f.Online != 1 || f.Text != "" {
		t.Fatalf("the first in the queue got %s; want position 0, one operator online", f)
	}
	waiting(t, second, op)
	if f := second.readUntil("queue", false); f.Position != 1 || f.Online != 1 {
		t.Fatalf("the second in the queue got %s; want position 1, one operator online", f)
	}
	// The only console leaves: nobody is on duty, and the resident is told so.
	op.ws.Close()
	f := first.readUntil("queue", false)
	if f.Online != 0 || !strings.Contains(f.Text, "没有工作人员在线") || !slices.Equal(f.optionIDs(), []string{"handoff_ticket", "keep_bot"}) {
		t.Fatalf("with no console: %s; want online 0, the text and handoff_ticket / keep_bot", f)
	}
	// Registering a ticket while still waiting: the report starts from the conversation.
	r := first.choose("handoff_ticket")
	if r.Decision != bot.Report {
		t.Fatalf("handoff_ticket while waiting: %s; want the report to start", r)
	}
}

// What a report collected before the resident asked for a person goes with the operator's ticket:
// the phone's location that answered where becomes the ticket's point. A photo sent while the
// operator holds the chat reaches the console at once, as the resident's turn naming it.
func TestOperatorTicketKeepsLocationAndSeesPhotos(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	op := e.console("zhang")
	c := e.dial()
	session := c.hello("", "wy-jinqiao").Session
	if f := c.ask("俺们楼门口的路灯坏了好几天了"); !strings.Contains(f.Text, "地点") {
		t.Fatalf("the report's question: %s; want where", f)
	}
	c.send(map[string]any{"type": "location", "id": "loc1", "lat": 41.0967, "lng": 108.2857})
	c.readUntil("location", true)
	if f := c.readUntil("reply", true); !strings.Contains(f.Text, "电话") {
		t.Fatalf("after the location: %s; want the phone asked", f)
	}
	c.ask("13812345678")
	conv := waiting(t, c, op)
	if r := op.do(map[string]string{"type": "take", "conversation": conv}); !r.OK {
		t.Fatalf("take: %+v", r)
	}
	c.readUntil("handoff", true)

	up := e.post("POST", "/api/v1/chat/attachments", jpegBytes(10<<10), "X-Hotline-Session", session)
	var a intake.Attachment
	if up.status != 201 || json.Unmarshal(up.body, &a) != nil {
		t.Fatalf("upload in a live chat: %d %s", up.status, up.body)
	}
	op.want("turn", func(f opFrame) bool {
		return f.Conversation == conv && f.Turn.From == "resident" && f.Turn.Attachment == a.ID
	})

	r := op.do(map[string]string{"type": "ticket", "conversation": conv, "topic": "report-streetlight",
		"address": "手机定位（居民发送）", "phone": "13812345678"})
	if !r.OK {
		t.Fatalf("ticket: %+v", r)
	}
	var ti intake.TicketInfo
	json.Unmarshal(r.Ticket, &ti)
	tk, err := e.store.Get(context.Background(), ti.Number)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Lat == nil || tk.Lng == nil || *tk.Lat != 41.0967 || *tk.Lng != 108.2857 {
		t.Errorf("the operator's ticket lat %v lng %v; want the phone's location the chat collected", tk.Lat, tk.Lng)
	}
}

// Danger told while waiting for an operator or talking to one: the bot gives the numbers at once
// (the message still goes to the person) and the consoles get the emergency alert. An impatient
// 人呢, 有人吗 or 快点啊 is the person's, not an alarm.
func TestEmergencyWhileAPersonIsInvolved(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	op := e.console("zhang")
	c := e.dial()
	c.hello("", "wy-jinqiao")
	conv := waiting(t, c, op)

	for i, text := range []string{"人呢", "有人吗", "还要等多久啊", "快点啊"} {
		id := fmt.Sprintf("calm%d", i)
		c.send(map[string]string{"type": "ask", "id": id, "text": text})
		if f := c.readUntil("received", true); f.ReplyTo != id {
			t.Fatalf("received %s; want reply_to %s", f, id)
		}
	}

	c.send(map[string]string{"type": "ask", "id": "fire", "text": "人呢 快点 楼道里着火了 全是烟"})
	if f := c.readUntil("received", false); f.ReplyTo != "fire" {
		t.Fatalf("received %s; want reply_to fire", f)
	}
	f := c.readUntil("reply", false)
	if f.ReplyTo != "fire" || f.Decision != bot.Emergency || !f.Aside || !strings.Contains(f.Text, "119") || !strings.Contains(f.Text, "工作人员") {
		t.Fatalf("the reply to a fire while waiting: %s; want the emergency's numbers, as an aside, and that the staff have it", f)
	}
	op.want("turn", func(f opFrame) bool {
		return f.Conversation == conv && f.Turn.Text == "人呢 快点 楼道里着火了 全是烟"
	})
	op.want("alert", func(f opFrame) bool { return f.Kind == "emergency" && f.Conversation == conv })

	// A message that only may tell of danger (the model's bar for the numbers first, not its
	// emergency): the numbers alone, as an aside, and still the person's.
	c.send(map[string]string{"type": "ask", "id": "maybe", "text": "快来人啊"})
	c.readUntil("received", false)
	if f := c.readUntil("reply", false); f.ReplyTo != "maybe" || f.Decision == bot.Emergency || !f.Aside ||
		!strings.HasPrefix(f.Text, "如果有人身危险") || !strings.Contains(f.Text, "110") {
		t.Fatalf("the reply to 快来人啊 while waiting: %s; want the numbers alone, as an aside", f)
	}

	// Live: the same.
	if r := op.do(map[string]string{"type": "take", "conversation": conv}); !r.OK {
		t.Fatalf("take: %+v", r)
	}
	c.readUntil("handoff", false)
	c.send(map[string]string{"type": "ask", "id": "faint", "text": "我爸突然倒地上了 叫不醒"})
	c.readUntil("received", false)
	if f := c.readUntil("reply", false); f.ReplyTo != "faint" || f.Decision != bot.Emergency || !strings.Contains(f.Text, "120") {
		t.Fatalf("the reply to a collapse in a live chat: %s; want 120", f)
	}
	op.want("alert", func(f opFrame) bool { return f.Kind == "emergency" && f.Conversation == conv })
}

// A snapshot shows each chat's latest turns: what a waiting resident says reaches the next state
// frame too (a snapshot reads a chat's turns again only when the chat has changed).
func TestDeskSnapshotFollowsTurns(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	op := e.console("zhang")
	c := e.dial()
	c.hello("", "wy-jinqiao")
	conv := waiting(t, c, op)
	for i, text := range []string{"还要等多久啊", "我家在金桥小区3号楼"} {
		c.send(map[string]string{"type": "ask", "id": "q-" + text, "text": text})
		c.readUntil("received", true)
		e.console(fmt.Sprintf("li%d", i)) // a console joining sends everyone a snapshot
		op.want("state", func(f opFrame) bool {
			for _, ch := range f.Chats {
				// The resident's turn, perhaps followed by the bot's numbers (an aside).
				if ch.ID == conv && slices.ContainsFunc(ch.Turns, func(t intake.Turn) bool { return t.From == "resident" && t.Text == text }) {
					return true
				}
			}
			return false
		})
	}
}
