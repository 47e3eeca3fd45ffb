package sqlstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/bayannur/hotline/intake"
)

// Failed staff logins (intake.Users' LoginLockedUntil, LoginFailed, LoginSucceeded): one row a
// name in login_failures, keyed by the name's hash, times in Unix nanoseconds, the same SQL for
// both dialects.

// loginKey is a name's key in login_failures: never the name itself, which may be a password
// typed in the wrong field, and one size however long the name.
func loginKey(name string) string {
	h := sha256.Sum256([]byte(name))
	return hex.EncodeToString(h[:])
}

// loginForgetAfter is how old a name's last failure is before its row is deleted (unless locked).
const loginForgetAfter = 24 * time.Hour

// LoginLockedUntil returns when the lock on name's logins ends; zero when none was set.
func (s Shared) LoginLockedUntil(ctx context.Context, name string) (time.Time, error) {
	var until int64
	err := s.Read.QueryRow(ctx, "SELECT locked_until FROM login_failures WHERE name_hash = ?", loginKey(name)).Scan(&until)
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
	at, key := now.UnixNano(), loginKey(name)
	var failures int
	err := s.Write(ctx, func(ctx context.Context, db DB) error {
		err := db.QueryRow(ctx, `INSERT INTO login_failures (name_hash, failures, last) VALUES (?, 1, ?)
			ON CONFLICT (name_hash) DO UPDATE SET failures = login_failures.failures + 1, last = excluded.last
			RETURNING failures`, key, at).Scan(&failures)
		if err != nil {
			return err
		}
		if d := lock(failures); d > 0 {
			until := now.Add(d).UnixNano()
			if _, err := db.Exec(ctx, "UPDATE login_failures SET locked_until = ? WHERE name_hash = ? AND locked_until < ?", until, key, until); err != nil {
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
		_, err := db.Exec(ctx, "DELETE FROM login_failures WHERE name_hash = ?", loginKey(name))
		return err
	}))
}
