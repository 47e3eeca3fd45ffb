package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/jackc/pgx/v5"
)

// AddUser stores a new account, numbered from a sequence (a number is never given twice); u.Created
// is set to now when zero, and u.Number to the new number.
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
	at, err := toStamp("created_at", created)
	if err != nil {
		return err
	}
	var number int64
	err = s.pool.QueryRow(ctx, `INSERT INTO users (name, role, grid, password_hash, created, created_ns)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING number`,
		append([]any{u.Name, string(u.Role), u.Grid, u.PasswordHash}, at.args()...)...).Scan(&number)
	if code(err) == uniqueViolation {
		return fmt.Errorf("%w: the user name %q is taken", intake.ErrConflict, u.Name)
	}
	if err != nil {
		return wrap("add user", err)
	}
	u.Created, u.Number = created, int(number)
	return nil
}

const userSelect = "SELECT name, role, grid, password_hash, created, created_ns, number FROM users"

func scanUser(r pgx.Row) (*intake.User, error) {
	var u intake.User
	var created stamp
	if err := r.Scan(&u.Name, &u.Role, &u.Grid, &u.PasswordHash, &created.at, &created.ns, &u.Number); err != nil {
		return nil, err
	}
	u.Created = created.time()
	return &u, nil
}

// User returns an account by name.
func (s *Store) User(ctx context.Context, name string) (*intake.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, userSelect+" WHERE name = $1", name))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: user %q", intake.ErrNotFound, name)
	}
	if err != nil {
		return nil, wrap("user", err)
	}
	return u, nil
}

// ListUsers returns every account, by name.
func (s *Store) ListUsers(ctx context.Context) ([]*intake.User, error) {
	rows, err := s.pool.Query(ctx, userSelect+" ORDER BY name")
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
	err := s.tx(ctx, func(tx pgx.Tx) error {
		ct, err := tx.Exec(ctx, "UPDATE users SET password_hash = $1 WHERE name = $2", hash, name)
		if err != nil {
			return err
		}
		if ct.RowsAffected() == 0 {
			return fmt.Errorf("%w: user %q", intake.ErrNotFound, name)
		}
		_, err = tx.Exec(ctx, "DELETE FROM sessions WHERE user_name = $1", name)
		return err
	})
	return wrap("set password", err)
}

// RevokeAccess ends a user's sessions and deletes their API tokens, in one transaction
// (ErrNotFound for an unknown user), and returns how many it ended.
func (s *Store) RevokeAccess(ctx context.Context, name string) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM users WHERE name = $1)", name).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("%w: user %q", intake.ErrNotFound, name)
		}
		for _, q := range []string{"DELETE FROM sessions WHERE user_name = $1", "DELETE FROM api_tokens WHERE user_name = $1"} {
			ct, err := tx.Exec(ctx, q, name)
			if err != nil {
				return err
			}
			n += ct.RowsAffected()
		}
		return nil
	})
	return int(n), wrap("revoke access", err)
}

// addForUser runs insert, which inserts a row for an existing user ($1 the user's name) or none,
// and gives ErrNotFound for an unknown user (as intake/sqlite, before looking at the token hash)
// and ErrConflict, with what, for a token hash already stored.
func (s *Store) addForUser(ctx context.Context, op, what, user, insert string, args ...any) error {
	ct, err := s.pool.Exec(ctx, insert, append([]any{user}, args...)...)
	switch {
	case ct.RowsAffected() == 0 && err == nil, code(err) == foreignKeyViolation: // the user was deleted meanwhile
		return fmt.Errorf("%w: user %q", intake.ErrNotFound, user)
	case code(err) == uniqueViolation:
		return fmt.Errorf("%w: %s already stored", intake.ErrConflict, what)
	}
	return wrap(op, err)
}

// AddSession stores a browser session: ErrNotFound when the user is unknown, ErrConflict when
// the token hash is already stored.
func (s *Store) AddSession(ctx context.Context, sess intake.Session) error {
	if sess.TokenHash == "" {
		return fmt.Errorf("%w: a session needs a token hash", intake.ErrInvalid)
	}
	exp, err := toStamp("expires", sess.Expires)
	if err != nil {
		return err
	}
	if exp.at == nil {
		return fmt.Errorf("%w: a session needs an expiry", intake.ErrInvalid)
	}
	return s.addForUser(ctx, "add session", "session token", sess.User,
		`INSERT INTO sessions (user_name, token_hash, csrf, expires, expires_ns)
		SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM users WHERE name = $1)`,
		append([]any{sess.TokenHash, sess.CSRF}, exp.args()...)...)
}

// Session returns the session of a token hash unless it is unknown or has expired by now.
func (s *Store) Session(ctx context.Context, tokenHash string, now time.Time) (*intake.Session, error) {
	var sess intake.Session
	var exp stamp
	err := s.pool.QueryRow(ctx, `SELECT token_hash, user_name, csrf, expires, expires_ns FROM sessions
		WHERE token_hash = $1 AND (expires, expires_ns) > ($2, $3)`,
		append([]any{tokenHash}, clampStamp(now).args()...)...).Scan(&sess.TokenHash, &sess.User, &sess.CSRF, &exp.at, &exp.ns)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: session", intake.ErrNotFound)
	}
	if err != nil {
		return nil, wrap("session", err)
	}
	sess.Expires = exp.time()
	return &sess, nil
}

// DeleteSession removes a session; removing one that is not there is not an error.
func (s *Store) DeleteSession(ctx context.Context, tokenHash string) error {
	_, err := s.pool.Exec(ctx, "DELETE FROM sessions WHERE token_hash = $1", tokenHash)
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
	created, err := toStamp("created_at", t.Created)
	if err != nil {
		return err
	}
	return s.addForUser(ctx, "add token", "API token", t.User,
		`INSERT INTO api_tokens (user_name, token_hash, label, created, created_ns)
		SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM users WHERE name = $1)`,
		append([]any{t.TokenHash, t.Label}, created.args()...)...)
}

// Token returns the API token of a token hash.
func (s *Store) Token(ctx context.Context, tokenHash string) (*intake.APIToken, error) {
	var t intake.APIToken
	var created stamp
	err := s.pool.QueryRow(ctx, "SELECT token_hash, user_name, label, created, created_ns FROM api_tokens WHERE token_hash = $1",
		tokenHash).Scan(&t.TokenHash, &t.User, &t.Label, &created.at, &created.ns)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: API token", intake.ErrNotFound)
	}
	if err != nil {
		return nil, wrap("token", err)
	}
	t.Created = created.time()
	return &t, nil
}
