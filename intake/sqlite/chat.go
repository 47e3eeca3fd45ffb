package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/internal/sqlstore"
)

// SetHandoff moves conversation id's handoff to ch if it is now in one of from (and held by
// holder, when given), in one statement: of two operators taking the same chat, one moves it.
// An unknown id is intake.ErrNoConversation.
func (s *Store) SetHandoff(ctx context.Context, id string, from []string, holder string, ch intake.HandoffChange) (bool, error) {
	at := ch.At
	if at.IsZero() {
		at = time.Now()
	}
	an, err := sqlstore.SQLite.TimeArgs("handoff time", at)
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
		res, err := w.conn.ExecContext(bg, `UPDATE conversations
			SET handoff = ?1, operator = ?2, handoff_at = ?3, guess = coalesce(nullif(?4, ''), guess),
				handoffs = handoffs + (handoff = '' AND ?1 IN ('waiting', 'offered'))
			WHERE id = ?5 AND handoff IN (SELECT value FROM json_each(?6)) AND (?7 = '' OR operator = ?7)`,
			ch.State, ch.Operator, an[0], ch.Guess, id, string(fromJSON), holder)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			var one int
			switch err := w.conn.QueryRowContext(bg, "SELECT 1 FROM conversations WHERE id = ?", id).Scan(&one); {
			case errors.Is(err, sql.ErrNoRows):
				return intake.ErrNoConversation
			case err != nil:
				return err
			}
		}
		moved = n == 1
		return nil
	})
	if err != nil {
		return false, wrap("set handoff", err)
	}
	return moved, nil
}
