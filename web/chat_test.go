package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/chat"
	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/sqlite"
	"github.com/bayannur/hotline/internal/testkit"
	"github.com/bayannur/hotline/search"
	"github.com/bayannur/hotline/web"
)

// The resident chat over a real WebSocket, against a fully wired server: the sample guide, the
// bot, the intake service and a SQLite store for tickets and conversations.

func chatGuideData(t *testing.T) (*search.Spec, *search.Guide) { return testkit.Sample(t) }

// chatEnv is one chat server over a SQLite file.
type chatEnv struct {
	t     *testing.T
	path  string
	store *sqlite.Store
	svc   *intake.Service
	srv   *web.Server
	ts    *httptest.Server
	url   string
	log   *chatLog
}

type chatOptions struct {
	path     string          // the database; default a new one
	origins  []string        // Config.Origins
	noBot    bool            // do not call SetBot
	idle     time.Duration   // Config.ChatIdle
	hours    *chat.DeskHours // Config.DeskHours; default always open, so tests do not depend on the hour
	wait     time.Duration   // Config.HandoffWait
	now      func() time.Time
	listener func(net.Listener) net.Listener
	bus      web.Bus           // Config.Bus; the env runs RunBus until it stops
	config   func(*web.Config) // more settings; the env serves with Server.HTTPServer's timeouts
}

func newChatEnv(t *testing.T, o chatOptions) *chatEnv {
	t.Helper()
	spec, g := chatGuideData(t)
	b := sampleBot(t)
	if o.path == "" {
		o.path = filepath.Join(t.TempDir(), "hotline.db")
	}
	store, err := sqlite.Open(o.path)
	if err != nil {
		t.Fatal(err)
	}
	e := &chatEnv{t: t, path: o.path, store: store, log: newChatLog()}
	log := slog.New(e.log)
	svc := &intake.Service{
		Store: store, SLA: intake.DefaultSLA(intake.DefaultCalendar()),
		Dir: intake.GuideDirectory{Spec: spec, Guide: g}, Log: log, Now: o.now,
	}
	hours := chat.DeskHours{Always: true}
	if o.hours != nil {
		hours = *o.hours
	}
	e.svc = svc
	cfg := web.Config{Log: log, Intake: svc, Users: store, Guide: g, Conversations: store, Origins: o.origins, ChatIdle: o.idle,
		Canned: store, DeskHours: hours, HandoffWait: o.wait, Now: o.now, Reports: store, Bus: o.bus}
	if o.config != nil {
		o.config(&cfg)
	}
	e.srv = web.New(cfg)
	if o.bus != nil {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); e.srv.RunBus(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	if !o.noBot {
		e.srv.SetBot(b)
	}
	e.ts = httptest.NewUnstartedServer(e.srv)
	e.ts.Config = e.srv.HTTPServer()
	if o.listener != nil {
		e.ts.Listener = o.listener(e.ts.Listener)
	}
	e.ts.Start()
	e.url = "ws" + strings.TrimPrefix(e.ts.URL, "http") + "/ws/chat"
	t.Cleanup(e.stop)
	return e
}

// stop closes the chats, the server and the store, as serve does on shutdown. It may be called
// more than once.
func (e *chatEnv) stop() {
	if e.ts == nil {
		return
	}
	e.srv.CloseChats()
	e.ts.Close()
	if err := e.store.Close(); err != nil {
		e.t.Error(err)
	}
	e.ts = nil
}

// chatLog records what the server logs, so tests can wait for an event and check that no
// resident text or phone is ever logged.
type chatLog struct {
	mu    sync.Mutex
	lines []string
	ch    chan string
}

func newChatLog() *chatLog { return &chatLog{ch: make(chan string, 4096)} }

func (l *chatLog) Enabled(context.Context, slog.Level) bool { return true }

func (l *chatLog) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	line := b.String()
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
	select {
	case l.ch <- line:
	default:
	}
	return nil
}

func (l *chatLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *chatLog) WithGroup(string) slog.Handler      { return l }

func (l *chatLog) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// wait returns the next logged line starting with prefix.
func (l *chatLog) wait(t *testing.T, prefix string) string {
	t.Helper()
	timer := time.NewTimer(5 * time.Second)
	defer timer.Stop()
	for {
		select {
		case line := <-l.ch:
			if strings.HasPrefix(line, prefix) {
				return line
			}
		case <-timer.C:
			t.Fatalf("no log line %q in time; logged:\n%s", prefix, l.all())
		}
	}
}

