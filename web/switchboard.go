package web

import (
	"cmp"
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bayannur/hotline/chat"
	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/internal/i18n"
	"github.com/bayannur/hotline/search"
)

// The switchboard joins residents' chats to the operators' consoles (docs/operator.md). Who holds
// a chat is stored with the conversation, so every node and console agrees and two operators
// taking one chat cannot both win; what lives here is only this node's fan-out: which residents
// and which consoles are connected to it. Several nodes reach each other's residents and consoles
// through a Bus (bus.go); one node needs none.

// deskHub is this node's registry of resident chats and operator consoles.
type deskHub struct {
	mu        sync.Mutex
	residents map[string]map[*chatConn]struct{} // by conversation id
	operators map[*opConn]struct{}
	remote    map[string]nodePresence // other nodes' consoles, by node (presence.go)

	stateMu      sync.Mutex             // one state snapshot at a time, so consoles get them in order
	statePending atomic.Bool            // a snapshot is requested and not yet begun (requestState)
	queued       map[string]queueFrame  // under stateMu: the last queue frame each waiting resident here got
	turns        map[string]deskTurnsAt // under stateMu: each chat's last turns, as of its update time
}

// deskTurnsAt is a chat's last turns as read when the conversation was last updated at at: a
// snapshot reads them again only for a chat updated since (every turn appended moves the
// conversation's update time; a turn dated before it — another node's clock behind — shows in
// the consoles by its own turn frame, and in a snapshot from the chat's next change on).
type deskTurnsAt struct {
	at    time.Time
	turns []intake.Turn
}

func newDeskHub() *deskHub {
	return &deskHub{residents: map[string]map[*chatConn]struct{}{}, operators: map[*opConn]struct{}{}}
}

func (h *deskHub) addResident(id string, c *chatConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.residents[id] == nil {
		h.residents[id] = map[*chatConn]struct{}{}
	}
	h.residents[id][c] = struct{}{}
}

func (h *deskHub) removeResident(id string, c *chatConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.residents[id], c)
	if len(h.residents[id]) == 0 {
		delete(h.residents, id)
	}
}

// toResident queues v to every connection of conversation id here and returns how many.
func (h *deskHub) toResident(id string, v any) int {
	h.mu.Lock()
	conns := make([]*chatConn, 0, len(h.residents[id]))
	for c := range h.residents[id] {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.queueJSON(v)
	}
	return len(conns)
}

func (h *deskHub) addOperator(c *opConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.operators[c] = struct{}{}
}

func (h *deskHub) removeOperator(c *opConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.operators, c)
}

// local is how many consoles are connected to this node.
func (h *deskHub) local() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.operators)
}

// online is how many consoles are open on all the nodes: this node's, and those the other nodes
// last announced on the bus (presence.go), while their announcements are fresh.
func (h *deskHub) online() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := len(h.operators)
	now := time.Now()
	for _, p := range h.remote {
		if now.Sub(p.seen) < presenceFresh {
			n += p.consoles
		}
	}
	return n
}

// toOperators queues v to every console here.
func (h *deskHub) toOperators(v any) {
	h.mu.Lock()
	conns := make([]*opConn, 0, len(h.operators))
	for c := range h.operators {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.queueJSON(v)
	}
}

// Frames to residents (docs/operator.md).

type handoffFrame struct {
	Type    string          `json:"type"` // handoff
	State   string          `json:"state"`
	Agent   string          `json:"agent,omitempty"`
	Text    string          `json:"text"`
	Options []intake.Option `json:"options"`
}

type agentFrame struct {
	Type    string              `json:"type"` // agent
	ID      string              `json:"id"`
	Agent   string              `json:"agent"`
	Text    string              `json:"text"`
	At      time.Time           `json:"at"`
	Contact *intake.ContactCard `json:"contact,omitempty"`
	Entry   *entryRef           `json:"entry,omitempty"`
}

type entryRef struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

type noticeFrame struct {
	Type   string             `json:"type"` // notice
	Text   string             `json:"text"`
	Ticket *intake.TicketInfo `json:"ticket,omitempty"`
}

type receivedFrame struct {
	Type    string `json:"type"` // received
	ReplyTo string `json:"reply_to"`
}

