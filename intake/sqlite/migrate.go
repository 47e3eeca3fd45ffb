package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	mig "github.com/bayannur/hotline/intake/internal/migrations"
)

// migrations are applied in the order of their number, each in its own transaction, and recorded
// in schema_migrations. Add a file, never edit one that has shipped.
//
//go:embed migrations/*.sql
var migrations embed.FS

type migration = mig.Migration

// readMigrations lists the NNNN_name.sql files of dir in fsys, sorted by number.
func readMigrations(fsys fs.FS, dir string) ([]migration, error) { return mig.Read(fsys, dir) }

// migrate applies the migrations the database does not have yet. Each runs in a BEGIN IMMEDIATE
// transaction that first checks schema_migrations again, so two processes opening the same new
// file cannot both apply one.
func migrate(ctx context.Context, conn *sql.Conn, ms []migration) error {
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name    TEXT    NOT NULL,
		applied INTEGER NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("schema_migrations: %w", err)
	}
	for _, m := range ms {
		if err := applyMigration(ctx, conn, m); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return nil
}

func applyMigration(ctx context.Context, conn *sql.Conn, m migration) (err error) {
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_, rerr := conn.ExecContext(context.Background(), "ROLLBACK")
			err = errors.Join(err, rerr)
		}
	}()
	var n int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = ?", m.Version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		_, err := conn.ExecContext(ctx, "COMMIT")
		return err
	}
	if _, err := conn.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)",
		m.Version, m.Name, time.Now().UnixNano()); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, "COMMIT")
	return err
}
