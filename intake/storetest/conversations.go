package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
)

var conversationTests = []test{
	{"RoundTrip", testConversationRoundTrip},
	{"Errors", testConversationErrors},
	{"ByTokenSince", testConversationByTokenSince},
	{"TurnsSeqAndLimit", testTurnsSeqAndLimit},
	{"AppendTurnsConcurrent", testAppendTurnsConcurrent},
	{"AddTurns", testAddTurns},
	{"SurviveReopen", testConversationsSurviveReopen},
}

var chatT0 = time.Date(2025, 3, 1, 9, 30, 0, 123456789, time.UTC)

func conversation(id string, at time.Time) *intake.Conversation {
	return &intake.Conversation{
		ID: id, TokenHash: "hash-" + id, Community: "hongya",
		State:   intake.DialogState{Flow: "report", Step: "phone", Topic: "streetlight", Address: "虹亚小区3号楼", Retries: 1},
		Created: at, Updated: at,
	}
}

func createConversation(t *testing.T, s Store, c *intake.Conversation) {
	t.Helper()
	if err := s.CreateConversation(t.Context(), c); err != nil {
		t.Fatalf("CreateConversation(%s): %v", c.ID, err)
	}
}

func botReply(text string) *intake.Reply {
	return &intake.Reply{
		Type: "reply", ReplyTo: "m1", Decision: "report", Topic: "streetlight", Text: text,
		Options: []intake.Option{{ID: "confirm", Label: "确认"}},
		Contact: &intake.ContactCard{CommunityID: "hongya"},
		Ticket: &intake.TicketInfo{Number: "20250301-0001", Status: "received", StatusLabel: "已受理",
			DueBy: chatT0.Add(72 * time.Hour), Steps: []intake.TicketStep{{Status: "received", Label: "已受理", At: chatT0}}},
	}
}

// sameConversation compares the dialogue's fields (not the handoff's).
func sameConversation(t *testing.T, got, want *intake.Conversation) {
	t.Helper()
	if got.ID != want.ID || got.TokenHash != want.TokenHash || got.Community != want.Community ||
		!reflect.DeepEqual(got.State, want.State) || !got.Created.Equal(want.Created) || !got.Updated.Equal(want.Updated) {
		t.Errorf("conversation = %+v; want %+v", got, want)
	}
}

func sameTurns(t *testing.T, got, want []intake.Turn) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d turns %+v; want %d %+v", len(got), got, len(want), want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Seq != w.Seq || !g.At.Equal(w.At) || g.From != w.From || g.Text != w.Text || g.Agent != w.Agent || g.Attachment != w.Attachment ||
			!reflect.DeepEqual(normReply(g.Reply), normReply(w.Reply)) {
			t.Errorf("turn %d = %+v (reply %+v); want %+v (reply %+v)", i, g, g.Reply, w, w.Reply)
		}
	}
}

// normReply puts a reply's times in UTC, as the store gives them back.
func normReply(r *intake.Reply) *intake.Reply {
	if r == nil || r.Ticket == nil {
		return r
	}
	c := *r
	ti := *r.Ticket
	ti.DueBy = ti.DueBy.UTC()
	ti.Steps = append([]intake.TicketStep(nil), ti.Steps...)
	for i := range ti.Steps {
		ti.Steps[i].At = ti.Steps[i].At.UTC()
	}
	c.Ticket = &ti
	return &c
}

func turns(t *testing.T, s Store, id string, limit int) []intake.Turn {
	t.Helper()
	ts, err := s.Turns(t.Context(), id, limit)
	if err != nil {
		t.Fatalf("Turns(%s, %d): %v", id, limit, err)
	}
	return ts
}

