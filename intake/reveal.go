package intake

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"
)

// Revealing phones (docs/intake.md, "Phones in free text"): staff read a ticket's free text with
// phone numbers masked; one who needs them gives a reason, which is written to the ticket's
// audit trail as an ActReveal event, and may then read the text whole for RevealWindow. The
// trail, not a node's memory, says who may: every node agrees, and every reveal is on record.

// RevealWindow is how long one reveal lets its staff member read the ticket's text whole.
const RevealWindow = 30 * time.Minute

// maxRevealReason bounds a reason, in characters.
const maxRevealReason = 200

// Reveal records that actor saw the phones in ticket number's text, for reason.
func (s *Service) Reveal(ctx context.Context, number, actor, reason string) (*Ticket, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, invalid("reason", "say why you need the phone numbers")
	}
	if utf8.RuneCountInString(reason) > maxRevealReason {
		return nil, invalid("reason", "at most %d characters", maxRevealReason)
	}
	for range 3 { // another change may land between the read and the write: read again
		t, err := s.Apply(ctx, number, 0, Change{Action: ActReveal, Actor: actor, Note: reason})
		if !errors.Is(err, ErrConflict) {
			return t, err
		}
	}
	return nil, ErrConflict
}

// Revealed reports whether events (a ticket's trail) hold a reveal by actor within RevealWindow
// before now.
func Revealed(events []Event, actor string, now time.Time) bool {
	for _, e := range events {
		if e.Action == ActReveal && e.Actor == actor && !e.At.After(now) && now.Sub(e.At) < RevealWindow {
			return true
		}
	}
	return false
}
