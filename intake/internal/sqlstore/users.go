package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/bayannur/hotline/intake"
)

// Staff accounts, their sessions and API tokens. AddUser is each store's: SQLite gives staff
// numbers from a table of its own, PostgreSQL from the users table's identity column.

// userSelect is the select list scanUser reads.
var userSelect = [Postgres + 1]string{
	SQLite:   "SELECT name, role, grid, password_hash, created, (SELECT number FROM staff_numbers WHERE user_name = users.name) FROM users",
	Postgres: "SELECT name, role, grid, password_hash, created, created_ns, number FROM users",
}

func (d Dialect) scanUser(r Row) (*intake.User, error) {
	var u intake.User
	var created when
	dest := append([]any{&u.Name, &u.Role, &u.Grid, &u.PasswordHash}, d.dest(&created)...)
	if err := r.Scan(append(dest, &u.Number)...); err != nil {
		return nil, err
	}
	u.Created = created.time()
	return &u, nil
}

// NewUser checks AddUser's account and returns the time to store, Created or now when zero, and
// the values of name, role, grid, password_hash and the time's columns.
func (d Dialect) NewUser(u *intake.User) (time.Time, []any, error) {
	if u == nil || u.Name == "" {
		return time.Time{}, nil, fmt.Errorf("%w: a user needs a name", intake.ErrInvalid)
	}
	if !u.Role.Valid() {
		return time.Time{}, nil, fmt.Errorf("%w: unknown role %q", intake.ErrInvalid, u.Role)
	}
	created := u.Created
	if created.IsZero() {
		created = time.Now()
	}
	at, err := d.TimeArgs("created_at", created)
	if err != nil {
		return time.Time{}, nil, err
	}
	return created, append([]any{u.Name, string(u.Role), u.Grid, u.PasswordHash}, at...), nil
}

// NameTaken is AddUser's error for a name that is taken.
func NameTaken(name string) error {
	return fmt.Errorf("%w: the user name %q is taken", intake.ErrConflict, name)
}

// User returns an account by name.
func (s Shared) User(ctx context.Context, name string) (*intake.User, error) {
	db := s.Read
	u, err := db.scanUser(db.QueryRow(ctx, userSelect[db.Dialect]+" WHERE name = ?", name))
	if err := s.one("user", err, fmt.Errorf("%w: user %q", intake.ErrNotFound, name)); err != nil {
		return nil, err
	}
	return u, nil
}

// ListUsers returns every account, by name.
func (s Shared) ListUsers(ctx context.Context) ([]*intake.User, error) {
	db := s.Read
	us, err := All(ctx, db, db.scanUser, userSelect[db.Dialect]+" ORDER BY name")
	if err != nil {
		return nil, s.Wrap("list users", err)
	}
	return us, nil
}

// SetPassword replaces a user's password hash and ends their browser sessions, in one
// transaction (ErrNotFound): whoever knew the old password is logged out.
func (s Shared) SetPassword(ctx context.Context, name, hash string) error {
	err := s.Tx(ctx, func(ctx context.Context, db DB) error {
		n, err := db.Exec(ctx, "UPDATE users SET password_hash = ? WHERE name = ?", hash, name)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: user %q", intake.ErrNotFound, name)
		}
		_, err = db.Exec(ctx, "DELETE FROM sessions WHERE user_name = ?", name)
		return err
	})
	return s.Wrap("set password", err)
}

// RehashPassword swaps a user's password hash old for new, the same password hashed again with
// other parameters, only while old is still the stored one; the sessions stay.
func (s Shared) RehashPassword(ctx context.Context, name, old, new string) (bool, error) {
	var n int64
	err := s.Write(ctx, func(ctx context.Context, db DB) (err error) {
		n, err = db.Exec(ctx, "UPDATE users SET password_hash = ? WHERE name = ? AND password_hash = ?", new, name, old)
		return err
	})
	return n == 1, s.Wrap("rehash password", err)
}

