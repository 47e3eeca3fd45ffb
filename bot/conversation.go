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
}

// Turn is one message of a conversation, as shown in its history.
type Turn struct {
	Seq   int       `json:"seq"`
	At    time.Time `json:"at"`
	From  string    `json:"from"` // resident, bot, operator, system
	Text  string    `json:"text"`
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
	// Turns returns the last limit turns of a conversation, oldest first.
	Turns(ctx context.Context, conversationID string, limit int) ([]Turn, error)
}
