// Package sqlite stores tickets, their audit trails and staff accounts in one SQLite file
// (modernc.org/sqlite, no cgo). It implements intake.Store for a single node.
//
// Durability: WAL journal with synchronous=FULL, so every commit is fsynced before a write
// method returns. Throughput comes from group commit: one writer goroutine owns the only write
// connection, takes whatever writes are queued (up to maxBatch) into one transaction, each in a
// SAVEPOINT so that one failing write does not fail the others, commits once, and only then
// answers the callers. Reads use a separate pool and never wait for the writer.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/internal/migrations"
	"github.com/bayannur/hotline/intake/internal/sqlstore"
)

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("sqlite: store is closed")

const (
	maxBatch      = 256  // writes in one transaction
	queueLen      = 1024 // writes waiting for the writer; callers beyond it wait to enqueue
	readConns     = 8
	busyTimeoutMS = 10000 // another process (a backup, the sqlite3 shell) holding the lock
)

// Store is an intake.Store on one SQLite file. It is safe for concurrent use. What its code shares
// with intake/postgres is sqlstore.Shared's, run on its reader pool and in its writer's batches.
type Store struct {
	reads *stmtCache // the read pool's prepared statements
	convs *convCache // the conversations being talked in
	sqlstore.Shared

	path string
	rdb  *sql.DB // readers: query_only, several connections
	wdb  *sql.DB // the one write connection, owned by the writer goroutine
	w    *writer

	mu     sync.RWMutex // guards closed against the close of ops
	closed bool
	ops    chan *op
	done   chan struct{} // closed when the writer has drained ops and stopped

	commits      atomic.Int64 // transactions committed by the writer, for tests and metrics
	checkpointed atomic.Int64 // log pages the checkpointer has copied into the database file
	ckdb         *sql.DB      // the checkpointer's connection (checkpoint.go)
	ckStop       chan struct{}
	ckDone       chan struct{}
	minFree      uint64 // the free space Probe wants (probeMinFree; a test's own)

	closeOnce sync.Once
	closeErr  error
}

var (
	_ intake.Store         = (*Store)(nil)
	_ intake.Conversations = (*Store)(nil)
	_ intake.CannedReplies = (*Store)(nil)
	_ intake.Reports       = (*Store)(nil)
	_ intake.Prober        = (*Store)(nil)
	_ intake.Webhooks      = (*Store)(nil)
)

// Open opens the database at path, creating the file if it is missing, and applies the
// migrations it does not have yet. The directory must exist.
func Open(path string) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: open %q: want the path of a file", path)
	}
	ctx := context.Background()
	s := &Store{path: path, ops: make(chan *op, queueLen), done: make(chan struct{}), minFree: probeMinFree,
		convs: newConvCache(maxCachedConvs)}
	var err error
	s.wdb, err = sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)
	fail := func(err error) (*Store, error) {
		if s.w != nil {
			s.w.close()
		}
		if s.rdb != nil {
			s.rdb.Close()
		}
		s.wdb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	wc, err := s.wdb.Conn(ctx)
	if err != nil {
		return fail(err)
	}
	var mode string
	if err := wc.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		wc.Close()
		return fail(err)
	}
	if !strings.EqualFold(mode, "wal") {
		wc.Close()
		return fail(fmt.Errorf("journal_mode is %s, want wal", mode))
	}
	ms, err := migrations.For(sqlstore.SQLite.String())
	if err != nil {
		wc.Close()
		return fail(err)
	}
	if err := migrate(ctx, wc, ms); err != nil {
		wc.Close()
		return fail(err)
	}
	// SQLite syncs the directory when it creates the WAL, but not when it creates the database
	// file itself: without this a power cut could lose a brand-new file and all it holds.
	if err := syncDir(filepath.Dir(path)); err != nil {
		wc.Close()
		return fail(err)
	}
	if s.w, err = newWriter(ctx, wc); err != nil {
		wc.Close()
		return fail(err)
	}
	s.rdb, err = sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return fail(err)
	}
	s.rdb.SetMaxOpenConns(readConns)
	s.rdb.SetMaxIdleConns(readConns)
	if err := s.rdb.PingContext(ctx); err != nil {
		return fail(err)
	}
	s.reads = newStmtCache(s.rdb.PrepareContext)
	// The log is checkpointed beside the writer, not in its commits (checkpoint.go).
	if _, err := s.w.conn.ExecContext(ctx, fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", writerCheckpointPages)); err != nil {
		return fail(err)
	}
	if s.ckdb, err = sql.Open("sqlite", dsn(path, false)); err != nil {
		return fail(err)
	}
	s.ckdb.SetMaxOpenConns(1)
	if err := s.ckdb.PingContext(ctx); err != nil {
		s.ckdb.Close()
		return fail(err)
	}
	s.ckStop, s.ckDone = make(chan struct{}), make(chan struct{})
	go s.checkpointLoop(s.ckdb, s.ckStop, s.ckDone)
	s.Shared = sqlstore.Shared{Read: sqlstore.New(sqlstore.SQLite, conn{s.rdb, s.reads}), Write: s.run, Tx: s.run, Wrap: wrap,
		Changed: s.changed, Created: s.created}
	go s.writeLoop()
	return s, nil
}

