package intake

import (
	"context"
	"time"
)

// Store keeps tickets and their audit trails. Implementations: intake/sqlite (one node), and
// later PostgreSQL for several nodes; no ticket state may live only in one node's memory.
type Store interface {
	// Create numbers t (YYYYMMDD-NNNN by t.Created in Beijing time, NNNN from 0001 each day, a
	// digit more past 9999) and stores it with its first events in one transaction. A number is
	// given to one ticket only, across every store on the same data; a store's creations that
	// follow one another get increasing numbers, except that a number whose creation certainly
	// stored nothing may be given to the next one; a store may skip numbers (intake/postgres
	// reserves blocks of them per node, so that nodes do not wait on each other; intake/sqlite
	// skips none). When idemKey is not empty and a ticket was already created with it, nothing is
	// written and that ticket is returned with created false. Once Create returns nil the ticket
	// is durable.
	Create(ctx context.Context, t *Ticket, events []Event, idemKey string) (stored *Ticket, created bool, err error)
	// Get returns a ticket by number (ErrNotFound).
	Get(ctx context.Context, number string) (*Ticket, error)
	// Update stores t and its event in one transaction, provided the stored version is
	// t.Version-1; otherwise it returns ErrConflict and writes nothing.
	Update(ctx context.Context, t *Ticket, ev Event) error
	// List returns tickets matching f: overdue and urgent first, then newest first.
	List(ctx context.Context, f Filter) ([]*Ticket, error)
	// Events returns a ticket's audit trail, oldest first.
	Events(ctx context.Context, number string) ([]Event, error)
	// Late returns open tickets whose sign deadline (while dispatched) or finish deadline (not yet
	// marked overdue) is before now.
	Late(ctx context.Context, now time.Time) ([]*Ticket, error)

	// A ticket's failed proofs (wrong access codes: Service.Follow), kept in the store so that
	// every node sharing it counts the same ones.

	// FollowFailures returns the times of ticket number's failed proofs after since, newest
	// first, at most limit of them.
	FollowFailures(ctx context.Context, number string, since time.Time, limit int) ([]time.Time, error)
	// FollowFailed records a failed proof of ticket number at at, and deletes every ticket's
	// failures from before forget.
	FollowFailed(ctx context.Context, number string, at, forget time.Time) error

	Users
	Close() error
}

// Filter selects tickets. Zero fields match everything.
type Filter struct {
	Status    Status
	Tier      Tier
	Community string
	Category  string
	Grid      string // a grid worker sees only its grid
	// Conversation: the tickets a chat opened.
	Conversation string
	Overdue      *bool
	Text         string // in the number, description or address
	Limit        int    // default 100, at most 1000
	Offset       int
}

// Users keeps staff accounts, their browser sessions and their API tokens. Secrets are stored
// only as hashes: a password hash (argon2id), a session token's and an API token's SHA-256.
type Users interface {
	AddUser(ctx context.Context, u *User) error // ErrConflict when the name is taken
	User(ctx context.Context, name string) (*User, error)
	ListUsers(ctx context.Context) ([]*User, error)
	// SetPassword replaces the password hash and ends the user's sessions.
	SetPassword(ctx context.Context, name, hash string) error
	// RehashPassword replaces the hash old by new, the same password hashed with other
	// parameters, and keeps the sessions: false when the stored hash is no longer old.
	RehashPassword(ctx context.Context, name, old, new string) (bool, error)
	// RevokeAccess ends the user's sessions and deletes their API tokens; it returns how many.
	RevokeAccess(ctx context.Context, name string) (int, error)

	AddSession(ctx context.Context, s Session) error
	Session(ctx context.Context, tokenHash string, now time.Time) (*Session, error) // ErrNotFound when unknown or expired
	DeleteSession(ctx context.Context, tokenHash string) error

	// AddToken stores an API token; a zero Expires never expires.
	AddToken(ctx context.Context, t APIToken) error
	// Token returns the API token of a hash, expired or not: the caller compares Expires.
	Token(ctx context.Context, tokenHash string) (*APIToken, error)
	// Tokens lists a user's API tokens, oldest first (ErrNotFound for an unknown user).
	Tokens(ctx context.Context, name string) ([]APIToken, error)
	// RevokeToken deletes the user's API token of that ID (ErrNotFound when there is none).
	RevokeToken(ctx context.Context, name, id string) error
	// TouchToken records that the token was used at (ErrNotFound when it is not stored).
	TouchToken(ctx context.Context, tokenHash string, at time.Time) error

	// An account name's failed logins in a row, kept in the store so that every node sharing it
	// counts the same failures and holds the same lock. Names need not be accounts: a guessed
	// name is counted and locked like a real one, so that the answers tell nothing.

	// LoginLockedUntil returns when the lock on name's logins ends; zero when none was set.
	LoginLockedUntil(ctx context.Context, name string) (time.Time, error)
	// LoginFailed counts a failed login of name at now and returns the failures in a row; when
	// lock(failures) is above zero, name is locked until now plus that (a later end already set
	// stays). Names whose last failure is more than a day old and that are not locked are
	// forgotten meanwhile.
	LoginFailed(ctx context.Context, name string, now time.Time, lock func(failures int) time.Duration) (int, error)
	// LoginSucceeded forgets name's failures.
	LoginSucceeded(ctx context.Context, name string) error
}

