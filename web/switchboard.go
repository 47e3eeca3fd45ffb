package web

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/bayannur/hotline/intake"
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

	stateMu sync.Mutex // one state snapshot at a time, so consoles get them in order
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

func (h *deskHub) online() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.operators)
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

// DeskHours are when operators answer chats: working days of the ticket calendar between From
// and To (Beijing time), or always.
type DeskHours struct {
	Always   bool
	From, To time.Duration // since midnight
}

// DefaultDeskHours is 08:30–17:30 on working days.
var DefaultDeskHours = DeskHours{From: 8*time.Hour + 30*time.Minute, To: 17*time.Hour + 30*time.Minute}

// ParseDeskHours reads "08:30-17:30" or "always".
func ParseDeskHours(s string) (DeskHours, error) {
	if s == "always" {
		return DeskHours{Always: true}, nil
	}
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return DeskHours{}, fmt.Errorf("desk hours %q: want HH:MM-HH:MM or always", s)
	}
	parse := func(v string) (time.Duration, error) {
		t, err := time.Parse("15:04", strings.TrimSpace(v))
		if err != nil {
			return 0, fmt.Errorf("desk hours %q: %q is not HH:MM", s, v)
		}
		return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
	}
	var h DeskHours
	var err error
	if h.From, err = parse(from); err != nil {
		return DeskHours{}, err
	}
	if h.To, err = parse(to); err != nil {
		return DeskHours{}, err
	}
	if h.To <= h.From {
		return DeskHours{}, fmt.Errorf("desk hours %q: the end must come after the start", s)
	}
	return h, nil
}

// String is the hours as residents are told them.
func (h DeskHours) String() string {
	if h.Always {
		return "全天"
	}
	hm := func(d time.Duration) string { return fmt.Sprintf("%d:%02d", int(d.Hours()), int(d.Minutes())%60) }
	return "工作日 " + hm(h.From) + "–" + hm(h.To)
}

// deskOpen reports whether operators answer chats at t.
func (s *Server) deskOpen(t time.Time) bool {
	h := s.deskHours
	if h.Always {
		return true
	}
	if s.intake.SLA != nil && s.intake.SLA.Calendar != nil && !s.intake.SLA.Calendar.Working(t) {
		return false
	}
	local := t.In(intake.Beijing)
	since := local.Sub(time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, intake.Beijing))
	return since >= h.From && since < h.To
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

// Options a resident is offered around a handoff.
const (
	optKeepBot       = "keep_bot"
	optHandoffTicket = "handoff_ticket"
)

var (
	keepBotOption       = intake.Option{ID: optKeepBot, Label: "继续问机器人"}
	handoffTicketOption = intake.Option{ID: optHandoffTicket, Label: "登记成工单"}
)

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
	Kind         string `json:"kind"` // handoff, urgent
	Conversation string `json:"conversation,omitempty"`
	Ticket       string `json:"ticket,omitempty"`
	Text         string `json:"text"`
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

// deskState is the snapshot every console shows: each chat with a person involved.
func (s *Server) deskState(ctx context.Context) (stateFrame, error) {
	convs, err := s.convs.Handoffs(ctx)
	if err != nil {
		return stateFrame{}, err
	}
	out := stateFrame{Type: "state", Chats: make([]deskChat, 0, len(convs)), Online: s.desk.online()}
	for _, c := range convs {
		turns, err := s.convs.Turns(ctx, c.ID, deskTurns)
		if err != nil {
			return stateFrame{}, err
		}
		dc := deskChat{ID: c.ID, State: c.Handoff, Operator: c.Operator, Agent: s.agentOf(ctx, c.Operator),
			Community: c.Community, Since: c.HandoffAt, Turns: turns}
		if cm, ok := s.guide.Community(c.Community); ok && c.Community != "" {
			dc.CommunityName = cm.TownName + " " + cm.Name
		}
		if e, ok := s.guide.Entry(c.Guess); ok && c.Guess != "" {
			dc.Guess = &entryRef{ID: e.ID, Title: e.Title}
		}
		out.Chats = append(out.Chats, dc)
	}
	return out, nil
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
}

// addTurn stores one turn that is not the dialogue's (a system line, an operator's message, a
// resident's message while a person is involved) and shows it to the consoles.
func (s *Server) addTurn(ctx context.Context, convID string, t intake.Turn) (intake.Turn, error) {
	if t.At.IsZero() {
		t.At = s.now()
	}
	turns := []intake.Turn{t}
	if err := s.convs.AddTurns(ctx, convID, turns); err != nil {
		return intake.Turn{}, err
	}
	s.toOperators(turnFrame{Type: "turn", Conversation: convID, Turn: turns[0]})
	return turns[0], nil
}

