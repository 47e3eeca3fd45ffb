// Package chat is a resident's conversation as a service, beneath the web transport: one message
// goes through the bot's dialogue, what the dialogue asks for is carried out (a ticket opened or
// looked up through the intake service, the resident put in the operators' queue), and the turns
// are stored; the caller gets back what to send and whom to tell. It also keeps the desk: its
// hours, the queue of residents waiting for a person and its sweep, and the turns operators and
// the system add.
//
// It holds no connection: web sends what it returns. Several nodes may serve one database; who
// holds a chat is settled there (intake.Conversations.SetHandoff), never here.
package chat

import (
	"cmp"
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/internal/i18n"
)

// Service answers residents' messages and keeps the desk's queue.
type Service struct {
	Store   intake.Conversations
	Tickets *intake.Service
	// Hours are when operators answer chats (zero: DefaultDeskHours); Wait is how long a
	// resident waits for one before a ticket is offered instead (0: 3 minutes).
	Hours DeskHours
	Wait  time.Duration
	Now   func() time.Time
	// Emergency reports whether a guide topic is an emergency's (nil: none is): an emergency's
	// wait for a person is never swept into an offer of a ticket.
	Emergency func(topic string) bool
}

// Options the service adds to the bot's: while waiting for a person, back to the bot; when
// nobody came, a ticket made of the chat.
const (
	OptKeepBot       = "keep_bot"
	OptHandoffTicket = "handoff_ticket"
)

var (
	KeepBotOption       = intake.Option{ID: OptKeepBot, Label: i18n.T(i18n.Zh, "bot.option.keep_bot")} // the bot's own option of that id
	HandoffTicketOption = intake.Option{ID: OptHandoffTicket, Label: i18n.T(i18n.Zh, "chat.option.handoff_ticket")}
)

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) hours() DeskHours {
	if s.Hours == (DeskHours{}) {
		return DefaultDeskHours
	}
	return s.Hours
}

func (s *Service) wait() time.Duration { return cmp.Or(s.Wait, 3*time.Minute) }

// Message is one thing a resident did, as the transport received it.
type Message struct {
	Input bot.Input
	// Label is how it shows in the history: the text typed, or the label of the option tapped.
	Label string
	// Online is how many operators' consoles are open (this node's count), for what a resident
	// joining the queue is told.
	Online int
	// Lat, Lng: where the resident said they are (the widget's 使用我的位置), for the ticket the
	// message may open; nil when not given.
	Lat, Lng *float64
}

// Result is what came of a message.
type Result struct {
	// Conv is the conversation after the message, as stored.
	Conv *intake.Conversation
	// Reply is the bot's (or the desk's) reply; nil when the message went to a person, unless it
	// told of danger (toPersonWatched: the numbers, with ToPerson set too).
	Reply *intake.Reply
	// ToPerson is the resident's turn, stored, when a person is involved: the bot stays silent
	// and the consoles are shown it.
	ToPerson *intake.Turn
	// Waiting: the resident has just joined the operators' queue (consoles are alerted).
	Waiting bool
	// Handoff: a handoff was asked for (the metric counts it).
	Handoff bool
	// DeskChanged: the set of chats involving a person changed (consoles need a fresh state).
	DeskChanged bool
	// Ticket is the ticket the message made, if it made one.
	Ticket *intake.Ticket
	// Emergency is set when the bot has just decided an emergency: the conversation joined the
	// operators' queue at once, before any ticket, and every console is to be alerted.
	Emergency *Emergency
}

// Emergency is what the consoles are told of a resident's emergency the moment the bot decides
// it: the resident's own words and what is known of the place.
type Emergency struct {
	Conversation string
	Text         string // what the resident said
	Topic        string // the guide's emergency entry
	Community    string // "" when not known yet
	Address      string
}

// ErrStarting is returned while the bot is not ready.
var ErrStarting = errors.New("the bot is starting")