var typingFrame = []byte(`{"type":"typing"}`)

// Frames to consoles.

type deskChat struct {
	ID            string        `json:"id"`
	State         string        `json:"state"`
	Operator      string        `json:"operator,omitempty"`
	Agent         string        `json:"agent,omitempty"`
	Community     string        `json:"community,omitempty"`
	CommunityName string        `json:"community_name,omitempty"`
	Since         time.Time     `json:"since"`
	Guess         *entryRef     `json:"guess,omitempty"`
	Emergency     bool          `json:"emergency,omitempty"` // the bot's guess is an emergency: shown in red, first
	Address       string        `json:"address,omitempty"`   // what the chat has collected so far
	Phone         string        `json:"phone,omitempty"`
	Topic         *entryRef     `json:"topic,omitempty"`    // the topic the chat's report is about
	Category      string        `json:"category,omitempty"` // the category it is in
	Turns         []intake.Turn `json:"turns"`
}

type stateFrame struct {
	Type   string     `json:"type"` // state
	Chats  []deskChat `json:"chats"`
	Online int        `json:"online"`
}

type turnFrame struct {
	Type         string      `json:"type"` // turn
	Conversation string      `json:"conversation"`
	Turn         intake.Turn `json:"turn"`
}

type convFrame struct {
	Type         string `json:"type"` // typing, delivered
	Conversation string `json:"conversation"`
	ID           string `json:"id,omitempty"`
}

type alertFrame struct {
	Type         string `json:"type"` // alert
	Kind         string `json:"kind"` // handoff, urgent, emergency
	Conversation string `json:"conversation,omitempty"`
	Ticket       string `json:"ticket,omitempty"`
	Text         string `json:"text"`
	// An emergency's: the resident's words, the guide topic, and what is known of the place.
	Words         string `json:"words,omitempty"`
	Topic         string `json:"topic,omitempty"`
	Community     string `json:"community,omitempty"`
	CommunityName string `json:"community_name,omitempty"`
	Address       string `json:"address,omitempty"`
}

// emergencyTopic reports whether a guide topic is an emergency's.
func (s *Server) emergencyTopic(id string) bool {
	e, ok := s.guide.Entry(id)
	return ok && e.Kind == search.KindEmergency
}

// communityName is a community's town and name ("" when unknown).
func (s *Server) communityName(id string) string {
	if cm, ok := s.guide.Community(id); ok && id != "" {
		return cm.TownName + " " + cm.Name
	}
	return ""
}

// emergencyAlert tells every console of a resident's emergency the moment the bot decides it.
func (s *Server) emergencyAlert(e *chat.Emergency) {
	title := e.Topic
	if en, ok := s.guide.Entry(e.Topic); ok {
		title = en.Title
	}
	s.toOperators(alertFrame{Type: "alert", Kind: "emergency", Conversation: e.Conversation,
		Text: i18n.T(i18n.Zh, "desk.alert.emergency", "text", e.Text, "title", title), Words: e.Text, Topic: e.Topic,
		Community: e.Community, CommunityName: s.communityName(e.Community), Address: e.Address})
}

type ticketFrame struct {
	Type    string         `json:"type"` // ticket
	Number  string         `json:"number"`
	Action  intake.Action  `json:"action"`
	Status  intake.Status  `json:"status"`
	Urgency intake.Urgency `json:"urgency"`
}

// deskTurns is how many turns of each chat a state snapshot carries.
const deskTurns = 20

// agentNumber is how residents see an operator: their staff number, never their name.
func agentNumber(u *intake.User) string { return fmt.Sprintf("%04d", u.Number) }

// agentOf looks an operator's number up by name ("" when unknown).
func (s *Server) agentOf(ctx context.Context, name string) string {
	if name == "" || s.users == nil {
		return ""
	}
	u, err := s.users.User(ctx, name)
	if err != nil {
		return ""
	}
	return agentNumber(u)
}

