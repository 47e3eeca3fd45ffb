package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
)

// The operator desk: a conversation's handoff to a person.

var deskTests = []test{
	{"SetHandoff", testSetHandoff},
	{"SetHandoffConcurrentTakes", testSetHandoffConcurrentTakes},
	{"Handoffs", testHandoffs},
	{"HandoffSurvivesReopen", testHandoffSurvivesReopen},
}

// wantHandoff checks a conversation's handoff fields.
func wantHandoff(t *testing.T, c *intake.Conversation, state, operator, guess string, at time.Time) {
	t.Helper()
	if c.Handoff != state || c.Operator != operator || c.Guess != guess || !c.HandoffAt.Equal(at) {
		t.Errorf("conversation %s: handoff %q, operator %q, guess %q, at %v; want %q, %q, %q, %v",
			c.ID, c.Handoff, c.Operator, c.Guess, c.HandoffAt, state, operator, guess, at)
	}
}

func setHandoff(t *testing.T, s Store, id string, from []string, holder string, ch intake.HandoffChange, want bool) {
	t.Helper()
	moved, err := s.SetHandoff(t.Context(), id, from, holder, ch)
	if err != nil {
		t.Fatalf("SetHandoff(%s, %q, %q, %+v): %v", id, from, holder, ch, err)
	}
	if moved != want {
		t.Errorf("SetHandoff(%s, %q, %q, %+v) = %v; want %v", id, from, holder, ch, moved, want)
	}
}

func handoffIDs(t *testing.T, s Store) []string {
	t.Helper()
	cs, err := s.Handoffs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, c := range cs {
		if c.Handoff == intake.HandoffNone {
			t.Errorf("Handoffs lists %s, whose handoff is none", c.ID)
		}
		ids = append(ids, c.ID)
	}
	return ids
}

// SetHandoff moves only from one of the given states, and, with a holder, only the holder's
// chat; it leaves the dialogue alone, keeps the guess unless given one, and dates the change.
func testSetHandoff(t *testing.T, s Store) {
	ctx := t.Context()
	c := conversation("c1", chatT0)
	createConversation(t, s, c)
	fresh := conversationByID(t, s, "c1")
	sameConversation(t, fresh, c)
	wantHandoff(t, fresh, intake.HandoffNone, "", "", time.Time{})
	wantHandoffOf(t, s, "c1", intake.HandoffNone)
	if _, err := s.HandoffOf(ctx, "ghost"); !errors.Is(err, intake.ErrNoConversation) {
		t.Errorf("HandoffOf(ghost): %v; want ErrNoConversation", err)
	}
	if !fresh.HandoffAt.IsZero() {
		t.Errorf("HandoffAt of a new conversation = %v; want zero", fresh.HandoffAt)
	}

	// none → waiting.
	t1 := chatT0.Add(time.Minute)
	setHandoff(t, s, "c1", []string{intake.HandoffNone}, "",
		intake.HandoffChange{State: intake.HandoffWaiting, Guess: "streetlight", At: t1}, true)
	got := conversationByID(t, s, "c1")
	wantHandoff(t, got, intake.HandoffWaiting, "", "streetlight", t1)
	wantHandoffOf(t, s, "c1", intake.HandoffWaiting)
	// The dialogue itself is untouched.
	sameConversation(t, got, c)

	// A second none → waiting finds it waiting already: nothing moves.
	setHandoff(t, s, "c1", []string{intake.HandoffNone}, "",
		intake.HandoffChange{State: intake.HandoffWaiting, Guess: "water", At: chatT0.Add(2 * time.Minute)}, false)
	wantHandoff(t, conversationByID(t, s, "c1"), intake.HandoffWaiting, "", "streetlight", t1)

	// waiting → live, taken by b; an empty guess keeps the one there.
	t2 := chatT0.Add(3 * time.Minute)
	setHandoff(t, s, "c1", []string{intake.HandoffWaiting, intake.HandoffOffered}, "",
		intake.HandoffChange{State: intake.HandoffLive, Operator: "b", At: t2}, true)
	wantHandoff(t, conversationByID(t, s, "c1"), intake.HandoffLive, "b", "streetlight", t2)
	wantHandoffOf(t, s, "c1", intake.HandoffLive)

	// Taking it again from waiting fails: it is live now.
	setHandoff(t, s, "c1", []string{intake.HandoffWaiting}, "",
		intake.HandoffChange{State: intake.HandoffLive, Operator: "a", At: chatT0.Add(4 * time.Minute)}, false)
	wantHandoff(t, conversationByID(t, s, "c1"), intake.HandoffLive, "b", "streetlight", t2)

	// a cannot release b's chat.
	setHandoff(t, s, "c1", []string{intake.HandoffLive}, "a",
		intake.HandoffChange{State: intake.HandoffNone, At: chatT0.Add(5 * time.Minute)}, false)
	wantHandoff(t, conversationByID(t, s, "c1"), intake.HandoffLive, "b", "streetlight", t2)

	// b can.
	t3 := chatT0.Add(6 * time.Minute)
	setHandoff(t, s, "c1", []string{intake.HandoffLive}, "b",
		intake.HandoffChange{State: intake.HandoffNone, At: t3}, true)
	wantHandoff(t, conversationByID(t, s, "c1"), intake.HandoffNone, "", "streetlight", t3)

	// A new guess replaces the old one.
	t4 := chatT0.Add(7 * time.Minute)
	setHandoff(t, s, "c1", []string{intake.HandoffNone}, "",
		intake.HandoffChange{State: intake.HandoffWaiting, Guess: "water", At: t4}, true)
	wantHandoff(t, conversationByID(t, s, "c1"), intake.HandoffWaiting, "", "water", t4)

	// A zero At is now.
	before := time.Now()
	setHandoff(t, s, "c1", []string{intake.HandoffWaiting}, "", intake.HandoffChange{State: intake.HandoffOffered}, true)
	if got := conversationByID(t, s, "c1"); got.Handoff != intake.HandoffOffered || got.HandoffAt.Before(before) || got.HandoffAt.After(time.Now()) {
		t.Errorf("handoff %q at %v; want offered, now", got.Handoff, got.HandoffAt)
	}
	// The dialogue is still untouched, and so is its update time.
	sameConversation(t, conversationByID(t, s, "c1"), c)

	// Unknown conversations.
	if got, err := s.Conversation(ctx, "ghost"); !errors.Is(err, intake.ErrNoConversation) {
		t.Errorf("Conversation(ghost) = %v, %v; want ErrNoConversation", got, err)
	}
	if moved, err := s.SetHandoff(ctx, "ghost", []string{intake.HandoffNone}, "",
		intake.HandoffChange{State: intake.HandoffWaiting, At: t1}); moved || !errors.Is(err, intake.ErrNoConversation) {
		t.Errorf("SetHandoff(ghost) = %v, %v; want false, ErrNoConversation", moved, err)
	}
}

