package postgres

import (
	"context"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/internal/sqlstore"
)

// SetHandoff moves conversation id's handoff to ch if it is now in one of from (and held by
// holder, when given), in one conditional UPDATE: of two operators taking the same chat, on one
// node or two, one moves it. An unknown id is intake.ErrNoConversation.
func (s *Store) SetHandoff(ctx context.Context, id string, from []string, holder string, ch intake.HandoffChange) (bool, error) {
	at, err := sqlstore.Postgres.HandoffTime(ch)
	if err != nil {
		return false, err
	}
	if from == nil {
		from = []string{}
	}
	var moved, exists bool
	const query = `WITH moved AS (
			UPDATE conversations
			SET handoff = $1, operator = $2, handoff_at = $3, handoff_at_ns = $4,
				guess = coalesce(nullif($5, ''), guess),
				handoffs = handoffs + CASE WHEN handoff = '' AND $1 IN ('waiting', 'offered') THEN 1 ELSE 0 END
			WHERE id = $6 AND handoff = ANY ($7) AND ($8 = '' OR operator = $8)
			RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM moved), EXISTS (SELECT 1 FROM conversations WHERE id = $6)`
	args := []any{ch.State, ch.Operator, at[0], at[1], ch.Guess, id, from, holder}
	if ch.State == intake.HandoffWaiting || ch.State == intake.HandoffLive {
		// handoff.waiting and .taken are webhook events: the move and the outbox's row in one
		// transaction.
		err = s.tx(ctx, func(ctx context.Context, db sqlstore.DB) error {
			if err := db.QueryRow(ctx, query, args...).Scan(&moved, &exists); err != nil || !moved {
				return err
			}
			return db.AddHandoffOutbox(ctx, id)
		})
	} else {
		err = s.pool.QueryRow(ctx, query, args...).Scan(&moved, &exists)
	}
	if err != nil {
		return false, wrap("set handoff", err)
	}
	if !exists {
		return false, intake.ErrNoConversation
	}
	return moved, nil
}