// dsn builds the connection string. The path is given as a file: URI so that any character in
// it (?, #, %) is taken literally.
func dsn(path string, readOnly bool) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	q := []string{
		fmt.Sprintf("_pragma=busy_timeout(%d)", busyTimeoutMS),
		"_pragma=foreign_keys(1)",
		"_pragma=journal_mode(WAL)",
		// FULL: the WAL is fsynced at every commit, so an acknowledged write survives a power
		// failure, not only a crash of the process.
		"_pragma=synchronous(FULL)",
	}
	if readOnly {
		q = append(q, "_pragma=query_only(1)")
	} else {
		// temp_store MEMORY: the journal of each write's SAVEPOINT (a batch's writes are each
		// in one) is kept in memory rather than in a temporary file; it is never needed after
		// the batch, crash or not. About a fifth less CPU a write (hotline bench tickets).
		q = append(q, "_pragma=journal_size_limit(67108864)", "_pragma=temp_store(MEMORY)")
	}
	return "file:" + esc + "?" + strings.Join(q, "&")
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Close stops taking writes, lets the writer finish those already queued, and closes the
// database. Writes after Close return ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.ops)
		s.mu.Unlock()
		<-s.done
		close(s.ckStop)
		<-s.ckDone
		s.closeErr = errors.Join(s.w.close(), s.reads.close(), s.rdb.Close(), s.ckdb.Close(), s.wdb.Close())
	})
	return s.closeErr
}

// op is one write: run executes it inside the writer's transaction, and done receives the
// outcome once that transaction has committed (or failed).
type op struct {
	ctx  context.Context
	run  func(w *writer) error
	done chan error
}

func newOp(ctx context.Context, run func(w *writer) error) *op {
	return &op{ctx: ctx, run: run, done: make(chan error, 1)}
}

// write queues run for the writer and waits for the commit. If ctx ends while the queue is full,
// or before the writer gets to it, nothing is written and ctx's error is returned. Once the
// writer has started it, write waits for the outcome, so that nil always means durable and an
// error always means nothing was written.
func (s *Store) write(ctx context.Context, run func(w *writer) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o := newOp(ctx, run)
	if err := s.enqueue(ctx, o); err != nil {
		return err
	}
	return <-o.done
}

// run runs fn in the writer's batch, where any write is a transaction of its own (a savepoint);
// fn's ctx is not the caller's, whose cancellation must not interrupt the others' writes.
func (s *Store) run(ctx context.Context, fn func(context.Context, sqlstore.DB) error) error {
	return s.write(ctx, func(w *writer) error { return fn(w.ctx, w.db) })
}