// Role of a staff member.
type Role string

// Roles.
const (
	RoleOperator   Role = "operator"    // hotline operator: works the queue and all tickets
	RoleManager    Role = "manager"     // sees everything, edits canned replies, dashboards
	RoleAdmin      Role = "admin"       // all of the above and accounts
	RoleGridWorker Role = "grid_worker" // sees and works only its grid's tickets
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	return r == RoleOperator || r == RoleManager || r == RoleAdmin || r == RoleGridWorker
}

// User is a staff account.
type User struct {
	Name         string    `json:"name"`
	Number       int       `json:"number"` // staff number (工号), shown to residents instead of the name
	Role         Role      `json:"role"`
	Grid         string    `json:"grid,omitempty"` // grid workers only
	PasswordHash string    `json:"-"`
	Created      time.Time `json:"created_at"`
}

// Session is a logged-in browser.
type Session struct {
	TokenHash string
	User      string
	CSRF      string
	Expires   time.Time
}

// APIToken lets a machine call the staff API as a user until it expires.
type APIToken struct {
	TokenHash string
	ID        string // the first TokenIDLength characters of TokenHash: names the token, reveals nothing
	User      string
	Label     string
	Created   time.Time
	Expires   time.Time // zero: never
	LastUsed  time.Time // zero: not since it was made (or since the version that records it)
}

// TokenIDLength is the length of an API token's ID.
const TokenIDLength = 12

// Expired reports whether t is past its expiry at now.
func (t *APIToken) Expired(now time.Time) bool {
	return !t.Expires.IsZero() && !now.Before(t.Expires)
}

// CannedReply is one of the operators' canned replies (常用语).
type CannedReply struct {
	ID        int64     `json:"id"`
	Title     string    `json:"title"`
	Text      string    `json:"text"`
	Updated   time.Time `json:"updated_at,omitzero"` // zero for the replies that come with the service
	UpdatedBy string    `json:"updated_by"`
}

// CannedReplies stores canned replies; managers edit them.
type CannedReplies interface {
	ListCanned(ctx context.Context) ([]CannedReply, error)
	// AddCanned stores r and sets its ID.
	AddCanned(ctx context.Context, r *CannedReply) error
	// UpdateCanned replaces the reply r.ID (ErrNotFound).
	UpdateCanned(ctx context.Context, r *CannedReply) error
	// DeleteCanned deletes a reply (ErrNotFound).
	DeleteCanned(ctx context.Context, id int64) error
}

// Reports are what the dashboard and the metrics read; Feedback is 这个回答有帮助吗.
type Reports interface {
	// TicketsCreated returns every ticket created in [from, to), oldest first.
	TicketsCreated(ctx context.Context, from, to time.Time) ([]*Ticket, error)
	// OverdueCounts counts the open tickets marked overdue, by category and tier.
	OverdueCounts(ctx context.Context) ([]OverdueCount, error)
	// ChatStats counts the conversations started in [from, to) and those the bot settled alone.
	ChatStats(ctx context.Context, from, to time.Time) (ChatStats, error)
	// AddFeedback records a vote on a bot answer; a second vote on the same answer replaces it.
	AddFeedback(ctx context.Context, f Feedback) error
	// FeedbackByTopic counts the votes given in [from, to) by topic, the least helpful first.
	FeedbackByTopic(ctx context.Context, from, to time.Time) ([]TopicFeedback, error)
	// ConversationRecords returns the conversations started in [from, to) in which the resident
	// said something, oldest first, with their turns, tickets and votes (ChatFigures reads them).
	ConversationRecords(ctx context.Context, from, to time.Time) ([]ConversationRecord, error)
}

// ConversationRecord is one conversation as the dashboard's chat figures read it.
type ConversationRecord struct {
	ID      string
	Created time.Time
	Handoff string      // its handoff state now
	Turns   []Turn      // every turn, oldest first
	Tickets []time.Time // when the tickets it opened were created, oldest first
	// Votes are its 这个回答有帮助吗 votes by the resident's message id the answer replied to
	// (Reply.ReplyTo): true helpful, false not.
	Votes map[string]bool
}

// Prober is a store that can tell whether it works now, for the readiness check (GET /readyz): a
// node whose store cannot write should get no new residents from its load balancer.
type Prober interface {
	// Probe writes a little (one row, upserted) and returns nil once it is stored, or why it
	// could not be: the database unreachable or read-only, the disk full, a lock held elsewhere,
	// or ctx's end first. It is cheap, and safe to call from several goroutines.
	Probe(ctx context.Context) error
}

// OverdueCount is how many open tickets of a category at a tier are overdue.
type OverdueCount struct {
	Category string
	Tier     Tier
	N        int
}

// ChatStats: conversations, and those with no handoff and no ticket.
type ChatStats struct {
	Conversations int `json:"conversations"`
	Settled       int `json:"settled"`
}

// Feedback is a resident's vote on one bot answer.
type Feedback struct {
	ConversationID string
	MessageID      string // the resident's ask the answer replied to
	Topic          string
	Helpful        bool
	At             time.Time
}

// TopicFeedback counts the votes on one topic's answers.
type TopicFeedback struct {
	Topic     string `json:"topic"`
	Helpful   int    `json:"helpful"`
	Unhelpful int    `json:"unhelpful"`
}
