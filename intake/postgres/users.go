package postgres

import (
	"context"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/internal/sqlstore"
)

// AddUser stores a new account, numbered from the users table's identity column, a sequence that
// never gives a number twice; u.Created is set to now when zero, and u.Number to the new number.
func (s *Store) AddUser(ctx context.Context, u *intake.User) error {
	created, args, err := sqlstore.Postgres.NewUser(u)
	if err != nil {
		return err
	}
	var number int64
	err = s.pool.QueryRow(ctx, `INSERT INTO users (name, role, grid, password_hash, created, created_ns)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING number`, args...).Scan(&number)
	if code(err) == uniqueViolation {
		return sqlstore.NameTaken(u.Name)
	}
	if err != nil {
		return wrap("add user", err)
	}
	u.Created, u.Number = created, int(number)
	return nil
}
