package sqlite

import (
	"context"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/internal/sqlstore"
)

// AddUser stores a new account, with a staff number never given before (staff_numbers'
// AUTOINCREMENT, which a deleted account's number does not return to); u.Created is set to now
// when zero, and u.Number to the new number.
func (s *Store) AddUser(ctx context.Context, u *intake.User) error {
	created, args, err := sqlstore.SQLite.NewUser(u)
	if err != nil {
		return err
	}
	var number int64
	err = s.write(ctx, func(w *writer) error {
		bg := context.Background()
		_, err := w.db.Exec(bg, "INSERT INTO users (name, role, grid, password_hash, created) VALUES (?, ?, ?, ?, ?)", args...)
		if duplicate(err) {
			return sqlstore.NameTaken(u.Name)
		}
		if err != nil {
			return err
		}
		return w.db.QueryRow(bg, "INSERT INTO staff_numbers (user_name) VALUES (?) RETURNING number", u.Name).Scan(&number)
	})
	if err != nil {
		return wrap("add user", err)
	}
	u.Created, u.Number = created, int(number)
	return nil
}
