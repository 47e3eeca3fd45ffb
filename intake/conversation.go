package intake

import (
	"context"
	"errors"
	"time"

	"github.com/bayannur/hotline/search"
)

// Intake is the front door: a resident's chat comes in here before any ticket does. A
// Conversation, its turns and the handoff to a person are domain data like tickets, so that the
// stores depend on this package alone and the bot, which reads and writes them, sits above it.

// Conversation is one resident's chat, kept across reconnects (the widget keeps its token) and
// server restarts (it is stored).
type Conversation struct {
	ID        string      `json:"id"`
	TokenHash string      `json:"-"` // SHA-256 of the resident's session token
	Community string      `json:"community,omitempty"`
	State     DialogState `json:"state"`
	Created   time.Time   `json:"created_at"`
	Updated   time.Time   `json:"updated_at"`

	// The handoff to a person (docs/operator.md), changed only through SetHandoff.
	Handoff   string    `json:"handoff,omitempty"`    // HandoffNone, HandoffWaiting, HandoffLive, HandoffOffered
	Operator  string    `json:"operator,omitempty"`   // the staff member holding a live chat
	HandoffAt time.Time `json:"handoff_at,omitempty"` // when Handoff last changed
	Guess     string    `json:"guess,omitempty"`      // the bot's guess at the topic when the resident asked
}

// Handoff states.
const (
	HandoffNone    = ""        // the bot answers
	HandoffWaiting = "waiting" // the resident asked for a person; nobody has taken the chat yet
	HandoffLive    = "live"    // an operator holds the chat; the bot is silent
	HandoffOffered = "offered" // nobody came in time (or out of hours): a ticket is offered instead
)

// HandoffChange is a new handoff state.
type HandoffChange struct {
	State    string
	Operator string    // for HandoffLive
	Guess    string    // kept when empty
	At       time.Time // when
}

// Turn is one message of a conversation, as shown in its history.
type Turn struct {
	Seq   int       `json:"seq"`
	At    time.Time `json:"at"`
	From  string    `json:"from"` // resident, bot, operator, system
	Text  string    `json:"text"`
	Agent string    `json:"agent,omitempty"` // the operator's number, for operator turns
	Reply *Reply    `json:"reply,omitempty"` // the whole reply, for bot turns
	// Attachment is the photo a resident's turn sent (Attachment.ID); its Text says 照片.
	Attachment string `json:"attachment,omitempty"`
}

// ErrNoConversation is returned for an unknown or expired session token.
var ErrNoConversation = errors.New("no such conversation")

// Conversations stores conversations and their turns (intake/sqlite and intake/postgres
// implement it).
type Conversations interface {
	// CreateConversation stores a new conversation.
	CreateConversation(ctx context.Context, c *Conversation) error
	// ConversationByToken finds a conversation by its token hash, if it was updated after since;
	// else ErrNoConversation.
	ConversationByToken(ctx context.Context, tokenHash string, since time.Time) (*Conversation, error)
	// AppendTurns stores c's state, community and Updated and appends turns (numbering them) in
	// one transaction.
	AppendTurns(ctx context.Context, c *Conversation, turns []Turn) error
	// AddTurns appends turns (numbering them) without touching the dialogue's state: what
	// operators and the system say.
	AddTurns(ctx context.Context, conversationID string, turns []Turn) error
	// Turns returns the last limit turns of a conversation, oldest first.
	Turns(ctx context.Context, conversationID string, limit int) ([]Turn, error)

	// Conversation returns a conversation by id (ErrNoConversation).
	Conversation(ctx context.Context, id string) (*Conversation, error)
	// HandoffOf returns a conversation's handoff state alone (ErrNoConversation): what each
	// message asks first, cheaper than the whole conversation.
	HandoffOf(ctx context.Context, id string) (string, error)
	// SetHandoff moves a conversation's handoff to ch, atomically, provided it is now in one of
	// from and, when holder is not empty, held by holder. It reports whether it moved: false
	// means someone else changed it first.
	SetHandoff(ctx context.Context, id string, from []string, holder string, ch HandoffChange) (bool, error)
	// Handoffs returns every conversation whose handoff is not HandoffNone, longest waiting first.
	Handoffs(ctx context.Context) ([]*Conversation, error)
}

