package sqlite

import (
	"context"
	"fmt"
	"testing"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/storetest"
)

// TestConformance runs the behaviour every hotline store shares (intake/storetest), reopening
// the file included, and the concurrent writes across two stores on one file. What is SQLite's
// own (migrations, query plans, the group commit, the open settings, a crash) is tested in the
// other files.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		s, path := openTemp(t)
		return hooked{s, path}
	})
}

// TestOutboxConformance runs the webhook outbox's conformance tests (intake/storetest), the
// concurrent claims across two stores on one file included.
func TestOutboxConformance(t *testing.T) {
	storetest.RunOutbox(t, func(t *testing.T) storetest.Store {
		s, path := openTemp(t)
		return hooked{s, path}
	})
}

// hooked gives the suite the test hooks it cannot have through the interfaces.
type hooked struct {
	*Store
	path string // the database file
}

var (
	_ storetest.Hooks   = hooked{}
	_ storetest.Gapless = hooked{}
)

// GaplessNumbers: the writer numbers each ticket from the day's counter in the transaction that
// stores it, and two stores on one file take turns writing, so a day's numbers have no gaps.
func (hooked) GaplessNumbers() {}

// SecondNode opens the file again, as a second process on it would.
func (h hooked) SecondNode(t *testing.T) storetest.Store {
	t.Helper()
	s, err := Open(h.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Reopen closes the store and opens its file again.
func (h hooked) Reopen(t *testing.T) storetest.Store {
	t.Helper()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(h.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return hooked{s, h.path}
}

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
