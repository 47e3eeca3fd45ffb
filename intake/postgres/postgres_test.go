package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
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
	ms, err := migrations.For(sqlstore.Postgres)
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
		ms, err := migrations.Read(fsys, "m", sqlstore.Postgres)
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
	ms, _ := migrations.Read(fsys, "m", sqlstore.Postgres)
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
	if _, err := migrations.Read(fsys, "m", sqlstore.Postgres); err == nil {
		t.Error("two migrations numbered 11: want an error")
	}
}

// Several nodes creating tickets of one day at once: each number once, and none skipped.
func TestNodesNumbering(t *testing.T) {
	ns := nodes(t, 3)
	ctx := t.Context()
	day := time.Date(2026, 3, 2, 9, 0, 0, 123456789, intake.Beijing)
	const workers, each = 12, 10
	numbers := make([]string, workers*each)
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			s := ns[g%len(ns)]
			for i := range each {
				k := g*each + i
				key := ""
				if k%2 == 0 {
					key = fmt.Sprint("k-", k)
				}
				st, created, err := s.Create(ctx, storetest.Ticket(day), storetest.CreateEvent(day), key)
				if err != nil || !created {
					t.Errorf("create %d: %v, %v", k, created, err)
					return
				}
				numbers[k] = st.Number
			}
		})
	}
	wg.Wait()
	sort.Strings(numbers)
	for i, n := range numbers {
		if want := fmt.Sprintf("20260302-%04d", i+1); n != want {
			t.Fatalf("numbers %v; want 20260302-0001 to -%04d, each once", numbers, len(numbers))
		}
	}
	if n := scalar[int](t, ns[0], "SELECT count(*) FROM events"); n != workers*each {
		t.Errorf("%d events; want %d", n, workers*each)
	}
}

// The same idempotency key sent to several nodes at once makes one ticket and takes one number.
func TestNodesIdempotencyRace(t *testing.T) {
	ns := nodes(t, 2)
	ctx := t.Context()
	now := time.Date(2026, 5, 6, 10, 0, 0, 0, intake.Beijing)
	for round := range 5 {
		key := fmt.Sprint("same-", round)
		var mu sync.Mutex
		numbers, created := map[string]bool{}, 0
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				<-start
				st, ok, err := ns[i%2].Create(ctx, storetest.Ticket(now), storetest.CreateEvent(now), key)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				numbers[st.Number] = true
				if ok {
					created++
				}
			})
		}
		close(start)
		wg.Wait()
		want := fmt.Sprintf("20260506-%04d", round+1)
		if len(numbers) != 1 || !numbers[want] || created != 1 {
			t.Errorf("round %d: numbers %v, %d created; want %s, once", round, numbers, created, want)
		}
	}
	if n := scalar[int](t, ns[0], "SELECT count(*) FROM tickets"); n != 5 {
		t.Errorf("%d tickets; want 5", n)
	}
	if n := scalar[int](t, ns[0], "SELECT count(*) FROM events"); n != 5 {
		t.Errorf("%d events; want 5: the losers' are not written", n)
	}
}

// Two nodes updating the same version of a ticket: one wins, the other gets ErrConflict.
func TestNodesUpdateRace(t *testing.T) {
	ns := nodes(t, 2)
	ctx := t.Context()
	now := time.Now()
	tk := storetest.Ticket(now)
	if _, _, err := ns[0].Create(ctx, tk, storetest.CreateEvent(now), ""); err != nil {
		t.Fatal(err)
	}
	sla := intake.DefaultSLA(intake.DefaultCalendar())
	for round := range 20 {
		copies := make([]intake.Ticket, 2)
		errs := make([]error, 2)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range 2 {
			copies[i] = *tk
			ev, err := copies[i].Apply(intake.Change{Action: intake.ActUrge, Actor: fmt.Sprint("staff", i)}, now, sla)
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				<-start
				errs[i] = ns[i].Update(ctx, &copies[i], ev)
			})
		}
		close(start)
		wg.Wait()
		won := -1
		for i, err := range errs {
			switch {
			case err == nil:
				won = i
			case !errors.Is(err, intake.ErrConflict):
				t.Fatalf("round %d: %v; want nil or ErrConflict", round, err)
			}
		}
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("round %d: errors %v; want exactly one ErrConflict", round, errs)
		}
		tk = &copies[won]
	}
	got, err := ns[1].Get(ctx, tk.Number)
	if err != nil || got.Version != 21 || got.Urged != 20 {
		t.Fatalf("after 20 rounds: %+v, %v; want version 21, urged 20", got, err)
	}
	if n := scalar[int](t, ns[0], "SELECT count(*) FROM events"); n != 21 {
		t.Errorf("%d events; want 21: one create, one per round", n)
	}
}

