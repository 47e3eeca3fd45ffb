package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/bayannur/hotline/intake/internal/migrations"
	"github.com/bayannur/hotline/intake/internal/sqlstore"
	"github.com/bayannur/hotline/intake/storetest"
)

func openTemp(tb testing.TB) (*Store, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "hotline.db")
	s, err := Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s, path
}

// rawConn is a connection to the file at path with the store's settings but without the store:
// for migrating by hand, or writing a database as an older store did. Closed when tb ends.
func rawConn(tb testing.TB, path string) *sql.Conn {
	tb.Helper()
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		tb.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		db.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close(); db.Close() })
	return conn
}

// query runs a read on the write connection, inside the writer's transaction, so that it sees
// what the writer sees.
func query(tb testing.TB, s *Store, q string, args []any, dest ...any) {
	tb.Helper()
	err := s.write(context.Background(), func(w *writer) error {
		return w.conn.QueryRowContext(context.Background(), q, args...).Scan(dest...)
	})
	if err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
}

func count(tb testing.TB, s *Store, table string) int {
	tb.Helper()
	var n int
	query(tb, s, "SELECT count(*) FROM "+table, nil, &n)
	return n
}

func TestOpenSettings(t *testing.T) {
	s, _ := openTemp(t)
	var mode string
	var sync, fk int
	query(t, s, "SELECT * FROM pragma_journal_mode, pragma_synchronous, pragma_foreign_keys", nil, &mode, &sync, &fk)
	if mode != "wal" || sync != 2 || fk != 1 {
		t.Errorf("journal_mode %s, synchronous %d, foreign_keys %d; want wal, 2 (FULL), 1", mode, sync, fk)
	}
	var ro int
	if err := s.rdb.QueryRow("PRAGMA query_only").Scan(&ro); err != nil || ro != 1 {
		t.Errorf("readers: query_only = %d, %v; want 1", ro, err)
	}
}

func TestOpenOddPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a?b#c%20d.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Create(context.Background(), storetest.Ticket(time.Now()), nil, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "a*")); len(matches) != 1 || matches[0] != path {
		t.Errorf("files %v; want only %s", matches, path)
	}
}

func TestMigrationsOnceAcrossReopen(t *testing.T) {
	s, path := openTemp(t)
	ms, err := migrations.For(sqlstore.SQLite.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].Version != 1 {
		t.Fatalf("embedded migrations %v; want 0001 first", ms)
	}
	first := history(t, s)
	if n := strings.Count(first, ":") / 2; n != len(ms) {
		t.Fatalf("schema_migrations %q; want %d rows", first, len(ms))
	}
	if _, _, err := s.Create(context.Background(), storetest.Ticket(time.Now()), nil, "k"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for range 2 {
		s2, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := history(t, s2); got != first {
			t.Errorf("after reopen schema_migrations = %q; want it unchanged, %q", got, first)
		}
		if n := count(t, s2, "tickets"); n != 1 {
			t.Errorf("after reopen %d tickets; want 1", n)
		}
		s2.Close()
	}
}

func TestMigrateOrderAndRollback(t *testing.T) {
	ctx := context.Background()
	conn := rawConn(t, filepath.Join(t.TempDir(), "m.db"))
	fsys := fstest.MapFS{
		// Read out of order: 0010 needs 0002's table.
		"m/0010_fill.sql":  {Data: []byte("INSERT INTO a (x) VALUES (10);")},
		"m/0002_table.sql": {Data: []byte("CREATE TABLE a (x INTEGER);\nINSERT INTO a (x) VALUES (2);")},
		"m/README":         {Data: []byte("not a migration")},
	}
	for range 2 {
		ms, err := migrations.Read(fsys, "m", sqlstore.SQLite.String())
		if err != nil {
			t.Fatal(err)
		}
		if err := migrate(ctx, conn, ms); err != nil {
			t.Fatal(err)
		}
	}
	var got string
	if err := conn.QueryRowContext(ctx, "SELECT group_concat(x, ',') FROM (SELECT x FROM a ORDER BY rowid)").Scan(&got); err != nil || got != "2,10" {
		t.Errorf("a = %q, %v; want 2,10: each migration once, in order", got, err)
	}

	fsys["m/0011_broken.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE b (y INTEGER);\nINSERT INTO nowhere VALUES (1);")}
	ms, _ := migrations.Read(fsys, "m", sqlstore.SQLite.String())
	if err := migrate(ctx, conn, ms); err == nil || !strings.Contains(err.Error(), "0011_broken.sql") {
		t.Errorf("broken migration: err = %v; want one naming the file", err)
	}
	var n int
	conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE name = 'b'").Scan(&n)
	var recorded int
	conn.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = 11").Scan(&recorded)
	if n != 0 || recorded != 0 {
		t.Errorf("broken migration left table b (%d) or its record (%d); want it rolled back whole", n, recorded)
	}

	fsys["m/0011_broken.sql"] = &fstest.MapFile{Data: []byte("")}
	fsys["m/11_dup.sql"] = &fstest.MapFile{Data: []byte("")}
	if _, err := migrations.Read(fsys, "m", sqlstore.SQLite.String()); err == nil {
		t.Error("two migrations numbered 11: want an error")
	}
}

