package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/intake"
)

// The resident chat: GET /ws/chat speaks the protocol of docs/protocol.md.
//
// Most residents are idle most of the time, so an idle connection holds as little as it can: the
// HTTP handler returns once the connection is upgraded (releasing net/http's buffers and its deep
// stack), one reader goroutine reads frames with a small buffer, and no writer goroutine exists
// until there is something to write. The reader reads a frame, runs the dialogue, stores the
// turns and queues the reply; it never waits on a writer. A writer goroutine is started when a
// frame is queued and none is running, sends the queue in order, and ends when it is empty: one
// writer at a time, behind a bounded queue. When the queue is full the client is too slow and is
// disconnected (1008 "too slow"). A timer queues pings. Closing is started by either side through
// closeWith; the writer then sends what the reason allows and the close frame, and waits briefly
// for the client's.
//
// Resident text and phone numbers are never logged: only counts and codes.

const (
	chatMaxFrame     = 8 << 10          // bytes of one frame (too_large, 1009, beyond)
	chatMaxID        = 64               // characters of a client message id
	chatMaxSession   = 256              // bytes of a session token worth looking up
	chatMaxOption    = 256              // bytes of an option id worth looking up
	chatQueue        = 64               // frames queued for a connection's writer (see queue)
	chatHistory      = 50               // turns sent back on resume
	chatResumeWithin = 24 * time.Hour   // a conversation resumes within this of its last message
	chatIdle         = 2 * time.Minute  // read deadline, refreshed by any frame or pong (Config.ChatIdle)
	chatReadBuffer   = 1 << 10          // bytes of a connection's read buffer; frames may be longer
	chatWriteWait    = 10 * time.Second // deadline of every write
	chatCloseGrace   = 2 * time.Second  // how long the client may take to answer a close frame
	chatMessageTime  = 10 * time.Second // one message: dialogue, ticket and stored turns
	chatShutdownWait = 15 * time.Second // CloseChats waits at most this for connections to end
	chatConnRate     = 1                // messages a second per connection, on average…
	chatConnBurst    = 5                // …with bursts of this many
	chatIPEvery      = 2 * time.Second  // one message every 2 s per address (30 a minute)…
	chatIPBurst      = 30               // …with bursts of this many
	closeRestart     = websocket.CloseServiceRestart
)

// chatHub is the registry of open chat connections, for OpenChats and CloseChats.
type chatHub struct {
	ipLimit *limiter
	upgrade websocket.Upgrader

	mu     sync.Mutex
	conns  map[*chatConn]struct{}
	closed bool // CloseChats was called: no new connections
	wg     sync.WaitGroup
}

// chatIPLimiter is the per-address limit: 30 a minute, or Config.ChatIPPerMinute (negative: none,
// for load tests from one address).
func (s *Server) chatIPLimiter() *limiter {
	switch {
	case s.chatIPPerMinute < 0:
		return nil
	case s.chatIPPerMinute > 0:
		return newLimiter(time.Minute/time.Duration(s.chatIPPerMinute), s.chatIPPerMinute)
	}
	return newLimiter(chatIPEvery, chatIPBurst)
}

// mountChat mounts GET /ws/chat (see docs/protocol.md).
func (s *Server) mountChat() {
	s.chat = &chatHub{
		ipLimit: s.chatIPLimiter(),
		conns:   map[*chatConn]struct{}{},
		upgrade: websocket.Upgrader{
			HandshakeTimeout: 10 * time.Second,
			// Idle connections hold a small read buffer and no write buffer.
			ReadBufferSize:  chatReadBuffer,
			WriteBufferPool: &sync.Pool{},
			// The origin is checked by serveChat before upgrading, with the allow-list.
			CheckOrigin: func(*http.Request) bool { return true },
		},
	}
	s.handle("GET /ws/chat", s.serveChat)
}

// OpenChats is the number of open chat connections (a gauge).
func (s *Server) OpenChats() int {
	if s.chat == nil {
		return 0
	}
	s.chat.mu.Lock()
	defer s.chat.mu.Unlock()
	return len(s.chat.conns)
}

// CloseChats closes every chat connection with 1012 (service restart), so that widgets reconnect
// with backoff and resume elsewhere or after the restart, refuses new ones (503), and waits — at
// most chatShutdownWait — for the connections' last messages to be stored. Call it on shutdown,
// before closing the store.
func (s *Server) CloseChats() {
	h := s.chat
	if h == nil {
		return
	}
	h.mu.Lock()
	h.closed = true
	conns := make([]*chatConn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.closeWith(closeRestart, "service restart")
	}
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	t := time.NewTimer(chatShutdownWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.log.Warn("chat: connections still closing at shutdown", "open", s.OpenChats())
	}
}