// deskState is the snapshot every console shows: each chat with a person involved. With no
// console here it is the queue alone (what sendQueue needs), without the chats' turns. Called
// under stateMu.
func (s *Server) deskState(ctx context.Context) (stateFrame, error) {
	convs, err := s.convs.Handoffs(ctx)
	if err != nil {
		return stateFrame{}, err
	}
	out := stateFrame{Type: "state", Chats: make([]deskChat, 0, len(convs)), Online: s.desk.online()}
	watched := s.desk.local() > 0 // the snapshot goes to this node's consoles only
	cached := s.desk.turns
	s.desk.turns = make(map[string]deskTurnsAt, len(convs))
	agents := map[string]string{}
	for _, c := range convs {
		var turns []intake.Turn
		if watched {
			if t, ok := cached[c.ID]; ok && t.at.Equal(c.Updated) {
				turns = t.turns
			} else if turns, err = s.convs.Turns(ctx, c.ID, deskTurns); err != nil {
				return stateFrame{}, err
			}
			s.desk.turns[c.ID] = deskTurnsAt{c.Updated, turns}
		}
		agent, ok := agents[c.Operator]
		if !ok {
			agent = s.agentOf(ctx, c.Operator)
			agents[c.Operator] = agent
		}
		dc := deskChat{ID: c.ID, State: c.Handoff, Operator: c.Operator, Agent: agent,
			Community: c.Community, Since: c.HandoffAt, Turns: turns}
		d := c.State
		dc.CommunityName = s.communityName(cmp.Or(c.Community, d.Community))
		if dc.Community == "" {
			dc.Community = d.Community
		}
		dc.Address, dc.Phone, dc.Category = d.Address, d.Phone, d.Category
		if e, ok := s.guide.Entry(d.Topic); ok && d.Topic != "" {
			dc.Topic = &entryRef{ID: e.ID, Title: e.Title}
		}
		if e, ok := s.guide.Entry(c.Guess); ok && c.Guess != "" {
			dc.Guess = &entryRef{ID: e.ID, Title: e.Title}
			dc.Emergency = e.Kind == search.KindEmergency
		}
		dc.Emergency = dc.Emergency || d.Flow == intake.FlowReport && d.Emergency
		out.Chats = append(out.Chats, dc)
	}
	return out, nil
}

// stateCoalesce is how long a request for a snapshot waits for others to join it: every resident
// message that changes the desk asks for one, and a snapshot reads every chat with a person
// involved, so under load many requests make one snapshot instead of one each.
const stateCoalesce = 50 * time.Millisecond

// queueCoalesce is stateCoalesce with no console on this node: the snapshot is then only the
// waiting residents' places in the queue, whom nobody here can take meanwhile, so their places
// change rarely and can wait (under the chat bench, with thousands of emergencies waiting and no
// console, snapshots every 500 ms still took a tenth of the server's CPU).
const queueCoalesce = 2 * time.Second

// requestState has every console here sent a fresh snapshot soon, off the caller's goroutine (a
// resident's message is not held up by it): requests while one is pending make one snapshot.
func (s *Server) requestState() {
	if !s.desk.statePending.CompareAndSwap(false, true) {
		return
	}
	wait := stateCoalesce
	if s.desk.local() == 0 {
		wait = queueCoalesce // no console to show it: the queue's places alone, less often
	}
	time.AfterFunc(wait, func() {
		s.desk.statePending.Store(false) // a change from now on asks for the next one
		s.sendState()
	})
}

// sendState sends every console here a fresh snapshot.
func (s *Server) sendState() {
	s.desk.stateMu.Lock()
	defer s.desk.stateMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), chatMessageTime)
	defer cancel()
	st, err := s.deskState(ctx)
	if err != nil {
		s.log.Error("desk: reading the state", "err", err)
		return
	}
	s.desk.toOperators(st)
	s.sendQueue(st)
}

// queueFrame tells a waiting resident their place in the queue for a person and how many
// operators are on duty; with none, honestly so, with the offer of a ticket (docs/protocol.md).
type queueFrame struct {
	Type     string          `json:"type"` // queue
	Position int             `json:"position"`
	Online   int             `json:"online"`
	Text     string          `json:"text,omitempty"`
	Options  []intake.Option `json:"options,omitempty"`
}

