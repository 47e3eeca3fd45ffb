package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/bayannur/hotline/intake"
)

// Failed staff logins (intake.Users' LoginLockedUntil, LoginFailed, LoginSucceeded): one row a
// name in login_failures, times in Unix nanoseconds, the same SQL for both dialects.

// loginForgetAfter is how old a name's last failure is before its row is deleted (unless locked).
const loginForgetAfter = 24 * time.Hour

// LoginLockedUntil returns when the lock on name's logins ends; zero when none was set.
func (s Shared) LoginLockedUntil(ctx context.Context, name string) (time.Time, error) {
	var until int64
	err := s.Read.QueryRow(ctx, "SELECT locked_until FROM login_failures WHERE name = ?", name).Scan(&until)
	if err != nil && s.Read.conn.Kind(err) == NoRows || err == nil && until == 0 {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, s.Wrap("login lock", err)
	}
	return time.Unix(0, until), nil
}

// LoginFailed counts a failure of name at now in one transaction: the count goes up (from 1 for
// a name not counted), the lock is set if lock asks for one and it ends later than the one set,
// and names forgotten meanwhile are deleted. Two nodes counting one name's failures at once take
// its row one after the other.
func (s Shared) LoginFailed(ctx context.Context, name string, now time.Time, lock func(failures int) time.Duration) (int, error) {
	if name == "" {
		return 0, fmt.Errorf("%w: a failed login needs a name", intake.ErrInvalid)
	}
	at := now.UnixNano()
	var failures int
	err := s.Write(ctx, func(ctx context.Context, db DB) error {
		err := db.QueryRow(ctx, `INSERT INTO login_failures (name, failures, last) VALUES (?, 1, ?)
			ON CONFLICT (name) DO UPDATE SET failures = login_failures.failures + 1, last = excluded.last
			RETURNING failures`, name, at).Scan(&failures)
		if err != nil {
			return err
		}
		if d := lock(failures); d > 0 {
			until := now.Add(d).UnixNano()
			if _, err := db.Exec(ctx, "UPDATE login_failures SET locked_until = ? WHERE name = ? AND locked_until < ?", until, name, until); err != nil {
				return err
			}
		}
		_, err = db.Exec(ctx, "DELETE FROM login_failures WHERE last < ? AND locked_until < ?", now.Add(-loginForgetAfter).UnixNano(), at)
		return err
	})
	if err != nil {
		return 0, s.Wrap("login failed", err)
	}
	return failures, nil
}

// LoginSucceeded forgets name's failures.
func (s Shared) LoginSucceeded(ctx context.Context, name string) error {
	return s.Wrap("login succeeded", s.Write(ctx, func(ctx context.Context, db DB) error {
		_, err := db.Exec(ctx, "DELETE FROM login_failures WHERE name = ?", name)
		return err
	}))
}
