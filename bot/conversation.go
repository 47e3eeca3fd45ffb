package bot

import (
	"context"
	"errors"
	"time"
)

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
}

// ErrNoConversation is returned for an unknown or expired session token.
var ErrNoConversation = errors.New("no such conversation")

// Conversations stores conversations and their turns (intake/sqlite implements it).
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
	// SetHandoff moves a conversation's handoff to ch, atomically, provided it is now in one of
	// from and, when holder is not empty, held by holder. It reports whether it moved: false
	// means someone else changed it first.
	SetHandoff(ctx context.Context, id string, from []string, holder string, ch HandoffChange) (bool, error)
	// Handoffs returns every conversation whose handoff is not HandoffNone, longest waiting first.
	Handoffs(ctx context.Context) ([]*Conversation, error)
}