// TestBatchIsolatesFailures queues writes while the writer is busy, so that they are run as one
// batch, and checks that the failing ones are rolled back alone.
func TestBatchIsolatesFailures(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	started, release := make(chan struct{}), make(chan struct{})
	blocker := newOp(ctx, func(w *writer) error { close(started); <-release; return nil })
	if err := s.enqueue(ctx, blocker); err != nil {
		t.Fatal(err)
	}
	<-started
	commits := s.commits.Load()

	insert := func(number string) func(w *writer) error {
		return func(w *writer) error {
			args, err := sqlstore.SQLite.TicketArgs(storetest.Ticket(time.Now()))
			if err != nil {
				return err
			}
			_, err = w.ticketInsert.Exec(append([]any{number}, args...)...)
			return err
		}
	}
	boom := errors.New("boom")
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	ops := []*op{
		newOp(ctx, insert("B-0")),
		newOp(ctx, func(w *writer) error { // writes, then fails: must leave nothing
			if err := insert("BAD")(w); err != nil {
				return err
			}
			return boom
		}),
		newOp(ctx, insert("B-2")),
		newOp(ctx, insert("B-0")), // a real SQLite error: duplicate primary key
		newOp(canceled, insert("CANCELED")),
		newOp(ctx, insert("B-5")),
	}
	for _, o := range ops {
		if err := s.enqueue(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	close(release)
	if err := <-blocker.done; err != nil {
		t.Fatal(err)
	}
	var errs []error
	for _, o := range ops {
		errs = append(errs, <-o.done)
	}
	if errs[0] != nil || errs[2] != nil || errs[5] != nil {
		t.Errorf("good writes failed: %v", errs)
	}
	if !errors.Is(errs[1], boom) || !duplicate(errs[3]) || !errors.Is(errs[4], context.Canceled) {
		t.Errorf("errors %v; want nil, boom, nil, duplicate key, canceled, nil", errs)
	}
	if got := s.commits.Load() - commits; got != 2 {
		t.Errorf("%d commits; want 2: the blocker's, then one for the whole batch", got)
	}
	var got string
	query(t, s, "SELECT group_concat(number, ',') FROM (SELECT number FROM tickets ORDER BY number)", nil, &got)
	if got != "B-0,B-2,B-5" {
		t.Errorf("tickets %s; want B-0,B-2,B-5", got)
	}
}

func TestCloseDrainsQueue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hotline.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	started, release := make(chan struct{}), make(chan struct{})
	if err := s.enqueue(ctx, newOp(ctx, func(w *writer) error { close(started); <-release; return nil })); err != nil {
		t.Fatal(err)
	}
	<-started

	// Fill the queue: a Create now has to wait to enqueue, and gives up when its ctx ends.
	var queued []*op
	for i := range queueLen {
		o := newOp(ctx, func(w *writer) error {
			if i%100 != 0 {
				return nil
			}
			args, err := sqlstore.SQLite.TicketArgs(storetest.Ticket(time.Now()))
			if err != nil {
				return err
			}
			_, err = w.ticketInsert.Exec(append([]any{fmt.Sprintf("Q-%d", i)}, args...)...)
			return err
		})
		if err := s.enqueue(ctx, o); err != nil {
			t.Fatal(err)
		}
		queued = append(queued, o)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, _, err := s.Create(short, storetest.Ticket(time.Now()), nil, ""); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Create with the queue full: err = %v; want the ctx's", err)
	}

	closed := make(chan error)
	go func() { closed <- s.Close() }()
	close(release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	for i, o := range queued {
		if err := <-o.done; err != nil {
			t.Fatalf("queued write %d: %v; want it done before Close returns", i, err)
		}
	}
	if _, _, err := s.Create(ctx, storetest.Ticket(time.Now()), nil, ""); !errors.Is(err, ErrClosed) {
		t.Errorf("Create after Close: %v; want ErrClosed", err)
	}

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := count(t, s, "tickets"); n != queueLen/100+1 {
		t.Errorf("%d tickets after reopen; want %d", n, queueLen/100+1)
	}
}

// The statement cache prepares a statement once, however often and from however many goroutines
// it runs, stops growing at maxCachedStmts (the rest run unprepared), and gives nothing once
// closed.
func TestStmtCache(t *testing.T) {
	s, _ := openTemp(t)
	var prepared atomic.Int64
	c := newStmtCache(func(ctx context.Context, q string) (*sql.Stmt, error) {
		prepared.Add(1)
		return s.rdb.PrepareContext(ctx, q)
	})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				st := c.get(t.Context(), "SELECT count(*) FROM tickets")
				var n int
				if st == nil || st.QueryRowContext(t.Context()).Scan(&n) != nil {
					t.Error("a cached statement did not run")
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := prepared.Load(); n < 1 || n > 8 {
		t.Errorf("one statement prepared %d times by 8 goroutines running it 400 times", n)
	}
	if c.get(t.Context(), "SELECT nonsense FROM nowhere") != nil {
		t.Error("a statement that does not prepare was cached")
	}
	for i := len(c.m); i < maxCachedStmts; i++ {
		c.get(t.Context(), fmt.Sprintf("SELECT %d", i))
	}
	if c.get(t.Context(), "SELECT 'one too many'") != nil || len(c.m) != maxCachedStmts {
		t.Errorf("the cache grew past %d: %d", maxCachedStmts, len(c.m))
	}
	if err := c.close(); err != nil {
		t.Fatal(err)
	}
	if c.get(t.Context(), "SELECT count(*) FROM tickets") != nil {
		t.Error("a closed cache gave a statement")
	}
}

// A failed login's name is kept only as its hash: people type their password in the name field,
// and the name's failures must not leave it in the file.
func TestLoginFailureKeepsNoName(t *testing.T) {
	s, path := openTemp(t)
	const typed = "my-Secret-passw0rd-typed-as-name"
	if _, err := s.LoginFailed(t.Context(), typed, time.Now(), func(int) time.Duration { return time.Minute }); err != nil {
		t.Fatal(err)
	}
	if until, err := s.LoginLockedUntil(t.Context(), typed); err != nil || until.IsZero() {
		t.Fatalf("the name's lock: %v, %v", until, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(typed)) {
			t.Errorf("%s holds the name tried in clear", filepath.Base(f))
		}
	}
}
