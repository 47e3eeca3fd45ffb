package postgres

import (
	"context"
	"fmt"
	"testing"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/storetest"
)

// TestConformance runs the behaviour every hotline store shares (intake/storetest), each test on
// a new database. What is PostgreSQL's own (several nodes on one database, the migrations, the
// stored form) is tested in postgres_test.go.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		s, _ := openTest(t)
		return hooked{s}
	})
}

// hooked gives the suite the test hooks it cannot have through the interfaces.
type hooked struct{ *Store }

var (
	_ storetest.UserDeleter      = hooked{}
	_ storetest.DayCounterSetter = hooked{}
)

// DeleteUser deletes an account, and its sessions and tokens (ON DELETE CASCADE). Its staff
// number came from a sequence, which never gives it again.
func (h hooked) DeleteUser(ctx context.Context, name string) error {
	ct, err := h.pool.Exec(ctx, "DELETE FROM users WHERE name = $1", name)
	if err != nil {
		return err
	}
	if ct.RowsAffected() == 0 {
		return fmt.Errorf("%w: user %q", intake.ErrNotFound, name)
	}
	return nil
}

// SetDayCounter sets the last number given out on day.
func (h hooked) SetDayCounter(ctx context.Context, day string, last int) error {
	_, err := h.pool.Exec(ctx, `INSERT INTO day_counters (day, last) VALUES ($1, $2)
		ON CONFLICT (day) DO UPDATE SET last = excluded.last`, day, last)
	return err
}
