package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bayannur/hotline/intake"
)

// AddUser stores a new account; u.Created is set to now when zero.
func (s *Store) AddUser(ctx context.Context, u *intake.User) error {
	if u == nil || u.Name == "" {
		return fmt.Errorf("%w: a user needs a name", intake.ErrInvalid)
	}
	if !u.Role.Valid() {
		return fmt.Errorf("%w: unknown role %q", intake.ErrInvalid, u.Role)
	}
	created := u.Created
	if created.IsZero() {
		created = time.Now()
	}
	at, err := nanos("created_at", created)
	if err != nil {
		return err
	}
	var number int64
	err = s.write(ctx, func(w *writer) error {
		_, err := w.userInsert.Exec(u.Name, string(u.Role), u.Grid, u.PasswordHash, at)
		if duplicate(err) {
			return fmt.Errorf("%w: the user name %q is taken", intake.ErrConflict, u.Name)
		}
		if err != nil {
			return err
		}
		res, err := w.conn.ExecContext(context.Background(), "INSERT INTO staff_numbers (user_name) VALUES (?)", u.Name)
		if err != nil {
			return err
		}
		number, err = res.LastInsertId() // the staff number, never given before
		return err
	})
	if err != nil {
		return wrap("add user", err)
	}
	u.Created, u.Number = created, int(number)
	return nil
}

const userSelect = "SELECT name, role, grid, password_hash, created, " +
	"(SELECT number FROM staff_numbers WHERE user_name = users.name) FROM users"

func scanUser(r scanner) (*intake.User, error) {
	var u intake.User
	var created sql.NullInt64
	if err := r.Scan(&u.Name, &u.Role, &u.Grid, &u.PasswordHash, &created, &u.Number); err != nil {
		return nil, err
	}
	u.Created = fromNanos(created)
	return &u, nil
}

// User returns an account by name.
func (s *Store) User(ctx context.Context, name string) (*intake.User, error) {
	u, err := scanUser(s.rdb.QueryRowContext(ctx, userSelect+" WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: user %q", intake.ErrNotFound, name)
	}
	if err != nil {
		return nil, wrap("user", err)
	}
	return u, nil
}

// ListUsers returns every account, by name.
func (s *Store) ListUsers(ctx context.Context) ([]*intake.User, error) {
	rows, err := s.rdb.QueryContext(ctx, userSelect+" ORDER BY name")
	if err != nil {
		return nil, wrap("list users", err)
	}
	defer rows.Close()
	out := []*intake.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, wrap("list users", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("list users", err)
	}
	return out, nil
}

// SetPassword replaces a user's password hash and ends their browser sessions, in one
// transaction (ErrNotFound): whoever knew the old password is logged out.
func (s *Store) SetPassword(ctx context.Context, name, hash string) error {
	err := s.write(ctx, func(w *writer) error {
		res, err := w.passwordSet.Exec(hash, name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("%w: user %q", intake.ErrNotFound, name)
		}
		_, err = w.conn.ExecContext(context.Background(), "DELETE FROM sessions WHERE user_name = ?", name)
		return err
	})
	return wrap("set password", err)
}

// RevokeAccess ends a user's sessions and deletes their API tokens (ErrNotFound for an unknown
// user), and returns how many it ended.
func (s *Store) RevokeAccess(ctx context.Context, name string) (int, error) {
	var n int64
	err := s.write(ctx, func(w *writer) error {
		if err := w.userMustExist(name); err != nil {
			return err
		}
		for _, q := range []string{"DELETE FROM sessions WHERE user_name = ?", "DELETE FROM api_tokens WHERE user_name = ?"} {
			res, err := w.conn.ExecContext(context.Background(), q, name)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	return int(n), wrap("revoke access", err)
}

// userMustExist gives ErrNotFound for a session or token of an unknown user, rather than the
// foreign key's bare constraint error.
func (w *writer) userMustExist(name string) error {
	var one int
	err := w.userExists.QueryRow(name).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: user %q", intake.ErrNotFound, name)
	}
	return err
}

// AddSession stores a browser session: ErrNotFound when the user is unknown, ErrConflict when
// the token hash is already stored.
func (s *Store) AddSession(ctx context.Context, sess intake.Session) error {
	if sess.TokenHash == "" {
		return fmt.Errorf("%w: a session needs a token hash", intake.ErrInvalid)
	}
	exp, err := nanos("expires", sess.Expires)
	if err != nil {
		return err
	}
	if exp == nil {
		return fmt.Errorf("%w: a session needs an expiry", intake.ErrInvalid)
	}
	err = s.write(ctx, func(w *writer) error {
		if err := w.userMustExist(sess.User); err != nil {
			return err
		}
		_, err := w.sessionInsert.Exec(sess.TokenHash, sess.User, sess.CSRF, exp)
		if duplicate(err) {
			return fmt.Errorf("%w: session token already stored", intake.ErrConflict)
		}
		return err
	})
	return wrap("add session", err)
}

// Session returns the session of a token hash unless it is unknown or has expired by now.
func (s *Store) Session(ctx context.Context, tokenHash string, now time.Time) (*intake.Session, error) {
	var sess intake.Session
	var exp int64
	err := s.rdb.QueryRowContext(ctx, `SELECT token_hash, user_name, csrf, expires FROM sessions
		WHERE token_hash = ? AND expires > ?`, tokenHash, now.UnixNano()).Scan(&sess.TokenHash, &sess.User, &sess.CSRF, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: session", intake.ErrNotFound)
	}
	if err != nil {
		return nil, wrap("session", err)
	}
	sess.Expires = time.Unix(0, exp).UTC()
	return &sess, nil
}

// DeleteSession removes a session; removing one that is not there is not an error.
func (s *Store) DeleteSession(ctx context.Context, tokenHash string) error {
	err := s.write(ctx, func(w *writer) error {
		_, err := w.sessionDelete.Exec(tokenHash)
		return err
	})
	return wrap("delete session", err)
}

// AddToken stores an API token: ErrNotFound when the user is unknown, ErrConflict when the token
// hash is already stored. t.Created is stored as now when zero.
func (s *Store) AddToken(ctx context.Context, t intake.APIToken) error {
	if t.TokenHash == "" {
		return fmt.Errorf("%w: a token needs a token hash", intake.ErrInvalid)
	}
	if t.Created.IsZero() {
		t.Created = time.Now()
	}
	created, err := nanos("created_at", t.Created)
	if err != nil {
		return err
	}
	err = s.write(ctx, func(w *writer) error {
		if err := w.userMustExist(t.User); err != nil {
			return err
		}
		_, err := w.tokenInsert.Exec(t.TokenHash, t.User, t.Label, created)
		if duplicate(err) {
			return fmt.Errorf("%w: API token already stored", intake.ErrConflict)
		}
		return err
	})
	return wrap("add token", err)
}

// Token returns the API token of a token hash.
func (s *Store) Token(ctx context.Context, tokenHash string) (*intake.APIToken, error) {
	var t intake.APIToken
	var created sql.NullInt64
	err := s.rdb.QueryRowContext(ctx, "SELECT token_hash, user_name, label, created FROM api_tokens WHERE token_hash = ?",
		tokenHash).Scan(&t.TokenHash, &t.User, &t.Label, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: API token", intake.ErrNotFound)
	}
	if err != nil {
		return nil, wrap("token", err)
	}
	t.Created = fromNanos(created)
	return &t, nil
}