// RevokeAccess ends a user's sessions and deletes their API tokens, in one transaction
// (ErrNotFound for an unknown user), and returns how many it ended.
func (s Shared) RevokeAccess(ctx context.Context, name string) (int, error) {
	var ended int64
	err := s.Tx(ctx, func(ctx context.Context, db DB) error {
		var n int
		if err := db.QueryRow(ctx, "SELECT count(*) FROM users WHERE name = ?", name).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: user %q", intake.ErrNotFound, name)
		}
		for _, q := range []string{"DELETE FROM sessions WHERE user_name = ?", "DELETE FROM api_tokens WHERE user_name = ?"} {
			k, err := db.Exec(ctx, q, name)
			if err != nil {
				return err
			}
			ended += k
		}
		return nil
	})
	return int(ended), s.Wrap("revoke access", err)
}

// addForUser inserts into table the row of cols (the user's name first) for an existing user, and
// gives ErrNotFound for an unknown user, before looking at the token hash, and ErrConflict, with
// what, for a token hash already stored.
func (s Shared) addForUser(ctx context.Context, op, what, table, cols string, args ...any) error {
	user := args[0]
	err := s.Write(ctx, func(ctx context.Context, db DB) error {
		n, err := db.Exec(ctx, "INSERT INTO "+table+" ("+cols+") SELECT "+Placeholders(cols)+
			" WHERE EXISTS (SELECT 1 FROM users WHERE name = ?)", append(args, user)...)
		switch {
		case n == 0 && err == nil, db.conn.Kind(err) == ForeignKey: // the user was deleted meanwhile
			return fmt.Errorf("%w: user %q", intake.ErrNotFound, user)
		case db.conn.Kind(err) == Unique:
			return fmt.Errorf("%w: %s already stored", intake.ErrConflict, what)
		}
		return err
	})
	return s.Wrap(op, err)
}

// AddSession stores a browser session: ErrNotFound when the user is unknown, ErrConflict when
// the token hash is already stored.
func (s Shared) AddSession(ctx context.Context, sess intake.Session) error {
	if sess.TokenHash == "" {
		return fmt.Errorf("%w: a session needs a token hash", intake.ErrInvalid)
	}
	d := s.Read.Dialect
	exp, err := d.TimeArgs("expires", sess.Expires)
	if err != nil {
		return err
	}
	if sess.Expires.IsZero() {
		return fmt.Errorf("%w: a session needs an expiry", intake.ErrInvalid)
	}
	return s.addForUser(ctx, "add session", "session token", "sessions", "user_name, token_hash, csrf, "+d.Time("expires"),
		append([]any{sess.User, sess.TokenHash, sess.CSRF}, exp...)...)
}

// Session returns the session of a token hash unless it is unknown or has expired by now.
func (s Shared) Session(ctx context.Context, tokenHash string, now time.Time) (*intake.Session, error) {
	db := s.Read
	var sess intake.Session
	var exp when
	err := db.QueryRow(ctx, "SELECT token_hash, user_name, csrf, "+db.Time("expires")+" FROM sessions WHERE token_hash = ? AND "+
		db.Compare("expires", ">"), append([]any{tokenHash}, db.Bound(now)...)...).
		Scan(append([]any{&sess.TokenHash, &sess.User, &sess.CSRF}, db.dest(&exp)...)...)
	if err := s.one("session", err, fmt.Errorf("%w: session", intake.ErrNotFound)); err != nil {
		return nil, err
	}
	sess.Expires = exp.time()
	return &sess, nil
}

// DeleteSession removes a session; removing one that is not there is not an error.
func (s Shared) DeleteSession(ctx context.Context, tokenHash string) error {
	err := s.Write(ctx, func(ctx context.Context, db DB) error {
		_, err := db.Exec(ctx, "DELETE FROM sessions WHERE token_hash = ?", tokenHash)
		return err
	})
	return s.Wrap("delete session", err)
}