// sendQueue sends each waiting resident connected here their place in st's queue — emergencies
// first, then by how long they have waited, as the consoles show it — when it has changed since
// the last one they got (not to an emergency's resident, whom the bot keeps talking to). Online counts the consoles of this node (with several nodes, those on
// the others are not counted).
func (s *Server) sendQueue(st stateFrame) {
	waiting := make([]deskChat, 0, len(st.Chats))
	for _, c := range st.Chats {
		if c.State == intake.HandoffWaiting {
			waiting = append(waiting, c)
		}
	}
	sort.SliceStable(waiting, func(i, j int) bool {
		if waiting[i].Emergency != waiting[j].Emergency {
			return waiting[i].Emergency
		}
		return waiting[i].Since.Before(waiting[j].Since)
	})
	sent := make(map[string]queueFrame, len(waiting))
	for i, c := range waiting {
		if c.Emergency {
			continue // the bot is making its ticket meanwhile, and every console has the alert
		}
		f := queueFrame{Type: "queue", Position: i, Online: st.Online}
		if f.Online == 0 {
			f.Text = i18n.T(i18n.Zh, "chat.queue.nobody")
			f.Options = []intake.Option{chat.HandoffTicketOption, chat.KeepBotOption}
		}
		if old, ok := s.desk.queued[c.ID]; !ok || old.Position != f.Position || old.Online != f.Online {
			s.desk.toResident(c.ID, f)
		}
		sent[c.ID] = f
	}
	s.desk.queued = sent
}

// addTurn stores one turn that is not the dialogue's (a system line, an operator's message) and
// shows it to the consoles.
func (s *Server) addTurn(ctx context.Context, convID string, t intake.Turn) (intake.Turn, error) {
	t, err := s.chats.AddTurn(ctx, convID, t)
	if err != nil {
		return intake.Turn{}, err
	}
	s.toOperators(turnFrame{Type: "turn", Conversation: convID, Turn: t})
	return t, nil
}

// SweepHandoffs offers a ticket to every resident who has waited too long for a person (see
// chat.Service.Sweep) and tells them and the consoles. It returns how many it offered.
func (s *Server) SweepHandoffs(ctx context.Context) (int, error) {
	offers, err := s.chats.Sweep(ctx)
	for _, o := range offers {
		s.toOperators(turnFrame{Type: "turn", Conversation: o.Conversation, Turn: o.Turn})
		s.toResident(o.Conversation, handoffFrame{Type: "handoff", State: intake.HandoffOffered, Text: o.Turn.Text,
			Options: []intake.Option{chat.HandoffTicketOption, chat.KeepBotOption}})
	}
	if len(offers) > 0 {
		s.broadcastState()
	}
	return len(offers), err
}

// RunDesk sweeps handoffs every interval until ctx ends.
func (s *Server) RunDesk(ctx context.Context, interval time.Duration) {
	if s.desk == nil {
		return
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if _, err := s.SweepHandoffs(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("desk: sweeping handoffs", "err", err)
			}
		}
	}
}

// ticketChanged is the intake observer: consoles refresh, urgent tickets alert, and a resolution
// reaches the resident whose chat the ticket came from.
func (s *Server) ticketChanged(t *intake.Ticket, ev intake.Event) {
	s.metrics.ticket(t, ev)
	s.toOperators(ticketFrame{Type: "ticket", Number: t.Number, Action: ev.Action, Status: t.Status, Urgency: t.Urgency})
	if ev.Action == intake.ActCreate || ev.Action == intake.ActDispatch && ev.From == intake.Received && t.Version == 1 {
		if t.Urgency != intake.Normal {
			s.toOperators(alertFrame{Type: "alert", Kind: "urgent", Ticket: t.Number,
				Text: i18n.T(i18n.Zh, "desk.alert.urgent", "number", t.Number, "category", t.Category)})
		}
	}
	if ev.Action != intake.ActResolve || t.ConversationID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), chatMessageTime)
	defer cancel()
	text := i18n.T(i18n.Zh, "chat.resolved", "number", t.Number, "reply", t.Reply)
	if _, err := s.addTurn(ctx, t.ConversationID, intake.Turn{From: "system", Text: text}); err != nil {
		s.log.Error("desk: telling the resident of a resolution", "ticket", t.Number, "err", err)
		return
	}
	ti := intake.Info(t, nil)
	s.toResident(t.ConversationID, noticeFrame{Type: "notice", Text: text, Ticket: &ti})
	s.surveyAfterResolve(t)
}
