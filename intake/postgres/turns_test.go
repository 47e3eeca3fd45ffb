package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
)

// Two nodes' residents and operators append to the same conversations at once: every turn is
// stored once, each conversation's turns are numbered 1, 2, … without a gap or a twin, the
// conversations' states are the last appended, and the appends shared transactions.
func TestTurnWriterTwoNodes(t *testing.T) {
	ns := nodes(t, 2)
	ctx := context.Background()
	ids := []string{"c-a", "c-b", "c-c", "c-d"}
	for _, id := range ids {
		c := &intake.Conversation{ID: id, TokenHash: "hash-" + id}
		if err := ns[0].CreateConversation(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	const each = 20 // appends per goroutine
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := ns[g%2]
			for i := range each {
				id := ids[(g+i)%len(ids)]
				var err error
				if g%4 == 3 { // an operator's turn
					err = s.AddTurns(ctx, id, []intake.Turn{{At: time.Now(), From: "operator", Text: fmt.Sprintf("g%d %d", g, i), Agent: "0001"}})
				} else {
					c := &intake.Conversation{ID: id, State: intake.DialogState{Description: fmt.Sprintf("g%d %d", g, i)}, Updated: time.Now()}
					turns := []intake.Turn{{From: "resident", Text: "又停水了"}, {From: "bot", Text: "请问在哪个小区？", Reply: &intake.Reply{Type: "reply", Text: "请问在哪个小区？"}}}
					if err = s.AppendTurns(ctx, c, turns); err == nil && (turns[1].Seq != turns[0].Seq+1 || turns[0].Seq < 1) {
						err = fmt.Errorf("numbered %d, %d", turns[0].Seq, turns[1].Seq)
					}
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, id := range ids {
		turns, err := ns[1].Turns(ctx, id, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i, tu := range turns {
			if tu.Seq != i+1 {
				t.Fatalf("%s: turn %d is numbered %d", id, i+1, tu.Seq)
			}
		}
		total += len(turns)
	}
	// 12 goroutines append two turns at a time, 4 an operator's one.
	if want := (12*2 + 4) * each; total != want {
		t.Fatalf("%d turns stored, want %d", total, want)
	}
	batches := ns[0].turns.batches.Load() + ns[1].turns.batches.Load()
	if appends := int64(16 * each); batches >= appends {
		t.Fatalf("%d transactions for %d appends: none shared one", batches, appends)
	}
	t.Logf("%d appends in %d transactions", 16*each, batches)
}

// An append to a conversation that does not exist fails alone: the other in its transaction is
// stored.
func TestTurnWriterUnknownConversation(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	for _, id := range []string{"held", "known"} {
		if err := s.CreateConversation(ctx, &intake.Conversation{ID: id, TokenHash: "h-" + id}); err != nil {
			t.Fatal(err)
		}
	}
	// A first batch waits on a row the test holds, while the next two appends queue behind it.
	lock, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback(ctx)
	if _, err := lock.Exec(ctx, "SELECT 1 FROM conversations WHERE id = 'held' FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	add := func(id string, err *error, wg *sync.WaitGroup) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			*err = s.AddTurns(ctx, id, []intake.Turn{{At: time.Now(), From: "system", Text: "转接中"}})
		}()
	}
	waitQueue := func(n int) {
		deadline := time.Now().Add(10 * time.Second)
		for len(s.turns.queue) != n {
			if time.Now().After(deadline) {
				t.Fatalf("the queue holds %d appends, want %d", len(s.turns.queue), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	var wg sync.WaitGroup
	var errHeld, errNobody, errKnown error
	add("held", &errHeld, &wg)
	for deadline := time.Now().Add(10 * time.Second); scalar[int64](t, s, "SELECT count(*) FROM pg_locks WHERE NOT granted") == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the first batch never waited on the held row")
		}
		time.Sleep(time.Millisecond)
	}
	add("nobody", &errNobody, &wg)
	add("known", &errKnown, &wg)
	waitQueue(2)
	if err := lock.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if errNobody != intake.ErrNoConversation {
		t.Errorf("unknown conversation: %v, want ErrNoConversation", errNobody)
	}
	if errHeld != nil || errKnown != nil {
		t.Errorf("known conversations: %v, %v", errHeld, errKnown)
	}
	if n := scalar[int64](t, s, "SELECT count(*) FROM turns"); n != 2 {
		t.Errorf("%d turns stored, want 2", n)
	}
	if b := s.turns.batches.Load(); b != 2 {
		t.Errorf("%d transactions, want 2: the held one, then the other two together", b)
	}
}
