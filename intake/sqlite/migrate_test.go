package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/internal/migrations"
	"github.com/bayannur/hotline/intake/internal/sqlstore"
	"github.com/bayannur/hotline/intake/storetest"
)

// history is schema_migrations, as version:name:applied, in order.
func history(tb testing.TB, s *Store) string {
	tb.Helper()
	var got string
	query(tb, s, "SELECT group_concat(version || ':' || name || ':' || applied, ' ') FROM (SELECT * FROM schema_migrations ORDER BY version)", nil, &got)
	return got
}

// oldRows are storetest.OldRows in their stored form, times in unix nanoseconds ($AT).
const oldRows = `
INSERT INTO tickets (number, category, tier, urgency, description, phone, channel, status, steps, created, updated, version)
	VALUES ('20250301-0001', '市政设施', 'grid', 'normal', '路灯不亮', '13812345678', 'chat', 'received',
	'{"received":"2025-03-01T01:30:00.123456789Z"}', $AT, $AT, 1);
INSERT INTO events (number, at, actor, action, to_status, note) VALUES ('20250301-0001', $AT, 'resident', 'create', 'received', '受理');
INSERT INTO idempotency (key, number, created) VALUES ('old-key', '20250301-0001', $AT);
INSERT INTO day_counters (day, last) VALUES ('20250301', 1);
INSERT INTO users (name, role, created) VALUES ('li', 'operator', $AT);
INSERT INTO staff_numbers (user_name) VALUES ('li');
INSERT INTO conversations (id, token_hash, community, state, created, updated, handoff, operator, handoff_at, guess)
	VALUES ('c1', 'h1', 'hongya', '{"flow":"report"}', $AT, $AT, 'live', 'li', $AT, 'streetlight');
INSERT INTO turns (conversation_id, seq, at, sender, text) VALUES ('c1', 1, $AT, 'resident', '路灯不亮');
INSERT INTO api_tokens (token_hash, user_name, label, created) VALUES ('old-token-hash', 'li', 'bridge', $AT);
`

// TestOpenOldDatabase opens a file that the store made before the one migration list: its five
// migrations applied and recorded as the old code did (their files are the list's, as
// migrations' hashes say), and rows written in their stored form. The new code records the list's
// sixth (nothing to do in SQLite), runs none again, and reads and extends what was there.
func TestOpenOldDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	ms, err := migrations.For(sqlstore.SQLite.String())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 1, 9, 30, 0, 123456789, intake.Beijing)
	old := "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied INTEGER NOT NULL) STRICT;\n"
	for _, m := range ms[:5] {
		old += fmt.Sprintf("%s;\nINSERT INTO schema_migrations (version, name, applied) VALUES (%d, '%s', %[2]d);\n", m.SQL, m.Version, m.Name)
	}
	old += strings.ReplaceAll(oldRows, "$AT", fmt.Sprint(at.UnixNano()))
	if _, err := rawConn(t, path).ExecContext(context.Background(), old); err != nil {
		t.Fatal(err)
	}

	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := history(t, s)
	if want := "1:0001_init.sql:1 2:0002_chat.sql:2 3:0003_desk.sql:3 4:0004_rates.sql:4 5:0005_staff_numbers.sql:5 6:0006_desk_bus.sql:"; !strings.HasPrefix(got, want) {
		t.Errorf("schema_migrations %q; want the old five as they were, then 6", got)
	}
	storetest.OldRows(t, s, at)
	s.Close()

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if again := history(t, s); again != got {
		t.Errorf("after reopen schema_migrations %q; want it unchanged, %q", again, got)
	}
}

// TestChatMigrationOnOldDatabase opens a database made by the store before 0002 existed.
func TestChatMigrationOnOldDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	ms, err := migrations.For(sqlstore.SQLite.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 2 || ms[0].Version != 1 || ms[1].Version != 2 {
		t.Fatalf("embedded migrations %v; want 0001, 0002, …", ms)
	}
	ctx := context.Background()
	conn := rawConn(t, path)
	if err := migrate(ctx, conn, ms[:1]); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO users (name, role) VALUES ('old', 'admin')"); err != nil {
		t.Fatal(err)
	}
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
	at := time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)
	c := &intake.Conversation{ID: "c1", TokenHash: "hash-c1", Community: "hongya", Created: at, Updated: at}
	if err := s.CreateConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendTurns(ctx, c, []intake.Turn{{From: "resident", Text: "hi"}}); err != nil {
		t.Fatal(err)
	}
}
