package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/bayannur/hotline/intake"
)

// A ticket's failed proofs (intake.Store's FollowFailures, FollowFailed): one row a failure in
// follow_failures, times in Unix nanoseconds, the same SQL for both dialects.

// FollowFailures returns the times of ticket number's failed proofs after since, newest first, at
// most limit of them.
func (s Shared) FollowFailures(ctx context.Context, number string, since time.Time, limit int) ([]time.Time, error) {
	ts, err := All(ctx, s.Read, func(r Row) (time.Time, error) {
		var at int64
		err := r.Scan(&at)
		return time.Unix(0, at), err
	}, "SELECT at FROM follow_failures WHERE number = ? AND at > ? ORDER BY at DESC LIMIT ?", number, since.UnixNano(), limit)
	if err != nil {
		return nil, s.Wrap("follow failures", err)
	}
	return ts, nil
}

// FollowFailed records a failed proof of ticket number at at, and deletes every ticket's failures
// from before forget, in one transaction.
func (s Shared) FollowFailed(ctx context.Context, number string, at, forget time.Time) error {
	if number == "" {
		return fmt.Errorf("%w: a failed proof needs a ticket number", intake.ErrInvalid)
	}
	return s.Wrap("follow failed", s.Write(ctx, func(ctx context.Context, db DB) error {
		if _, err := db.Exec(ctx, "INSERT INTO follow_failures (number, at) VALUES (?, ?)", number, at.UnixNano()); err != nil {
			return err
		}
		_, err := db.Exec(ctx, "DELETE FROM follow_failures WHERE at < ?", forget.UnixNano())
		return err
	}))
}