func (s *Store) enqueue(ctx context.Context, o *op) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	select {
	case s.ops <- o:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writeLoop runs until Close: it takes the first queued write, whatever else is already queued
// up to maxBatch, and runs them in one transaction. While a batch commits the next one queues up,
// so the batches grow with the load and the fsyncs per write shrink.
func (s *Store) writeLoop() {
	defer close(s.done)
	batch := make([]*op, 0, maxBatch)
	for first := range s.ops {
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxBatch {
			select {
			case o, ok := <-s.ops:
				if !ok {
					break fill
				}
				batch = append(batch, o)
			default:
				break fill
			}
		}
		s.runBatch(batch)
		clear(batch)
	}
}

// runBatch runs the batch in one transaction, each op in a savepoint: an op that fails is rolled
// back alone and gets its own error. If the transaction itself fails (BEGIN, a savepoint, COMMIT:
// a full disk, an I/O error) every op in it gets that error, for none of them was written.
func (s *Store) runBatch(batch []*op) {
	w := s.w
	errs := make([]error, len(batch))
	live := 0
	for i, o := range batch {
		if err := o.ctx.Err(); err != nil {
			errs[i] = err // given up before we started: skip it
			continue
		}
		live++
	}
	reply := func() {
		clear(w.pending) // what committed writes changed is applied, failed ones' dropped
		w.pending = w.pending[:0]
		for i, o := range batch {
			o.done <- errs[i]
		}
	}
	if live == 0 {
		reply()
		return
	}
	failAll := func(err error) {
		err = fmt.Errorf("sqlite: write transaction: %w", err)
		for i := range batch {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		reply()
	}
	ctx := context.Background() // one caller's cancellation must not interrupt the others' transaction
	if _, err := w.begin.ExecContext(ctx); err != nil {
		failAll(err)
		return
	}
	ok := 0
	for i, o := range batch {
		if errs[i] != nil {
			continue
		}
		if _, err := w.savepoint.ExecContext(ctx); err != nil {
			failAll(errors.Join(err, w.rollbackAll()))
			return
		}
		mark := len(w.pending)
		if err := o.run(w); err != nil {
			clear(w.pending[mark:])
			w.pending = w.pending[:mark]
			errs[i] = err
			if _, rerr := w.rollbackTo.ExecContext(ctx); rerr != nil {
				// The op's error has already ended the transaction (SQLITE_FULL, IOERR).
				for j := range batch {
					if j != i && errs[j] == nil {
						errs[j] = fmt.Errorf("sqlite: write transaction: %w", err)
					}
				}
				w.rollbackAll()
				reply()
				return
			}
		} else {
			ok++
		}
		if _, err := w.release.ExecContext(ctx); err != nil {
			failAll(errors.Join(err, w.rollbackAll()))
			return
		}
	}
	if ok == 0 {
		if err := w.rollbackAll(); err != nil {
			failAll(err)
			return
		}
		reply()
		return
	}
	if _, err := w.commit.ExecContext(ctx); err != nil {
		failAll(errors.Join(err, w.rollbackAll()))
		return
	}
	s.commits.Add(1)
	for _, f := range w.pending {
		f()
	}
	reply()
}

// writer holds the write connection and its prepared statements. Only the writer goroutine uses
// it after Open.
type writer struct {
	ctx   context.Context // the writes' context: not a caller's, and it carries the writer (writerKey)
	conn  *sql.Conn
	db    sqlstore.DB // conn, for the shared code
	cache *stmtCache  // the shared code's statements, prepared on conn
	stmts []*sql.Stmt

	begin, commit, rollback, savepoint, release, rollbackTo *sql.Stmt

	// Create's and Update's, the writes the service makes most.
	idemGet, counterNext, ticketInsert, eventInsert, idemInsert, ticketUpdate, ticketGet *sql.Stmt

	// pending is what the batch's writes change outside the database (the conversations' cache),
	// run once the batch has committed, in order; dropped with a write that fails.
	pending []func()
}

// writerKey finds the writer in its writes' context.
type writerKey struct{}

// after runs f once the transaction of the write now running has committed; never if it fails.
func (w *writer) after(f func()) { w.pending = append(w.pending, f) }

func newWriter(ctx context.Context, c *sql.Conn) (*writer, error) {
	w := &writer{conn: c, cache: newStmtCache(c.PrepareContext)}
	w.ctx = context.WithValue(context.Background(), writerKey{}, w)
	w.db = sqlstore.New(sqlstore.SQLite, conn{c, w.cache})
	d := sqlstore.SQLite
	ticketCols := "number, " + d.TicketColumns()
	eventCols := "number, " + d.EventColumns()
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&w.begin, "BEGIN IMMEDIATE"},
		{&w.commit, "COMMIT"},
		{&w.rollback, "ROLLBACK"},
		{&w.savepoint, "SAVEPOINT item"},
		{&w.release, "RELEASE item"},
		{&w.rollbackTo, "ROLLBACK TO item"},
		{&w.idemGet, "SELECT number FROM idempotency WHERE key = ?"},
		{&w.counterNext, `INSERT INTO day_counters (day, last) VALUES (?, 1)
			ON CONFLICT (day) DO UPDATE SET last = last + 1 RETURNING last`},
		{&w.ticketInsert, "INSERT INTO tickets (" + ticketCols + ") VALUES (" + sqlstore.Placeholders(ticketCols) + ")"},
		{&w.eventInsert, "INSERT INTO events (" + eventCols + ") VALUES (" + sqlstore.Placeholders(eventCols) + ")"},
		{&w.idemInsert, "INSERT INTO idempotency (key, number, created) VALUES (?, ?, ?)"},
		{&w.ticketUpdate, d.TicketUpdate()},
		{&w.ticketGet, "SELECT " + d.TicketSelect() + " FROM tickets WHERE number = ?"},
	} {
		st, err := c.PrepareContext(ctx, p.sql)
		if err != nil {
			w.close()
			return nil, fmt.Errorf("prepare %q: %w", p.sql, err)
		}
		*p.stmt = st
		w.stmts = append(w.stmts, st)
	}
	return w, nil
}

