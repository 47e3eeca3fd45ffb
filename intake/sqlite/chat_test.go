package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bayannur/hotline/bot"
)

// The conversations' behaviour is tested by the conformance suite (conformance_test.go); what is
// left is SQLite's own: reopening the file, and the migration of an old database.

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
	if len(ms) < 2 || ms[0].Version != 1 || ms[1].Version != 2 {
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
