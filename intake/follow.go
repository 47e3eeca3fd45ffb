package intake

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Following a ticket (docs/intake.md, "Following a ticket"): a resident proves a ticket is theirs
// with its access code, given once at creation, or by being the conversation that opened it (the
// chat, where the phone's last four digits suffice). Codes are guessable given tries enough, so
// failed proofs are counted per ticket in the store, whatever address and node they come from,
// and a ticket that has had FollowFailures of them within FollowWindow refuses codes until the
// oldest of them is out of the window.

// AccessCodeLen is how many digits an access code has.
const AccessCodeLen = 6

const (
	// FollowFailures failed proofs of one ticket within FollowWindow lock it.
	FollowFailures = 5
	FollowWindow   = time.Hour
)

// ErrLocked is a ticket that has had too many failed proofs lately: try again after Until.
type ErrLocked struct{ Until time.Time }

func (e *ErrLocked) Error() string {
	return fmt.Sprintf("too many failed lookups of this ticket; try again after %s", e.Until.Format(time.RFC3339))
}

// NewAccessCode returns a random code of AccessCodeLen digits.
func NewAccessCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// Proof is what a resident shows to follow or rate a ticket: its access code, or the
// conversation it came from with the phone's last four digits (Tail; a conversation's rating
// needs no tail, see OpenedBy).
type Proof struct {
	Code         string
	Conversation string
	Tail         string
}

// OpenedBy reports whether conversation opened t.
func OpenedBy(t *Ticket, conversation string) bool {
	return conversation != "" && t.ConversationID == conversation
}

// Follow returns the ticket numbered number if p proves it the resident's; otherwise ErrNotFound,
// exactly as for a ticket that does not exist, or *ErrLocked when the ticket has had too many
// wrong codes (counted in the store: on every node sharing it, across all addresses). A proof
// without a code that is not the opening conversation's is refused without counting: a tail
// proves nothing elsewhere. A wrong code the store cannot count is an error, never a free guess.
func (s *Service) Follow(ctx context.Context, number string, p Proof) (*Ticket, error) {
	t, err := s.Store.Get(ctx, number)
	if err != nil {
		return nil, err
	}
	if OpenedBy(t, p.Conversation) && len(p.Tail) == 4 && t.Phone != "" && t.Phone.Tail() == p.Tail {
		return t, nil // the resident's own chat: the lock does not apply
	}
	if p.Code == "" {
		return nil, ErrNotFound // no code, nothing guessed: refused, not counted
	}
	now := s.now()
	// The last FollowFailures failures within the window: all of them there, the ticket is
	// locked until the oldest of them leaves it.
	recent, err := s.Store.FollowFailures(ctx, t.Number, now.Add(-FollowWindow), FollowFailures)
	if err != nil {
		return nil, err
	}
	if len(recent) >= FollowFailures {
		return nil, &ErrLocked{Until: recent[len(recent)-1].Add(FollowWindow)}
	}
	if t.AccessCode != "" && len(p.Code) == len(t.AccessCode) && subtle.ConstantTimeCompare([]byte(p.Code), []byte(t.AccessCode)) == 1 {
		return t, nil
	}
	if err := s.Store.FollowFailed(ctx, t.Number, now, now.Add(-FollowWindow)); err != nil {
		return nil, err
	}
	return nil, ErrNotFound
}

// IsLocked reports whether err is an ErrLocked.
func IsLocked(err error) bool {
	var l *ErrLocked
	return errors.As(err, &l)
}
