package postgres

import (
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/internal/migrations"
	"github.com/bayannur/hotline/intake/internal/sqlstore"
	"github.com/bayannur/hotline/intake/postgres/pgtest"
	"github.com/bayannur/hotline/intake/storetest"
)

// oldRows are storetest.OldRows in their stored form: times to the microsecond ($AT) and the
// nanoseconds past it (789).
const oldRows = `
INSERT INTO tickets (number, category, tier, urgency, description, phone, channel, status, steps,
	created, created_ns, updated, updated_ns, version)
	VALUES ('20250301-0001', '市政设施', 'grid', 'normal', '路灯不亮', '13812345678', 'chat', 'received',
	'{"received":"2025-03-01T01:30:00.123456789Z"}', $AT, 789, $AT, 789, 1);
INSERT INTO events (number, at, at_ns, actor, action, to_status, note)
	VALUES ('20250301-0001', $AT, 789, 'resident', 'create', 'received', '受理');
INSERT INTO idempotency (key, number) VALUES ('old-key', '20250301-0001');
INSERT INTO day_counters (day, last) VALUES ('20250301', 1);
INSERT INTO users (name, role, created, created_ns) VALUES ('li', 'operator', $AT, 789);
INSERT INTO conversations (id, token_hash, community, state, created, created_ns, updated, updated_ns,
	handoff, operator, handoff_at, handoff_at_ns, guess)
	VALUES ('c1', 'h1', 'hongya', '{"flow":"report"}', $AT, 789, $AT, 789, 'live', 'li', $AT, 789, 'streetlight');
INSERT INTO turns (conversation_id, seq, at, at_ns, sender, text) VALUES ('c1', 1, $AT, 789, 'resident', '路灯不亮');
INSERT INTO api_tokens (token_hash, user_name, label, created, created_ns) VALUES ('old-token-hash', 'li', 'bridge', $AT, 789);
`

// TestOpenOldDatabase opens databases that the store made before the one migration list, when
// it numbered its own files: 0001_init.sql alone (before the desk bus), or with 0002_desk_bus.sql
// recorded as version 2. Their files are the list's 0001 and 0006 (migrations' hashes say so),
// applied and recorded here as the old code did, with rows in their stored form. The new code
// renumbers the desk bus to 6, records 2 to 5 (nothing to do: 0001 has them), runs nothing
// twice, and reads and extends the rows.
func TestOpenOldDatabase(t *testing.T) {
	ms, err := migrations.For(sqlstore.Postgres.String())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 1, 9, 30, 0, 123456789, intake.Beijing)
	rows := strings.ReplaceAll(oldRows, "$AT", "'"+at.Truncate(time.Microsecond).Format(time.RFC3339Nano)+"'")
	for _, c := range []struct {
		name string
		old  string // the old history and its rows
		kept int    // old records whose time is kept
	}{
		{"init", ms[0].SQL + `;
			INSERT INTO schema_migrations (version, name, applied) VALUES (1, '0001_init.sql', '2025-01-01T00:00:00Z');`, 1},
		{"init and desk bus", ms[0].SQL + `;
			INSERT INTO schema_migrations (version, name, applied) VALUES (1, '0001_init.sql', '2025-01-01T00:00:00Z');
			` + ms[5].SQL + `;
			INSERT INTO schema_migrations (version, name, applied) VALUES (2, '0002_desk_bus.sql', '2025-02-01T00:00:00Z');
			INSERT INTO desk_messages (body) VALUES ('a long one');`, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			url := pgtest.Server(t)
			conn, err := pgx.Connect(t.Context(), url)
			if err != nil {
				t.Fatal(err)
			}
			// Exec without arguments runs a script.
			if _, err := conn.Exec(t.Context(), `CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
				applied timestamptz NOT NULL DEFAULT clock_timestamp());`+c.old+rows); err != nil {
				t.Fatal(err)
			}
			conn.Close(t.Context())

			s := openURL(t, url)
			history := func() string {
				return scalar[string](t, s, "SELECT string_agg(version || ':' || name, ' ' ORDER BY version) FROM schema_migrations")
			}
			if got, want := history(), "1:0001_init.sql 2:0002_chat.sql 3:0003_desk.sql 4:0004_rates.sql 5:0005_staff_numbers.sql 6:0006_desk_bus.sql 7:0007_token_expiry.sql 8:0008_access_code.sql 9:0009_store_probe.sql 10:0010_attachments.sql 12:0012_webhooks.sql"; got != want {
				t.Errorf("schema_migrations %q; want %q", got, want)
			}
			if kept := scalar[int](t, s, `SELECT count(*) FROM schema_migrations WHERE (version, applied) IN
				((1, '2025-01-01T00:00:00Z'), (6, '2025-02-01T00:00:00Z'))`); kept != c.kept {
				t.Errorf("%d old records kept their time; want %d: recorded once, renumbered, not run again", kept, c.kept)
			}
			if n := scalar[int](t, s, "SELECT count(*) FROM desk_messages"); n != c.kept-1 {
				t.Errorf("%d desk messages; want the old ones kept", n)
			}
			if err := s.Bus().Publish(t.Context(), []byte(strings.Repeat("x", inlineMax+1))); err != nil {
				t.Errorf("a long message on the bus: %v", err)
			}
			storetest.OldRows(t, s, at)

			before := history()
			openURL(t, url) // another node, or a restart
			if got := history(); got != before {
				t.Errorf("after another Open schema_migrations %q; want it unchanged", got)
			}
		})
	}
}
