package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bayannur/hotline/intake/internal/migrations"
)

// migrateLock is the pg_advisory_xact_lock key that serializes the migrations of the nodes
// starting at once on one database (advisory locks are per database).
const migrateLock = 0x686f746c696e65 // "hotline"

// migrate applies the migrations the database does not have yet, all in one transaction that
// first takes an advisory lock: of several nodes starting at once, one migrates and the others
// wait for it, then find nothing left to do. A migration that fails rolls them all back. A
// migration with nothing to do in PostgreSQL is recorded all the same. Before looking at what is
// applied it moves the records of an older history to their versions in ms (renumbered).
func migrate(ctx context.Context, pool *pgxpool.Pool, ms []migrations.Migration, renumbered []migrations.Renumbering) error {
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
		for _, r := range renumbered {
			name := ""
			for _, m := range ms {
				if m.Version == r.To {
					name = m.Name
				}
			}
			if name == "" {
				return fmt.Errorf("renumbering %s: no migration %d", r.Name, r.To)
			}
			if _, err := tx.Exec(ctx, "UPDATE schema_migrations SET version = $1, name = $2 WHERE version = $3 AND name = $4",
				r.To, name, r.Version, r.Name); err != nil {
				return fmt.Errorf("renumbering %s: %w", r.Name, err)
			}
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
			if m.SQL != "" {
				// Without arguments Exec uses the simple protocol, which runs several statements.
				if _, err := tx.Exec(ctx, m.SQL); err != nil {
					return fmt.Errorf("migration %s: %w", m.Name, err)
				}
			}
			if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
		}
		return nil
	})
}
