package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/postgres"
	"github.com/bayannur/hotline/intake/sqlite"
	"github.com/bayannur/hotline/web"
)

// store is what the service keeps its data in.
type store interface {
	intake.Store
	intake.Conversations
	intake.CannedReplies
	intake.Reports
	intake.Prober
}

// databaseUsage is the --database flag's help.
const databaseUsage = "PostgreSQL URL (postgres://user:pass@host/db) shared by several nodes (env HOTLINE_DATABASE; default: hotline.db in the data directory)"

// openStore opens the PostgreSQL database at url when one is given, else the embedded store in
// the data directory (made if needed). With PostgreSQL it also returns the bus that joins the
// nodes' desks; the embedded store serves one node and needs none.
func openStore(ctx context.Context, url, dataDir string) (store, web.Bus, error) {
	if url != "" {
		if !strings.HasPrefix(url, "postgres://") && !strings.HasPrefix(url, "postgresql://") {
			return nil, nil, fmt.Errorf("--database: want a postgres:// URL")
		}
		// A database that does not answer should stop the start, not hang it.
		octx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		s, err := postgres.Open(octx, url)
		if err != nil {
			return nil, nil, err
		}
		return s, s.Bus(), nil
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, nil, fmt.Errorf("data directory: %w", err)
	}
	s, err := sqlite.Open(filepath.Join(dataDir, "hotline.db"))
	if err != nil {
		return nil, nil, err
	}
	return s, nil, nil
}