// Operators on several nodes taking the same waiting chat: exactly one gets it.
func TestNodesSetHandoffRace(t *testing.T) {
	ns := nodes(t, 3)
	ctx := t.Context()
	at := time.Date(2025, 3, 1, 9, 30, 0, 123456789, time.UTC)
	for k := range 5 {
		id := fmt.Sprint("c", k)
		if err := ns[0].CreateConversation(ctx, &intake.Conversation{ID: id, TokenHash: "h-" + id, Created: at}); err != nil {
			t.Fatal(err)
		}
		if ok, err := ns[0].SetHandoff(ctx, id, []string{intake.HandoffNone}, "", intake.HandoffChange{State: intake.HandoffWaiting, At: at}); !ok || err != nil {
			t.Fatalf("waiting: %v, %v", ok, err)
		}
		moved := make([]bool, 15)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range moved {
			wg.Go(func() {
				<-start
				ok, err := ns[i%len(ns)].SetHandoff(ctx, id, []string{intake.HandoffWaiting}, "",
					intake.HandoffChange{State: intake.HandoffLive, Operator: fmt.Sprint("op", i), At: at.Add(time.Duration(i+1) * time.Nanosecond)})
				if err != nil {
					t.Error(err)
				}
				moved[i] = ok
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, ok := range moved {
			if ok {
				if winner >= 0 {
					t.Fatalf("%s: op%d and op%d both took it", id, winner, i)
				}
				winner = i
			}
		}
		c, err := ns[1].Conversation(ctx, id)
		if err != nil || winner < 0 || c.Operator != fmt.Sprint("op", winner) || !c.HandoffAt.Equal(at.Add(time.Duration(winner+1))) {
			t.Errorf("%s: winner %d, conversation %+v, %v", id, winner, c, err)
		}
	}
	// Asked for a person once each: the count the chat stats read.
	if n := scalar[int](t, ns[0], "SELECT sum(handoffs) FROM conversations"); n != 5 {
		t.Errorf("handoffs %d; want 5", n)
	}
}

// Nodes appending to one conversation at once: the turns are numbered 1…n, each once, and each
// call's turns in one run.
func TestNodesAppendTurns(t *testing.T) {
	ns := nodes(t, 2)
	ctx := t.Context()
	at := time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)
	if err := ns[0].CreateConversation(ctx, &intake.Conversation{ID: "c1", TokenHash: "h1", Created: at}); err != nil {
		t.Fatal(err)
	}
	const writers, per = 10, 3
	seqs := make([][]int, writers)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			turns := make([]intake.Turn, per)
			for i := range turns {
				turns[i] = intake.Turn{From: "operator", Agent: "7", Text: fmt.Sprint(g, "-", i)}
			}
			var err error
			if g%2 == 0 {
				err = ns[g%2].AddTurns(ctx, "c1", turns)
			} else {
				err = ns[g%2].AppendTurns(ctx, &intake.Conversation{ID: "c1", Updated: at.Add(time.Duration(g) * time.Second)}, turns)
			}
			if err != nil {
				t.Error(err)
				return
			}
			for _, tu := range turns {
				seqs[g] = append(seqs[g], tu.Seq)
			}
		})
	}
	wg.Wait()
	var all []int
	for g, ss := range seqs {
		for i := 1; i < len(ss); i++ {
			if ss[i] != ss[i-1]+1 {
				t.Errorf("writer %d: seqs %v; want one run", g, ss)
			}
		}
		all = append(all, ss...)
	}
	sort.Ints(all)
	for i, n := range all {
		if n != i+1 {
			t.Fatalf("seqs %v; want 1..%d, each once", all, writers*per)
		}
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
	if err := s.AddFeedback(ctx, intake.Feedback{ConversationID: "ghost", MessageID: "m", Topic: "x"}); !errors.Is(err, intake.ErrNoConversation) {
		t.Errorf("feedback in an unknown conversation: %v; want ErrNoConversation", err)
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
