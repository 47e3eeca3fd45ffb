package postgres

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/storetest"
)

// counter is a day_counters of memory, for numbers without a database.
type counter struct {
	mu     sync.Mutex
	last   map[string]int64
	blocks []int64 // the size of each block reserved, in order
}

func (c *counter) reserve(_ context.Context, day string, n int64) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil {
		c.last = map[string]int64{}
	}
	c.last[day] += n
	c.blocks = append(c.blocks, n)
	return c.last[day], nil
}

// A quiet hotline's nodes reserve one number at a time, so that the day's numbers have no gaps and
// follow the order of creation across nodes; a busy node reserves about a second of its rate, up
// to maxBlock.
func TestNumberBlocks(t *testing.T) {
	ctx := t.Context()
	var c counter
	clock := time.Date(2026, 3, 2, 9, 0, 0, 0, intake.Beijing)
	a, b := newNumbers(c.reserve), newNumbers(c.reserve)
	for _, n := range []*numbers{a, b} {
		n.now = func() time.Time { return clock }
	}
	// A ticket every ten seconds, on one node and then the other.
	for i := range 6 {
		clock = clock.Add(10 * time.Second)
		got, err := []*numbers{a, b}[i%2].take(ctx, "20260302")
		if err != nil || got != int64(i+1) {
			t.Fatalf("quiet ticket %d: %d, %v; want %d", i, got, err, i+1)
		}
	}
	// Then a hundred a second on a.
	prev := int64(0)
	for range 3000 {
		clock = clock.Add(10 * time.Millisecond)
		got, err := a.take(ctx, "20260302")
		if err != nil || got <= prev {
			t.Fatalf("busy: %d after %d, %v; want increasing", got, prev, err)
		}
		prev = got
	}
	if biggest := slices.Max(c.blocks); biggest < 50 || biggest > 200 {
		t.Errorf("blocks %v at a hundred tickets a second; want some of about a hundred", c.blocks)
	}
	// A thousand times faster: maxBlock at most.
	for range 5000 {
		clock = clock.Add(10 * time.Microsecond)
		if _, err := a.take(ctx, "20260302"); err != nil {
			t.Fatal(err)
		}
	}
	if biggest := slices.Max(c.blocks); biggest != maxBlock {
		t.Errorf("largest block %d; want %d", biggest, maxBlock)
	}
	// A number given back is the next one given, before the block's.
	v, _ := a.take(ctx, "20260302")
	w, _ := a.take(ctx, "20260302")
	a.giveBack("20260302", v)
	if got, _ := a.take(ctx, "20260302"); got != v {
		t.Errorf("after giving %d back: %d; want %d again", v, got, v)
	}
	if got, _ := a.take(ctx, "20260302"); got <= w {
		t.Errorf("then %d; want above %d", got, w)
	}
}

// Callers on two nodes creating at once, with keys, some of them replayed: every ticket numbered
// once, a replay returning its ticket (and giving back the number it took, to its node's next
// creation: so a caller's numbers need not increase), and the day's counter at or past every
// number given. Run it with -race.
func TestNumbersTwoNodes(t *testing.T) {
	ns := nodes(t, 2)
	ctx := t.Context()
	const callers, each = 8, 60
	day := time.Date(2026, 3, 2, 9, 0, 0, 0, intake.Beijing)
	got := make([][]string, callers)
	var wg sync.WaitGroup
	for g := range callers {
		wg.Go(func() {
			s := ns[g%len(ns)]
			for i := range each {
				key := fmt.Sprintf("c%d-%d", g, i)
				replay := i%5 == 4
				if replay {
					key = fmt.Sprintf("c%d-%d", g, i-1)
				}
				st, created, err := s.Create(ctx, storetest.Ticket(day), storetest.CreateEvent(day), key)
				if err != nil {
					t.Error(err)
					return
				}
				if replay {
					if created || st.Number != got[g][len(got[g])-1] {
						t.Errorf("replay of %s: %s, created %v; want %s again", key, st.Number, created, got[g][len(got[g])-1])
					}
					continue
				}
				if !created {
					t.Errorf("%s: not created", key)
				}
				got[g] = append(got[g], st.Number)
			}
		})
	}
	wg.Wait()
	seen, highest := map[string]bool{}, 0
	for _, numbers := range got {
		for _, n := range numbers {
			if seen[n] {
				t.Errorf("%s given twice", n)
			}
			seen[n] = true
			seq, err := strconv.Atoi(strings.TrimPrefix(n, "20260302-"))
			if err != nil || seq < 1 {
				t.Errorf("%s; want 20260302-NNNN", n)
			}
			highest = max(highest, seq)
		}
	}
	var stored, last int
	if err := ns[0].pool.QueryRow(ctx, "SELECT count(*), (SELECT last FROM day_counters WHERE day = '20260302') FROM tickets").Scan(&stored, &last); err != nil {
		t.Fatal(err)
	}
	if want := callers * each * 4 / 5; stored != want || len(seen) != want {
		t.Errorf("%d tickets stored, %d numbers; want %d", stored, len(seen), want)
	}
	if last < highest {
		t.Errorf("the day's counter at %d, below the number %d given", last, highest)
	}
}