// Of operators taking the same waiting chat at once, on several nodes, exactly one gets it; each
// chat asked for a person once.
func testSetHandoffConcurrentTakes(t *testing.T, s Store) {
	ns := nodes(t, s, 3)
	ctx := t.Context()
	const convs, takers = 4, 20
	for k := range convs {
		id := fmt.Sprint("c", k)
		createConversation(t, s, conversation(id, chatT0))
		said(t, s, id, chatT0)
		setHandoff(t, s, id, []string{intake.HandoffNone}, "", intake.HandoffChange{State: intake.HandoffWaiting, Guess: "g", At: chatT0}, true)
	}
	for k := range convs {
		id := fmt.Sprint("c", k)
		start := make(chan struct{})
		moved := make([]bool, takers)
		var wg sync.WaitGroup
		for i := range takers {
			wg.Go(func() {
				<-start
				ok, err := ns[i%len(ns)].SetHandoff(ctx, id, []string{intake.HandoffWaiting}, "",
					intake.HandoffChange{State: intake.HandoffLive, Operator: fmt.Sprint("op", i), At: chatT0.Add(time.Duration(i+1) * time.Nanosecond)})
				if err != nil {
					t.Errorf("%s: op%d: %v", id, i, err)
				}
				moved[i] = ok
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, ok := range moved {
			if !ok {
				continue
			}
			if winner >= 0 {
				t.Errorf("%s: op%d and op%d both took it", id, winner, i)
			}
			winner = i
		}
		if winner < 0 {
			t.Errorf("%s: nobody took it", id)
			continue
		}
		wantHandoff(t, conversationByID(t, ns[len(ns)-1], id), intake.HandoffLive, fmt.Sprint("op", winner), "g", chatT0.Add(time.Duration(winner+1)))
	}
	// Asked for a person, so none was settled by the bot alone.
	if st, err := s.ChatStats(ctx, chatT0, chatT0.Add(time.Second)); err != nil || st != (intake.ChatStats{Conversations: convs}) {
		t.Errorf("ChatStats = %+v, %v; want %d conversations, none settled", st, err, convs)
	}
}

// Handoffs lists the conversations with a person involved, by the time of their last handoff
// change, oldest first.
func testHandoffs(t *testing.T, s Store) {
	ctx := t.Context()
	if got, err := s.Handoffs(ctx); err != nil || got == nil || len(got) != 0 {
		t.Errorf("Handoffs of an empty store = %v, %v; want an empty slice", got, err)
	}
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		createConversation(t, s, conversation(id, chatT0))
	}
	// Asked in the order d, b, c, e (a never asks); e is then taken, d offered a ticket.
	for i, id := range []string{"d", "b", "c", "e"} {
		setHandoff(t, s, id, []string{intake.HandoffNone}, "",
			intake.HandoffChange{State: intake.HandoffWaiting, Guess: "g-" + id, At: chatT0.Add(time.Duration(i+1) * time.Minute)}, true)
	}
	if got, want := handoffIDs(t, s), []string{"d", "b", "c", "e"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Handoffs = %v; want %v, oldest first", got, want)
	}
	setHandoff(t, s, "e", []string{intake.HandoffWaiting}, "", intake.HandoffChange{State: intake.HandoffLive, Operator: "op1", At: chatT0.Add(10 * time.Minute)}, true)
	setHandoff(t, s, "d", []string{intake.HandoffWaiting}, "", intake.HandoffChange{State: intake.HandoffOffered, At: chatT0.Add(11 * time.Minute)}, true)
	if got, want := handoffIDs(t, s), []string{"b", "c", "e", "d"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Handoffs = %v; want %v, by the time of the last change", got, want)
	}
	cs, err := s.Handoffs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range cs {
		if c.ID == "e" {
			found = true
			wantHandoff(t, c, intake.HandoffLive, "op1", "g-e", chatT0.Add(10*time.Minute))
			sameConversation(t, c, conversation("e", chatT0))
		}
	}
	if !found {
		t.Error("Handoffs left out e")
	}

	// Back to the bot: gone from the list.
	setHandoff(t, s, "c", []string{intake.HandoffWaiting}, "", intake.HandoffChange{State: intake.HandoffNone, At: chatT0.Add(12 * time.Minute)}, true)
	setHandoff(t, s, "e", []string{intake.HandoffLive}, "op1", intake.HandoffChange{State: intake.HandoffNone, At: chatT0.Add(13 * time.Minute)}, true)
	if got, want := handoffIDs(t, s), []string{"b", "d"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Handoffs = %v; want %v", got, want)
	}
}

// A handoff, its holder and the operator's turns are there after the store is closed and opened
// again, and the chat is still the holder's alone to release. Needs Reopener.
func testHandoffSurvivesReopen(t *testing.T, s Store) {
	r := reopener(t, s)
	for _, id := range []string{"c1", "c2"} {
		createConversation(t, s, conversation(id, chatT0))
	}
	at := chatT0.Add(time.Minute)
	setHandoff(t, s, "c1", []string{intake.HandoffNone}, "", intake.HandoffChange{State: intake.HandoffWaiting, Guess: "streetlight", At: chatT0}, true)
	setHandoff(t, s, "c1", []string{intake.HandoffWaiting}, "", intake.HandoffChange{State: intake.HandoffLive, Operator: "wang", At: at}, true)
	if err := s.AddTurns(t.Context(), "c1", []intake.Turn{{At: at, From: "operator", Agent: "12", Text: "您好"}}); err != nil {
		t.Fatal(err)
	}

	s = r.Reopen(t)
	for _, c := range []struct {
		id, state, operator, guess string
		at                         time.Time
	}{
		{"c1", intake.HandoffLive, "wang", "streetlight", at},
		{"c2", intake.HandoffNone, "", "", time.Time{}},
	} {
		wantHandoff(t, conversationByID(t, s, c.id), c.state, c.operator, c.guess, c.at)
	}
	if ids := handoffIDs(t, s); !reflect.DeepEqual(ids, []string{"c1"}) {
		t.Errorf("Handoffs after reopen = %v; want [c1]", ids)
	}
	if got := turns(t, s, "c1", 0); len(got) != 1 || got[0].Agent != "12" || got[0].From != "operator" || got[0].Seq != 1 {
		t.Errorf("turns after reopen = %+v; want the operator's, agent 12", got)
	}
	// Still held by wang: only wang releases it.
	setHandoff(t, s, "c1", []string{intake.HandoffLive}, "li", intake.HandoffChange{State: intake.HandoffNone}, false)
	setHandoff(t, s, "c1", []string{intake.HandoffLive}, "wang", intake.HandoffChange{State: intake.HandoffNone}, true)
}

// wantHandoffOf checks HandoffOf, the handoff state read alone, against want.
func wantHandoffOf(t *testing.T, s Store, id, want string) {
	t.Helper()
	got, err := s.HandoffOf(t.Context(), id)
	if err != nil || got != want {
		t.Errorf("HandoffOf(%s) = %q, %v; want %q", id, got, err, want)
	}
}
