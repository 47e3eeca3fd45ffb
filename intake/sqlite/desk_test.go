package sqlite

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/intake"
)

// The operator desk's store (migrations/0003_desk.sql): handoffs, operator turns, canned replies
// and staff numbers.

// handoffOf reads conversation id back by id.
func handoffOf(t *testing.T, s *Store, id string) *bot.Conversation {
	t.Helper()
	c, err := s.Conversation(context.Background(), id)
	if err != nil {
		t.Fatalf("Conversation(%s): %v", id, err)
	}
	return c
}

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

func TestSetHandoff(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	c := conversation("c1", chatT0)
	if err := s.CreateConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	fresh := handoffOf(t, s, "c1")
	sameConversation(t, fresh, c)
	wantHandoff(t, fresh, bot.HandoffNone, "", "", time.Time{})
	if !fresh.HandoffAt.IsZero() {
		t.Errorf("HandoffAt of a new conversation = %v; want zero", fresh.HandoffAt)
	}

	// none → waiting.
	t1 := chatT0.Add(time.Minute)
	setHandoff(t, s, "c1", []string{bot.HandoffNone}, "",
		bot.HandoffChange{State: bot.HandoffWaiting, Guess: "streetlight", At: t1}, true)
	got := handoffOf(t, s, "c1")
	wantHandoff(t, got, bot.HandoffWaiting, "", "streetlight", t1)
	// The dialogue itself is untouched.
	sameConversation(t, got, c)

	// A second none → waiting finds it waiting already: nothing moves.
	setHandoff(t, s, "c1", []string{bot.HandoffNone}, "",
		bot.HandoffChange{State: bot.HandoffWaiting, Guess: "water", At: chatT0.Add(2 * time.Minute)}, false)
	wantHandoff(t, handoffOf(t, s, "c1"), bot.HandoffWaiting, "", "streetlight", t1)

	// waiting → live, taken by b; an empty guess keeps the one there.
	t2 := chatT0.Add(3 * time.Minute)
	setHandoff(t, s, "c1", []string{bot.HandoffWaiting, bot.HandoffOffered}, "",
		bot.HandoffChange{State: bot.HandoffLive, Operator: "b", At: t2}, true)
	wantHandoff(t, handoffOf(t, s, "c1"), bot.HandoffLive, "b", "streetlight", t2)

	// Taking it again from waiting fails: it is live now.
	setHandoff(t, s, "c1", []string{bot.HandoffWaiting}, "",
		bot.HandoffChange{State: bot.HandoffLive, Operator: "a", At: chatT0.Add(4 * time.Minute)}, false)
	wantHandoff(t, handoffOf(t, s, "c1"), bot.HandoffLive, "b", "streetlight", t2)

	// a cannot release b's chat.
	setHandoff(t, s, "c1", []string{bot.HandoffLive}, "a",
		bot.HandoffChange{State: bot.HandoffNone, At: chatT0.Add(5 * time.Minute)}, false)
	wantHandoff(t, handoffOf(t, s, "c1"), bot.HandoffLive, "b", "streetlight", t2)

	// b can.
	t3 := chatT0.Add(6 * time.Minute)
	setHandoff(t, s, "c1", []string{bot.HandoffLive}, "b",
		bot.HandoffChange{State: bot.HandoffNone, At: t3}, true)
	wantHandoff(t, handoffOf(t, s, "c1"), bot.HandoffNone, "", "streetlight", t3)

	// A new guess replaces the old one.
	t4 := chatT0.Add(7 * time.Minute)
	setHandoff(t, s, "c1", []string{bot.HandoffNone}, "",
		bot.HandoffChange{State: bot.HandoffWaiting, Guess: "water", At: t4}, true)
	wantHandoff(t, handoffOf(t, s, "c1"), bot.HandoffWaiting, "", "water", t4)

	// A zero At is now.
	before := time.Now()
	setHandoff(t, s, "c1", []string{bot.HandoffWaiting}, "", bot.HandoffChange{State: bot.HandoffOffered}, true)
	if got := handoffOf(t, s, "c1"); got.Handoff != bot.HandoffOffered || got.HandoffAt.Before(before) || got.HandoffAt.After(time.Now()) {
		t.Errorf("handoff %q at %v; want offered, now", got.Handoff, got.HandoffAt)
	}

	// Unknown conversations.
	if got, err := s.Conversation(ctx, "ghost"); !errors.Is(err, bot.ErrNoConversation) {
		t.Errorf("Conversation(ghost) = %v, %v; want ErrNoConversation", got, err)
	}
	if moved, err := s.SetHandoff(ctx, "ghost", []string{bot.HandoffNone}, "",
		bot.HandoffChange{State: bot.HandoffWaiting, At: t1}); moved || !errors.Is(err, bot.ErrNoConversation) {
		t.Errorf("SetHandoff(ghost) = %v, %v; want false, ErrNoConversation", moved, err)
	}
}