// chatFrame is any frame the server sends.
type chatFrame struct {
	intake.Reply
	Session   string        `json:"session"`
	Resumed   bool          `json:"resumed"`
	Community string        `json:"community"`
	History   []intake.Turn `json:"history"`
	Code      string        `json:"code"`
	Message   string        `json:"message"`
	// Frames of a chat a person is in (docs/operator.md).
	State   string `json:"state"`
	Agent   string `json:"agent"`
	ID      string `json:"id"`
	Handoff string `json:"handoff"`
	// The queue for a person.
	Position int `json:"position"`
	Online   int `json:"online"`
}

func (f chatFrame) String() string {
	b, _ := json.Marshal(f)
	return string(b)
}

func (f chatFrame) optionIDs() []string {
	var ids []string
	for _, o := range f.Options {
		ids = append(ids, o.ID)
	}
	return ids
}

type chatClient struct {
	t  *testing.T
	ws *websocket.Conn
	n  int
}

const chatReadWait = 5 * time.Second

func dialChat(t *testing.T, url string, header http.Header) (*chatClient, *http.Response, error) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: chatReadWait}
	ws, resp, err := d.Dial(url, header)
	if err != nil {
		return nil, resp, err
	}
	c := &chatClient{t: t, ws: ws}
	t.Cleanup(func() { ws.Close() })
	return c, resp, nil
}

