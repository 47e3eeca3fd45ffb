package sqlite

import (
	"context"
	"fmt"
	"testing"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/storetest"
)

// TestConformance runs the behaviour every hotline store shares (intake/storetest). What is
// SQLite's own (migrations, query plans, the group commit, reopening a file, a crash) is tested
// in the other files.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		s, _ := openTemp(t)
		return hooked{s}
	})
}

// hooked gives the suite the test hooks it cannot have through the interfaces.
type hooked struct{ *Store }

var (
	_ storetest.UserDeleter      = hooked{}
	_ storetest.DayCounterSetter = hooked{}
)

// DeleteUser deletes an account, its sessions and tokens (ON DELETE CASCADE) and its staff
// number's row.
func (h hooked) DeleteUser(ctx context.Context, name string) error {
	return h.write(ctx, func(w *writer) error {
		res, err := w.conn.ExecContext(context.Background(), "DELETE FROM users WHERE name = ?", name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("%w: user %q", intake.ErrNotFound, name)
		}
		_, err = w.conn.ExecContext(context.Background(), "DELETE FROM staff_numbers WHERE user_name = ?", name)
		return err
	})
}

// SetDayCounter sets the last number given out on day.
func (h hooked) SetDayCounter(ctx context.Context, day string, last int) error {
	return h.write(ctx, func(w *writer) error {
		_, err := w.conn.ExecContext(context.Background(),
			"INSERT INTO day_counters (day, last) VALUES (?, ?) ON CONFLICT (day) DO UPDATE SET last = excluded.last", day, last)
		return err
	})
}