func (h *chatHub) add(c *chatConn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.conns[c] = struct{}{}
	h.wg.Add(1)
	return true
}

func (h *chatHub) remove(c *chatConn) {
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
	h.wg.Done()
}

// chatOriginAllowed: no Origin (not a browser), the server's own origin, or one allowed by
// Config.Origins.
func (s *Server) chatOriginAllowed(r *http.Request) bool {
	values := r.Header.Values("Origin")
	if len(values) == 0 {
		return true
	}
	origin := strings.ToLower(strings.TrimSuffix(values[0], "/"))
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		// Behind a TLS-terminating proxy the page is https; a browser cannot set this header on
		// a cross-site WebSocket, so trusting it cannot let another site in.
		scheme = "https"
	}
	if origin == scheme+"://"+strings.ToLower(r.Host) {
		return true
	}
	return s.origins[origin]
}

func (s *Server) serveChat(w http.ResponseWriter, r *http.Request) {
	if !s.chatOriginAllowed(r) {
		writeError(w, http.StatusForbidden, "forbidden_origin", "不允许从这个网站打开聊天 (origin not allowed)")
		return
	}
	h := s.chat
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "starting", "服务正在重启，请稍后再试 (restarting)")
		return
	}
	ws, err := h.upgrade.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered with an HTTP error
	}
	c := &chatConn{
		s: s, ws: ws, ip: clientIP(r),
		readerDone: make(chan struct{}),
		finished:   make(chan struct{}),
		limit:      rate.NewLimiter(chatConnRate, chatConnBurst),
		opened:     time.Now(),
	}
	if !h.add(c) {
		ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(closeRestart, "service restart"),
			time.Now().Add(time.Second))
		ws.Close()
		return
	}
	// The handler returns now: the connection lives on in its own reader goroutine.
	go func() {
		defer h.remove(c)
		c.run()
	}()
}

// outFrame is one frame for the writer: a text frame, or a control frame (a ping or a pong).
type outFrame struct {
	control int // 0 for a text frame, else websocket.PingMessage or PongMessage
	data    []byte
}

// chatConn is one resident's connection.
type chatConn struct {
	s      *Server
	ws     *websocket.Conn
	ip     string
	limit  *rate.Limiter
	opened time.Time

	mu        sync.Mutex
	pinger    *time.Timer
	out       []outFrame // queued for the writer, at most chatQueue
	writing   bool       // a writer goroutine is running (it alone writes data frames)
	closed    bool       // closing has started: nothing more is queued
	closeCode int        // the close frame the writer sends; 0: none
	closeText string

	closing    atomic.Bool   // closed, for the reader without the lock
	readerDone chan struct{} // closed when the reader has stopped
	finished   chan struct{} // closed when the writer has sent the close frame and let go

	// The reader's own state.
	conv        *bot.Conversation
	lastOptions []bot.Option // of the last reply, to label the resident's choice in the history
	messages    int          // asks and chooses answered
	errs        int          // error frames sent
}

// closeWith starts closing the connection with a close frame (code 0: none). The first reason
// wins. The writer — the running one, or one started here — finishes the connection.
func (c *chatConn) closeWith(code int, text string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed, c.closeCode, c.closeText = true, code, text
	c.closing.Store(true)
	start := !c.writing
	c.writing = true
	c.mu.Unlock()
	if start {
		go c.writeLoop()
	}
}

// run serves the connection until it closes: it reads, and when reading ends it waits for the
// writer to finish.
func (c *chatConn) run() {
	c.mu.Lock()
	c.pinger = time.AfterFunc(c.s.chatIdle/4, c.ping)
	c.mu.Unlock()
	c.readLoop()
	c.mu.Lock()
	c.pinger.Stop()
	c.mu.Unlock()
	close(c.readerDone)
	c.closeWith(0, "") // the client left, or the reader stopped: nothing more to say
	<-c.finished
	c.ws.Close()
	c.mu.Lock()
	code := c.closeCode
	c.mu.Unlock()
	c.s.log.Info("chat closed", "code", code, "messages", c.messages, "errors", c.errs,
		"seconds", int(time.Since(c.opened).Seconds()))
}

// ping queues a ping and arms the next one; the client's pong refreshes the read deadline.
func (c *chatConn) ping() {
	if c.closing.Load() {
		return
	}
	c.queue(outFrame{control: websocket.PingMessage})
	c.mu.Lock()
	if !c.closed {
		c.pinger.Reset(c.s.chatIdle / 4)
	}
	c.mu.Unlock()
}

