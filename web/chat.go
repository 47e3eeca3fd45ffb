package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/chat"
	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/internal/i18n"
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
	chatMaxFrame     = 16 << 10         // bytes of one frame read: 2,000 characters even \u-escaped
	chatDrainLimit   = 1 << 20          // a longer frame is read to its end and refused (bad_text); beyond this, 1009
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
	closeRestart     = websocket.CloseServiceRestart
)

// chatHub is the registry of open chat connections, for OpenChats and CloseChats.
type chatHub struct {
	ipLimit   *limiter // every conversation of an address (nil: none)
	convLimit *limiter // each conversation, whichever connections it uses
	upgrade   websocket.Upgrader

	mu    sync.Mutex
	conns map[*wsConn]struct{} // residents' and consoles'

	closed bool // CloseChats was called: no new connections
	wg     sync.WaitGroup
}

// chatIPLimiter is the per-address ceiling: 300 a minute (limit.go), or Config.ChatIPPerMinute
// (negative: none, for load tests from one address).
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
		ipLimit:   s.chatIPLimiter(),
		convLimit: newLimiter(chatConvEvery, chatConvBurst),
		conns:     map[*wsConn]struct{}{},
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
	n := 0
	for c := range s.chat.conns {
		if c.kind == "chat" {
			n++
		}
	}
	return n
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
	conns := make([]*wsConn, 0, len(h.conns))
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

func (h *chatHub) add(c *wsConn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.conns[c] = struct{}{}
	h.wg.Add(1)
	return true
}

func (h *chatHub) remove(c *wsConn) {
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
	if origin == strings.ToLower(ownOrigin(r)) {
		return true
	}
	return s.origins[origin]
}

func (s *Server) serveChat(w http.ResponseWriter, r *http.Request) {
	if !s.chatOriginAllowed(r) {
		writeError(w, http.StatusForbidden, "forbidden_origin", i18n.Both("error.chat_origin"))
		return
	}
	h := s.chat
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "starting", i18n.Both("error.restarting"))
		return
	}
	ws, err := h.upgrade.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered with an HTTP error
	}
	c := &chatConn{
		wsConn: newWSConn(ws, s.log, "chat", s.chatIdle),
		s:      s, ip: clientIP(r),
		signals: rate.NewLimiter(5, 20),
	}
	c.oversize = func(id string) { c.fail(errBadText, i18n.Both("error.text_too_long", "max", bot.MaxRunes), id) }
	if !h.add(&c.wsConn) {
		ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(closeRestart, "service restart"),
			time.Now().Add(time.Second))
		ws.Close()
		return
	}
	// The handler returns now: the connection lives on in its own reader goroutine.
	go func() {
		defer h.remove(&c.wsConn)
		c.run()
	}()
}

// chatConn is one resident's connection.
type chatConn struct {
	wsConn
	s  *Server
	ip string

	signals *rate.Limiter // typing and acks, which cost the server little (asks: chatHub.convLimit)

	// The hello deadline and the silence limit (chatlimits.go).
	helloed                  atomic.Bool  // the conversation has started
	active                   atomic.Int64 // the resident's last doing, Unix nanoseconds
	helloTimer, silenceTimer *time.Timer  // under mu

	// The reader's own state.
	conv        *intake.Conversation
	unstored    bool              // conv is not stored yet: it is, at its first ask or choose
	lastOptions []intake.Option   // of the last reply, to label the resident's choice in the history
	messages    int               // asks and chooses answered
	errs        int               // error frames sent
	answers     map[string]string // recent answers' topics by the ask they replied to, for votes
	place       *location         // where the resident said they are, for the next ticket (location.go)
}

// run serves the connection until it closes.
func (c *chatConn) run() {
	c.startLimits()
	code := c.serve(c.handle)
	c.stopLimits()
	if c.conv != nil {
		c.s.desk.removeResident(c.conv.ID, c)
	}
	c.s.log.Info("chat closed", "code", code, "messages", c.messages, "errors", c.errs,
		"seconds", int(time.Since(c.opened).Seconds()))
}

// Frames.

// clientFrame is any frame a client sends; which fields count depends on Type.
type clientFrame struct {
	Type      string   `json:"type"`
	Session   string   `json:"session"`
	Community string   `json:"community"`
	ID        string   `json:"id"`
	Text      string   `json:"text"`
	Option    string   `json:"option"`
	Lat       *float64 `json:"lat"` // location (location.go)
	Lng       *float64 `json:"lng"`
}

