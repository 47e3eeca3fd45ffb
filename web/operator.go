package web

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/chat"
	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/internal/i18n"
)

// GET /ws/operator: a console's live connection (docs/operator.md). Operators take waiting chats,
// talk to residents, hand chats back to the bot and turn them into tickets; every console is told
// of every change.

// A console may send opRate requests a second on average, in bursts of opBurst.
const (
	opRate  = 10
	opBurst = 40
)

// deskRoles may open the operator socket.
var deskRoles = []intake.Role{intake.RoleOperator, intake.RoleManager}

// mountOperator mounts GET /ws/operator and the console's helpers.
func (s *Server) mountOperator() {
	s.handle("GET /ws/operator", s.staff(s.serveOperator, deskRoles...))
}

func (s *Server) serveOperator(w http.ResponseWriter, r *http.Request) {
	// The session cookie would let any page open this socket in a logged-in browser: only the
	// console's own origin may (clients without Origin are not browsers).
	if o := r.Header.Get("Origin"); o != "" && !s.sameOrigin(r, o) {
		writeError(w, http.StatusForbidden, "forbidden_origin", i18n.Both("error.console_origin"))
		return
	}
	ws, err := s.chat.upgrade.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &opConn{wsConn: newWSConn(ws, s.log, "operator", s.chatIdle), s: s, user: staffUser(r),
		limit: rate.NewLimiter(opRate, opBurst)}
	if !s.chat.add(&c.wsConn) {
		ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(closeRestart, "service restart"),
			time.Now().Add(time.Second))
		ws.Close()
		return
	}
	s.desk.addOperator(c)
	go func() {
		defer s.chat.remove(&c.wsConn)
		c.run()
	}()
}

// sameOrigin reports whether a browser Origin is this server's own.
func (s *Server) sameOrigin(r *http.Request, origin string) bool {
	return strings.EqualFold(strings.TrimSuffix(origin, "/"), ownOrigin(r))
}

