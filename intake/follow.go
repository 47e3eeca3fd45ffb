package intake

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"
)

// Following a ticket (docs/intake.md, "Following a ticket"): a resident proves a ticket is theirs
// with its access code, given once at creation, or by being the conversation that opened it (the
// chat, where the phone's last four digits suffice). Four digits alone are guessable, so failed
// proofs are counted per ticket, whatever address they come from, and a ticket that has had
// FollowFailures of them within FollowWindow refuses codes until the window has passed.

// AccessCodeLen is how many digits an access code has.
const AccessCodeLen = 6

const (
	// FollowFailures failed proofs of one ticket within FollowWindow lock it.
	FollowFailures = 5
	FollowWindow   = time.Hour
	// maxFollowKeys bounds the tickets remembered; past it the oldest failures are forgotten first.
	maxFollowKeys = 100_000
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
// wrong codes (counted on this node, across all addresses). A proof without a code that is not
// the opening conversation's is refused without counting: a tail proves nothing elsewhere.
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
	if until, locked := s.follow.locked(number, now); locked {
		return nil, &ErrLocked{Until: until}
	}
	if t.AccessCode != "" && len(p.Code) == len(t.AccessCode) && subtle.ConstantTimeCompare([]byte(p.Code), []byte(t.AccessCode)) == 1 {
		return t, nil
	}
	s.follow.fail(number, now)
	return nil, ErrNotFound
}

// IsLocked reports whether err is an ErrLocked.
func IsLocked(err error) bool {
	var l *ErrLocked
	return errors.As(err, &l)
}

// followGuard counts failed proofs per ticket number, in memory (per node).
type followGuard struct {
	mu    sync.Mutex
	fails map[string][]time.Time // the latest failures of a ticket, oldest first, at most FollowFailures
	swept time.Time
}

func (g *followGuard) recent(number string, now time.Time) []time.Time {
	ts := g.fails[number]
	for len(ts) > 0 && now.Sub(ts[0]) >= FollowWindow {
		ts = ts[1:]
	}
	if len(ts) == 0 {
		delete(g.fails, number)
	} else {
		g.fails[number] = ts
	}
	return ts
}

func (g *followGuard) locked(number string, now time.Time) (time.Time, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fails == nil {
		return time.Time{}, false
	}
	ts := g.recent(number, now)
	if len(ts) < FollowFailures {
		return time.Time{}, false
	}
	return ts[0].Add(FollowWindow), true
}

func (g *followGuard) fail(number string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fails == nil {
		g.fails = map[string][]time.Time{}
	}
	if now.Sub(g.swept) > time.Minute || len(g.fails) >= maxFollowKeys {
		for n := range g.fails {
			g.recent(n, now)
		}
		g.swept = now
		for n := range g.fails { // still full: forget some, rather than grow without bound
			if len(g.fails) < maxFollowKeys {
				break
			}
			delete(g.fails, n)
		}
	}
	ts := append(g.fails[number], now)
	if len(ts) > FollowFailures {
		ts = ts[len(ts)-FollowFailures:]
	}
	g.fails[number] = ts
}
