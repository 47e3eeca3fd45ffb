package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	mig "github.com/bayannur/hotline/intake/internal/migrations"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrationFiles are applied in the order of their number and recorded in schema_migrations. Add
// a file, never edit one that has shipped.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations are the embedded migrations, read once.
var migrations = mustReadMigrations(migrationFiles, "migrations")

type migration = mig.Migration

// migrateLock is the pg_advisory_xact_lock key that serializes the migrations of the nodes
// starting at once on one database (advisory locks are per database).
const migrateLock = 0x686f746c696e65 // "hotline"

func mustReadMigrations(fsys fs.FS, dir string) []migration {
	ms, err := readMigrations(fsys, dir)
	if err != nil {
		panic(err) // the embedded files are wrong: a build that cannot work
	}
	return ms
}

// readMigrations lists the NNNN_name.sql files of dir in fsys, sorted by number.
func readMigrations(fsys fs.FS, dir string) ([]migration, error) { return mig.Read(fsys, dir) }

// migrate applies the migrations the database does not have yet, all in one transaction that
// first takes an advisory lock: of several nodes starting at once, one migrates and the others
// wait for it, then find nothing left to do. A migration that fails rolls them all back.
func migrate(ctx context.Context, pool *pgxpool.Pool, ms []migration) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrateLock)); err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version integer PRIMARY KEY,
			name    text NOT NULL,
			applied timestamptz NOT NULL DEFAULT clock_timestamp()
		)`); err != nil {
			return fmt.Errorf("schema_migrations: %w", err)
		}
		rows, _ := tx.Query(ctx, "SELECT version FROM schema_migrations")
		versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil {
			return fmt.Errorf("schema_migrations: %w", err)
		}
		have := map[int]bool{}
		for _, v := range versions {
			have[v] = true
		}
		for _, m := range ms {
			if have[m.Version] {
				continue
			}
			// Without arguments Exec uses the simple protocol, which runs several statements.
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
		}
		return nil
	})
}