// Handle answers one message of conv with b, stores its turns and returns what came of it. conv is
// this connection's copy; who holds the chat is read from the store first, since an operator on
// any node may have taken it since the last message (its handoff state alone while the bot
// answers, the whole conversation when a person is involved). On an error nothing is stored and
// conv is unchanged.
func (s *Service) Handle(ctx context.Context, b *bot.Bot, conv *intake.Conversation, m Message) (Result, error) {
	if b == nil {
		return Result{}, ErrStarting
	}
	fresh, err := s.involved(ctx, conv)
	if err != nil {
		return Result{}, err
	}
	res := Result{Conv: conv}
	st := bot.State{Dialog: conv.State, Community: conv.Community}
	in := m.Input
	var out bot.Output
	handled := false
	aside := false // the bot speaks while a person is involved
	switch fresh.Handoff {
	case intake.HandoffWaiting, intake.HandoffLive:
		if fresh.Handoff == intake.HandoffWaiting && in.Option != OptKeepBot && emergencyReport(fresh.State) {
			// An emergency put the resident in the queue while the bot asks for the place and
			// a phone: the bot goes on until an operator takes the chat, and the consoles see
			// every answer.
			res.DeskChanged, aside = true, true
			break
		}
		// While waiting, the resident may go back to the bot, or (nobody on duty, see the
		// queue frame) have the conversation registered as a ticket instead.
		if fresh.Handoff == intake.HandoffLive || in.Option != OptKeepBot && in.Option != OptHandoffTicket {
			return s.toPersonWatched(ctx, b, conv, fresh, m)
		}
		moved, err := s.endHandoff(ctx, conv.ID, intake.HandoffWaiting)
		if err != nil {
			return Result{}, err
		}
		if !moved { // taken meanwhile: the person gets it
			return s.toPerson(ctx, conv, m.Label)
		}
		res.DeskChanged = true
		if in.Option == OptHandoffTicket {
			desc, err := s.Transcript(ctx, conv.ID)
			if err != nil {
				return Result{}, err
			}
			out, handled = b.StartReport(st, in.ID, fresh.Guess, desc), true
			break
		}
		st.Dialog = intake.DialogState{}
		out, handled = bot.Output{Reply: say(in.ID, i18n.T(i18n.Zh, "chat.handoff.cancelled")), Next: st}, true
	case intake.HandoffOffered:
		moved, err := s.endHandoff(ctx, conv.ID, intake.HandoffOffered)
		if err != nil {
			return Result{}, err
		}
		if !moved { // an operator took it meanwhile
			return s.toPerson(ctx, conv, m.Label)
		}
		res.DeskChanged = true
		switch in.Option {
		case OptHandoffTicket:
			desc, err := s.Transcript(ctx, conv.ID)
			if err != nil {
				return Result{}, err
			}
			out, handled = b.StartReport(st, in.ID, fresh.Guess, desc), true
		case OptKeepBot:
			st.Dialog = intake.DialogState{}
			out, handled = bot.Output{Reply: say(in.ID, i18n.T(i18n.Zh, "bot.keep_bot")), Next: st}, true
		}
	}
	if !handled {
		if out, err = b.Handle(ctx, st, in); err != nil {
			return Result{}, err
		}
	}

	// What the dialogue asked for.
	switch do := out.Do.(type) {
	case bot.OpenTicket:
		n := do.Ticket
		n.ConversationID = conv.ID
		if n.Lat == nil && m.Lat != nil && m.Lng != nil {
			n.Lat, n.Lng = m.Lat, m.Lng
		}
		t, _, err := s.Tickets.Create(ctx, n, "")
		if err != nil {
			return Result{}, err
		}
		res.Ticket = t
		info := intake.Info(t, nil)
		info.AccessCode = t.AccessCode // told once, to the resident who opened it
		before := out.Reply.Text       // what the reply says before the ticket (the numbers)
		out = b.Opened(out, info)
		if t.Urgency == intake.Emergency {
			// Not a 办结 date: who acts, and by when they call and are there.
			out.Reply.Text = before + s.EmergencyOpenedText(t)
		}
	case bot.LookupTicket:
		info, err := s.lookup(ctx, do.Number, intake.Proof{Code: do.Code, Conversation: conv.ID, Tail: do.PhoneTail})
		if err != nil {
			return Result{}, err
		}
		out = b.Looked(out, info)
	case bot.CallPerson:
		// The dialogue's own handoff (leave a message) is for a bot with no desk: here the
		// resident joins the operators' queue, or is offered a ticket out of hours. What a report
		// had collected stays with the conversation, out of any flow, for the operator's ticket
		// form (the place, the phone, the topic).
		out.Next.Dialog = collected(st.Dialog)
		state, err := s.startHandoff(ctx, conv.ID, &out.Reply, m.Online)
		if err != nil {
			return Result{}, err
		}
		res.Handoff = state != ""
		res.Waiting = state == intake.HandoffWaiting
		res.DeskChanged = res.DeskChanged || res.Waiting
	}

	if out.Reply.Decision == bot.Emergency && out.Next.Dialog.Emergency && out.Do == nil {
		e, err := s.raiseEmergency(ctx, conv.ID, m.Label, out.Next)
		if err != nil {
			return Result{}, err
		}
		if e != nil {
			res.Emergency, res.DeskChanged = e, true
			out.Reply.Text += "\n" + i18n.T(i18n.Zh, "chat.emergency.alerted")
		}
	}

	now := s.now()
	next := *conv
	next.State, next.Community, next.Updated = out.Next.Dialog, out.Next.Community, now
	r := out.Reply
	r.Aside = aside
	turns := []intake.Turn{
		{At: now, From: "resident", Text: m.Label},
		{At: now, From: "bot", Text: r.Text, Reply: &r},
	}
	if err := s.Store.AppendTurns(ctx, &next, turns); err != nil {
		return Result{}, err
	}
	res.Conv, res.Reply = &next, &r
	return res, nil
}

