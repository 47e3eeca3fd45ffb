package postgres

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/internal/migrations"
	"github.com/bayannur/hotline/intake/internal/sqlstore"
	"github.com/bayannur/hotline/intake/postgres/pgtest"
	"github.com/bayannur/hotline/intake/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// openTest opens a store on a new database, closed when t ends.
func openTest(tb testing.TB) (*Store, string) {
	tb.Helper()
	url := pgtest.Server(tb)
	return openURL(tb, url), url
}

// openURL opens another store (another node) on the database at url.
func openURL(tb testing.TB, url string) *Store {
	tb.Helper()
	s, err := Open(context.Background(), url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// nodes opens n stores on one new database, as n nodes of the service would.
func nodes(t *testing.T, n int) []*Store {
	s, url := openTest(t)
	out := []*Store{s}
	for len(out) < n {
		out = append(out, openURL(t, url))
	}
	return out
}

func scalar[T any](t testing.TB, s *Store, q string, args ...any) T {
	t.Helper()
	var v T
	if err := s.pool.QueryRow(context.Background(), q, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

// Nodes starting at once on a new database migrate it exactly once.
func TestMigrationsOnceConcurrentOpens(t *testing.T) {
	url := pgtest.Server(t)
	const n = 8
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = Open(t.Context(), url)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	s := stores[0]
	applied := func() string {
		return scalar[string](t, s, "SELECT string_agg(version || ':' || name || ':' || applied, ' ' ORDER BY version) FROM schema_migrations")
	}
	first := applied()
	ms, err := migrations.For(sqlstore.Postgres.String())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(first, ".sql"); got != len(ms) {
		t.Errorf("schema_migrations %q; want %d rows", first, len(ms))
	}
	// The seeded canned replies were inserted once.
	if n := scalar[int](t, s, "SELECT count(*) FROM canned_replies"); n != 4 {
		t.Errorf("%d canned replies; want the 4 seeded, once", n)
	}
	s2 := openURL(t, url)
	if got := scalar[string](t, s2, "SELECT string_agg(version || ':' || name || ':' || applied, ' ' ORDER BY version) FROM schema_migrations"); got != first {
		t.Errorf("after another Open schema_migrations = %q; want it unchanged, %q", got, first)
	}
}

// Migrations run in the order of their number, each once; a broken one is rolled back whole and
// named in the error.
func TestMigrateOrderAndRollback(t *testing.T) {
	url := pgtest.Server(t)
	ctx := t.Context()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	fsys := fstest.MapFS{
		// Read out of order: 0010 needs 0002's table.
		"m/0010_fill.sql":  {Data: []byte("INSERT INTO a (x) VALUES (10);")},
		"m/0002_table.sql": {Data: []byte("CREATE TABLE a (id serial, x integer);\nINSERT INTO a (x) VALUES (2);")},
		"m/README":         {Data: []byte("not a migration")},
	}
	for range 2 {
		ms, err := migrations.Read(fsys, "m", sqlstore.Postgres.String())
		if err != nil {
			t.Fatal(err)
		}
		if err := migrate(ctx, pool, ms, nil); err != nil {
			t.Fatal(err)
		}
	}
	var got string
	if err := pool.QueryRow(ctx, "SELECT string_agg(x::text, ',' ORDER BY id) FROM a").Scan(&got); err != nil || got != "2,10" {
		t.Errorf("a = %q, %v; want 2,10: each migration once, in order", got, err)
	}

	fsys["m/0011_broken.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE b (y integer);\nINSERT INTO nowhere VALUES (1);")}
	fsys["m/0012_fine.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE c (z integer);")}
	ms, _ := migrations.Read(fsys, "m", sqlstore.Postgres.String())
	if err := migrate(ctx, pool, ms, nil); err == nil || !strings.Contains(err.Error(), "0011_broken.sql") {
		t.Errorf("broken migration: err = %v; want one naming the file", err)
	}
	var tables, recorded int
	pool.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename IN ('b', 'c')").Scan(&tables)
	pool.QueryRow(ctx, "SELECT count(*) FROM schema_migrations WHERE version >= 11").Scan(&recorded)
	if tables != 0 || recorded != 0 {
		t.Errorf("broken migration left %d tables or %d records; want it rolled back whole", tables, recorded)
	}

	fsys["m/0011_broken.sql"] = &fstest.MapFile{Data: []byte("")}
	fsys["m/11_dup.sql"] = &fstest.MapFile{Data: []byte("")}
	if _, err := migrations.Read(fsys, "m", sqlstore.Postgres.String()); err == nil {
		t.Error("two migrations numbered 11: want an error")
	}
}

// Times are kept to the nanosecond in a timestamptz and its _ns column, and compared so.
func TestTimesToTheNanosecond(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	created := time.Date(2026, 3, 2, 9, 30, 15, 123456789, intake.Beijing)
	tk := storetest.Ticket(created)
	if _, _, err := s.Create(ctx, tk, nil, ""); err != nil {
		t.Fatal(err)
	}
	var at time.Time
	var ns int16
	var phone string
	if err := s.pool.QueryRow(ctx, "SELECT created, created_ns, phone FROM tickets WHERE number = $1", tk.Number).Scan(&at, &ns, &phone); err != nil {
		t.Fatal(err)
	}
	if !at.Equal(created.Truncate(time.Microsecond)) || ns != 789 {
		t.Errorf("stored created %v + %d ns; want %v + 789", at, ns, created.Truncate(time.Microsecond))
	}
	if phone != "13812345678" {
		t.Errorf("phone in the database %q; want it in full", phone)
	}
	for _, c := range []struct {
		from time.Time
		n    int
	}{{created.Add(-time.Nanosecond), 1}, {created, 1}, {created.Add(time.Nanosecond), 0}} {
		got, err := s.TicketsCreated(ctx, c.from, created.Add(time.Hour))
		if err != nil || len(got) != c.n {
			t.Errorf("TicketsCreated from %v: %d, %v; want %d", c.from, len(got), err, c.n)
		}
	}
	if err := s.AddUser(ctx, &intake.User{Name: "li", Role: intake.RoleOperator}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddSession(ctx, intake.Session{TokenHash: "h", User: "li", Expires: created}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, "h", created.Add(-time.Nanosecond)); err != nil {
		t.Errorf("a nanosecond before expiry: %v", err)
	}
	if _, err := s.Session(ctx, "h", created); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("at expiry: %v; want ErrNotFound", err)
	}
}

// Errors the database raises come back as the domain's.
func TestErrorMapping(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	// PostgreSQL's text cannot hold NUL, which SQLite's can: refused as invalid, not a 500.
	nul := storetest.Ticket(time.Now())
	nul.Description = "a\x00b"
	if _, _, err := s.Create(ctx, nul, nil, ""); !errors.Is(err, intake.ErrInvalid) {
		t.Errorf("Create with a NUL: %v; want ErrInvalid", err)
	}
	if nul.Number != "" {
		t.Errorf("refused ticket numbered %s", nul.Number)
	}
	// The refused ticket took no number.
	tk := storetest.Ticket(time.Date(2026, 1, 2, 10, 0, 0, 0, intake.Beijing))
	if _, _, err := s.Create(ctx, tk, nil, ""); err != nil || tk.Number != "20260102-0001" {
		t.Errorf("next ticket %q, %v; want 20260102-0001", tk.Number, err)
	}
	if err := s.AppendTurns(ctx, &intake.Conversation{ID: "ghost"}, nil); !errors.Is(err, intake.ErrNoConversation) {
		t.Errorf("AppendTurns(ghost): %v; want ErrNoConversation", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Get(canceled, tk.Number); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a canceled ctx: %v; want context.Canceled", err)
	}
	tk.Version++
	if err := s.Update(canceled, tk, intake.Event{Action: intake.ActNote}); !errors.Is(err, context.Canceled) {
		t.Errorf("Update with a canceled ctx: %v; want context.Canceled", err)
	}
	s.Close()
	if _, err := s.Get(ctx, tk.Number); err == nil {
		t.Error("Get after Close: want an error")
	}
}

// The URL's password never reaches an error.
func TestOpenError(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err := Open(ctx, "postgres://u:secret-pw@/nodb?host=/nonexistent&connect_timeout=1")
	if err == nil || strings.Contains(err.Error(), "secret-pw") {
		t.Errorf("Open of a missing server: %v; want an error without the password", err)
	}
	if _, err := Open(ctx, "postgres://u:secret-pw@host:notaport/db"); err == nil || strings.Contains(err.Error(), "secret-pw") {
		t.Errorf("Open of a bad URL: %v; want an error without the password", err)
	}
}

// The queries the service runs most read indexes rather than the whole table.
func TestQueryPlans(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	plan := func(q string, args ...any) string {
		rows, _ := tx.Query(ctx, "EXPLAIN "+q, args...)
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(lines, "\n")
	}
	if p := plan("SELECT " + sqlstore.Postgres.TicketSelect() + " FROM tickets " + sqlstore.Postgres.ListOrder() + " LIMIT 100"); !strings.Contains(p, "tickets_queue") || strings.Contains(p, "Sort") {
		t.Errorf("List plan:\n%s\nwant tickets_queue and no sort", p)
	}
	p := plan(lateQuery, sqlstore.Postgres.Bound(time.Now())...)
	for _, idx := range []string{"tickets_sign_late", "tickets_due_late"} {
		if !strings.Contains(p, idx) {
			t.Errorf("Late plan:\n%s\nwant %s", p, idx)
		}
	}
}