type welcomeFrame struct {
	Type      string        `json:"type"` // welcome
	Session   string        `json:"session"`
	Resumed   bool          `json:"resumed"`
	Community string        `json:"community"`
	History   []intake.Turn `json:"history"`
	Handoff   string        `json:"handoff,omitempty"` // a person is involved: waiting, live, offered
	Agent     string        `json:"agent,omitempty"`   // the operator's number, when live
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
	// To a console: a request done and stored, whose frame for the resident the bus between
	// nodes could not carry.
	errNotDeliveredCode = "not_delivered"
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
		c.fail(errBadUTF8, i18n.Both("error.bad_utf8"), "")
		c.closeWith(websocket.CloseInvalidFramePayloadData, "bad_utf8")
		return
	}
	var f clientFrame
	if trimmed := bytes.TrimSpace(data); mt != websocket.TextMessage || len(trimmed) == 0 || trimmed[0] != '{' ||
		json.Unmarshal(trimmed, &f) != nil {
		c.fail(errBadJSON, i18n.Both("error.bad_json"), "")
		return
	}
	defer c.sawFrame(f.Type)
	switch f.Type {
	case "ping":
		c.queue(outFrame{data: pongFrame})
	case "hello":
		c.hello(f)
	case "ask", "choose":
		c.message(f)
	case "typing", "ack":
		c.signal(f)
	case "location":
		c.location(f)
	case "rate", "feedback":
		if c.conv == nil {
			c.fail(errBadType, i18n.Both("error.hello_first"), f.ID)
			return
		}
		if f.Type == "rate" {
			var rf rateFrame
			json.Unmarshal(data, &rf) // it parsed as a frame above
			c.rateInChat(rf)
		} else {
			var ff feedbackFrame
			json.Unmarshal(data, &ff)
			c.feedback(ff)
		}
	default:
		c.fail(errBadType, i18n.Both("error.unknown_type"), "")
	}
}

func (c *chatConn) hello(f clientFrame) {
	if c.conv != nil {
		c.fail(errBadType, i18n.Both("error.hello_again"), "")
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
				c.fail(errInternal, i18n.Both("error.internal"), "")
				return
			}
			if turns == nil {
				turns = []intake.Turn{}
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
			for _, t := range turns {
				if t.Reply != nil {
					c.rememberAnswer(*t.Reply)
				}
			}
			s.log.Debug("chat resumed", "turns", len(turns))
			s.desk.addResident(conv.ID, c)
			c.queueJSON(welcomeFrame{Type: "welcome", Session: f.Session, Resumed: true, Community: conv.Community, History: turns,
				Handoff: conv.Handoff, Agent: s.agentOf(ctx, conv.Operator)})
			c.pendingSurveys(ctx)
			return
		case !errors.Is(err, intake.ErrNoConversation):
			s.log.Error("chat: looking up a conversation", "err", err)
			c.fail(errInternal, i18n.Both("error.internal"), "")
			return
		}
	}
	// The conversation is stored at its first message (storeConversation), not here: a hello
	// alone costs no row, and an empty chat counts in no figure.
	token, hash := NewToken()
	conv := &intake.Conversation{ID: rand.Text(), TokenHash: hash, Community: community, Created: now, Updated: now}
	c.conv, c.unstored = conv, true
	s.desk.addResident(conv.ID, c)
	s.metrics.chat()
	s.log.Debug("chat started", "community", community != "")
	c.queueJSON(welcomeFrame{Type: "welcome", Session: token, Community: community, History: []intake.Turn{}})
}