// Of operators taking the same waiting chat at once, exactly one gets it.
func TestSetHandoffConcurrentTakes(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	const convs, takers = 4, 20
	for k := range convs {
		id := fmt.Sprint("c", k)
		if err := s.CreateConversation(ctx, conversation(id, chatT0)); err != nil {
			t.Fatal(err)
		}
		setHandoff(t, s, id, []string{bot.HandoffNone}, "", bot.HandoffChange{State: bot.HandoffWaiting, Guess: "g", At: chatT0}, true)
	}
	for k := range convs {
		id := fmt.Sprint("c", k)
		start := make(chan struct{})
		moved := make([]bool, takers)
		var wg sync.WaitGroup
		for i := range takers {
			wg.Go(func() {
				<-start
				ok, err := s.SetHandoff(ctx, id, []string{bot.HandoffWaiting}, "",
					bot.HandoffChange{State: bot.HandoffLive, Operator: fmt.Sprint("op", i), At: chatT0.Add(time.Duration(i+1) * time.Second)})
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
		wantHandoff(t, handoffOf(t, s, id), bot.HandoffLive, fmt.Sprint("op", winner), "g", chatT0.Add(time.Duration(winner+1)*time.Second))
	}
}

func handoffIDs(t *testing.T, s *Store) []string {
	t.Helper()
	cs, err := s.Handoffs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, c := range cs {
		if c.Handoff == bot.HandoffNone {
			t.Errorf("Handoffs lists %s, whose handoff is none", c.ID)
		}
		ids = append(ids, c.ID)
	}
	return ids
}

func TestHandoffs(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	if got, err := s.Handoffs(ctx); err != nil || got == nil || len(got) != 0 {
		t.Errorf("Handoffs of an empty store = %v, %v; want an empty slice", got, err)
	}
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		if err := s.CreateConversation(ctx, conversation(id, chatT0)); err != nil {
			t.Fatal(err)
		}
	}
	// Asked in the order d, b, c, e (a never asks); e is then taken, c offered a ticket.
	for i, id := range []string{"d", "b", "c", "e"} {
		setHandoff(t, s, id, []string{bot.HandoffNone}, "",
			bot.HandoffChange{State: bot.HandoffWaiting, Guess: "g-" + id, At: chatT0.Add(time.Duration(i+1) * time.Minute)}, true)
	}
	if got, want := handoffIDs(t, s), []string{"d", "b", "c", "e"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Handoffs = %v; want %v, oldest first", got, want)
	}
	setHandoff(t, s, "e", []string{bot.HandoffWaiting}, "", bot.HandoffChange{State: bot.HandoffLive, Operator: "op1", At: chatT0.Add(10 * time.Minute)}, true)
	setHandoff(t, s, "d", []string{bot.HandoffWaiting}, "", bot.HandoffChange{State: bot.HandoffOffered, At: chatT0.Add(11 * time.Minute)}, true)
	if got, want := handoffIDs(t, s), []string{"b", "c", "e", "d"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Handoffs = %v; want %v, by the time of the last change", got, want)
	}
	cs, err := s.Handoffs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.ID == "e" {
			wantHandoff(t, c, bot.HandoffLive, "op1", "g-e", chatT0.Add(10*time.Minute))
			sameConversation(t, c, conversation("e", chatT0))
		}
	}

	// Back to the bot: gone from the list.
	setHandoff(t, s, "c", []string{bot.HandoffWaiting}, "", bot.HandoffChange{State: bot.HandoffNone, At: chatT0.Add(12 * time.Minute)}, true)
	setHandoff(t, s, "e", []string{bot.HandoffLive}, "op1", bot.HandoffChange{State: bot.HandoffNone, At: chatT0.Add(13 * time.Minute)}, true)
	if got, want := handoffIDs(t, s), []string{"b", "d"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Handoffs = %v; want %v", got, want)
	}
}

func TestAddTurns(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	c := conversation("c1", chatT0)
	if err := s.CreateConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	c.State = bot.DialogState{Flow: "report", Step: "confirm", Topic: "water", Address: "新华小区", Retries: 2}
	c.Community = "xinhua"
	c.Updated = chatT0.Add(time.Minute)
	first := []bot.Turn{
		{At: chatT0.Add(time.Minute), From: "resident", Text: "转人工"},
		{At: chatT0.Add(time.Minute), From: "bot", Text: "正在为您转接", Reply: botReply("正在为您转接")},
	}
	if err := s.AppendTurns(ctx, c, first); err != nil {
		t.Fatal(err)
	}
	dialogue := *c

	more := []bot.Turn{
		{At: chatT0.Add(2 * time.Minute), From: "system", Text: "工作人员 7 号为您服务"},
		{At: chatT0.Add(3 * time.Minute), From: "operator", Agent: "7", Text: "您好，请问哪里停水了？"},
	}
	if err := s.AddTurns(ctx, "c1", more); err != nil {
		t.Fatal(err)
	}
	if more[0].Seq != 3 || more[1].Seq != 4 {
		t.Errorf("AddTurns seqs %d, %d; want 3, 4 after AppendTurns' 1, 2", more[0].Seq, more[1].Seq)
	}

	// The dialogue's state and community are as AppendTurns left them; the conversation counts
	// as updated at the last turn.
	dialogue.Updated = chatT0.Add(3 * time.Minute)
	byToken, err := s.ConversationByToken(ctx, c.TokenHash, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	sameConversation(t, byToken, &dialogue)
	sameConversation(t, handoffOf(t, s, "c1"), &dialogue)

	all, err := s.Turns(ctx, "c1", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]bot.Turn(nil), first...), more...)
	sameTurns(t, all, want)
	for i := range all {
		if i < len(want) && all[i].Agent != want[i].Agent {
			t.Errorf("turn %d: agent %q; want %q", all[i].Seq, all[i].Agent, want[i].Agent)
		}
	}

	// A turn dated before the conversation's last update does not move Updated back; a zero At
	// is now.
	before := time.Now()
	late := []bot.Turn{{At: chatT0, From: "operator", Agent: "7", Text: "稍等"}, {From: "operator", Agent: "7", Text: "好了"}}
	if err := s.AddTurns(ctx, "c1", late[:1]); err != nil || late[0].Seq != 5 {
		t.Fatalf("AddTurns: seq %d, %v; want 5", late[0].Seq, err)
	}
	if got := handoffOf(t, s, "c1"); !got.Updated.Equal(dialogue.Updated) {
		t.Errorf("updated %v after an older turn; want %v kept", got.Updated, dialogue.Updated)
	}
	if err := s.AddTurns(ctx, "c1", late[1:]); err != nil || late[1].Seq != 6 || late[1].At.Before(before) {
		t.Fatalf("AddTurns: seq %d at %v, %v; want 6, now", late[1].Seq, late[1].At, err)
	}
	got := handoffOf(t, s, "c1")
	if !got.Updated.Equal(late[1].At) {
		t.Errorf("updated %v; want %v, the undated turn's now", got.Updated, late[1].At)
	}
	if !reflect.DeepEqual(got.State, dialogue.State) || got.Community != dialogue.Community {
		t.Errorf("state %+v, community %q; want %+v, %q", got.State, got.Community, dialogue.State, dialogue.Community)
	}

	// Unknown conversation.
	if err := s.AddTurns(ctx, "ghost", []bot.Turn{{From: "operator", Agent: "7", Text: "hi"}}); !errors.Is(err, bot.ErrNoConversation) {
		t.Errorf("AddTurns(ghost): %v; want ErrNoConversation", err)
	}
	if n := count(t, s, "turns WHERE conversation_id = 'ghost'"); n != 0 {
		t.Errorf("%d turns stored for an unknown conversation", n)
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
	got, err := s2.Conversation(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	wantHandoff(t, got, bot.HandoffLive, "wang", "streetlight", at)
	wantHandoff(t, handoffOf(t, s2, "c2"), bot.HandoffNone, "", "", time.Time{})
	if ids := handoffIDs(t, s2); !reflect.DeepEqual(ids, []string{"c1"}) {
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

func TestCannedReplies(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	seeded, err := s.ListCanned(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(seeded) == 0 {
		t.Fatal("no canned replies after the migration; want the seeded ones")
	}
	for i, r := range seeded {
		if r.ID <= 0 || r.Title == "" || r.Text == "" {
			t.Errorf("seeded reply %+v; want an id, a title and a text", r)
		}
		if i > 0 && r.ID <= seeded[i-1].ID {
			t.Errorf("ids %d then %d; want ascending", seeded[i-1].ID, r.ID)
		}
	}

	when := time.Date(2026, 2, 3, 10, 0, 0, 0, intake.Beijing)
	r := &intake.CannedReply{Title: "停水", Text: "您好，该区域正在抢修，预计今晚恢复供水。", Updated: when, UpdatedBy: "manager1"}
	if err := s.AddCanned(ctx, r); err != nil {
		t.Fatal(err)
	}
	if r.ID <= seeded[len(seeded)-1].ID {
		t.Errorf("new reply id %d; want one after the seeded %d", r.ID, seeded[len(seeded)-1].ID)
	}
	other := &intake.CannedReply{Title: "停电", Text: "供电所正在处理。"}
	if err := s.AddCanned(ctx, other); err != nil {
		t.Fatal(err)
	}
	if other.ID <= r.ID || other.Updated.IsZero() {
		t.Errorf("second reply id %d (first %d), updated %v; want a larger id and now", other.ID, r.ID, other.Updated)
	}
	find := func(id int64) (intake.CannedReply, bool) {
		t.Helper()
		all, err := s.ListCanned(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != len(seeded)+2 && len(all) != len(seeded)+1 {
			t.Errorf("%d canned replies; want %d or %d", len(all), len(seeded)+1, len(seeded)+2)
		}
		for _, x := range all {
			if x.ID == id {
				return x, true
			}
		}
		return intake.CannedReply{}, false
	}
	got, ok := find(r.ID)
	if !ok || got.Title != r.Title || got.Text != r.Text || got.UpdatedBy != "manager1" || !got.Updated.Equal(when) {
		t.Errorf("stored reply %+v (found %v); want %+v", got, ok, r)
	}

	later := when.Add(time.Hour)
	up := &intake.CannedReply{ID: r.ID, Title: "停水通知", Text: "已恢复供水。", Updated: later, UpdatedBy: "manager2"}
	if err := s.UpdateCanned(ctx, up); err != nil {
		t.Fatal(err)
	}
	got, ok = find(r.ID)
	if !ok || got.Title != "停水通知" || got.Text != "已恢复供水。" || got.UpdatedBy != "manager2" || !got.Updated.Equal(later) {
		t.Errorf("updated reply %+v (found %v); want %+v", got, ok, up)
	}
	// The others are untouched.
	if o, ok := find(other.ID); !ok || o.Title != "停电" || o.Text != "供电所正在处理。" {
		t.Errorf("other reply %+v (found %v) after updating %d", o, ok, r.ID)
	}

	ghost := seeded[0].ID + 100000
	if err := s.UpdateCanned(ctx, &intake.CannedReply{ID: ghost, Title: "x", Text: "y"}); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("UpdateCanned(unknown): %v; want ErrNotFound", err)
	}
	if err := s.DeleteCanned(ctx, ghost); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("DeleteCanned(unknown): %v; want ErrNotFound", err)
	}

	if err := s.DeleteCanned(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := find(r.ID); ok {
		t.Errorf("reply %d still listed after DeleteCanned", r.ID)
	}
	if err := s.DeleteCanned(ctx, r.ID); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("deleting %d twice: %v; want ErrNotFound", r.ID, err)
	}
	if err := s.UpdateCanned(ctx, up); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("updating deleted %d: %v; want ErrNotFound", r.ID, err)
	}
}

func TestUserNumbers(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	var users []*intake.User
	for _, name := range []string{"zhao", "qian", "sun"} {
		u := &intake.User{Name: name, Role: intake.RoleOperator}
		if err := s.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if u.Number <= 0 {
			t.Errorf("AddUser(%s) set number %d; want a positive one", name, u.Number)
		}
		if n := len(users); n > 0 && u.Number <= users[n-1].Number {
			t.Errorf("%s got number %d after %s's %d; want larger", name, u.Number, users[n-1].Name, users[n-1].Number)
		}
		users = append(users, u)
	}
	// A refused user takes no number.
	dup := &intake.User{Name: "zhao", Role: intake.RoleAdmin}
	if err := s.AddUser(ctx, dup); !errors.Is(err, intake.ErrConflict) || dup.Number != 0 {
		t.Errorf("duplicate: number %d, %v; want 0, ErrConflict", dup.Number, err)
	}
	next := &intake.User{Name: "li", Role: intake.RoleManager}
	if err := s.AddUser(ctx, next); err != nil {
		t.Fatal(err)
	}
	users = append(users, next)
	seen := map[int]string{}
	for _, u := range users {
		if other, ok := seen[u.Number]; ok {
			t.Errorf("%s and %s share number %d", other, u.Name, u.Number)
		}
		seen[u.Number] = u.Name
		got, err := s.User(ctx, u.Name)
		if err != nil {
			t.Fatal(err)
		}
		if got.Number != u.Number {
			t.Errorf("User(%s).Number = %d; want %d, as AddUser set", u.Name, got.Number, u.Number)
		}
	}
	all, err := s.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range all {
		if seen[got.Number] != got.Name {
			t.Errorf("ListUsers: %s has number %d; want it as AddUser set", got.Name, got.Number)
		}
	}
}

// A staff number is never given twice, even after the account with the highest one is gone
// (a rowid would be reused).
func TestStaffNumbersAreNeverReused(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	first := &intake.User{Name: "zhou", Role: intake.RoleOperator}
	last := &intake.User{Name: "wu", Role: intake.RoleOperator}
	for _, u := range []*intake.User{first, last} {
		if err := s.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.write(ctx, func(w *writer) error {
		_, err := w.conn.ExecContext(context.Background(), "DELETE FROM users WHERE name = ?", last.Name)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	next := &intake.User{Name: "zheng", Role: intake.RoleOperator}
	if err := s.AddUser(ctx, next); err != nil {
		t.Fatal(err)
	}
	if next.Number <= last.Number {
		t.Errorf("after %s (number %d) was deleted, %s got number %d; want a new one", last.Name, last.Number, next.Name, next.Number)
	}
	got, err := s.User(ctx, next.Name)
	if err != nil || got.Number != next.Number {
		t.Errorf("User(%s) = %+v, %v; want number %d", next.Name, got, err, next.Number)
	}
}