// A conversation and its turns come back as stored; AppendTurns numbers the turns 1, 2, … and
// stores the dialogue's state, community and update time.
func testConversationRoundTrip(t *testing.T, s Store) {
	ctx := t.Context()
	c := conversation("c1", chatT0)
	createConversation(t, s, c)
	got, err := s.ConversationByToken(ctx, c.TokenHash, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	sameConversation(t, got, c)

	c.State = intake.DialogState{Flow: "status", Step: "number", Emergency: true}
	c.Community = "xinhua"
	c.Updated = chatT0.Add(time.Minute)
	ts := []intake.Turn{
		{At: chatT0.Add(time.Second), From: "resident", Text: "路灯不亮"},
		{At: chatT0.Add(2 * time.Second), From: "bot", Text: "请告诉我地点", Reply: botReply("请告诉我地点")},
	}
	if err := s.AppendTurns(ctx, c, ts); err != nil {
		t.Fatal(err)
	}
	if ts[0].Seq != 1 || ts[1].Seq != 2 {
		t.Errorf("seqs %d, %d; want 1, 2", ts[0].Seq, ts[1].Seq)
	}
	got, err = s.ConversationByToken(ctx, c.TokenHash, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	sameConversation(t, got, c)
	byID, err := s.Conversation(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameConversation(t, byID, c)
	stored := turns(t, s, c.ID, 0)
	sameTurns(t, stored, ts)
	if stored[0].Reply != nil {
		t.Errorf("resident turn reply = %+v; want nil", stored[0].Reply)
	}
}

// Ids and token hashes are unique; a conversation needs a token hash; unknown ones are
// intake.ErrNoConversation (Turns: none).
func testConversationErrors(t *testing.T, s Store) {
	ctx := t.Context()
	c := conversation("c1", chatT0)
	createConversation(t, s, c)
	sameID := conversation("c1", chatT0)
	sameID.TokenHash = "other"
	if err := s.CreateConversation(ctx, sameID); !errors.Is(err, intake.ErrConflict) {
		t.Errorf("duplicate id: err = %v; want ErrConflict", err)
	}
	sameToken := conversation("c2", chatT0)
	sameToken.TokenHash = c.TokenHash
	if err := s.CreateConversation(ctx, sameToken); !errors.Is(err, intake.ErrConflict) {
		t.Errorf("duplicate token hash: err = %v; want ErrConflict", err)
	}
	if err := s.CreateConversation(ctx, &intake.Conversation{ID: "c3"}); !errors.Is(err, intake.ErrInvalid) {
		t.Errorf("no token hash: err = %v; want ErrInvalid", err)
	}
	if got, err := s.ConversationByToken(ctx, c.TokenHash, time.Time{}); err != nil || got.ID != "c1" || got.TokenHash != c.TokenHash {
		t.Errorf("after the refused ones: %+v, %v; want c1 as it was", got, err)
	}
	if _, err := s.ConversationByToken(ctx, "nope", time.Time{}); !errors.Is(err, intake.ErrNoConversation) {
		t.Errorf("unknown token: err = %v; want ErrNoConversation", err)
	}
	if err := s.AppendTurns(ctx, conversation("ghost", chatT0), []intake.Turn{{From: "resident", Text: "hi"}}); !errors.Is(err, intake.ErrNoConversation) {
		t.Errorf("append to unknown: err = %v; want ErrNoConversation", err)
	}
	got, err := s.Turns(ctx, "ghost", 10)
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("Turns(unknown) = %v, %v; want an empty slice, nil", got, err)
	}
	if got := turns(t, s, "c1", 0); len(got) != 0 {
		t.Errorf("c1 has turns %+v; want none", got)
	}
}

// ConversationByToken finds a conversation only if it was updated after since; a new turn
// renews it.
func testConversationByTokenSince(t *testing.T, s Store) {
	ctx := t.Context()
	c := conversation("c1", chatT0)
	createConversation(t, s, c)
	for _, tc := range []struct {
		since time.Time
		found bool
	}{
		{time.Time{}, true},
		{chatT0.Add(-time.Nanosecond), true},
		{chatT0, false}, // updated must be after since
		{chatT0.Add(time.Hour), false},
		{time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), false},
	} {
		got, err := s.ConversationByToken(ctx, c.TokenHash, tc.since)
		switch {
		case tc.found && (err != nil || got.ID != c.ID):
			t.Errorf("since %v: %v, %v; want c1", tc.since, got, err)
		case !tc.found && !errors.Is(err, intake.ErrNoConversation):
			t.Errorf("since %v: %v, %v; want ErrNoConversation", tc.since, got, err)
		}
	}
	// A new turn renews it.
	c.Updated = chatT0.Add(2 * time.Hour)
	if err := s.AppendTurns(ctx, c, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ConversationByToken(ctx, c.TokenHash, chatT0.Add(time.Hour)); err != nil || got.ID != c.ID {
		t.Errorf("after an update: %v, %v; want c1", got, err)
	}
}

// Turns number on from the last one, per conversation; Turns gives the last limit of them (all
// for limit <= 0), oldest first.
func testTurnsSeqAndLimit(t *testing.T, s Store) {
	ctx := t.Context()
	c := conversation("c1", chatT0)
	other := conversation("c2", chatT0)
	for _, x := range []*intake.Conversation{c, other} {
		createConversation(t, s, x)
	}
	var want []intake.Turn
	for call, n := range []int{1, 3, 2} {
		batch := make([]intake.Turn, n)
		for i := range batch {
			batch[i] = intake.Turn{At: chatT0.Add(time.Duration(len(want)+i) * time.Second), From: "resident", Text: fmt.Sprintf("m%d", len(want)+i+1)}
		}
		if err := s.AppendTurns(ctx, c, batch); err != nil {
			t.Fatal(err)
		}
		for i := range batch {
			if batch[i].Seq != len(want)+i+1 {
				t.Errorf("call %d turn %d: seq %d; want %d", call, i, batch[i].Seq, len(want)+i+1)
			}
		}
		want = append(want, batch...)
		// Another conversation's turns number on their own.
		o := []intake.Turn{{From: "bot", Text: "x"}}
		if err := s.AppendTurns(ctx, other, o); err != nil || o[0].Seq != call+1 {
			t.Errorf("other conversation: seq %d, %v; want %d", o[0].Seq, err, call+1)
		}
	}
	for _, limit := range []int{-1, 0, 1, 4, 6, 100} {
		w := want
		if limit > 0 && limit < len(want) {
			w = want[len(want)-limit:]
		}
		sameTurns(t, turns(t, s, c.ID, limit), w)
	}
	if got := turns(t, s, other.ID, 0); len(got) != 3 {
		t.Errorf("%d turns in c2; want 3", len(got))
	}
}

// Writers appending to one conversation at once, with AppendTurns and AddTurns, on several nodes,
// each get one consecutive run of numbers; every number is given once and holds its writer's turn.
func testAppendTurnsConcurrent(t *testing.T, s Store) {
	ns := nodes(t, s, 2)
	ctx := t.Context()
	createConversation(t, s, conversation("c1", chatT0))
	const writers, per = 10, 3
	var wg sync.WaitGroup
	seqs := make([][]int, writers)
	start := make(chan struct{})
	for g := range writers {
		wg.Go(func() {
			s := ns[g/2%len(ns)] // each node both appends and adds
			ts := make([]intake.Turn, per)
			for i := range ts {
				ts[i] = intake.Turn{At: chatT0, From: "resident", Text: fmt.Sprintf("g%d-%d", g, i)}
			}
			<-start
			var err error
			if g%2 == 0 {
				err = s.AppendTurns(ctx, conversation("c1", chatT0.Add(time.Duration(g)*time.Second)), ts)
			} else {
				for i := range ts {
					ts[i].From, ts[i].Agent = "operator", "7"
				}
				err = s.AddTurns(ctx, "c1", ts)
			}
			if err != nil {
				t.Error(err)
				return
			}
			for _, tu := range ts {
				seqs[g] = append(seqs[g], tu.Seq)
			}
		})
	}
	close(start)
	wg.Wait()
	var seqList []int
	for g, ss := range seqs {
		for i := 1; i < len(ss); i++ {
			if ss[i] != ss[i-1]+1 {
				t.Errorf("writer %d: seqs %v; want one consecutive run", g, ss)
			}
		}
		seqList = append(seqList, ss...)
	}
	sort.Ints(seqList)
	for i, n := range seqList {
		if n != i+1 {
			t.Fatalf("seqs %v; want 1..%d, each once", seqList, writers*per)
		}
	}
	got := turns(t, s, "c1", 0)
	if len(got) != writers*per {
		t.Fatalf("%d turns stored; want %d", len(got), writers*per)
	}
	bySeq := map[int]string{}
	for _, tu := range got {
		bySeq[tu.Seq] = tu.Text
	}
	for g, ss := range seqs {
		for i, n := range ss {
			if want := fmt.Sprintf("g%d-%d", g, i); bySeq[n] != want {
				t.Errorf("seq %d holds %q; want %q", n, bySeq[n], want)
			}
		}
	}
}

// AddTurns numbers on after AppendTurns' turns, keeps the operator's number, leaves the
// dialogue's state alone and moves Updated forward only (a zero At is now).
func testAddTurns(t *testing.T, s Store) {
	ctx := t.Context()
	c := conversation("c1", chatT0)
	createConversation(t, s, c)
	c.State = intake.DialogState{Flow: "report", Step: "confirm", Topic: "water", Address: "新华小区", Retries: 2}
	c.Community = "xinhua"
	c.Updated = chatT0.Add(time.Minute)
	first := []intake.Turn{
		{At: chatT0.Add(time.Minute), From: "resident", Text: "转人工"},
		{At: chatT0.Add(time.Minute), From: "bot", Text: "正在为您转接", Reply: botReply("正在为您转接")},
	}
	if err := s.AppendTurns(ctx, c, first); err != nil {
		t.Fatal(err)
	}
	dialogue := *c

	more := []intake.Turn{
		{At: chatT0.Add(2 * time.Minute), From: "system", Text: "工作人员 7 号为您服务"},
		{At: chatT0.Add(3 * time.Minute), From: "operator", Agent: "7", Text: "您好，请问哪里停水了？"},
		{At: chatT0.Add(3 * time.Minute), From: "resident", Text: "📷 照片", Attachment: "ph-1"},
	}
	if err := s.AddTurns(ctx, "c1", more); err != nil {
		t.Fatal(err)
	}
	if more[0].Seq != 3 || more[1].Seq != 4 || more[2].Seq != 5 {
		t.Errorf("AddTurns seqs %d, %d, %d; want 3, 4, 5 after AppendTurns' 1, 2", more[0].Seq, more[1].Seq, more[2].Seq)
	}

	// The dialogue's state and community are as AppendTurns left them; the conversation counts
	// as updated at the last turn.
	dialogue.Updated = chatT0.Add(3 * time.Minute)
	byToken, err := s.ConversationByToken(ctx, c.TokenHash, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	sameConversation(t, byToken, &dialogue)
	sameConversation(t, conversationByID(t, s, "c1"), &dialogue)
	sameTurns(t, turns(t, s, "c1", 0), append(append([]intake.Turn(nil), first...), more...))

	// A turn dated before the conversation's last update does not move Updated back; a zero At
	// is now.
	before := time.Now()
	late := []intake.Turn{{At: chatT0, From: "operator", Agent: "7", Text: "稍等"}, {From: "operator", Agent: "7", Text: "好了"}}
	if err := s.AddTurns(ctx, "c1", late[:1]); err != nil || late[0].Seq != 6 {
		t.Fatalf("AddTurns: seq %d, %v; want 6", late[0].Seq, err)
	}
	if got := conversationByID(t, s, "c1"); !got.Updated.Equal(dialogue.Updated) {
		t.Errorf("updated %v after an older turn; want %v kept", got.Updated, dialogue.Updated)
	}
	if err := s.AddTurns(ctx, "c1", late[1:]); err != nil || late[1].Seq != 7 || late[1].At.Before(before) {
		t.Fatalf("AddTurns: seq %d at %v, %v; want 7, now", late[1].Seq, late[1].At, err)
	}
	got := conversationByID(t, s, "c1")
	if !got.Updated.Equal(late[1].At) {
		t.Errorf("updated %v; want %v, the undated turn's now", got.Updated, late[1].At)
	}
	if !reflect.DeepEqual(got.State, dialogue.State) || got.Community != dialogue.Community {
		t.Errorf("state %+v, community %q; want %+v, %q", got.State, got.Community, dialogue.State, dialogue.Community)
	}
	if last := turns(t, s, "c1", 1); len(last) != 1 || last[0].Seq != 7 || !last[0].At.Equal(late[1].At) {
		t.Errorf("last turn %+v; want seq 7 at %v", last, late[1].At)
	}

	// Unknown conversation.
	if err := s.AddTurns(ctx, "ghost", []intake.Turn{{From: "operator", Agent: "7", Text: "hi"}}); !errors.Is(err, intake.ErrNoConversation) {
		t.Errorf("AddTurns(ghost): %v; want ErrNoConversation", err)
	}
	if got := turns(t, s, "ghost", 0); len(got) != 0 {
		t.Errorf("%d turns stored for an unknown conversation", len(got))
	}
}

// A conversation and its turns are there after the store is closed and opened again, and its
// turns go on being numbered from where they were. Needs Reopener.
func testConversationsSurviveReopen(t *testing.T, s Store) {
	r := reopener(t, s)
	ctx := t.Context()
	c := conversation("c1", chatT0)
	createConversation(t, s, c)
	c.State.Step = "confirm"
	c.Updated = chatT0.Add(time.Minute)
	ts := []intake.Turn{{At: chatT0, From: "resident", Text: "你好"}, {At: chatT0, From: "bot", Text: "您好", Reply: botReply("您好")}}
	if err := s.AppendTurns(ctx, c, ts); err != nil {
		t.Fatal(err)
	}
	s = r.Reopen(t)
	got, err := s.ConversationByToken(ctx, c.TokenHash, chatT0)
	if err != nil {
		t.Fatal(err)
	}
	sameConversation(t, got, c)
	sameTurns(t, turns(t, s, c.ID, 0), ts)
	more := []intake.Turn{{At: chatT0, From: "resident", Text: "确认"}}
	if err := s.AppendTurns(ctx, c, more); err != nil || more[0].Seq != 3 {
		t.Errorf("append after reopen: seq %d, %v; want 3", more[0].Seq, err)
	}
}

// conversationByID reads conversation id back by id.
func conversationByID(t *testing.T, s Store, id string) *intake.Conversation {
	t.Helper()
	c, err := s.Conversation(t.Context(), id)
	if err != nil {
		t.Fatalf("Conversation(%s): %v", id, err)
	}
	return c
}