func (w *writer) rollbackAll() error {
	_, err := w.rollback.ExecContext(context.Background())
	return err
}

func (w *writer) close() error {
	var errs []error
	for _, st := range w.stmts {
		errs = append(errs, st.Close())
	}
	w.stmts = nil
	errs = append(errs, w.cache.close())
	errs = append(errs, w.conn.Close())
	return errors.Join(errs...)
}

// conn adapts database/sql to sqlstore.Conn: the read pool, or the writer's connection. Its
// statements run prepared, from cache (nil: prepared each time).
type conn struct {
	q interface {
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
		QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	}
	cache *stmtCache
}

func (c conn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	var res sql.Result
	var err error
	if st := c.cache.get(ctx, query); st != nil {
		res, err = st.ExecContext(ctx, args...)
	} else {
		res, err = c.q.ExecContext(ctx, query, args...)
	}
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (c conn) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	if st := c.cache.get(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.q.QueryRowContext(ctx, query, args...)
}

func (c conn) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	var rows *sql.Rows
	var err error
	if st := c.cache.get(ctx, query); st != nil {
		rows, err = st.QueryContext(ctx, args...)
	} else {
		rows, err = c.q.QueryContext(ctx, query, args...)
	}
	if err != nil {
		return nil, err
	}
	return closer{rows}, nil
}

// stmtCache keeps prepared statements by their SQL. Without it every statement is parsed and
// planned anew each time it runs (sqlite3Prepare was a tenth of a busy node's CPU). On the read
// pool a *sql.Stmt prepares itself again on each pooled connection as it needs to; on the
// writer's connection it is bound to that connection. The shared code's SQL is a finite set of
// constants, but a ticket list's depends on its filters: past maxCachedStmts a statement runs
// unprepared-and-uncached instead of growing the cache.
type stmtCache struct {
	prepare func(ctx context.Context, query string) (*sql.Stmt, error)
	mu      sync.Mutex
	m       map[string]*sql.Stmt
}

const maxCachedStmts = 256

func newStmtCache(prepare func(ctx context.Context, query string) (*sql.Stmt, error)) *stmtCache {
	return &stmtCache{prepare: prepare, m: map[string]*sql.Stmt{}}
}

// get returns query prepared, or nil when it cannot be (the cache is full or closed, or the
// statement does not prepare: the caller runs it directly and gets the error there).
func (c *stmtCache) get(ctx context.Context, query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	st, ok := c.m[query]
	full := c.m == nil || len(c.m) >= maxCachedStmts
	c.mu.Unlock()
	if ok || full {
		return st
	}
	// Prepared outside the lock: on the read pool a prepare waits for a connection, and a
	// caller holding one must not wait on the lock meanwhile. Two first callers may both
	// prepare; the second's is closed.
	st, err := c.prepare(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if have, ok := c.m[query]; ok || c.m == nil {
		st.Close()
		return have
	}
	c.m[query] = st
	return st
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, st := range c.m {
		errs = append(errs, st.Close())
	}
	c.m = nil
	return errors.Join(errs...)
}

// closer is *sql.Rows with sqlstore.Rows' Close; a close error is the one Err reports.
type closer struct{ *sql.Rows }

func (r closer) Close() { r.Rows.Close() }

func (conn) Kind(err error) sqlstore.ErrKind {
	var e *sqlite.Error
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return sqlstore.NoRows
	case !errors.As(err, &e):
	case e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return sqlstore.Unique
	case e.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return sqlstore.ForeignKey
	}
	return sqlstore.OtherErr
}

// duplicate reports whether err is the violation of a primary key or unique constraint.
func duplicate(err error) bool { return conn{}.Kind(err) == sqlstore.Unique }

// wrap adds the operation to a database error; the domain errors (intake.ErrNotFound…) and ctx's
// pass through unchanged, for their messages are meant for the caller.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	for _, e := range []error{intake.ErrInvalid, intake.ErrNotFound, intake.ErrConflict, intake.ErrNoConversation,
		context.Canceled, context.DeadlineExceeded, ErrClosed} {
		if errors.Is(err, e) {
			return err
		}
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}
