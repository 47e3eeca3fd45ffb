package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/internal/sqlstore"
)

// Create numbers t by the Beijing date of t.Created (time.Now() when zero) and a counter of that
// day, and stores it with events and idemKey in one transaction. On success t and events are
// updated: t.Number, t.Created, t.Version (1 when it was 0), and each event's Number and ID. When
// idemKey was used before, nothing is written, t is left alone, and the stored ticket is returned
// with created false.
func (s *Store) Create(ctx context.Context, t *intake.Ticket, events []intake.Event, idemKey string) (*intake.Ticket, bool, error) {
	d := sqlstore.SQLite
	row, args, err := d.NewTicket(t)
	if err != nil {
		return nil, false, err
	}
	args = append([]any{nil}, args...) // args[0]: the number, once known
	evArgs := make([][]any, len(events))
	for i, ev := range events {
		if evArgs[i], err = d.EventArgs(ev); err != nil {
			return nil, false, err
		}
	}
	day := sqlstore.DayOf(row.Created)
	now := time.Now().UnixNano()

	var (
		number   string
		ids      []int64
		existing *intake.Ticket
	)
	err = s.write(ctx, func(w *writer) error {
		if idemKey != "" {
			var n string
			err := w.idemGet.QueryRow(idemKey).Scan(&n)
			if err == nil {
				existing, err = d.ScanTicket(w.ticketGet.QueryRow(n))
				return err
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		var c int64
		if err := w.counterNext.QueryRow(day).Scan(&c); err != nil {
			return fmt.Errorf("day counter: %w", err)
		}
		number = fmt.Sprintf("%s-%04d", day, c)
		args[0] = number
		if _, err := w.ticketInsert.Exec(args...); err != nil {
			return fmt.Errorf("ticket: %w", err)
		}
		ids = make([]int64, len(evArgs))
		for i, a := range evArgs {
			a[0] = number
			res, err := w.eventInsert.Exec(a...)
			if err != nil {
				return fmt.Errorf("event: %w", err)
			}
			if ids[i], err = res.LastInsertId(); err != nil {
				return err
			}
		}
		// The webhook outbox's events, in this transaction: no ticket without them.
		stored := row
		stored.Number = number
		for _, ev := range events {
			if err := w.db.AddTicketOutbox(context.Background(), &stored, ev); err != nil {
				return err
			}
		}
		if idemKey != "" {
			if _, err := w.idemInsert.Exec(idemKey, number, now); err != nil {
				return fmt.Errorf("idempotency key: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, wrap("create", err)
	}
	if existing != nil {
		return existing, false, nil
	}
	sqlstore.Numbered(t, row, number, events, ids)
	return t, true, nil
}

// Update stores t and ev provided the stored version is t.Version-1.
func (s *Store) Update(ctx context.Context, t *intake.Ticket, ev intake.Event) error {
	args, evArgs, err := sqlstore.SQLite.UpdateArgs(t, ev)
	if err != nil {
		return err
	}
	err = s.write(ctx, func(w *writer) error {
		res, err := w.ticketUpdate.Exec(args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return w.db.NotUpdated(context.Background(), t)
		}
		if _, err = w.eventInsert.Exec(evArgs...); err != nil {
			return err
		}
		return w.db.AddTicketOutbox(context.Background(), t, ev) // the webhook outbox's event, if ev is one
	})
	return wrap("update", err)
}

// lateQuery reads the partial indexes tickets_sign_late and tickets_due_late, whose WHERE
// clauses it repeats. INDEXED BY makes it fail loudly, rather than scan, should they ever part;
// without it SQLite prefers tickets_status on a database without statistics.
var lateQuery = "SELECT " + sqlstore.SQLite.TicketSelect() + ` FROM tickets WHERE number IN (
		SELECT number FROM tickets INDEXED BY tickets_sign_late WHERE status = 'dispatched' AND sign_by < ?1
		UNION
		SELECT number FROM tickets INDEXED BY tickets_due_late
		WHERE overdue = 0 AND status IN ('received', 'dispatched', 'signed', 'in_progress', 'returned') AND due_by < ?1
	) ORDER BY created, number`

// Late returns the open tickets that are dispatched and past their sign deadline, or not yet
// marked overdue and past their finish deadline, oldest first.
func (s *Store) Late(ctx context.Context, now time.Time) ([]*intake.Ticket, error) {
	n, err := sqlstore.SQLite.TimeArgs("now", now)
	if err != nil {
		return nil, err
	}
	ts, err := s.Read.Tickets(ctx, lateQuery, n...)
	if err != nil {
		return nil, wrap("late", err)
	}
	return ts, nil
}
