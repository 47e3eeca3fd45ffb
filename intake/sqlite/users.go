package sqlite

import (
	"context"
	"fmt"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/internal/sqlstore"
)

// AddUser stores a new account, with a staff number never given before (staff_numbers'
// AUTOINCREMENT); u.Created is set to now when zero, and u.Number to the new number.
func (s *Store) AddUser(ctx context.Context, u *intake.User) error {
	created, err := sqlstore.NewUser(u)
	if err != nil {
		return err
	}
	at, err := sqlstore.SQLite.TimeArgs("created_at", created)
	if err != nil {
		return err
	}
	var number int64
	err = s.write(ctx, func(w *writer) error {
		bg := context.Background()
		_, err := w.conn.ExecContext(bg, "INSERT INTO users (name, role, grid, password_hash, created) VALUES (?, ?, ?, ?, ?)",
			u.Name, string(u.Role), u.Grid, u.PasswordHash, at[0])
		if duplicate(err) {
			return fmt.Errorf("%w: the user name %q is taken", intake.ErrConflict, u.Name)
		}
		if err != nil {
			return err
		}
		return w.conn.QueryRowContext(bg, "INSERT INTO staff_numbers (user_name) VALUES (?) RETURNING number", u.Name).Scan(&number)
	})
	if err != nil {
		return wrap("add user", err)
	}
	u.Created, u.Number = created, int(number)
	return nil
}
