package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/internal/migrations"
	"github.com/bayannur/hotline/intake/internal/sqlstore"
)

// The conversations' behaviour, reopening the store included, is tested by the conformance suite
// (conformance_test.go); what is left is SQLite's own: the migration of an old database.

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
	at := time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)
	c := &intake.Conversation{ID: "c1", TokenHash: "hash-c1", Community: "hongya", Created: at, Updated: at}
	if err := s.CreateConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendTurns(ctx, c, []intake.Turn{{From: "resident", Text: "hi"}}); err != nil {
		t.Fatal(err)
	}
}
