package sqlite

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/bayannur/hotline/bot"
)

// The operator desk's behaviour (handoffs, operator turns, canned replies, staff numbers) is
// tested by the conformance suite (conformance_test.go); what is left is SQLite's own.

// wantHandoff checks a conversation's handoff fields.
func wantHandoff(t *testing.T, c *bot.Conversation, state, operator, guess string, at time.Time) {
	t.Helper()
	if c.Handoff != state || c.Operator != operator || c.Guess != guess || !c.HandoffAt.Equal(at) {
		t.Errorf("conversation %s: handoff %q, operator %q, guess %q, at %v; want %q, %q, %q, %v",
			c.ID, c.Handoff, c.Operator, c.Guess, c.HandoffAt, state, operator, guess, at)
	}
}

func setHandoff(t *testing.T, s *Store, id string, from []string, holder string, ch bot.HandoffChange, want bool) {
	t.Helper()
	moved, err := s.SetHandoff(context.Background(), id, from, holder, ch)
	if err != nil {
		t.Fatalf("SetHandoff(%s, %q, %q, %+v): %v", id, from, holder, ch, err)
	}
	if moved != want {
		t.Errorf("SetHandoff(%s, %q, %q, %+v) = %v; want %v", id, from, holder, ch, moved, want)
	}
}

func TestHandoffSurvivesReopen(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	for _, id := range []string{"c1", "c2"} {
		if err := s.CreateConversation(ctx, conversation(id, chatT0)); err != nil {
			t.Fatal(err)
		}
	}
	at := chatT0.Add(time.Minute)
	setHandoff(t, s, "c1", []string{bot.HandoffNone}, "", bot.HandoffChange{State: bot.HandoffWaiting, Guess: "streetlight", At: chatT0}, true)
	setHandoff(t, s, "c1", []string{bot.HandoffWaiting}, "", bot.HandoffChange{State: bot.HandoffLive, Operator: "wang", At: at}, true)
	turns := []bot.Turn{{At: at, From: "operator", Agent: "12", Text: "您好"}}
	if err := s.AddTurns(ctx, "c1", turns); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for _, c := range []struct {
		id, state, operator, guess string
		at                         time.Time
	}{
		{"c1", bot.HandoffLive, "wang", "streetlight", at},
		{"c2", bot.HandoffNone, "", "", time.Time{}},
	} {
		got, err := s2.Conversation(ctx, c.id)
		if err != nil {
			t.Fatal(err)
		}
		wantHandoff(t, got, c.state, c.operator, c.guess, c.at)
	}
	cs, err := s2.Handoffs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	if !reflect.DeepEqual(ids, []string{"c1"}) {
		t.Errorf("Handoffs after reopen = %v; want [c1]", ids)
	}
	all, err := s2.Turns(ctx, "c1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].Agent != "12" || all[0].From != "operator" || all[0].Seq != 1 {
		t.Errorf("turns after reopen = %+v; want the operator's, agent 12", all)
	}
	// Still held by wang: only wang releases it.
	setHandoff(t, s2, "c1", []string{bot.HandoffLive}, "li", bot.HandoffChange{State: bot.HandoffNone}, false)
	setHandoff(t, s2, "c1", []string{bot.HandoffLive}, "wang", bot.HandoffChange{State: bot.HandoffNone}, true)
}
