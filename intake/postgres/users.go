package postgres

import (
	"context"
	"fmt"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/internal/sqlstore"
)

// AddUser stores a new account, numbered from a sequence (a number is never given twice); u.Created
// is set to now when zero, and u.Number to the new number.
func (s *Store) AddUser(ctx context.Context, u *intake.User) error {
	created, err := sqlstore.NewUser(u)
	if err != nil {
		return err
	}
	at, err := sqlstore.Postgres.TimeArgs("created_at", created)
	if err != nil {
		return err
	}
	var number int64
	err = s.pool.QueryRow(ctx, `INSERT INTO users (name, role, grid, password_hash, created, created_ns)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING number`,
		append([]any{u.Name, string(u.Role), u.Grid, u.PasswordHash}, at...)...).Scan(&number)
	if code(err) == uniqueViolation {
		return fmt.Errorf("%w: the user name %q is taken", intake.ErrConflict, u.Name)
	}
	if err != nil {
		return wrap("add user", err)
	}
	u.Created, u.Number = created, int(number)
	return nil
}
