package sqlite

import (
	"cmp"
	"context"
	"encoding/json"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/internal/sqlstore"
)

// SetHandoff moves conversation id's handoff to ch if it is now in one of from (and held by
// holder, when given), in one statement: of two operators taking the same chat, one moves it.
// An unknown id is intake.ErrNoConversation.
func (s *Store) SetHandoff(ctx context.Context, id string, from []string, holder string, ch intake.HandoffChange) (bool, error) {
	if ch.At.IsZero() {
		ch.At = time.Now()
	}
	at, err := sqlstore.SQLite.HandoffTime(ch)
	if err != nil {
		return false, err
	}
	fromJSON, err := json.Marshal(from)
	if err != nil {
		return false, err
	}
	var moved bool
	err = s.write(ctx, func(w *writer) error {
		bg := context.Background()
		n, err := w.db.Exec(bg, `UPDATE conversations
			SET handoff = ?1, operator = ?2, handoff_at = ?3, guess = coalesce(nullif(?4, ''), guess),
				handoffs = handoffs + (handoff = '' AND ?1 IN ('waiting', 'offered'))
			WHERE id = ?5 AND handoff IN (SELECT value FROM json_each(?6)) AND (?7 = '' OR operator = ?7)`,
			ch.State, ch.Operator, at[0], ch.Guess, id, string(fromJSON), holder)
		if err != nil {
			return err
		}
		if n == 0 { // not moved, or no such conversation
			var k int
			if err := w.db.QueryRow(bg, "SELECT count(*) FROM conversations WHERE id = ?", id).Scan(&k); err != nil || k == 0 {
				return cmp.Or(err, intake.ErrNoConversation)
			}
		}
		moved = n == 1
		if moved {
			handoffAt := sqlstore.SQLite.Stored(ch.At)
			w.after(func() {
				s.convs.apply(id, func(c *intake.Conversation) {
					c.Handoff, c.Operator, c.HandoffAt = ch.State, ch.Operator, handoffAt
					c.Guess = cmp.Or(ch.Guess, c.Guess)
				})
			})
		}
		if moved && (ch.State == intake.HandoffWaiting || ch.State == intake.HandoffLive) {
			return w.db.AddHandoffOutbox(bg, id) // handoff.waiting or .taken, in this transaction
		}
		return nil
	})
	if err != nil {
		return false, wrap("set handoff", err)
	}
	return moved, nil
}
