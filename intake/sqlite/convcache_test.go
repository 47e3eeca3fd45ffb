package sqlite

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
)

// stored reads conversation id from the file, past the cache.
func stored(t *testing.T, s *Store, id string) *intake.Conversation {
	t.Helper()
	c, err := s.Shared.Conversation(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sameAsStored fails t unless what the store answers for id is what the file holds.
func sameAsStored(t *testing.T, s *Store, id, when string) *intake.Conversation {
	t.Helper()
	got, err := s.Conversation(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if want := stored(t, s, id); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: the store answers\n%+v\nthe file holds\n%+v", when, got, want)
	}
	return got
}

func newConv(t *testing.T, s *Store, id string) {
	t.Helper()
	c := &intake.Conversation{ID: id, TokenHash: "hash-" + id, Community: "jinqiao"}
	if err := s.CreateConversation(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

// The conversation a message reads is kept once read, and every write through the store keeps it
// equal to the file: the dialogue's state, an operator's turn, a handoff.
func TestConversationCacheFollowsWrites(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	newConv(t, s, "c1")
	if _, e := s.convs.get("c1"); e != nil {
		t.Fatal("a conversation just created is not kept")
	}
	c := sameAsStored(t, s, "c1", "first read")

	// Kept: a change made behind the store's back (no store does this) is not seen.
	if _, err := rawConn(t, path).ExecContext(ctx, "UPDATE conversations SET community = 'elsewhere' WHERE id = 'c1'"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Conversation(ctx, "c1"); got.Community != "jinqiao" {
		t.Fatalf("the second read went to the file (community %q): nothing is kept", got.Community)
	}
	if _, err := rawConn(t, path).ExecContext(ctx, "UPDATE conversations SET community = 'jinqiao' WHERE id = 'c1'"); err != nil {
		t.Fatal(err)
	}

	c.State = intake.DialogState{Flow: intake.FlowReport, Step: intake.StepPlace, Topic: "heating"}
	c.Community, c.Updated = "shengli", time.Now()
	if err := s.AppendTurns(ctx, c, []intake.Turn{{From: "resident", Text: "暖气不热"}, {From: "bot", Text: "在哪里？"}}); err != nil {
		t.Fatal(err)
	}
	got := sameAsStored(t, s, "c1", "after the dialogue's turns")
	if got.State.Step != intake.StepPlace || got.Community != "shengli" {
		t.Fatalf("after the dialogue's turns: %+v", got)
	}

	later := c.Updated.Add(time.Minute)
	if err := s.AddTurns(ctx, "c1", []intake.Turn{{At: later, From: "operator", Text: "您好", Agent: "0001"}}); err != nil {
		t.Fatal(err)
	}
	if got := sameAsStored(t, s, "c1", "after an operator's turn"); !got.Updated.Equal(later) {
		t.Fatalf("updated %v, want %v", got.Updated, later)
	}
	if err := s.AddTurns(ctx, "c1", []intake.Turn{{At: c.Updated.Add(-time.Hour), From: "system", Text: "早先"}}); err != nil {
		t.Fatal(err)
	}
	sameAsStored(t, s, "c1", "after an earlier turn (updated stays)")

	for _, step := range []struct {
		from []string
		ch   intake.HandoffChange
	}{
		{[]string{intake.HandoffNone}, intake.HandoffChange{State: intake.HandoffWaiting, Guess: "heating"}},
		{[]string{intake.HandoffWaiting}, intake.HandoffChange{State: intake.HandoffLive, Operator: "op1"}},
		{[]string{intake.HandoffLive}, intake.HandoffChange{State: intake.HandoffNone}},
	} {
		moved, err := s.SetHandoff(ctx, "c1", step.from, "", step.ch)
		if err != nil || !moved {
			t.Fatalf("handoff to %q: moved %v, %v", step.ch.State, moved, err)
		}
		if got := sameAsStored(t, s, "c1", "handoff to "+step.ch.State); got.Handoff != step.ch.State {
			t.Fatalf("handoff %q, want %q", got.Handoff, step.ch.State)
		}
		if h, err := s.HandoffOf(ctx, "c1"); err != nil || h != step.ch.State {
			t.Fatalf("HandoffOf: %q, %v; want %q", h, err, step.ch.State)
		}
	}
	// Not moved (someone else changed it first): nothing changes.
	if moved, err := s.SetHandoff(ctx, "c1", []string{intake.HandoffLive}, "", intake.HandoffChange{State: intake.HandoffNone}); err != nil || moved {
		t.Fatalf("moved %v, %v", moved, err)
	}
	sameAsStored(t, s, "c1", "a handoff that did not move")

	if _, err := s.Conversation(ctx, "nobody"); err != intake.ErrNoConversation {
		t.Fatalf("unknown id: %v", err)
	}
}

// A write that fails is rolled back in the file and leaves the kept conversation as it was: here
// the handoff's webhook event cannot be written, after the handoff's own update succeeded in the
// transaction.
func TestConversationCacheDropsFailedWrite(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	newConv(t, s, "c1")
	sameAsStored(t, s, "c1", "first read")
	sub := &intake.Subscription{ID: "s1", URL: "https://example.org/hook", Events: []intake.EventKind{intake.KindHandoffWaiting}, Created: time.Now()}
	if err := s.AddSubscription(ctx, sub); err != nil {
		t.Fatal(err)
	}
	if _, err := rawConn(t, path).ExecContext(ctx, `CREATE TRIGGER no_outbox BEFORE INSERT ON webhook_outbox
		BEGIN SELECT RAISE(ABORT, 'the outbox is full'); END`); err != nil {
		t.Fatal(err)
	}
	// The failing write shares its transaction with one that commits: the writer is held while
	// both queue up.
	newConv(t, s, "c2")
	hold, held := make(chan struct{}), make(chan struct{})
	go s.write(ctx, func(*writer) error { close(held); <-hold; return nil })
	<-held
	var wg sync.WaitGroup
	var moved bool
	var err error
	wg.Add(2)
	go func() {
		defer wg.Done()
		moved, err = s.SetHandoff(ctx, "c1", []string{intake.HandoffNone}, "", intake.HandoffChange{State: intake.HandoffWaiting})
	}()
	go func() {
		defer wg.Done()
		if err := s.AddTurns(ctx, "c2", []intake.Turn{{From: "operator", Text: "您好"}}); err != nil {
			t.Error(err)
		}
	}()
	for len(s.ops) < 2 {
		time.Sleep(time.Millisecond)
	}
	close(hold)
	wg.Wait()
	if err == nil || !strings.Contains(err.Error(), "outbox is full") {
		t.Fatalf("moved %v, err %v: want the trigger's error", moved, err)
	}
	if got := sameAsStored(t, s, "c1", "after the failed handoff"); got.Handoff != intake.HandoffNone {
		t.Fatalf("handoff %q after a failed write", got.Handoff)
	}
}

// Residents' messages, operators' turns and handoffs on a few conversations at once, with reads
// between them (go test -race): at the end the store answers what the file holds.
func TestConversationCacheConcurrent(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	ids := []string{"a", "b", "c"}
	for _, id := range ids {
		newConv(t, s, id)
	}
	var wg sync.WaitGroup
	states := []string{intake.HandoffNone, intake.HandoffWaiting, intake.HandoffLive}
	for g := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				id := ids[(g+i)%len(ids)]
				var err error
				switch (g + i) % 4 {
				case 0:
					var c *intake.Conversation
					if c, err = s.Conversation(ctx, id); err == nil {
						c.State.Description = fmt.Sprintf("g%d-%d", g, i)
						c.Updated = time.Now()
						err = s.AppendTurns(ctx, c, []intake.Turn{{From: "resident", Text: "又停水了"}})
					}
				case 1:
					err = s.AddTurns(ctx, id, []intake.Turn{{At: time.Now(), From: "operator", Text: "收到"}})
				case 2:
					from := states[i%3]
					_, err = s.SetHandoff(ctx, id, []string{from}, "", intake.HandoffChange{State: states[(i+1)%3], Operator: "op"})
				default:
					_, err = s.HandoffOf(ctx, id)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, id := range ids {
		sameAsStored(t, s, id, "after the writes of "+id)
	}
}