func (c *chatConn) readLoop() {
	c.ws.SetReadLimit(chatMaxFrame)
	c.refresh()
	c.ws.SetPongHandler(func(string) error { c.refresh(); return nil })
	c.ws.SetPingHandler(func(data string) error {
		c.refresh()
		c.queue(outFrame{control: websocket.PongMessage, data: []byte(data)})
		return nil
	})
	for {
		mt, data, err := c.ws.ReadMessage()
		if err != nil {
			var ne net.Error
			switch {
			case errors.Is(err, websocket.ErrReadLimit):
				// The websocket library has sent the close frame (1009) itself.
				c.closeWith(websocket.CloseMessageTooBig, "too_large")
			case errors.As(err, &ne) && ne.Timeout() && !c.closing.Load():
				c.closeWith(websocket.CloseGoingAway, "idle")
			}
			return
		}
		if c.closing.Load() {
			continue // closing: waiting for the client's close frame, ignoring the rest
		}
		c.refresh()
		c.handle(mt, data)
	}
}

// refresh pushes the read deadline back: any frame or pong shows the client is there.
func (c *chatConn) refresh() {
	if !c.closing.Load() {
		c.ws.SetReadDeadline(time.Now().Add(c.s.chatIdle))
	}
}

// queue hands a frame to the writer without waiting, starting one if none runs: a full queue
// means the client does not read what it is sent, and it is disconnected. The writer makes one
// system call a frame while the reader parses many frames a call, so the queue is long enough
// for a burst of 50 frames to be answered (rate_limited errors, mostly) even if the writer has
// sent none of it yet.
func (c *chatConn) queue(f outFrame) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if len(c.out) >= chatQueue {
		c.mu.Unlock()
		c.s.log.Warn("chat client too slow", "queued", chatQueue)
		c.closeWith(websocket.ClosePolicyViolation, "too slow")
		return
	}
	c.out = append(c.out, f)
	start := !c.writing
	c.writing = true
	c.mu.Unlock()
	if start {
		go c.writeLoop()
	}
}

func (c *chatConn) queueJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		c.s.log.Error("chat: encoding a frame", "err", err)
		return
	}
	c.queue(outFrame{data: b})
}

// next takes the first queued frame. When there is none, or closing has started, the writer
// stops writing frames: ok is false and, unless closing, the writer is marked gone.
func (c *chatConn) next() (f outFrame, closing, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return outFrame{}, true, false
	}
	if len(c.out) == 0 {
		c.writing = false
		c.out = nil // an idle connection keeps no queue
		return outFrame{}, false, false
	}
	f = c.out[0]
	c.out[0] = outFrame{}
	c.out = c.out[1:]
	return f, false, true
}

// writeLoop sends queued frames until the queue is empty, or finishes the connection once
// closing has started. Only one runs at a time (see writing).
func (c *chatConn) writeLoop() {
	for {
		// Closing comes first: a slow client is not sent the rest of its queue.
		f, closing, ok := c.next()
		if closing {
			c.finish()
			return
		}
		if !ok {
			return
		}
		if err := c.write(f, time.Now().Add(chatWriteWait)); err != nil {
			// The connection is broken: nothing more can be said on it.
			c.closeWith(0, "")
			c.ws.Close()
		}
	}
}

func (c *chatConn) write(f outFrame, deadline time.Time) error {
	if f.control != 0 {
		return c.ws.WriteControl(f.control, f.data, deadline)
	}
	c.ws.SetWriteDeadline(deadline)
	return c.ws.WriteMessage(websocket.TextMessage, f.data)
}

// finish sends what the reason allows — the queued frames (an error frame saying why, a reply
// in flight), then the close frame — waits a little for the client's close frame, and lets the
// reader's run end.
func (c *chatConn) finish() {
	defer close(c.finished)
	c.mu.Lock()
	code, text, rest := c.closeCode, c.closeText, c.out
	c.out = nil
	c.mu.Unlock()
	deadline := time.Now().Add(chatWriteWait)
	switch code {
	case 0, websocket.ClosePolicyViolation:
		// The client left, or does not read: no more frames.
	default:
		for _, f := range rest {
			if c.write(f, deadline) != nil {
				break
			}
		}
	}
	if code != 0 {
		c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), deadline)
	}
	grace := time.NewTimer(chatCloseGrace)
	defer grace.Stop()
	select {
	case <-c.readerDone:
	case <-grace.C:
		c.ws.Close() // the reader stops at once
	}
}

