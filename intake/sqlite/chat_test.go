package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bayannur/hotline/bot"
	"github.com/bayannur/hotline/intake"
)

var chatT0 = time.Date(2025, 3, 1, 9, 30, 0, 123456789, time.UTC)

func conversation(id string, at time.Time) *bot.Conversation {
	return &bot.Conversation{
		ID: id, TokenHash: "hash-" + id, Community: "hongya",
		State:   bot.DialogState{Flow: "report", Step: "phone", Topic: "streetlight", Address: "虹亚小区3号楼", Retries: 1},
		Created: at, Updated: at,
	}
}

func botReply(text string) *bot.Reply {
	return &bot.Reply{
		Type: "reply", ReplyTo: "m1", Decision: "report", Topic: "streetlight", Text: text,
		Options: []bot.Option{{ID: "confirm", Label: "确认"}},
		Contact: &bot.ContactCard{CommunityID: "hongya"},
		Ticket: &bot.TicketInfo{Number: "20250301-0001", Status: "received", StatusLabel: "已受理",
			DueBy: chatT0.Add(72 * time.Hour), Steps: []bot.TicketStep{{Status: "received", Label: "已受理", At: chatT0}}},
	}
}

func sameConversation(t *testing.T, got, want *bot.Conversation) {
	t.Helper()
	if got.ID != want.ID || got.TokenHash != want.TokenHash || got.Community != want.Community ||
		!reflect.DeepEqual(got.State, want.State) || !got.Created.Equal(want.Created) || !got.Updated.Equal(want.Updated) {
		t.Errorf("conversation = %+v; want %+v", got, want)
	}
}

func sameTurns(t *testing.T, got, want []bot.Turn) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d turns %+v; want %d %+v", len(got), got, len(want), want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Seq != w.Seq || !g.At.Equal(w.At) || g.From != w.From || g.Text != w.Text || !reflect.DeepEqual(normReply(g.Reply), normReply(w.Reply)) {
			t.Errorf("turn %d = %+v (reply %+v); want %+v (reply %+v)", i, g, g.Reply, w, w.Reply)
		}
	}
}

// normReply puts a reply's times in UTC, as JSON gives them back.
func normReply(r *bot.Reply) *bot.Reply {
	if r == nil || r.Ticket == nil {
		return r
	}
	c := *r
	ti := *r.Ticket
	ti.DueBy = ti.DueBy.UTC()
	ti.Steps = append([]bot.TicketStep(nil), ti.Steps...)
	for i := range ti.Steps {
		ti.Steps[i].At = ti.Steps[i].At.UTC()
	}
	c.Ticket = &ti
	return &c
}