// AddToken stores an API token: ErrNotFound when the user is unknown, ErrConflict when the token
// hash is already stored. t.Created is stored as now when zero; a zero t.Expires is never.
func (s Shared) AddToken(ctx context.Context, t intake.APIToken) error {
	if t.TokenHash == "" {
		return fmt.Errorf("%w: a token needs a token hash", intake.ErrInvalid)
	}
	if t.Created.IsZero() {
		t.Created = time.Now()
	}
	d := s.Read.Dialect
	created, err := d.TimeArgs("created_at", t.Created)
	if err != nil {
		return err
	}
	expires, err := d.TimeArgs("expires", t.Expires)
	if err != nil {
		return err
	}
	return s.addForUser(ctx, "add token", "API token", "api_tokens", "user_name, token_hash, label, "+d.Time("created")+", "+d.Time("expires"),
		append(append([]any{t.User, t.TokenHash, t.Label}, created...), expires...)...)
}

// tokenSelect is the select list scanToken reads.
func (d Dialect) tokenSelect() string {
	return "SELECT token_hash, user_name, label, " + d.Time("created") + ", " + d.Time("expires") + ", " + d.Time("last_used") + " FROM api_tokens"
}

func (d Dialect) scanToken(r Row) (intake.APIToken, error) {
	var t intake.APIToken
	var created, expires, used when
	dest := append(append([]any{&t.TokenHash, &t.User, &t.Label}, d.dest(&created)...), d.dest(&expires)...)
	err := r.Scan(append(dest, d.dest(&used)...)...)
	t.Created, t.Expires, t.LastUsed = created.time(), expires.time(), used.time()
	t.ID = t.TokenHash[:min(len(t.TokenHash), intake.TokenIDLength)]
	return t, err
}

// Token returns the API token of a token hash, expired or not.
func (s Shared) Token(ctx context.Context, tokenHash string) (*intake.APIToken, error) {
	db := s.Read
	t, err := db.scanToken(db.QueryRow(ctx, db.tokenSelect()+" WHERE token_hash = ?", tokenHash))
	if err := s.one("token", err, fmt.Errorf("%w: API token", intake.ErrNotFound)); err != nil {
		return nil, err
	}
	return &t, nil
}

// Tokens lists a user's API tokens, oldest first; ErrNotFound for an unknown user.
func (s Shared) Tokens(ctx context.Context, name string) ([]intake.APIToken, error) {
	if _, err := s.User(ctx, name); err != nil {
		return nil, err
	}
	db := s.Read
	ts, err := All(ctx, db, db.scanToken, db.tokenSelect()+" WHERE user_name = ? ORDER BY created, token_hash", name)
	if err != nil {
		return nil, s.Wrap("list tokens", err)
	}
	return ts, nil
}

// RevokeToken deletes the user's API token whose ID is id (ErrNotFound when none is).
func (s Shared) RevokeToken(ctx context.Context, name, id string) error {
	if len(id) != intake.TokenIDLength {
		return fmt.Errorf("%w: API token %q of %s", intake.ErrNotFound, id, name)
	}
	err := s.Write(ctx, func(ctx context.Context, db DB) error {
		n, err := db.Exec(ctx, "DELETE FROM api_tokens WHERE user_name = ? AND substr(token_hash, 1, ?) = ?", name, intake.TokenIDLength, id)
		if err == nil && n == 0 {
			return fmt.Errorf("%w: API token %q of %s", intake.ErrNotFound, id, name)
		}
		return err
	})
	return s.Wrap("revoke token", err)
}

// TouchToken sets a token's last use to at (ErrNotFound when the token is not stored).
func (s Shared) TouchToken(ctx context.Context, tokenHash string, at time.Time) error {
	d := s.Read.Dialect
	args, err := d.TimeArgs("last used", at)
	if err != nil {
		return err
	}
	set := "last_used = ?"
	if d == Postgres {
		set += ", last_used_ns = ?"
	}
	err = s.Write(ctx, func(ctx context.Context, db DB) error {
		n, err := db.Exec(ctx, "UPDATE api_tokens SET "+set+" WHERE token_hash = ?", append(args, tokenHash)...)
		if err == nil && n == 0 {
			return fmt.Errorf("%w: API token", intake.ErrNotFound)
		}
		return err
	})
	return s.Wrap("touch token", err)
}
