// Package sqlstore is what intake/sqlite and intake/postgres share: the column lists, how a row
// becomes a ticket, a user, a conversation or a turn and back, and the queries whose SQL is the
// same in both but for placeholders and time columns. The stores keep what is their own: opening
// the database, transactions (SQLite's group commit, PostgreSQL's single statements), the
// migrations' runner, and the SQL that differs.
//
// Shared SQL is written with ? placeholders, rebound to $1, $2, … for PostgreSQL, and names each
// time column through Dialect.Time, for a time is one column in SQLite and two in PostgreSQL
// (times.go).
package sqlstore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/bayannur/hotline/intake"
)

// Dialect is the database a query is written for.
type Dialect int

// The dialects.
const (
	SQLite Dialect = iota + 1
	Postgres
)

// String is the dialect's name, as in the migrations' file names.
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return "dialect(" + strconv.Itoa(int(d)) + ")"
}

// Rebind turns the ? placeholders of query into PostgreSQL's $1, $2, …; SQLite takes them as
// they are. It does not parse SQL: a shared query has no ? but its placeholders.
func (d Dialect) Rebind(query string) string {
	if d != Postgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for _, part := range strings.SplitAfter(query, "?") {
		if p, ok := strings.CutSuffix(part, "?"); ok {
			n++
			b.WriteString(p)
			b.WriteString("$")
			b.WriteString(strconv.Itoa(n))
		} else {
			b.WriteString(part)
		}
	}
	return b.String()
}

// Placeholders is "?, ?, …", one for each column of cols, a comma-separated list.
func Placeholders(cols string) string {
	return strings.Repeat("?, ", strings.Count(cols, ",")) + "?"
}

// Assignments is "a = ?, b = ?, …" for the columns of cols, a comma-separated list.
func Assignments(cols string) string {
	return strings.Join(strings.Split(cols, ", "), " = ?, ") + " = ?"
}

// Row is a row to scan: database/sql's *Row or *Rows, pgx's Row or Rows.
type Row interface {
	Scan(dest ...any) error
}

// Rows is a result set: pgx's Rows as they are, database/sql's adapted (their Close returns an
// error).
type Rows interface {
	Row
	Next() bool
	Err() error
	Close()
}

// ErrKind is what the shared code tells apart among a driver's errors.
type ErrKind int

// The kinds of error.
const (
	OtherErr   ErrKind = iota
	NoRows             // a query for one row found none
	Unique             // a primary key or a unique index violated
	ForeignKey         // a foreign key violated
)

// Conn is a connection, a pool or a transaction of either driver, adapted by its store. Queries
// reach it rebound for the store's dialect.
type Conn interface {
	Exec(ctx context.Context, query string, args ...any) (rowsAffected int64, err error)
	QueryRow(ctx context.Context, query string, args ...any) Row
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	// Kind is what err is, of what the shared code tells apart.
	Kind(err error) ErrKind
}

// DB runs the shared queries in a dialect on a Conn. Its methods return the intake errors
// (intake.ErrNotFound…) or the driver's, for the store to wrap with its name.
type DB struct {
	Dialect
	conn Conn
}

// New is a DB on conn, whose SQL is d's.
func New(d Dialect, conn Conn) DB { return DB{d, conn} }

// Exec runs query, rebound, and returns how many rows it changed.
func (db DB) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return db.conn.Exec(ctx, db.Rebind(query), args...)
}

// QueryRow runs query, rebound, for one row.
func (db DB) QueryRow(ctx context.Context, query string, args ...any) Row {
	return db.conn.QueryRow(ctx, db.Rebind(query), args...)
}

// All runs query and scans each row with scan; no row is an empty slice, not nil.
func All[T any](ctx context.Context, db DB, scan func(Row) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.conn.Query(ctx, db.Rebind(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Shared implements the methods of intake.Store, intake.Conversations, intake.CannedReplies and
// intake.Reports whose code is the same in both stores. A store embeds it and implements the rest:
// Create and Update, Late, AddUser and SetHandoff, whose SQL is its own, and Close.
type Shared struct {
	// Read runs the reads: SQLite's read-only pool, PostgreSQL's pool.
	Read DB
	// Write runs fn, whose writes are one statement; Tx runs fn, whose writes are several, in one
	// transaction. SQLite runs both in its writer's batch (fn's ctx is then not the caller's);
	// PostgreSQL runs Write's fn on its pool and Tx's between BEGIN and COMMIT.
	Write, Tx func(ctx context.Context, fn func(ctx context.Context, db DB) error) error
	// Wrap names the store and op in an error of the database's; the intake errors and the
	// context's pass as they are.
	Wrap func(op string, err error) error
	// Changed, when set, is told inside a write's transaction (fn's ctx) that conversation id
	// changed as change changes it: the SQLite store, the only writer of its file, keeps its copy
	// of the conversations being talked in with it once the transaction has committed.
	Changed func(ctx context.Context, id string, change func(*intake.Conversation))
	// Created, when set, is told inside a write's transaction of a conversation just stored, as
	// it was stored (conversations are created at a resident's first message, which reads it
	// next).
	Created func(ctx context.Context, c *intake.Conversation)
	// Batch, when set, writes an append of turns that has no webhook event with others in one
	// transaction, and returns the number (seq) it gave each of a.Rows; an unknown conversation
	// is intake.ErrNoConversation, and nothing of it is written.
	Batch func(ctx context.Context, a *Append) ([]int, error)
}

// one is the error of a query for one row: notFound when there was none, else err named as op's.
func (s Shared) one(op string, err, notFound error) error {
	if err != nil && s.Read.conn.Kind(err) == NoRows {
		return notFound
	}
	return s.Wrap(op, err)
}

// ProbeUpsert is the readiness probe's write: the one row of store_probe, its time (Unix
// nanoseconds) the argument.
const ProbeUpsert = "INSERT INTO store_probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at"

// Probe writes the probe's row (intake.Prober).
func (s Shared) Probe(ctx context.Context) error {
	return s.Wrap("probe", s.Write(ctx, func(ctx context.Context, db DB) error {
		_, err := db.Exec(ctx, ProbeUpsert, time.Now().UnixNano())
		return err
	}))
}