func (e *chatEnv) dial() *chatClient {
	e.t.Helper()
	c, _, err := dialChat(e.t, e.url, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (c *chatClient) send(v any) {
	c.t.Helper()
	c.ws.SetWriteDeadline(time.Now().Add(chatReadWait))
	if err := c.ws.WriteJSON(v); err != nil {
		c.t.Fatal(err)
	}
}

func (c *chatClient) sendRaw(mt int, b []byte) {
	c.t.Helper()
	c.ws.SetWriteDeadline(time.Now().Add(chatReadWait))
	if err := c.ws.WriteMessage(mt, b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *chatClient) read() chatFrame {
	c.t.Helper()
	b := c.readRaw()
	var f chatFrame
	if err := json.Unmarshal(b, &f); err != nil {
		c.t.Fatalf("frame %s: %v", b, err)
	}
	return f
}

// readRaw reads the next frame as sent.
func (c *chatClient) readRaw() []byte {
	c.t.Helper()
	c.ws.SetReadDeadline(time.Now().Add(chatReadWait))
	mt, b, err := c.ws.ReadMessage()
	if err != nil {
		c.t.Fatalf("reading a frame: %v", err)
	}
	if mt != websocket.TextMessage {
		c.t.Fatalf("frame type %d, want text", mt)
	}
	return b
}

func (c *chatClient) hello(session, community string) chatFrame {
	c.t.Helper()
	c.send(map[string]string{"type": "hello", "session": session, "community": community})
	f := c.read()
	if f.Type != "welcome" || f.Session == "" || f.History == nil {
		c.t.Fatalf("hello got %s, want a welcome with a session and a history", f)
	}
	return f
}

func (c *chatClient) nextID() string {
	c.n++
	return fmt.Sprintf("m%d", c.n)
}

// ask sends a message and returns the reply to it.
func (c *chatClient) ask(text string) chatFrame {
	c.t.Helper()
	return c.message(map[string]string{"type": "ask", "id": c.nextID(), "text": text})
}

func (c *chatClient) choose(option string) chatFrame {
	c.t.Helper()
	return c.message(map[string]string{"type": "choose", "id": c.nextID(), "option": option})
}

// message sends an ask or a choose and returns its reply. A test types faster than a resident:
// when the connection's rate limit (a burst of 5, then one a second) says so, it waits a little
// and sends the message again, as the widget would.
func (c *chatClient) message(m map[string]string) chatFrame {
	c.t.Helper()
	deadline := time.Now().Add(chatReadWait)
	for {
		c.send(m)
		f := c.read()
		for f.Type == "queue" { // the desk's news for a waiting resident, sent when it changes
			f = c.read()
		}
		if f.Type == "error" && f.Code == "rate_limited" && f.ReplyTo == m["id"] && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if f.Type != "reply" || f.ReplyTo != m["id"] || f.Decision == "" || f.Options == nil {
			c.t.Fatalf("got %s, want a reply to %s", f, m["id"])
		}
		return f
	}
}

func (c *chatClient) wantError(code string) chatFrame {
	c.t.Helper()
	f := c.read()
	if f.Type != "error" || f.Code != code || f.Message == "" {
		c.t.Fatalf("got %s, want error %s", f, code)
	}
	return f
}

// wantClosed reads until the connection ends and checks the server's close frame.
func (c *chatClient) wantClosed(code int, text string) {
	c.t.Helper()
	c.ws.SetReadDeadline(time.Now().Add(chatReadWait))
	for {
		_, b, err := c.ws.ReadMessage()
		if err == nil {
			continue // frames sent before the close
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			c.t.Fatalf("connection ended with %v, want close %d; last frame %s", err, code, b)
		}
		if ce.Code != code || text != "" && ce.Text != text {
			c.t.Fatalf("closed with %d %q, want %d %q", ce.Code, ce.Text, code, text)
		}
		return
	}
}

func wantDecisionTopic(t *testing.T, f chatFrame, decision, topic string) {
	t.Helper()
	if f.Decision != decision || topic != "" && f.Topic != topic {
		t.Fatalf("got %s/%s (%s), want %s/%s", f.Decision, f.Topic, f.Text, decision, topic)
	}
}

func wantOptions(t *testing.T, f chatFrame, ids ...string) {
	t.Helper()
	if got := f.optionIDs(); !slices.Equal(got, ids) {
		t.Fatalf("options %v, want %v (%s)", got, ids, f.Text)
	}
}

var chatNumberRe = regexp.MustCompile(`^\d{8}-\d{4}$`)

// report walks the report dialogue from a first message to its ticket, in at most three
// questions, and returns the ticket.
func (e *chatEnv) report(c *chatClient, first string) *intake.Ticket {
	e.t.Helper()
	t := e.t
	f := c.ask(first)
	wantDecisionTopic(t, f, bot.Report, "report-streetlight")
	if !strings.Contains(f.Text, "地点") {
		t.Fatalf("question 1 %q, want the place", f.Text)
	}
	f = c.ask("虹亚小区3号楼")
	if f.Decision != bot.Report || !strings.Contains(f.Text, "电话") {
		t.Fatalf("question 2 %s, want the phone", f)
	}
	f = c.ask("13812345678")
	wantOptions(t, f, "confirm", "cancel")
	if strings.Contains(f.Text, "13812345678") {
		t.Errorf("confirmation shows the whole phone: %q", f.Text)
	}
	f = c.choose("confirm")
	return e.wantTicket(f, "wy-jinqiao")
}

func (e *chatEnv) wantTicket(f chatFrame, community string) *intake.Ticket {
	e.t.Helper()
	if f.Ticket == nil || !chatNumberRe.MatchString(f.Ticket.Number) || f.Ticket.DueBy.IsZero() {
		e.t.Fatalf("confirm got %s, want a ticket number and deadline", f)
	}
	if !strings.Contains(f.Text, f.Ticket.Number) {
		e.t.Errorf("reply %q does not name the ticket", f.Text)
	}
	tk, err := e.store.Get(context.Background(), f.Ticket.Number)
	if err != nil {
		e.t.Fatalf("ticket %s not stored: %v", f.Ticket.Number, err)
	}
	if tk.Community != community || tk.Channel != intake.ChannelChat || tk.ConversationID == "" || tk.Phone.Full() != "13812345678" {
		e.t.Errorf("stored ticket: community %q channel %q conversation %q phone %s, want %s, chat, a conversation, the phone",
			tk.Community, tk.Channel, tk.ConversationID, tk.Phone, community)
	}
	return tk
}

func TestChatAnswer(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	c := e.dial()
	w := c.hello("", "")
	if w.Resumed || len(w.History) != 0 || w.Community != "" {
		t.Fatalf("new conversation welcome %s", w)
	}
	if n := e.srv.OpenChats(); n != 1 {
		t.Errorf("OpenChats %d, want 1", n)
	}
	f := c.ask("低保咋申请")
	wantDecisionTopic(t, f, bot.Answer, "dibao")
	c.send(map[string]string{"type": "ping"})
	if f := c.read(); f.Type != "pong" {
		t.Fatalf("ping got %s", f)
	}
}

// An answer's reply carries its sections (more) beside the short text, and so does the history a
// reconnect resumes with: the widget folds them there too.
func TestChatAnswerCarriesMore(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	c := e.dial()
	w := c.hello("", "")
	f := c.ask("办低保要什么材料")
	wantDecisionTopic(t, f, bot.Answer, "dibao")
	hasMaterials := func(more []intake.Section) bool {
		for _, s := range more {
			if s.Title == "材料" && strings.Contains(s.Text, "户口簿") {
				return true
			}
		}
		return false
	}
	if !hasMaterials(f.More) || strings.Contains(f.Text, "材料：") {
		t.Fatalf("reply %s: want the materials in more, not in the text", f)
	}
	again := e.dial().hello(w.Session, "")
	var last *intake.Turn
	for i := range again.History {
		if again.History[i].From == "bot" {
			last = &again.History[i]
		}
	}
	if last == nil || last.Reply == nil || last.Reply.Text != f.Text || !hasMaterials(last.Reply.More) {
		t.Fatalf("resumed history %+v: want the answer with its sections", again.History)
	}
}

func TestChatReportAndStatus(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	c := e.dial()
	c.hello("", "")
	tk := e.report(c, "俺们虹亚小区3号楼门口路灯坏了")
	if tk.Topic != "report-streetlight" || tk.Urgency != intake.Normal {
		t.Errorf("ticket topic %q urgency %q", tk.Topic, tk.Urgency)
	}

	// A status lookup of that ticket: the bot asks for the number and the phone's last four
	// digits, given in one message.
	f := c.ask("我之前反映的问题办到哪一步了")
	wantDecisionTopic(t, f, bot.Status, "")
	f = c.ask(tk.Number + " 5678")
	wantDecisionTopic(t, f, bot.Status, "")
	if f.Ticket == nil || f.Ticket.Number != tk.Number || len(f.Ticket.Steps) == 0 {
		t.Fatalf("status got %s, want the ticket's steps", f)
	}
	// A wrong tail finds nothing.
	c.ask("查一下工单进度")
	f = c.ask(tk.Number + " 0000")
	if f.Decision != bot.Status || f.Ticket != nil {
		t.Fatalf("status with a wrong tail got %s", f)
	}

	// Neither the phone nor what the resident wrote is logged.
	logs := e.log.all()
	for _, secret := range []string{"13812345678", "5678", "路灯", "虹亚"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q:\n%s", secret, logs)
		}
	}
}

func TestChatContact(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	c := e.dial()
	c.hello("", "")
	f := c.ask("找网格员")
	wantDecisionTopic(t, f, bot.Contact, "")
	if len(f.Options) == 0 || f.Contact != nil {
		t.Fatalf("contact without a community got %s, want community options", f)
	}
	for _, o := range f.Options {
		if !strings.HasPrefix(o.ID, "community:") {
			t.Fatalf("option %q, want community:<id>", o.ID)
		}
	}
	chosen := f.Options[1].ID
	f = c.choose(chosen)
	wantDecisionTopic(t, f, bot.Contact, "")
	if f.Contact == nil || "community:"+f.Contact.CommunityID != chosen || f.Contact.Grid == "" {
		t.Fatalf("choice got %s, want that community's card", f)
	}

	// A community from hello gives the card at once.
	c2 := e.dial()
	if w := c2.hello("", "wy-jinqiao"); w.Community != "wy-jinqiao" {
		t.Fatalf("welcome community %q", w.Community)
	}
	f = c2.ask("找网格员")
	if f.Contact == nil || f.Contact.CommunityID != "wy-jinqiao" {
		t.Fatalf("contact with the community got %s, want its card", f)
	}
	// An unknown community in hello is ignored.
	c3 := e.dial()
	if w := c3.hello("", "atlantis"); w.Community != "" {
		t.Fatalf("welcome community %q for an unknown one", w.Community)
	}
}

func TestChatEmergency(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	c := e.dial()
	c.hello("", "")
	f := c.ask("厨房里煤气味好大")
	wantDecisionTopic(t, f, bot.Emergency, "")
	if !strings.Contains(f.Text, "0478-555-0119") && !strings.Contains(f.Text, "119") {
		t.Fatalf("first emergency reply %q lacks the numbers", f.Text)
	}
	// Then the place, a phone, and an emergency ticket.
	f = c.ask("虹亚小区3号楼")
	if !strings.Contains(f.Text, "电话") {
		t.Fatalf("got %s, want the phone question", f)
	}
	f = c.ask("13812345678")
	wantOptions(t, f, "confirm", "cancel")
	tk := e.wantTicket(c.choose("confirm"), "wy-jinqiao")
	if tk.Urgency != intake.Emergency {
		t.Errorf("urgency %q, want emergency", tk.Urgency)
	}
}

// Out of desk hours nobody can take a chat: the resident is offered a ticket whose description
// is the conversation, and the dialogue collects the rest.
func TestChatHandoffOutOfHours(t *testing.T) {
	saturday := time.Date(2026, 11, 28, 10, 0, 0, 0, intake.Beijing)
	e := newChatEnv(t, chatOptions{hours: &chat.DefaultDeskHours, now: func() time.Time { return saturday }})
	c := e.dial()
	c.hello("", "")
	c.ask("楼道里堆了很多杂物没人管")
	f := c.ask("转人工")
	wantDecisionTopic(t, f, bot.Handoff, "")
	wantOptions(t, f, "handoff_ticket", "keep_bot")
	if !strings.Contains(f.Text, "非工作时间") {
		t.Errorf("handoff out of hours: %q, want the resident told nobody is in", f.Text)
	}
	f = c.choose("handoff_ticket")
	if !strings.Contains(f.Text, "地点") {
		t.Fatalf("got %s, want the place question", f)
	}
	f = c.ask("虹亚小区3号楼")
	if !strings.Contains(f.Text, "电话") {
		t.Fatalf("got %s, want the phone question", f)
	}
	f = c.ask("13812345678")
	wantOptions(t, f, "confirm", "cancel")
	tk := e.wantTicket(c.choose("confirm"), "wy-jinqiao")
	if !strings.Contains(tk.Description, "楼道里堆了很多杂物没人管") || !strings.Contains(tk.Description, "转人工") {
		t.Errorf("description %q, want the conversation", tk.Description)
	}
}

func TestChatClarify(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	c := e.dial()
	c.hello("", "")
	f := c.ask("申请")
	wantDecisionTopic(t, f, bot.Clarify, "")
	if len(f.Options) < 2 || len(f.Options) > 3 {
		t.Fatalf("clarify options %v", f.optionIDs())
	}
	for _, o := range f.Options {
		got := c.choose(o.ID)
		if got.Decision != bot.Answer && got.Decision != bot.Report || got.Topic != o.ID {
			t.Errorf("choosing %s got %s", o.ID, got)
		}
		if got.Decision == bot.Report {
			c.choose("cancel")
		}
	}
}

func TestChatResume(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hotline.db")
	e := newChatEnv(t, chatOptions{path: path})
	c := e.dial()
	w := c.hello("", "")
	session := w.Session
	c.ask("低保咋申请")
	c.ask("俺们虹亚小区3号楼门口路灯坏了") // the dialogue now waits for the place
	c.ws.Close()

	check := func(w chatFrame) {
		t.Helper()
		if !w.Resumed || w.Session != session {
			t.Fatalf("welcome %s, want the conversation resumed", w)
		}
		want := []string{"resident:低保咋申请", "bot:answer", "resident:俺们虹亚小区3号楼门口路灯坏了", "bot:report"}
		var got []string
		for i, turn := range w.History {
			if turn.Seq != i+1 || turn.At.IsZero() {
				t.Errorf("turn %d: seq %d at %v", i, turn.Seq, turn.At)
			}
			if turn.From == "bot" {
				if turn.Reply == nil || turn.Reply.Text != turn.Text {
					t.Fatalf("bot turn %d without its reply", i)
				}
				got = append(got, "bot:"+turn.Reply.Decision)
			} else {
				got = append(got, turn.From+":"+turn.Text)
			}
		}
		if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
			t.Fatalf("history %v, want %v…", got, want)
		}
	}

	c = e.dial()
	check(c.hello(session, "wy-jinqiao"))
	// The dialogue goes on where it was: the place, then the phone.
	if f := c.ask("虹亚小区3号楼"); !strings.Contains(f.Text, "电话") {
		t.Fatalf("after resuming got %s, want the phone question", f)
	}
	c.ws.Close()

	// A restart: a new server over the same database.
	e.stop()
	e2 := newChatEnv(t, chatOptions{path: path})
	c = e2.dial()
	w = c.hello(session, "")
	check(w)
	if len(w.History) != 6 {
		t.Fatalf("history of %d turns after the restart, want 6", len(w.History))
	}
	if w.Community != "wy-jinqiao" {
		t.Errorf("community %q, want the one stored", w.Community)
	}
	f := c.ask("13812345678")
	wantOptions(t, f, "confirm", "cancel")
	e2.wantTicket(c.choose("confirm"), "wy-jinqiao")

	// An unknown session starts a new conversation.
	c = e2.dial()
	if w := c.hello("no-such-session", ""); w.Resumed || w.Session == "no-such-session" || len(w.History) != 0 {
		t.Fatalf("unknown session got %s", w)
	}
}

func TestChatBadFrames(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	fresh := func() *chatClient {
		c := e.dial()
		c.hello("", "")
		return c
	}
	stillAnswers := func(c *chatClient) {
		t.Helper()
		wantDecisionTopic(t, c.ask("低保咋申请"), bot.Answer, "dibao")
	}

	t.Run("ask before hello", func(t *testing.T) {
		c := e.dial()
		c.send(map[string]string{"type": "ask", "id": "m1", "text": "低保咋申请"})
		if f := c.wantError("bad_type"); f.ReplyTo != "m1" {
			t.Errorf("reply_to %q", f.ReplyTo)
		}
		c.send(map[string]string{"type": "choose", "id": "m2", "option": "dibao"})
		c.wantError("bad_type")
		c.hello("", "")
		stillAnswers(c)
	})
	t.Run("not JSON", func(t *testing.T) {
		c := fresh()
		for _, frame := range []string{"低保咋申请", "[1,2]", "null", `"ask"`, `{"type":"ask"`, `{"type":"ask","id":"m9","text":5}`, `{"type":"ping"} {}`} {
			c.sendRaw(websocket.TextMessage, []byte(frame))
			c.wantError("bad_json")
		}
		c.sendRaw(websocket.BinaryMessage, []byte(`{"type":"ping"}`))
		c.wantError("bad_json")
		stillAnswers(c)
	})
	t.Run("unknown type", func(t *testing.T) {
		c := fresh()
		c.send(map[string]string{"type": "shout", "text": "喂"})
		c.wantError("bad_type")
		c.send(map[string]string{"type": "hello"})
		c.wantError("bad_type") // once is enough
		stillAnswers(c)
	})
	t.Run("bad text", func(t *testing.T) {
		c := fresh()
		c.send(map[string]string{"type": "ask", "id": "e1", "text": " \n\t "})
		if f := c.wantError("bad_text"); f.ReplyTo != "e1" {
			t.Errorf("reply_to %q", f.ReplyTo)
		}
		c.send(map[string]string{"type": "ask", "id": "e2", "text": strings.Repeat("路", 2001)})
		c.wantError("bad_text")
		c.send(map[string]string{"type": "ask", "id": strings.Repeat("x", 65), "text": "低保咋申请"})
		if f := c.wantError("bad_text"); f.ReplyTo != "" {
			t.Errorf("a too long id is echoed: %q", f.ReplyTo)
		}
		if f := c.ask(strings.Repeat("路", 2000)); f.Type != "reply" {
			t.Fatalf("2,000 characters got %s", f)
		}
		stillAnswers(c)
	})
	t.Run("bad option", func(t *testing.T) {
		c := fresh()
		for _, opt := range []string{"no-such-option", "confirm", "community:atlantis", ""} {
			c.send(map[string]string{"type": "choose", "id": "o1", "option": opt})
			c.wantError("bad_option")
		}
		stillAnswers(c)
	})
	t.Run("too large", func(t *testing.T) {
		c := fresh()
		// 2,000 characters fit a frame however a client encodes them: \u-escaped, 12 KB.
		escaped := `{"type":"ask","id":"u1","text":"` + strings.Repeat(`\u8def`, 2000) + `"}`
		c.sendRaw(websocket.TextMessage, []byte(escaped))
		if f := c.read(); f.Type != "reply" || f.ReplyTo != "u1" {
			t.Fatalf("2,000 escaped characters got %s", f)
		}
		// A 3,000-character complaint (9 KB) and a 100 KB one: bad_text to their id, the
		// connection open.
		for i, text := range []string{strings.Repeat("路", 3000), strings.Repeat("路", 34000)} {
			id := fmt.Sprintf("big%d", i)
			c.sendRaw(websocket.TextMessage, []byte(fmt.Sprintf(`{"type":"ask","id":%q,"text":%q}`, id, text)))
			if f := c.wantError("bad_text"); f.ReplyTo != id {
				t.Errorf("%d characters: reply_to %q, want %s", len([]rune(text)), f.ReplyTo, id)
			}
		}
		stillAnswers(c)
		// Past a megabyte a frame is not read to its end: closed, 1009.
		huge := fmt.Sprintf(`{"type":"ask","id":"m1","text":%q}`, strings.Repeat("a", 1<<20))
		c.sendRaw(websocket.TextMessage, []byte(huge))
		c.wantClosed(websocket.CloseMessageTooBig, "")
	})
	t.Run("invalid UTF-8", func(t *testing.T) {
		c := fresh()
		c.sendRaw(websocket.TextMessage, []byte("{\"type\":\"ask\",\"id\":\"m1\",\"text\":\"\xff\xfe\"}"))
		c.wantError("bad_utf8")
		c.wantClosed(websocket.CloseInvalidFramePayloadData, "")
	})
}

func TestChatFlood(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	c := e.dial()
	c.hello("", "")
	const n = 50
	frames := make(chan chatFrame, n)
	readErr := make(chan error, 1)
	go func() {
		defer close(frames)
		for range n {
			c.ws.SetReadDeadline(time.Now().Add(chatReadWait))
			var f chatFrame
			if err := c.ws.ReadJSON(&f); err != nil {
				readErr <- err
				return
			}
			frames <- f
		}
	}()
	for i := range n {
		c.send(map[string]string{"type": "ask", "id": fmt.Sprintf("f%d", i), "text": "低保咋申请"})
	}
	replies, limited := 0, 0
	for f := range frames {
		switch {
		case f.Type == "reply":
			replies++
		case f.Type == "error" && f.Code == "rate_limited":
			limited++
		default:
			t.Fatalf("flood got %s", f)
		}
	}
	select {
	case err := <-readErr:
		t.Fatal(err)
	default:
	}
	if replies < 5 || limited == 0 || replies+limited != n {
		t.Fatalf("%d replies and %d rate_limited of %d asks", replies, limited, n)
	}
	// The connection stays open and answers once the rate allows.
	c.n = 100
	deadline := time.Now().Add(chatReadWait)
	for {
		id := c.nextID()
		c.send(map[string]string{"type": "ask", "id": id, "text": "低保咋申请"})
		f := c.read()
		if f.Type == "reply" && f.ReplyTo == id {
			break
		}
		if f.Code != "rate_limited" || time.Now().After(deadline) {
			t.Fatalf("after the flood got %s", f)
		}
		time.Sleep(250 * time.Millisecond) // the limit refills one message a second
	}
}

func TestChatOrigin(t *testing.T) {
	e := newChatEnv(t, chatOptions{origins: []string{"https://widget.example.org"}})
	_, resp, err := dialChat(t, e.url, http.Header{"Origin": {"https://evil.example.com"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a foreign origin: err %v, response %v; want 403", err, resp)
	}
	for _, origin := range []string{"https://widget.example.org", e.ts.URL} {
		c, _, err := dialChat(t, e.url, http.Header{"Origin": {origin}})
		if err != nil {
			t.Fatalf("origin %s: %v", origin, err)
		}
		c.hello("", "")
	}
}

func TestChatBotStarting(t *testing.T) {
	e := newChatEnv(t, chatOptions{noBot: true})
	c := e.dial()
	c.hello("", "")
	c.send(map[string]string{"type": "ask", "id": "m1", "text": "低保咋申请"})
	c.wantError("starting")
	e.srv.SetBot(sampleBot(t))
	wantDecisionTopic(t, c.ask("低保咋申请"), bot.Answer, "dibao")
}

func TestChatCloseChats(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	a, b := e.dial(), e.dial()
	a.hello("", "")
	b.hello("", "")
	if n := e.srv.OpenChats(); n != 2 {
		t.Fatalf("OpenChats %d, want 2", n)
	}
	done := make(chan struct{})
	go func() { e.srv.CloseChats(); close(done) }()
	a.wantClosed(websocket.CloseServiceRestart, "service restart")
	b.wantClosed(websocket.CloseServiceRestart, "service restart")
	select {
	case <-done:
	case <-time.After(chatReadWait):
		t.Fatal("CloseChats did not return")
	}
	if n := e.srv.OpenChats(); n != 0 {
		t.Fatalf("OpenChats %d after CloseChats", n)
	}
	// No new chats while shutting down.
	_, resp, err := dialChat(t, e.url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial after CloseChats: err %v, response %v; want 503", err, resp)
	}
}

// gatedListener hands out connections whose writes can be held, as if the client had stopped
// reading and every buffer between were full.
type gatedListener struct {
	net.Listener
	held    chan struct{} // closed: writes are held
	release chan struct{} // closed: writes go through again
}

func (l *gatedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &gatedConn{Conn: c, l: l, closed: make(chan struct{})}, nil
}

type gatedConn struct {
	net.Conn
	l         *gatedListener
	closeOnce sync.Once
	closed    chan struct{}
}

func (c *gatedConn) Write(b []byte) (int, error) {
	select {
	case <-c.l.held:
		select {
		case <-c.l.release:
		case <-c.closed:
			return 0, net.ErrClosed
		}
	default:
	}
	return c.Conn.Write(b)
}

func (c *gatedConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

func TestChatSlowClient(t *testing.T) {
	gl := &gatedListener{held: make(chan struct{}), release: make(chan struct{})}
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(gl.release) }) }
	t.Cleanup(release)
	e := newChatEnv(t, chatOptions{listener: func(l net.Listener) net.Listener { gl.Listener = l; return gl }})
	c := e.dial()
	c.hello("", "")

	// The client stops reading: the server's first write blocks, and its replies pile up.
	close(gl.held)
	for range 100 { // more than the server queues
		c.send(map[string]string{"type": "ping"})
	}
	e.log.wait(t, "chat client too slow")

	// Once the client reads again it finds at most what was being written, then the close.
	release()
	c.wantClosed(websocket.ClosePolicyViolation, "too slow")
	if line := e.log.wait(t, "chat closed"); !strings.Contains(line, "code=1008") {
		t.Fatalf("closed: %s", line)
	}
}

// The server pings; a client that answers stays however long it is quiet, and one that does not
// is closed as idle (1001) once ChatIdle passes.
func TestChatIdle(t *testing.T) {
	const idle = time.Second
	e := newChatEnv(t, chatOptions{idle: idle})

	live := e.dial()
	live.hello("", "")
	pings := 0
	live.ws.SetPingHandler(func(data string) error {
		pings++
		return live.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	live.ws.SetReadDeadline(time.Now().Add(3 * idle))
	_, _, err := live.ws.ReadMessage() // the ping handler runs while reading
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("a client answering pings: the read ended with %v, want the client's own deadline", err)
	}
	if pings < 4 {
		t.Errorf("the server pinged %d times in %v, want one every quarter of %v", pings, 3*idle, idle)
	}

	mute := e.dial()
	mute.hello("", "")
	mute.ws.SetPingHandler(func(string) error { return nil }) // never answers
	mute.wantClosed(websocket.CloseGoingAway, "idle")
	if line := e.log.wait(t, "chat closed"); !strings.Contains(line, "code=1001") {
		t.Fatalf("closed: %s", line)
	}
}

// TestChatDropsControlCharacters: a NUL or an escape in a resident's message is dropped, not
// answered with an error (PostgreSQL's text cannot hold a NUL) nor stored.
func TestChatDropsControlCharacters(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	c := e.dial()
	w := c.hello("", "wy-jinqiao")
	wantDecisionTopic(t, c.ask("俺家暖气\x00不热\x1b"), bot.Report, "report-heating")
	again := e.dial().hello(w.Session, "")
	found := false
	for _, turn := range again.History {
		found = found || turn.Text == "俺家暖气不热"
		if strings.ContainsAny(turn.Text, "\x00\x1b") {
			t.Errorf("stored turn %q holds a control character", turn.Text)
		}
	}
	if !found {
		t.Errorf("history %+v lacks the message without its control characters", again.History)
	}
}

// An idle resident costs the server little: the connection's reader keeps a stack the size that
// waiting for a frame needs, not the size that answering one did (the JSON, the bot, the store go
// several times deeper), once a collection has had the chance to shrink it. Measured against
// connections that have sent nothing, whose readers have only ever waited (the race detector's
// frames are larger, so no fixed size would do for both builds), in a process of its own: the
// stacks that other tests' connections free as they end would be taken again here and blur it.
func TestIdleChatKeepsASmallStack(t *testing.T) {
	if os.Getenv("HOTLINE_TEST_STACKS") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestIdleChatKeepsASmallStack$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "HOTLINE_TEST_STACKS=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("the measuring process: %v\n%s", err, out)
		}
		for line := range strings.Lines(string(out)) {
			if strings.Contains(line, "stack a chat") {
				t.Log(strings.TrimSpace(line))
			}
		}
		return
	}
	e := newChatEnv(t, chatOptions{config: func(c *web.Config) {
		c.ChatIPPerMinute, c.ChatHelloWait = -1, time.Minute
	}})
	stacks := func() uint64 {
		runtime.GC() // a collection shrinks the stacks that allow it and frees unused ones
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.StackInuse
	}
	const n = 300
	perChat := func(open func()) float64 {
		before, g0 := stacks(), runtime.NumGoroutine()
		for range n {
			open()
		}
		after, g1 := stacks(), runtime.NumGoroutine()
		if g1-g0 < n {
			t.Fatalf("%d goroutines more for %d open chats; want at least one each", g1-g0, n)
		}
		return float64(after-before) / n
	}
	silent := perChat(func() { e.dial() })
	answered := perChat(func() {
		c := e.dial()
		c.hello("", "wy-jinqiao")
		if r := c.ask("低保咋申请 要带啥材料"); r.Type != "reply" {
			t.Fatalf("asking: %s", r)
		}
	})
	t.Logf("stack a chat: %.0f bytes silent, %.0f answered and idle", silent, answered)
	if answered > silent+1024 {
		t.Errorf("a chat answered once and idle keeps %.1f KB of stack, one that never spoke %.1f KB; want no more than 1 KB between them", answered/1024, silent/1024)
	}
}