// collected is what a report had gathered, kept with no flow pending: the bot reads nothing
// of it, the desk shows it to the operator.
func collected(d intake.DialogState) intake.DialogState {
	if d.Flow != intake.FlowReport {
		return intake.DialogState{}
	}
	return intake.DialogState{Topic: d.Topic, Category: d.Category, Description: d.Description, Address: d.Address,
		Phone: d.Phone, Community: d.Community, Lat: d.Lat, Lng: d.Lng}
}

// emergencyReport reports whether a dialogue is collecting an emergency's place and phone.
func emergencyReport(d intake.DialogState) bool {
	return d.Flow == intake.FlowReport && d.Emergency
}

// raiseEmergency puts a conversation whose resident has just told of an emergency in the
// operators' queue, whatever the desk hours, with the emergency as its guess: nil when a person
// is already involved (waiting or live).
func (s *Service) raiseEmergency(ctx context.Context, convID, text string, st bot.State) (*Emergency, error) {
	d := st.Dialog
	moved, err := s.Store.SetHandoff(ctx, convID, []string{intake.HandoffNone, intake.HandoffOffered}, "",
		intake.HandoffChange{State: intake.HandoffWaiting, Guess: d.Topic, At: s.now()})
	if err != nil || !moved {
		return nil, err
	}
	return &Emergency{Conversation: convID, Text: text, Topic: d.Topic, Community: cmp.Or(d.Community, st.Community), Address: d.Address}, nil
}

// EmergencyOpenedText is what a resident is told of the emergency ticket just opened for them:
// who acts, and by when they call back and are done — minutes, not working days.
func (s *Service) EmergencyOpenedText(t *intake.Ticket) string {
	who := t.Assignee
	if who == "" {
		who = i18n.T(i18n.Zh, "chat.emergency.who_default")
	}
	hm := func(at time.Time) string { return at.In(intake.Beijing).Format("15:04") }
	sign := t.SignBy
	if sign.IsZero() && s.Tickets != nil && s.Tickets.SLA != nil { // not dispatched yet: the clock it will get
		sign = s.Tickets.SLA.SignBy(t.Urgency, t.Category, t.Created)
	}
	return i18n.T(i18n.Zh, "chat.emergency.opened", "number", t.Number, "code", t.AccessCode, "who", who,
		"sign", hm(sign), "sign_min", int(sign.Sub(t.Created).Round(time.Minute).Minutes()), "due", hm(t.DueBy))
}

func say(id, text string) intake.Reply {
	return intake.Reply{Type: "reply", ReplyTo: id, Decision: bot.Smalltalk, Text: text, Options: []intake.Option{}}
}

// toPerson stores what a resident says while a person is involved.
func (s *Service) toPerson(ctx context.Context, conv *intake.Conversation, text string) (Result, error) {
	t, err := s.AddTurn(ctx, conv.ID, intake.Turn{From: "resident", Text: text})
	if err != nil {
		return Result{}, err
	}
	return Result{Conv: conv, ToPerson: &t}, nil
}