// Frames.

// clientFrame is any frame a client sends; which fields count depends on Type.
type clientFrame struct {
	Type      string `json:"type"`
	Session   string `json:"session"`
	Community string `json:"community"`
	ID        string `json:"id"`
	Text      string `json:"text"`
	Option    string `json:"option"`
}

type welcomeFrame struct {
	Type      string     `json:"type"` // welcome
	Session   string     `json:"session"`
	Resumed   bool       `json:"resumed"`
	Community string     `json:"community"`
	History   []bot.Turn `json:"history"`
}

type errorFrame struct {
	Type    string `json:"type"` // error
	Code    string `json:"code"`
	Message string `json:"message"`
	ReplyTo string `json:"reply_to,omitempty"`
}

var pongFrame = []byte(`{"type":"pong"}`)

// Error codes (docs/protocol.md) and what residents are told.
const (
	errBadJSON     = "bad_json"
	errBadType     = "bad_type"
	errBadText     = "bad_text"
	errBadUTF8     = "bad_utf8"
	errBadOption   = "bad_option"
	errRateLimited = "rate_limited"
	errInternal    = "internal"
	errStarting    = "starting"
)

func (c *chatConn) fail(code, message, replyTo string) {
	c.errs++
	if utf8.RuneCountInString(replyTo) > chatMaxID {
		replyTo = ""
	}
	c.queueJSON(errorFrame{Type: "error", Code: code, Message: message, ReplyTo: replyTo})
}

// handle answers one data frame.
func (c *chatConn) handle(mt int, data []byte) {
	if mt == websocket.TextMessage && !utf8.Valid(data) {
		c.fail(errBadUTF8, "消息不是有效的 UTF-8 文本 (invalid UTF-8)", "")
		c.closeWith(websocket.CloseInvalidFramePayloadData, "bad_utf8")
		return
	}
	var f clientFrame
	if trimmed := bytes.TrimSpace(data); mt != websocket.TextMessage || len(trimmed) == 0 || trimmed[0] != '{' ||
		json.Unmarshal(trimmed, &f) != nil {
		c.fail(errBadJSON, "消息格式不对 (not a JSON object)", "")
		return
	}
	switch f.Type {
	case "ping":
		c.queue(outFrame{data: pongFrame})
	case "hello":
		c.hello(f)
	case "ask", "choose":
		c.message(f)
	default:
		c.fail(errBadType, "不认识的消息类型 (unknown type)", "")
	}
}

func (c *chatConn) hello(f clientFrame) {
	if c.conv != nil {
		c.fail(errBadType, "已经打过招呼了 (hello was already sent)", "")
		return
	}
	s := c.s
	ctx, cancel := context.WithTimeout(context.Background(), chatMessageTime)
	defer cancel()
	community := ""
	if cm, ok := s.guide.Community(f.Community); ok && f.Community != "" {
		community = cm.ID
	}
	now := s.now()
	if f.Session != "" && len(f.Session) <= chatMaxSession {
		conv, err := s.convs.ConversationByToken(ctx, HashToken(f.Session), now.Add(-chatResumeWithin))
		switch {
		case err == nil:
			turns, err := s.convs.Turns(ctx, conv.ID, chatHistory)
			if err != nil {
				s.log.Error("chat: reading turns", "err", err)
				c.fail(errInternal, "内部错误，请稍后再试 (internal error)", "")
				return
			}
			if turns == nil {
				turns = []bot.Turn{}
			}
			if conv.Community == "" {
				conv.Community = community // stored with the next message
			}
			c.conv = conv
			for i := len(turns) - 1; i >= 0; i-- {
				if turns[i].Reply != nil {
					c.lastOptions = turns[i].Reply.Options
					break
				}
			}
			s.log.Debug("chat resumed", "turns", len(turns))
			c.queueJSON(welcomeFrame{Type: "welcome", Session: f.Session, Resumed: true, Community: conv.Community, History: turns})
			return
		case !errors.Is(err, bot.ErrNoConversation):
			s.log.Error("chat: looking up a conversation", "err", err)
			c.fail(errInternal, "内部错误，请稍后再试 (internal error)", "")
			return
		}
	}
	token, hash := NewToken()
	conv := &bot.Conversation{ID: rand.Text(), TokenHash: hash, Community: community, Created: now, Updated: now}
	if err := s.convs.CreateConversation(ctx, conv); err != nil {
		s.log.Error("chat: creating a conversation", "err", err)
		c.fail(errInternal, "内部错误，请稍后再试 (internal error)", "")
		return
	}
	c.conv = conv
	s.log.Debug("chat started", "community", community != "")
	c.queueJSON(welcomeFrame{Type: "welcome", Session: token, Community: community, History: []bot.Turn{}})
}

