// Package postgres stores tickets, their audit trails, staff accounts, chats, canned replies and
// feedback in PostgreSQL (github.com/jackc/pgx/v5), so that several nodes can share one database.
// It implements intake.Store, intake.Conversations, intake.CannedReplies and intake.Reports with the
// semantics of intake/sqlite.
//
// Every write is one transaction (often one statement), and everything that must not race between
// nodes is settled by the database: a ticket number comes from a per-day counter row, from which
// each node reserves blocks of numbers in short transactions of their own (numbers.go: unique, no
// lock held across a ticket's creation, gaps possible); Update is a compare-and-set on the version;
// an idempotency key is a primary key; a handoff moves by a conditional UPDATE; staff numbers come
// from a sequence. Commits are durable when the server's synchronous_commit is on, its default.
//
// Times are stored as timestamptz, which keeps microseconds, with the nanoseconds past the
// microsecond in a smallint column beside each (name_ns): every time comes back exactly as it was
// given, in UTC, as from the SQLite store.
package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/internal/migrations"
	"github.com/bayannur/hotline/intake/internal/sqlstore"
)

// Store is an intake.Store on a PostgreSQL database. It is safe for concurrent use, and several
// processes may use one database at once. What its code shares with intake/sqlite is
// sqlstore.Shared's, run on its pool.
type Store struct {
	sqlstore.Shared
	pool    *pgxpool.Pool
	turns   *turnWriter // appends turns, many conversations' in one transaction (turns.go)
	numbers *numbers    // this node's ticket numbers in hand (numbers.go)
}

var (
	_ intake.Store         = (*Store)(nil)
	_ intake.Conversations = (*Store)(nil)
	_ intake.CannedReplies = (*Store)(nil)
	_ intake.Reports       = (*Store)(nil)
	_ intake.Prober        = (*Store)(nil)
	_ intake.Webhooks      = (*Store)(nil)
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
	ms, err := migrations.For(sqlstore.Postgres.String())
	if err == nil {
		err = migrate(ctx, pool, ms, migrations.Renumbered(sqlstore.Postgres.String()))
	}
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	s := &Store{pool: pool}
	s.numbers = newNumbers(s.reserve)
	s.turns = newTurnWriter(s)
	s.Shared = sqlstore.Shared{Read: sqlstore.New(sqlstore.Postgres, conn{pool}), Write: s.write, Tx: s.tx, Wrap: wrap,
		Batch: s.turns.append}
	return s, nil
}

// Close closes the connections, waiting for those in use to be given back.
func (s *Store) Close() error {
	s.turns.close()
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

// write runs fn, whose writes are one statement, on the pool.
func (s *Store) write(ctx context.Context, fn func(context.Context, sqlstore.DB) error) error {
	return fn(ctx, s.Read)
}

// tx runs fn in a transaction, committed when fn returns nil and rolled back otherwise.
func (s *Store) tx(ctx context.Context, fn func(context.Context, sqlstore.DB) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return fn(ctx, sqlstore.New(sqlstore.Postgres, conn{tx})) })
}

// conn adapts the pool or a transaction to sqlstore.Conn.
type conn struct {
	q interface {
		Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
		Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
		QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	}
}

func (c conn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	ct, err := c.q.Exec(ctx, query, args...)
	return ct.RowsAffected(), err
}

func (c conn) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return c.q.QueryRow(ctx, query, args...)
}

func (c conn) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	return c.q.Query(ctx, query, args...)
}

func (conn) Kind(err error) sqlstore.ErrKind {
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return sqlstore.NoRows
	case code(err) == uniqueViolation:
		return sqlstore.Unique
	case code(err) == foreignKeyViolation:
		return sqlstore.ForeignKey
	}
	return sqlstore.OtherErr
}
