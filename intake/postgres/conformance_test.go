package postgres

import (
	"context"
	"fmt"
	"testing"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/storetest"
)

// TestConformance runs the behaviour every hotline store shares (intake/storetest), each test on
// a new database, the concurrent ones across several nodes on it. What is PostgreSQL's own (the
// migrations, the stored form, the bus, the deadline job on every node) is tested in the other
// files.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		s, url := openTest(t)
		return hooked{s, url}
	})
}

// TestOutboxConformance runs the webhook outbox's conformance tests (intake/storetest), the
// concurrent claims across several nodes on one database included.
func TestOutboxConformance(t *testing.T) {
	storetest.RunOutbox(t, func(t *testing.T) storetest.Store {
		s, url := openTest(t)
		return hooked{s, url}
	})
}

// hooked gives the suite the test hooks it cannot have through the interfaces.
type hooked struct {
	*Store
	url string // the database's
}

var _ storetest.Hooks = hooked{}

// SecondNode opens another store on the database, as another node would.
func (h hooked) SecondNode(t *testing.T) storetest.Store { return openURL(t, h.url) }

// Reopen closes the store's connections and opens the database again, as a restarted node would.
func (h hooked) Reopen(t *testing.T) storetest.Store {
	t.Helper()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	return hooked{openURL(t, h.url), h.url}
}

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

// SetDayCounter sets the last number given out on day, and has this store forget the numbers of
// day it holds.
func (h hooked) SetDayCounter(ctx context.Context, day string, last int) error {
	_, err := h.pool.Exec(ctx, `INSERT INTO day_counters (day, last) VALUES ($1, $2)
		ON CONFLICT (day) DO UPDATE SET last = excluded.last`, day, last)
	h.numbers.forget(day)
	return err
}