// message answers an ask or a choose: validated, rate limited, through the dialogue, stored, then
// sent.
func (c *chatConn) message(f clientFrame) {
	if c.conv == nil {
		c.fail(errBadType, "请先发送 hello (send hello first)", f.ID)
		return
	}
	if utf8.RuneCountInString(f.ID) > chatMaxID {
		c.fail(errBadText, "消息编号太长 (id longer than 64 characters)", "")
		return
	}
	var text string
	if f.Type == "ask" {
		text = strings.TrimSpace(f.Text)
		switch {
		case text == "":
			c.fail(errBadText, "消息不能为空 (empty text)", f.ID)
			return
		case utf8.RuneCountInString(text) > bot.MaxRunes:
			c.fail(errBadText, "消息太长了，最多 2000 字 (text longer than 2,000 characters)", f.ID)
			return
		}
	} else if f.Option == "" || len(f.Option) > chatMaxOption {
		c.fail(errBadOption, "这个选项已经失效，请直接输入您的问题 (unknown option)", f.ID)
		return
	}
	b := c.s.bot.Load()
	if b == nil {
		c.fail(errStarting, "正在启动，请稍后再试 (starting)", f.ID)
		return
	}
	if !c.limit.Allow() || (c.s.chat.ipLimit != nil && !c.s.chat.ipLimit.allow(c.ip)) {
		c.fail(errRateLimited, "发送太快了，请稍后再试 (rate limited)", f.ID)
		return
	}

	// The dialogue works on copies: the conversation changes only once its turns are stored.
	ctx, cancel := context.WithTimeout(context.Background(), chatMessageTime)
	defer cancel()
	d := bot.Dialogue{Bot: b, Desk: conversationDesk{desk{c.s.intake}, c.conv.ID}}
	st, community := c.conv.State, c.conv.Community
	var r bot.Reply
	var err error
	if f.Type == "ask" {
		r, err = d.Ask(ctx, &st, &community, f.ID, text)
	} else {
		text = c.optionLabel(f.Option)
		r, err = d.Choose(ctx, &st, &community, f.ID, f.Option)
	}
	switch {
	case errors.Is(err, bot.ErrBadOption):
		c.fail(errBadOption, "这个选项已经失效，请直接输入您的问题 (unknown option)", f.ID)
		return
	case errors.Is(err, bot.ErrEmpty), errors.Is(err, bot.ErrTooLong), errors.Is(err, bot.ErrInvalidUTF8):
		c.fail(errBadText, "这条消息读不了 (unreadable text)", f.ID)
		return
	case err != nil:
		c.s.log.Error("chat: dialogue failed", "type", f.Type, "why", errorKind(err))
		c.fail(errInternal, "内部错误，请稍后再试 (internal error)", f.ID)
		return
	}

	now := c.s.now()
	next := *c.conv
	next.State, next.Community, next.Updated = st, community, now
	turns := []bot.Turn{
		{At: now, From: "resident", Text: text},
		{At: now, From: "bot", Text: r.Text, Reply: &r},
	}
	if err := c.s.convs.AppendTurns(ctx, &next, turns); err != nil {
		c.s.log.Error("chat: storing turns", "err", err)
		c.fail(errInternal, "内部错误，请稍后再试 (internal error)", f.ID)
		return
	}
	c.conv = &next
	c.lastOptions = r.Options
	c.messages++
	c.s.log.Debug("chat reply", "type", f.Type, "decision", r.Decision, "ticket", r.Ticket != nil)
	c.queueJSON(r)
}

// optionLabel is how a choice shows in the history: the label the resident tapped.
func (c *chatConn) optionLabel(id string) string {
	for _, o := range c.lastOptions {
		if o.ID == id {
			return o.Label
		}
	}
	return id
}

// errorKind describes a dialogue error for the log without what the resident wrote.
func errorKind(err error) string {
	var fe *intake.FieldError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &fe):
		return "invalid ticket field " + fe.Field
	case errors.Is(err, intake.ErrInvalid):
		return "invalid ticket"
	}
	return "failed"
}

// conversationDesk opens tickets for one conversation, so that a ticket names the chat it came
// from.
type conversationDesk struct {
	desk
	id string
}

func (d conversationDesk) OpenTicket(ctx context.Context, r bot.TicketRequest) (bot.TicketInfo, error) {
	r.ConversationID = d.id
	return d.desk.OpenTicket(ctx, r)
}