// message answers an ask or a choose: validated, rate limited, through the dialogue, stored, then
// sent.
func (c *chatConn) message(f clientFrame) {
	if c.conv == nil {
		c.fail(errBadType, i18n.Both("error.hello_first"), f.ID)
		return
	}
	if utf8.RuneCountInString(f.ID) > chatMaxID {
		c.fail(errBadText, i18n.Both("error.id_too_long", "max", chatMaxID), "")
		return
	}
	var text string
	if f.Type == "ask" {
		text = strings.TrimSpace(intake.CleanText(f.Text))
		switch {
		case text == "":
			c.fail(errBadText, i18n.Both("error.empty_text"), f.ID)
			return
		case utf8.RuneCountInString(text) > bot.MaxRunes:
			c.fail(errBadText, i18n.Both("error.text_too_long", "max", bot.MaxRunes), f.ID)
			return
		}
	} else if f.Option == "" || len(f.Option) > chatMaxOption {
		c.fail(errBadOption, i18n.Both("error.stale_option"), f.ID)
		return
	}
	b := c.s.bot.Load()
	if b == nil {
		c.fail(errStarting, i18n.Both("error.starting"), f.ID)
		return
	}
	if !c.s.chat.convLimit.allow(c.conv.ID) || (c.s.chat.ipLimit != nil && !c.s.chat.ipLimit.allow(c.ip)) {
		c.fail(errRateLimited, i18n.Both("error.sending_too_fast"), f.ID)
		return
	}

	// The chat service answers it: the dialogue, the ticket it opens, the stored turns. The
	// conversation here changes only once they are stored.
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), chatMessageTime)
	defer cancel()
	if !c.storeConversation(ctx, f.ID) {
		return
	}
	label := text
	if f.Type == "choose" {
		label = c.optionLabel(f.Option)
	}
	res, err := c.s.chats.Handle(ctx, b, c.conv, chat.Message{
		Input: bot.Input{ID: f.ID, Text: text, Option: f.Option}, Label: label, Online: c.s.desk.online(),
		Lat: c.place.lat(), Lng: c.place.lng()})
	switch {
	case errors.Is(err, bot.ErrBadOption):
		c.fail(errBadOption, i18n.Both("error.stale_option"), f.ID)
		return
	case errors.Is(err, bot.ErrEmpty), errors.Is(err, bot.ErrTooLong), errors.Is(err, bot.ErrInvalidUTF8):
		c.fail(errBadText, i18n.Both("error.unreadable"), f.ID)
		return
	case err != nil:
		c.s.log.Error("chat: answering a message", "type", f.Type, "why", errorKind(err))
		c.fail(errInternal, i18n.Both("error.internal"), f.ID)
		return
	}
	c.messages++
	if res.Ticket != nil {
		c.place = nil // it went with this ticket
	}
	if res.ToPerson != nil {
		// A person is involved: the consoles see it, the resident is told it arrived, the bot
		// stays silent.
		c.s.toOperators(turnFrame{Type: "turn", Conversation: c.conv.ID, Turn: *res.ToPerson})
		c.queueJSON(receivedFrame{Type: "received", ReplyTo: f.ID})
		if res.Reply != nil { // danger: the bot gives the numbers at once all the same
			c.queueJSON(*res.Reply)
		}
		if res.Emergency != nil {
			c.s.emergencyAlert(res.Emergency)
		}
		if res.DeskChanged {
			c.s.broadcastState()
		}
		c.s.metrics.ask("operator", time.Since(start))
		return
	}
	r := *res.Reply
	c.conv = res.Conv
	c.lastOptions = r.Options
	c.rememberAnswer(r)
	c.s.log.Debug("chat reply", "type", f.Type, "decision", r.Decision, "ticket", r.Ticket != nil)
	c.queueJSON(r)
	c.s.metrics.ask(r.Decision, time.Since(start))
	if res.Handoff {
		c.s.metrics.handoff()
	}
	if res.Waiting {
		c.s.toOperators(alertFrame{Type: "alert", Kind: "handoff", Conversation: c.conv.ID, Text: i18n.T(i18n.Zh, "desk.alert.handoff")})
	}
	if res.Emergency != nil {
		c.s.emergencyAlert(res.Emergency)
	}
	if res.DeskChanged {
		c.s.broadcastState() // the turns are stored, so consoles show them
	}
}

// storeConversation stores a new conversation at its first message, with the time of the hello.
func (c *chatConn) storeConversation(ctx context.Context, replyTo string) bool {
	if !c.unstored {
		return true
	}
	if err := c.s.convs.CreateConversation(ctx, c.conv); err != nil {
		c.s.log.Error("chat: creating a conversation", "err", err)
		c.fail(errInternal, i18n.Both("error.internal"), replyTo)
		return false
	}
	c.unstored = false
	return true
}

// optionLabel is how a choice shows in the history: the label the resident tapped.
func (c *chatConn) optionLabel(id string) string {
	if strings.HasPrefix(id, bot.PlaceOption) {
		return i18n.T(i18n.Zh, "chat.location.label")
	}
	for _, o := range append(c.lastOptions, chat.KeepBotOption, chat.HandoffTicketOption) {
		if o.ID == id {
			return o.Label
		}
	}
	return id
}

// signal passes a resident's typing, or acknowledgement of an operator's message, to the
// consoles. Neither is answered.
func (c *chatConn) signal(f clientFrame) {
	if c.conv == nil || !c.signals.Allow() {
		return
	}
	if f.Type == "typing" {
		ctx, cancel := context.WithTimeout(context.Background(), chatMessageTime)
		defer cancel()
		if conv, err := c.s.convs.Conversation(ctx, c.conv.ID); err != nil || conv.Handoff != intake.HandoffLive {
			return // only the operator holding the chat is told
		}
		c.s.toOperators(convFrame{Type: "typing", Conversation: c.conv.ID})
		return
	}
	if f.ID != "" && len(f.ID) <= chatMaxID {
		c.s.toOperators(convFrame{Type: "delivered", Conversation: c.conv.ID, ID: f.ID})
	}
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