// ownOrigin is the origin the client reached this server at: its scheme and Host (both as a
// trusted proxy forwarded them, see proxy.go). An X-Forwarded-Proto of https is believed from any
// peer here: a page cannot set it on its requests, so believing it can only turn away an http
// page of the same host, never let another site in.
func ownOrigin(r *http.Request) string {
	scheme := "http"
	if isHTTPS(r) || strings.EqualFold(forwardedProto(r.Header), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// opConn is one console's connection.
type opConn struct {
	wsConn
	s     *Server
	user  *intake.User
	limit *rate.Limiter // a console's requests: generous for people, a stop for a runaway script
}

func (c *opConn) run() {
	c.queueJSON(map[string]any{"type": "hello", "operator": map[string]any{
		"name": c.user.Name, "number": agentNumber(c.user), "role": c.user.Role}})
	go c.s.broadcastState() // this console's first state, and everyone's new online count
	go c.s.announcePresence()
	code := c.serve(c.handle)
	c.s.desk.removeOperator(c)
	c.s.broadcastState()
	c.s.announcePresence()
	c.s.log.Info("operator closed", "user", c.user.Name, "code", code, "seconds", int(time.Since(c.opened).Seconds()))
}

// opRequest is any frame a console sends.
type opRequest struct {
	Type         string `json:"type"`
	ID           string `json:"id"`
	Conversation string `json:"conversation"`
	Text         string `json:"text"`
	Entry        string `json:"entry"`
	Community    string `json:"community"`
	Topic        string `json:"topic"`
	Category     string `json:"category"`
	Address      string `json:"address"`
	Phone        string `json:"phone"`
	Description  string `json:"description"`
}

type resultFrame struct {
	Type    string             `json:"type"` // result
	ReplyTo string             `json:"reply_to"`
	OK      bool               `json:"ok"`
	Code    string             `json:"code,omitempty"`
	Message string             `json:"message,omitempty"`
	Field   string             `json:"field,omitempty"` // bad_request: the field refused, for the console's words
	ID      string             `json:"id,omitempty"`    // say: the message's id, for delivered
	Ticket  *intake.TicketInfo `json:"ticket,omitempty"`
}

// deskError is a request refused with a code.
type deskError struct{ code, message string }

func (e *deskError) Error() string { return e.code + ": " + e.message }

var (
	errTaken    = &deskError{"taken", i18n.Both("error.taken")}
	errNotYours = &deskError{"not_yours", i18n.Both("error.not_yours")}
	errNoChat   = &deskError{"not_found", i18n.Both("error.no_chat")}
)

func badRequest(msg string) error { return &deskError{"bad_request", msg} }

func (c *opConn) handle(mt int, data []byte) {
	var f opRequest
	if trimmed := bytes.TrimSpace(data); mt != websocket.TextMessage || !utf8.Valid(data) || len(trimmed) == 0 ||
		trimmed[0] != '{' || json.Unmarshal(trimmed, &f) != nil {
		c.queueJSON(errorFrame{Type: "error", Code: errBadJSON, Message: "not a JSON object"})
		return
	}
	if f.Type == "ping" {
		c.queue(outFrame{data: pongFrame})
		return
	}
	if !c.limit.Allow() {
		if f.Type != "typing" {
			c.queueJSON(resultFrame{Type: "result", ReplyTo: f.ID, Code: errRateLimited, Message: i18n.Both("error.acting_too_fast")})
		}
		return
	}
	if utf8.RuneCountInString(f.ID) > chatMaxID {
		f.ID = ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), chatMessageTime)
	defer cancel()
	res := resultFrame{Type: "result", ReplyTo: f.ID, OK: true}
	var err error
	switch f.Type {
	case "take":
		err = c.take(ctx, f)
	case "say":
		res.ID, err = c.say(ctx, f)
	case "typing":
		if _, err = c.held(ctx, f.Conversation); err == nil {
			c.s.toResident(f.Conversation, json.RawMessage(typingFrame))
		}
		if err == nil {
			return // typing is not answered
		}
	case "release":
		err = c.release(ctx, f)
	case "ticket":
		res.Ticket, err = c.ticket(ctx, f)
	case "send_entry", "send_card":
		res.ID, err = c.send(ctx, f)
	default:
		c.queueJSON(errorFrame{Type: "error", Code: errBadType, Message: "unknown type"})
		return
	}
	// Stored, but the resident may not have seen it (the bus between nodes is down): the request
	// is done and answered ok with its id, and an error frame after the result tells the operator,
	// rather than an ok alone the resident never matched.
	notDelivered := errors.Is(err, errNotDelivered)
	if notDelivered {
		err = nil
	}
	if err != nil {
		res.OK = false
		var de *deskError
		var fe *intake.FieldError
		switch {
		case errors.As(err, &de):
			res.Code, res.Message = de.code, de.message
		case errors.As(err, &fe):
			res.Code, res.Message, res.Field = "bad_request", fe.Error(), fe.Field
		case errors.Is(err, intake.ErrInvalid):
			res.Code, res.Message = "bad_request", err.Error()
		default:
			c.s.log.Error("desk: "+f.Type, "err", err)
			res.Code, res.Message = errInternal, i18n.Both("error.internal")
		}
	}
	c.queueJSON(res)
	if notDelivered {
		c.s.log.Warn("desk: a frame for a resident not delivered", "request", f.Type, "user", c.user.Name)
		c.queueJSON(errorFrame{Type: "error", Code: errNotDeliveredCode, Message: i18n.Both("error.not_delivered"), ReplyTo: f.ID})
	}
}

// held returns the conversation if this operator holds it live.
func (c *opConn) held(ctx context.Context, id string) (*intake.Conversation, error) {
	if id == "" {
		return nil, badRequest("conversation: required")
	}
	conv, err := c.s.chats.Held(ctx, id, c.user.Name)
	return conv, deskErr(err)
}

// deskErr is how the console is told the chat service's refusals.
func deskErr(err error) error {
	switch {
	case errors.Is(err, intake.ErrNoConversation):
		return errNoChat
	case errors.Is(err, chat.ErrNotHeld):
		return errNotYours
	case errors.Is(err, chat.ErrTaken):
		return errTaken
	}
	return err
}

func (c *opConn) take(ctx context.Context, f opRequest) error {
	if f.Conversation == "" {
		return badRequest("conversation: required")
	}
	agent := agentNumber(c.user)
	t, waited, err := c.s.chats.Take(ctx, f.Conversation, c.user.Name, agent)
	if errors.Is(err, chat.ErrTaken) {
		c.s.broadcastState() // this console's view was stale
	}
	if err != nil {
		return deskErr(err)
	}
	c.s.metrics.taken(waited)
	c.s.toOperators(turnFrame{Type: "turn", Conversation: f.Conversation, Turn: t})
	sent := c.s.toResident(f.Conversation, handoffFrame{Type: "handoff", State: intake.HandoffLive, Agent: agent, Text: t.Text, Options: []intake.Option{}})
	c.s.log.Info("desk: chat taken", "user", c.user.Name)
	c.s.broadcastState()
	return sent
}

// operatorSays stores an operator's message and shows it to the resident; it returns the
// message id the resident's widget acknowledges, and errNotDelivered with it when the message is
// stored but could not be sent on.
func (c *opConn) operatorSays(ctx context.Context, convID, text string, contact *intake.ContactCard, entry *entryRef) (string, error) {
	agent := agentNumber(c.user)
	t, err := c.s.addTurn(ctx, convID, intake.Turn{From: "operator", Agent: agent, Text: text})
	if err != nil {
		return "", err
	}
	id := strconv.Itoa(t.Seq)
	return id, c.s.toResident(convID, agentFrame{Type: "agent", ID: id, Agent: agent, Text: text, At: t.At, Contact: contact, Entry: entry})
}

func (c *opConn) say(ctx context.Context, f opRequest) (string, error) {
	text := strings.TrimSpace(intake.CleanText(f.Text))
	switch {
	case text == "":
		return "", badRequest("text: empty")
	case utf8.RuneCountInString(text) > bot.MaxRunes:
		return "", badRequest("text: longer than 2,000 characters")
	}
	if _, err := c.held(ctx, f.Conversation); err != nil {
		return "", err
	}
	return c.operatorSays(ctx, f.Conversation, text, nil, nil)
}

func (c *opConn) send(ctx context.Context, f opRequest) (string, error) {
	if _, err := c.held(ctx, f.Conversation); err != nil {
		return "", err
	}
	b := c.s.bot.Load()
	if b == nil {
		return "", &deskError{errStarting, i18n.Both("error.starting_now")}
	}
	if f.Type == "send_entry" {
		title, text, ok := b.EntryText(f.Entry)
		if !ok {
			return "", badRequest("entry: unknown guide entry")
		}
		return c.operatorSays(ctx, f.Conversation, text, nil, &entryRef{ID: f.Entry, Title: title})
	}
	card, text, ok := b.CommunityCard(f.Community)
	if !ok {
		return "", badRequest("community: unknown community")
	}
	return c.operatorSays(ctx, f.Conversation, text, card, nil)
}

func (c *opConn) release(ctx context.Context, f opRequest) error {
	if _, err := c.held(ctx, f.Conversation); err != nil {
		return err
	}
	t, err := c.s.chats.Release(ctx, f.Conversation, c.user.Name)
	if err != nil {
		return deskErr(err)
	}
	c.s.toOperators(turnFrame{Type: "turn", Conversation: f.Conversation, Turn: t})
	sent := c.s.toResident(f.Conversation, handoffFrame{Type: "handoff", State: "ended", Text: t.Text, Options: []intake.Option{}})
	c.s.broadcastState()
	return sent
}

// ticket opens a ticket from a live chat; the description defaults to the conversation.
func (c *opConn) ticket(ctx context.Context, f opRequest) (*intake.TicketInfo, error) {
	conv, err := c.held(ctx, f.Conversation)
	if err != nil {
		return nil, err
	}
	desc := strings.TrimSpace(f.Description)
	if desc == "" {
		if desc, err = c.s.chats.Transcript(ctx, conv.ID); err != nil {
			return nil, err
		}
	}
	urgency := intake.Normal
	if f.Topic != "" && c.s.emergencyTopic(f.Topic) {
		urgency = intake.Emergency // an emergency's ticket keeps its clock in minutes
	}
	t, _, err := c.s.intake.Create(ctx, intake.NewTicket{
		Topic: f.Topic, Category: f.Category, Community: cmp.Or(f.Community, conv.Community), Description: desc,
		Address: f.Address, Phone: f.Phone, Channel: intake.ChannelChat, ConversationID: conv.ID, Actor: c.user.Name,
		Urgency: urgency, Lat: conv.State.Lat, Lng: conv.State.Lng, // the phone's location, when it answered where
	}, "")
	if err != nil {
		return nil, err
	}
	ti := intake.Info(t, nil)
	// The bot's words for a ticket it opened (bot.Opened), with the access code for the resident.
	text := i18n.T(i18n.Zh, "bot.ticket.opened", "number", t.Number, "code", t.AccessCode, "due", t.DueBy.In(intake.Beijing).Format("1月2日 15:04"))
	if t.Urgency == intake.Emergency {
		text = c.s.chats.EmergencyOpenedText(t) // who acts and by when, not a 办结 date
	}
	if _, err := c.s.addTurn(ctx, conv.ID, intake.Turn{From: "system", Text: text}); err != nil {
		return nil, err
	}
	mine := ti
	mine.AccessCode = t.AccessCode
	return &ti, c.s.toResident(conv.ID, noticeFrame{Type: "notice", Text: text, Ticket: &mine})
}
