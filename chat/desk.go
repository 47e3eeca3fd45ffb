package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/internal/i18n"
)

// The desk: operators answer chats in desk hours; a resident who asks for a person waits in a
// queue, stored with the conversation so that every node and console agrees, and is offered a
// ticket instead when nobody comes within the wait or the hours end (docs/operator.md).

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
		return i18n.T(i18n.Zh, "chat.hours.always")
	}
	hm := func(d time.Duration) string { return fmt.Sprintf("%d:%02d", int(d.Hours()), int(d.Minutes())%60) }
	return i18n.T(i18n.Zh, "chat.hours.working_days", "from", hm(h.From), "to", hm(h.To))
}

// Open reports whether operators answer chats at t.
func (s *Service) Open(t time.Time) bool {
	h := s.hours()
	if h.Always {
		return true
	}
	if s.Tickets != nil && s.Tickets.SLA != nil && s.Tickets.SLA.Calendar != nil && !s.Tickets.SLA.Calendar.Working(t) {
		return false
	}
	local := t.In(intake.Beijing)
	since := local.Sub(time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, intake.Beijing))
	return since >= h.From && since < h.To
}

// startHandoff turns the bot's handoff reply into a place in the operators' queue (or, out of
// desk hours, an offer of a ticket): it rewrites r and returns the new handoff state, "" when the
// resident was already waiting or talking to someone.
func (s *Service) startHandoff(ctx context.Context, convID string, r *intake.Reply, online int) (string, error) {
	now := s.now()
	guess := ""
	if turns, err := s.Store.Turns(ctx, convID, 10); err == nil {
		for i := len(turns) - 1; i >= 0 && guess == ""; i-- {
			if turns[i].Reply != nil && turns[i].Reply.Topic != "" {
				guess = turns[i].Reply.Topic
			}
		}
	}
	state := intake.HandoffWaiting
	if !s.Open(now) {
		state = intake.HandoffOffered
	}
	moved, err := s.Store.SetHandoff(ctx, convID, []string{intake.HandoffNone, intake.HandoffOffered}, "",
		intake.HandoffChange{State: state, Guess: guess, At: now})
	if err != nil {
		return "", err
	}
	if !moved {
		// Already waiting or live: the resident is in the queue or talking to someone.
		r.Text = i18n.T(i18n.Zh, "chat.handoff.already")
		r.Options = []intake.Option{KeepBotOption}
		return "", nil
	}
	if state == intake.HandoffOffered {
		r.Text = i18n.T(i18n.Zh, "chat.handoff.closed", "hours", s.hours())
		r.Options = []intake.Option{HandoffTicketOption, KeepBotOption}
	} else {
		r.Text = i18n.T(i18n.Zh, "chat.handoff.waiting")
		if online == 0 {
			r.Text += "\n" + i18n.T(i18n.Zh, "chat.handoff.busy")
		}
		r.Options = []intake.Option{KeepBotOption}
	}
	return state, nil
}

// endHandoff moves a conversation from state from back to the bot.
func (s *Service) endHandoff(ctx context.Context, convID, from string) (bool, error) {
	return s.Store.SetHandoff(ctx, convID, []string{from}, "", intake.HandoffChange{State: intake.HandoffNone, At: s.now()})
}

// Offer is a resident the sweep offered a ticket to, with the system turn that says so.
type Offer struct {
	Conversation string
	Turn         intake.Turn
}

// Sweep offers a ticket to every resident who has waited for a person longer than the wait, or
// whose wait ran into the end of desk hours. Several nodes may sweep: the move from waiting is
// atomic, so each resident is offered once.
func (s *Service) Sweep(ctx context.Context) ([]Offer, error) {
	now := s.now()
	convs, err := s.Store.Handoffs(ctx)
	if err != nil {
		return nil, err
	}
	open := s.Open(now)
	var offers []Offer
	for _, c := range convs {
		if c.Handoff != intake.HandoffWaiting || open && now.Sub(c.HandoffAt) < s.wait() {
			continue
		}
		if emergencyReport(c.State) || s.Emergency != nil && c.Guess != "" && s.Emergency(c.Guess) {
			continue // an emergency waits for a person, in red at the top of every queue, until one takes it
		}
		moved, err := s.Store.SetHandoff(ctx, c.ID, []string{intake.HandoffWaiting}, "", intake.HandoffChange{State: intake.HandoffOffered, At: now})
		if err != nil {
			return offers, err
		}
		if !moved {
			continue // taken meanwhile
		}
		text := i18n.T(i18n.Zh, "chat.sweep.nobody")
		if !open {
			text = i18n.T(i18n.Zh, "chat.sweep.closed", "hours", s.hours())
		}
		t, err := s.AddTurn(ctx, c.ID, intake.Turn{At: now, From: "system", Text: text})
		if err != nil {
			return offers, err
		}
		offers = append(offers, Offer{Conversation: c.ID, Turn: t})
	}
	return offers, nil
}

// Errors of taking and holding a chat.
var (
	ErrTaken   = errors.New("another operator took the chat first")
	ErrNotHeld = errors.New("the operator does not hold the chat")
)

// Take gives a chat whose resident waits for a person (or was offered a ticket) to operator,
// shown to the resident as agent (a staff number, never a name). It stores the system turn that
// says so and returns it with how long the resident waited. ErrTaken when someone else moved the
// chat first; intake.ErrNoConversation for an unknown chat.
func (s *Service) Take(ctx context.Context, convID, operator, agent string) (intake.Turn, time.Duration, error) {
	before, err := s.Store.Conversation(ctx, convID)
	if err != nil {
		return intake.Turn{}, 0, err
	}
	now := s.now()
	moved, err := s.Store.SetHandoff(ctx, convID, []string{intake.HandoffWaiting, intake.HandoffOffered}, "",
		intake.HandoffChange{State: intake.HandoffLive, Operator: operator, At: now})
	if err != nil {
		return intake.Turn{}, 0, err
	}
	if !moved {
		return intake.Turn{}, 0, ErrTaken
	}
	// The system turn carries the agent: it marks when a person took the chat (the dashboard's
	// handoff waits read it, intake.ChatFigures).
	t, err := s.AddTurn(ctx, convID, intake.Turn{From: "system", Agent: agent, Text: i18n.T(i18n.Zh, "chat.taken", "agent", agent)})
	return t, now.Sub(before.HandoffAt), err
}

// Held returns the conversation if operator holds it live: ErrNotHeld if not,
// intake.ErrNoConversation for an unknown chat.
func (s *Service) Held(ctx context.Context, convID, operator string) (*intake.Conversation, error) {
	conv, err := s.Store.Conversation(ctx, convID)
	if err != nil {
		return nil, err
	}
	if conv.Handoff != intake.HandoffLive || conv.Operator != operator {
		return nil, ErrNotHeld
	}
	return conv, nil
}

// Release hands a live chat held by operator back to the bot and stores the system turn that
// tells the resident; ErrNotHeld when operator does not hold it.
func (s *Service) Release(ctx context.Context, convID, operator string) (intake.Turn, error) {
	moved, err := s.Store.SetHandoff(ctx, convID, []string{intake.HandoffLive}, operator, intake.HandoffChange{State: intake.HandoffNone, At: s.now()})
	if err != nil {
		return intake.Turn{}, err
	}
	if !moved {
		return intake.Turn{}, ErrNotHeld
	}
	return s.AddTurn(ctx, convID, intake.Turn{From: "system", Text: i18n.T(i18n.Zh, "chat.released")})
}
