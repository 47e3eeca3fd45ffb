// Package postgres stores tickets, their audit trails, staff accounts, chats, canned replies and
// feedback in PostgreSQL (github.com/jackc/pgx/v5), so that several nodes can share one database.
// It implements intake.Store, intake.Conversations, intake.CannedReplies and intake.Reports with the
// semantics of intake/sqlite.
//
// Every write is one transaction (often one statement), and everything that must not race between
// nodes is settled by the database: a ticket number comes from a per-day counter row, updated with
// INSERT … ON CONFLICT DO UPDATE in the ticket's own transaction; Update is a compare-and-set on
// the version; an idempotency key is a primary key; a handoff moves by a conditional UPDATE; staff
// numbers come from a sequence. Commits are durable when the server's synchronous_commit is on,
// its default.
//
// Times are stored as timestamptz, which keeps microseconds, with the nanoseconds past the
// microsecond in a smallint column beside each (name_ns): every time comes back exactly as it was
// given, in UTC, as from the SQLite store.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bayannur/hotline/intake"
)

// Store is an intake.Store on a PostgreSQL database. It is safe for concurrent use, and several
// processes may use one database at once.
type Store struct {
	pool *pgxpool.Pool
}

var (
	_ intake.Store         = (*Store)(nil)
	_ intake.Conversations = (*Store)(nil)
	_ intake.CannedReplies = (*Store)(nil)
	_ intake.Reports       = (*Store)(nil)
)

// Open connects to the database at url (postgres://user:password@host/dbname?…, or any
// connection string pgx takes, pool settings such as pool_max_conns included) and applies the
// migrations it does not have yet.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err) // pgx leaves the password out
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := migrate(ctx, pool, migrations); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	return &Store{pool: pool}, nil
}

// Close closes the connections, waiting for those in use to be given back.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// SQLSTATEs the store tells apart.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
	dataException       = "22" // class: a value PostgreSQL cannot take, such as text with a NUL
)

// code is err's SQLSTATE, or "".
func code(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// constraint is the name of the constraint err violated, or "".
func constraint(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.ConstraintName
	}
	return ""
}

// wrap adds the operation to a database error; the domain errors (intake.ErrNotFound…) and ctx's
// pass through unchanged, for their messages are meant for the caller. A value the database
// refuses (a data exception: text with a NUL character, which SQLite takes) is intake.ErrInvalid.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	for _, e := range []error{intake.ErrInvalid, intake.ErrNotFound, intake.ErrConflict, intake.ErrNoConversation,
		context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, e) {
			return err
		}
	}
	if c := code(err); len(c) == 5 && c[:2] == dataException {
		return fmt.Errorf("%w: postgres: %s: %w", intake.ErrInvalid, op, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// tx runs fn in a transaction, committed when fn returns nil and rolled back otherwise.
func (s *Store) tx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// The times the store takes are those SQLite's unix nanoseconds can hold, so that both stores
// take the same tickets.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// stamp is a time as stored: at, to the microsecond (nil for the zero time), and the nanoseconds
// past it.
type stamp struct {
	at *time.Time
	ns int16
}

// toStamp splits t for storing; a time outside the years 1678 to 2262 is intake.ErrInvalid.
func toStamp(name string, t time.Time) (stamp, error) {
	if t.IsZero() {
		return stamp{}, nil
	}
	if t.Before(minTime) || t.After(maxTime) {
		return stamp{}, fmt.Errorf("%w: %s %s is outside the years 1678 to 2262", intake.ErrInvalid, name, t.Format(time.RFC3339))
	}
	return clampStamp(t), nil
}

// clampStamp splits t for a comparison, where any time will do: the zero time and times before
// 1678 as the smallest, times after 2262 as the largest (as intake/sqlite compares).
func clampStamp(t time.Time) stamp {
	switch {
	case t.IsZero() || t.Before(minTime):
		t = minTime
	case t.After(maxTime):
		t = maxTime
	}
	ns := t.Nanosecond() % 1000
	at := t.Add(-time.Duration(ns)).UTC()
	return stamp{at: &at, ns: int16(ns)}
}

// args are the values of the stamp's two columns.
func (s stamp) args() []any {
	if s.at == nil {
		return []any{nil, int16(0)}
	}
	return []any{*s.at, s.ns}
}

// dest are the scan destinations of the stamp's two columns.
func (s *stamp) dest() []any { return []any{&s.at, &s.ns} }

// time is the stored time in UTC, or the zero time for NULL.
func (s stamp) time() time.Time {
	if s.at == nil {
		return time.Time{}
	}
	return s.at.UTC().Add(time.Duration(s.ns))
}