// While a node has numbers in hand its creations do not touch the day's counter row: with the row
// locked by another transaction, both nodes go on creating. (Numbered in the ticket's own
// transaction, as before, they waited for the lock: pg_blocking_pids shows them waiting.)
func TestCreateDoesNotWaitOnCounter(t *testing.T) {
	ns := nodes(t, 2)
	ctx := t.Context()
	now := time.Now()
	for _, s := range ns {
		s.numbers.minBlock = 100
		if _, _, err := s.Create(ctx, storetest.Ticket(now), nil, ""); err != nil {
			t.Fatal(err)
		}
	}
	blocker, err := ns[0].pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Rollback(context.Background())
	var pid int
	if err := blocker.QueryRow(ctx, "SELECT pg_backend_pid() FROM day_counters WHERE day = $1 FOR UPDATE",
		now.In(intake.Beijing).Format("20060102")).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 20 {
			wg.Go(func() {
				_, _, err := ns[i%2].Create(ctx, storetest.Ticket(time.Now()), storetest.CreateEvent(time.Now()), fmt.Sprint("k", i))
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	// Either the creations finish, or one of them waits for the blocker's lock.
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			return
		default:
		}
		var waiting int
		if err := ns[1].pool.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", pid).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			t.Fatalf("%d creations wait for the lock on the day's counter", waiting)
		}
		time.Sleep(time.Millisecond) // a poll, not a deadline
	}
}

// A number found taken — the counter set back by hand under running nodes — is skipped: the
// creation takes another, and no number is given twice.
func TestNumberTakenElsewhere(t *testing.T) {
	ns := nodes(t, 2)
	ctx := t.Context()
	day := time.Date(2026, 3, 2, 9, 0, 0, 0, intake.Beijing)
	ns[0].numbers.minBlock = 100
	first := storetest.Ticket(day)
	if _, _, err := ns[0].Create(ctx, first, nil, ""); err != nil || first.Number != "20260302-0001" {
		t.Fatalf("first: %q, %v", first.Number, err)
	}
	if _, err := ns[0].pool.Exec(ctx, "UPDATE day_counters SET last = 0"); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{first.Number: true}
	for i := range 4 {
		tk := storetest.Ticket(day)
		if _, _, err := ns[i%2].Create(ctx, tk, nil, ""); err != nil {
			t.Fatalf("after the counter was set back: %v", err)
		}
		if seen[tk.Number] {
			t.Fatalf("%s given twice", tk.Number)
		}
		seen[tk.Number] = true
	}
}

// A creation the database refused stored nothing: its number goes to the node's next ticket.
func TestRefusedCreateGivesNumberBack(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	day := time.Date(2026, 3, 2, 9, 0, 0, 0, intake.Beijing)
	bad := storetest.Ticket(day)
	bad.Description = "a\x00b" // PostgreSQL's text cannot hold it
	if _, _, err := s.Create(ctx, bad, nil, ""); err == nil {
		t.Fatal("a NUL stored; want it refused")
	}
	tk := storetest.Ticket(day)
	if _, _, err := s.Create(ctx, tk, nil, ""); err != nil || tk.Number != "20260302-0001" {
		t.Errorf("next ticket %q, %v; want 20260302-0001", tk.Number, err)
	}
}