func TestConversationRoundTrip(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	c := conversation("c1", chatT0)
	if err := s.CreateConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.ConversationByToken(ctx, c.TokenHash, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	sameConversation(t, got, c)

	c.State = bot.DialogState{Flow: "status", Step: "number", Emergency: true}
	c.Community = "xinhua"
	c.Updated = chatT0.Add(time.Minute)
	turns := []bot.Turn{
		{At: chatT0.Add(time.Second), From: "resident", Text: "路灯不亮"},
		{At: chatT0.Add(2 * time.Second), From: "bot", Text: "请告诉我地点", Reply: botReply("请告诉我地点")},
	}
	if err := s.AppendTurns(ctx, c, turns); err != nil {
		t.Fatal(err)
	}
	if turns[0].Seq != 1 || turns[1].Seq != 2 {
		t.Errorf("seqs %d, %d; want 1, 2", turns[0].Seq, turns[1].Seq)
	}
	got, err = s.ConversationByToken(ctx, c.TokenHash, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	sameConversation(t, got, c)
	all, err := s.Turns(ctx, c.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	sameTurns(t, all, turns)
	if all[0].Reply != nil {
		t.Errorf("resident turn reply = %+v; want nil", all[0].Reply)
	}
}

func TestConversationErrors(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	c := conversation("c1", chatT0)
	if err := s.CreateConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
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
	if err := s.CreateConversation(ctx, &bot.Conversation{ID: "c3"}); !errors.Is(err, intake.ErrInvalid) {
		t.Errorf("no token hash: err = %v; want ErrInvalid", err)
	}
	if _, err := s.ConversationByToken(ctx, "nope", time.Time{}); !errors.Is(err, bot.ErrNoConversation) {
		t.Errorf("unknown token: err = %v; want ErrNoConversation", err)
	}
	if err := s.AppendTurns(ctx, conversation("ghost", chatT0), []bot.Turn{{From: "resident", Text: "hi"}}); !errors.Is(err, bot.ErrNoConversation) {
		t.Errorf("append to unknown: err = %v; want ErrNoConversation", err)
	}
	if n := count(t, s, "turns"); n != 0 {
		t.Errorf("%d turns after a failed append; want 0", n)
	}
	got, err := s.Turns(ctx, "ghost", 10)
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("Turns(unknown) = %v, %v; want an empty slice, nil", got, err)
	}
}

func TestConversationByTokenSince(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	c := conversation("c1", chatT0)
	if err := s.CreateConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
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
		case !tc.found && !errors.Is(err, bot.ErrNoConversation):
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

func TestTurnsSeqAndLimit(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	c := conversation("c1", chatT0)
	other := conversation("c2", chatT0)
	for _, x := range []*bot.Conversation{c, other} {
		if err := s.CreateConversation(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	var want []bot.Turn
	for call, n := range []int{1, 3, 2} {
		batch := make([]bot.Turn, n)
		for i := range batch {
			batch[i] = bot.Turn{At: chatT0.Add(time.Duration(len(want)+i) * time.Second), From: "resident", Text: fmt.Sprintf("m%d", len(want)+i+1)}
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
		o := []bot.Turn{{From: "bot", Text: "x"}}
		if err := s.AppendTurns(ctx, other, o); err != nil || o[0].Seq != call+1 {
			t.Errorf("other conversation: seq %d, %v; want %d", o[0].Seq, err, call+1)
		}
	}
	for _, limit := range []int{-1, 0, 1, 4, 6, 100} {
		got, err := s.Turns(ctx, c.ID, limit)
		if err != nil {
			t.Fatal(err)
		}
		w := want
		if limit > 0 && limit < len(want) {
			w = want[len(want)-limit:]
		}
		sameTurns(t, got, w)
	}
}

func TestAppendTurnsConcurrent(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	if err := s.CreateConversation(ctx, conversation("c1", chatT0)); err != nil {
		t.Fatal(err)
	}
	const writers, per = 10, 3
	var wg sync.WaitGroup
	seqs := make([][]int, writers)
	for g := range writers {
		wg.Go(func() {
			c := conversation("c1", chatT0.Add(time.Duration(g)*time.Second))
			turns := make([]bot.Turn, per)
			for i := range turns {
				turns[i] = bot.Turn{At: chatT0, From: "resident", Text: fmt.Sprintf("g%d-%d", g, i)}
			}
			if err := s.AppendTurns(ctx, c, turns); err != nil {
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
				t.Errorf("writer %d: seqs %v; want one consecutive run", g, ss)
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
	got, err := s.Turns(ctx, "c1", 0)
	if err != nil {
		t.Fatal(err)
	}
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

func TestConversationsSurviveReopen(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	c := conversation("c1", chatT0)
	if err := s.CreateConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	c.State.Step = "confirm"
	c.Updated = chatT0.Add(time.Minute)
	turns := []bot.Turn{{At: chatT0, From: "resident", Text: "你好"}, {At: chatT0, From: "bot", Text: "您好", Reply: botReply("您好")}}
	if err := s.AppendTurns(ctx, c, turns); err != nil {
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
	got, err := s2.ConversationByToken(ctx, c.TokenHash, chatT0)
	if err != nil {
		t.Fatal(err)
	}
	sameConversation(t, got, c)
	all, err := s2.Turns(ctx, c.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	sameTurns(t, all, turns)
	more := []bot.Turn{{At: chatT0, From: "resident", Text: "确认"}}
	if err := s2.AppendTurns(ctx, c, more); err != nil || more[0].Seq != 3 {
		t.Errorf("append after reopen: seq %d, %v; want 3", more[0].Seq, err)
	}
}

// TestChatMigrationOnOldDatabase opens a database made by the store before 0002 existed.
func TestChatMigrationOnOldDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	ms, err := readMigrations(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 2 || ms[0].version != 1 || ms[1].version != 2 {
		t.Fatalf("embedded migrations %v; want 0001, 0002, …", ms)
	}
	func() {
		db, err := sql.Open("sqlite", dsn(path, false))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		ctx := context.Background()
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if err := migrate(ctx, conn, ms[:1]); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, "INSERT INTO users (name, role) VALUES ('old', 'admin')"); err != nil {
			t.Fatal(err)
		}
	}()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var versions string
	query(t, s, "SELECT group_concat(version, ',') FROM (SELECT version FROM schema_migrations ORDER BY version)", nil, &versions)
	if !strings.HasPrefix(versions+",", "1,2,") {
		t.Errorf("schema_migrations versions %q; want 1,2,…", versions)
	}
	if n := count(t, s, "users"); n != 1 {
		t.Errorf("%d users after the migration; want the old 1", n)
	}
	ctx := context.Background()
	c := conversation("c1", chatT0)
	if err := s.CreateConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendTurns(ctx, c, []bot.Turn{{From: "resident", Text: "hi"}}); err != nil {
		t.Fatal(err)
	}
}