// Reply is what the resident is sent for one message or choice (docs/protocol.md), and what is
// kept of a bot's turn.
type Reply struct {
	Type     string       `json:"type"` // always "reply"
	ReplyTo  string       `json:"reply_to"`
	Decision string       `json:"decision"`
	Topic    string       `json:"topic,omitempty"`
	Text     string       `json:"text"`
	More     []Section    `json:"more,omitempty"`
	Options  []Option     `json:"options"`
	Contact  *ContactCard `json:"contact,omitempty"`
	Ticket   *TicketInfo  `json:"ticket,omitempty"`
	// Aside: said by the bot while a person is involved (the numbers to a resident in danger, an
	// emergency's report going on in the queue): the wait for the person, or the live chat, goes
	// on.
	Aside bool `json:"aside,omitempty"`
}

// Option is a choice offered to the resident.
type Option struct {
	ID    string `json:"id"`
	Label string `json:"label"`
	// Group heads the options that share it, in the order they come (the town of a community
	// picker's communities); none for a plain row of choices.
	Group string `json:"group,omitempty"`
}

// Section is one part of an entry's answer that a resident unfolds under the short text (更多):
// 条件, 材料, 地点, 时间, 电话, 步骤, 时限, and 说明 (the summary).
type Section struct {
	Title string `json:"title"`
	Text  string `json:"text"`
}

// ContactCard is the community and grid a resident can turn to.
type ContactCard struct {
	Community   string          `json:"community"`
	CommunityID string          `json:"community_id"`
	Town        string          `json:"town"`
	Address     string          `json:"address,omitempty"`
	Phone       string          `json:"phone,omitempty"`
	Hours       string          `json:"hours,omitempty"`
	Compound    string          `json:"compound,omitempty"`
	Grid        string          `json:"grid,omitempty"`
	GridID      string          `json:"grid_id,omitempty"`
	Tier        string          `json:"tier,omitempty"`
	People      []search.Person `json:"people,omitempty"`
}

// TicketInfo is what a resident is shown of a ticket.
type TicketInfo struct {
	Number      string       `json:"number"`
	Status      string       `json:"status"`
	StatusLabel string       `json:"status_label"`
	DueBy       time.Time    `json:"due_by"`
	Steps       []TicketStep `json:"steps,omitempty"`
	Reply       string       `json:"reply,omitempty"`
	// AccessCode is set only when the ticket has just been opened, for the resident who opened it.
	AccessCode string `json:"access_code,omitempty"`
}

// TicketStep is one step of a ticket.
type TicketStep struct {
	Status string    `json:"status"`
	Label  string    `json:"label"`
	At     time.Time `json:"at"`
}

// Info is what a resident is shown of t, with its status changes among events.
func Info(t *Ticket, events []Event) TicketInfo {
	out := TicketInfo{Number: t.Number, Status: string(t.Status), StatusLabel: t.Status.Label(), DueBy: t.DueBy, Reply: t.Reply}
	for _, ev := range StatusChanges(events) {
		out.Steps = append(out.Steps, TicketStep{Status: string(ev.To), Label: ev.To.Label(), At: ev.At})
	}
	return out
}

// DialogState is what a conversation is in the middle of: the place and phone a report still
// needs, the ticket number a status lookup waits for. It is plain data, stored with the
// conversation, so that a reconnect or a restart picks the dialogue up where it was; the bot
// moves it from step to step.
type DialogState struct {
	Flow        Flow   `json:"flow,omitempty"`
	Step        Step   `json:"step,omitempty"`
	Topic       string `json:"topic,omitempty"`
	Category    string `json:"category,omitempty"`
	Emergency   bool   `json:"emergency,omitempty"`
	Description string `json:"description,omitempty"`
	Address     string `json:"address,omitempty"`
	Phone       string `json:"phone,omitempty"`
	Community   string `json:"community,omitempty"`
	Retries     int    `json:"retries,omitempty"`
	// Lat and Lng: the phone's location when it answered the question where (Address then says
	// so); the ticket takes them, the bot's or an operator's.
	Lat *float64 `json:"lat,omitempty"`
	Lng *float64 `json:"lng,omitempty"`
}

// Flow is what a dialogue is collecting.
type Flow string

// Flows.
const (
	FlowNone    Flow = ""        // nothing pending
	FlowReport  Flow = "report"  // a report: a description, a place, a phone, a confirmation
	FlowStatus  Flow = "status"  // a status lookup: a ticket number and a phone tail
	FlowHandoff Flow = "handoff" // the resident asked for a person on a bot without a desk
)

// Step is the question a flow waits on.
type Step string

// Steps.
const (
	StepNone     Step = ""
	StepDescribe Step = "describe" // report: what happened
	StepMessage  Step = "message"  // report: a message left for the staff
	StepPlace    Step = "place"    // report: where
	StepPhone    Step = "phone"    // report: a phone to call back
	StepConfirm  Step = "confirm"  // report: all known, waiting for 确认提交
	StepNumber   Step = "number"   // status: the ticket number and phone tail
)
