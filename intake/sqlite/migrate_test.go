package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/internal/migrations"
	"github.com/bayannur/hotline/intake/internal/sqlstore"
	"github.com/bayannur/hotline/intake/storetest"
)

// TestOpenOldDatabase opens a file that the store made before the one migration list: its five
// migrations applied and recorded as the old code did, and rows written in their stored form.
// The new code records the list's sixth (nothing to do in SQLite), re-runs none, and reads and
// extends what was there.
func TestOpenOldDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	ms, err := migrations.For(sqlstore.SQLite.String())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 1, 9, 30, 0, 123456789, intake.Beijing)
	ns := at.UnixNano()
	func() {
		db, err := sql.Open("sqlite", dsn(path, false))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("%.60s: %v", q, err)
			}
		}
		// The old history: 0001 to 0005, whose files are the list's (migrations' hashes say so).
		exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied INTEGER NOT NULL) STRICT`)
		for _, m := range ms[:5] {
			exec(m.SQL)
			exec("INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)", m.Version, m.Name, int64(m.Version))
		}
		exec(`INSERT INTO tickets (number, category, tier, urgency, description, phone, channel, status, steps, created, updated, version)
			VALUES ('20250301-0001', '市政设施', 'grid', 'normal', '路灯不亮', '13812345678', 'chat', 'received',
			'{"received":"2025-03-01T01:30:00.123456789Z"}', ?, ?, 1)`, ns, ns)
		exec(`INSERT INTO events (number, at, actor, action, to_status, note) VALUES ('20250301-0001', ?, 'resident', 'create', 'received', '受理')`, ns)
		exec(`INSERT INTO idempotency (key, number, created) VALUES ('old-key', '20250301-0001', ?)`, ns)
		exec(`INSERT INTO day_counters (day, last) VALUES ('20250301', 1)`)
		exec(`INSERT INTO users (name, role, created) VALUES ('li', 'operator', ?)`, ns)
		exec(`INSERT INTO staff_numbers (user_name) VALUES ('li')`)
		exec(`INSERT INTO conversations (id, token_hash, community, state, created, updated, handoff, operator, handoff_at, guess)
			VALUES ('c1', 'h1', 'hongya', '{"flow":"report"}', ?, ?, 'live', 'li', ?, 'streetlight')`, ns, ns, ns)
		exec(`INSERT INTO turns (conversation_id, seq, at, sender, text) VALUES ('c1', 1, ?, 'resident', '路灯不亮')`, ns)
	}()

	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var history string
	query(t, s, "SELECT group_concat(version || ':' || name || ':' || applied, ' ') FROM (SELECT * FROM schema_migrations ORDER BY version)", nil, &history)
	if want := "1:0001_init.sql:1 2:0002_chat.sql:2 3:0003_desk.sql:3 4:0004_rates.sql:4 5:0005_staff_numbers.sql:5 6:0006_desk_bus.sql:"; len(history) <= len(want) || history[:len(want)] != want {
		t.Errorf("schema_migrations %q; want the old five as they were, then 6", history)
	}

	storetest.OldRows(t, s, at)
	s.Close()

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var again string
	query(t, s, "SELECT group_concat(version || ':' || name || ':' || applied, ' ') FROM (SELECT * FROM schema_migrations ORDER BY version)", nil, &again)
	if again != history {
		t.Errorf("after reopen schema_migrations %q; want it unchanged, %q", again, history)
	}
}