// startHandoff turns the bot's handoff reply into a place in the operators' queue (or, out of
// desk hours, an offer of a ticket): it changes r and reports the new handoff state.
func (s *Server) startHandoff(ctx context.Context, conv *intake.Conversation, r *intake.Reply) (string, error) {
	now := s.now()
	guess := ""
	if turns, err := s.convs.Turns(ctx, conv.ID, 10); err == nil {
		for i := len(turns) - 1; i >= 0 && guess == ""; i-- {
			if turns[i].Reply != nil && turns[i].Reply.Topic != "" {
				guess = turns[i].Reply.Topic
			}
		}
	}
	state := intake.HandoffWaiting
	if !s.deskOpen(now) {
		state = intake.HandoffOffered
	}
	moved, err := s.convs.SetHandoff(ctx, conv.ID, []string{intake.HandoffNone, intake.HandoffOffered}, "",
		intake.HandoffChange{State: state, Guess: guess, At: now})
	if err != nil {
		return "", err
	}
	if !moved {
		// Already waiting or live: the resident is in the queue or talking to someone.
		r.Text = "已经在为您转接人工客服，请稍候。"
		r.Options = []intake.Option{keepBotOption}
		return intake.HandoffWaiting, nil
	}
	s.metrics.handoff()
	if state == intake.HandoffOffered {
		r.Text = fmt.Sprintf("现在是非工作时间（人工客服%s在线），暂时没有工作人员。可以把您的问题登记成工单，聊天记录会一并转给工作人员，上班后尽快联系您；也可以继续问我。", s.deskHours)
		r.Options = []intake.Option{handoffTicketOption, keepBotOption}
	} else {
		r.Text = "正在为您转接人工客服，请稍候，工作人员接入后会在这里回复您。您可以先把问题写下来。"
		if s.desk.online() == 0 {
			r.Text += "\n（目前工作人员都在忙，如果等待太久，可以改为登记工单。）"
		}
		r.Options = []intake.Option{keepBotOption}
		s.toOperators(alertFrame{Type: "alert", Kind: "handoff", Conversation: conv.ID, Text: "有居民等待人工服务"})
	}
	return state, nil
}

// endHandoff moves a conversation from one of from back to the bot.
func (s *Server) endHandoff(ctx context.Context, convID string, from []string, holder string) (bool, error) {
	return s.convs.SetHandoff(ctx, convID, from, holder, intake.HandoffChange{State: intake.HandoffNone, At: s.now()})
}

// SweepHandoffs offers a ticket to every resident who has waited for a person longer than the
// handoff wait, or whose wait ran into the end of desk hours. Several nodes may sweep: the move
// from waiting is atomic. It returns how many it offered.
func (s *Server) SweepHandoffs(ctx context.Context) (int, error) {
	now := s.now()
	convs, err := s.convs.Handoffs(ctx)
	if err != nil {
		return 0, err
	}
	open := s.deskOpen(now)
	offered := 0
	for _, c := range convs {
		if c.Handoff != intake.HandoffWaiting || open && now.Sub(c.HandoffAt) < s.handoffWait {
			continue
		}
		moved, err := s.convs.SetHandoff(ctx, c.ID, []string{intake.HandoffWaiting}, "", intake.HandoffChange{State: intake.HandoffOffered, At: now})
		if err != nil {
			return offered, err
		}
		if !moved {
			continue // taken meanwhile
		}
		offered++
		text := "抱歉，现在没有工作人员能接入。可以把您的问题登记成工单，聊天记录会一并转给工作人员，尽快联系您；也可以继续问我。"
		if !open {
			text = fmt.Sprintf("人工客服已下班（%s）。可以把您的问题登记成工单，聊天记录会一并转给工作人员，上班后尽快联系您；也可以继续问我。", s.deskHours)
		}
		if _, err := s.addTurn(ctx, c.ID, intake.Turn{At: now, From: "system", Text: text}); err != nil {
			return offered, err
		}
		s.toResident(c.ID, handoffFrame{Type: "handoff", State: intake.HandoffOffered, Text: text,
			Options: []intake.Option{handoffTicketOption, keepBotOption}})
	}
	if offered > 0 {
		s.broadcastState()
	}
	return offered, nil
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
				Text: fmt.Sprintf("紧急工单 %s（%s）", t.Number, t.Category)})
		}
	}
	if ev.Action != intake.ActResolve || t.ConversationID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), chatMessageTime)
	defer cancel()
	text := fmt.Sprintf("您的工单 %s 已办结。办理结果：%s\n可以随时用工单号和手机号后四位查询。", t.Number, t.Reply)
	if _, err := s.addTurn(ctx, t.ConversationID, intake.Turn{From: "system", Text: text}); err != nil {
		s.log.Error("desk: telling the resident of a resolution", "ticket", t.Number, "err", err)
		return
	}
	ti := intake.Info(t, nil)
	s.toResident(t.ConversationID, noticeFrame{Type: "notice", Text: text, Ticket: &ti})
	s.surveyAfterResolve(t)
}