// involved returns the stored conversation when a person is involved in it (the connection's copy
// says so, or the store does), else conv: while the bot answers, the handoff state alone is read.
func (s *Service) involved(ctx context.Context, conv *intake.Conversation) (*intake.Conversation, error) {
	if conv.Handoff == intake.HandoffNone {
		h, err := s.Store.HandoffOf(ctx, conv.ID)
		if err != nil || h == intake.HandoffNone {
			return conv, err
		}
	}
	return s.Store.Conversation(ctx, conv.ID)
}

// toPersonWatched stores what a resident says while a person is involved, as toPerson, and
// watches it for danger: nobody may have read it yet (the queue) or the operator may be slow to
// (a live chat), so when it may tell of danger (bot.Danger) the resident gets the numbers at once
// from the bot (an aside, stored as the bot's turn after the resident's) and, when the model
// decides an emergency, the consoles the emergency alert (red, with a sound, above the queue). The
// message still goes to the person.
func (s *Service) toPersonWatched(ctx context.Context, b *bot.Bot, conv, fresh *intake.Conversation, m Message) (Result, error) {
	var r intake.Reply
	var topic string
	alarm, ok := false, false
	if m.Input.Text != "" {
		r, topic, alarm, ok = b.Danger(ctx, m.Input.ID, bot.Message{Text: m.Input.Text, Community: conv.Community})
	}
	if !ok {
		return s.toPerson(ctx, conv, m.Label)
	}
	r.Aside = true
	r.Text += "\n" + i18n.T(i18n.Zh, "chat.emergency.to_person")
	// The resident's words and the numbers in one write (with the emergency's webhook event).
	now := s.now()
	turns := []intake.Turn{{At: now, From: "resident", Text: m.Label}, {At: now, From: "bot", Text: r.Text, Reply: &r}}
	if err := s.Store.AddTurns(ctx, conv.ID, turns); err != nil {
		return Result{}, err
	}
	res := Result{Conv: conv, ToPerson: &turns[0], Reply: &r, DeskChanged: true}
	if alarm {
		res.Emergency = &Emergency{Conversation: conv.ID, Text: m.Label, Topic: topic,
			Community: cmp.Or(fresh.State.Community, fresh.Community), Address: fresh.State.Address}
	}
	return res, nil
}

// lookup finds a ticket by its number and its access code, or, from the conversation that opened
// it, its phone's last four digits (intake.Service.Follow): nil when there is none. A wrong proof
// is no different from a wrong number, and neither is a ticket locked after too many failed
// proofs from anywhere (the conversation that opened it is never locked out).
func (s *Service) lookup(ctx context.Context, number string, p intake.Proof) (*intake.TicketInfo, error) {
	t, err := s.Tickets.Follow(ctx, number, p)
	if errors.Is(err, intake.ErrNotFound) || intake.IsLocked(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	events, err := s.Tickets.Store.Events(ctx, number)
	if err != nil {
		return nil, err
	}
	info := intake.Info(t, events)
	return &info, nil
}

// AddTurn stores one turn that is not the dialogue's (a system line, an operator's message, a
// resident's message while a person is involved) and returns it numbered.
func (s *Service) AddTurn(ctx context.Context, convID string, t intake.Turn) (intake.Turn, error) {
	if t.At.IsZero() {
		t.At = s.now()
	}
	turns := []intake.Turn{t}
	if err := s.Store.AddTurns(ctx, convID, turns); err != nil {
		return intake.Turn{}, err
	}
	return turns[0], nil
}

// Transcript is a conversation as a ticket's description: who said what, the latest last, within
// the description limit.
func (s *Service) Transcript(ctx context.Context, convID string) (string, error) {
	turns, err := s.Store.Turns(ctx, convID, 60)
	if err != nil {
		return "", err
	}
	var lines []string
	for _, t := range turns {
		if t.From == "system" {
			continue
		}
		who := t.From
		if i18n.Has(i18n.Zh, "chat.speaker."+t.From) {
			who = i18n.T(i18n.Zh, "chat.speaker."+t.From)
		}
		lines = append(lines, i18n.T(i18n.Zh, "chat.transcript.line", "who", who, "text", strings.TrimSpace(t.Text)))
	}
	out := strings.Join(lines, "\n")
	for utf8.RuneCountInString(out) > intake.MaxDescription && len(lines) > 1 {
		lines = lines[1:] // the oldest go first
		out = "…\n" + strings.Join(lines, "\n")
	}
	if utf8.RuneCountInString(out) > intake.MaxDescription {
		out = string([]rune(out)[:intake.MaxDescription])
	}
	return out, nil
}
