package sqlite

import (
	"context"
	"database/sql"
	"time"
)

// Checkpoints. In WAL mode a commit appends to the log, and a checkpoint copies the log back into
// the database file. SQLite runs one itself when a commit leaves the log past a size (1,000 pages
// by default), inside that commit: the writer then stalls for tens of milliseconds, and so does
// every write queued behind it — a tenth of a busy node's replies waited on one. Here a
// connection of its own checkpoints (PASSIVE: it never waits for, nor holds up, the writer or a
// reader) every checkpointEvery, and the writer's own checkpoint is left only as a backstop, at a
// log of writerCheckpointPages, should these fall behind.
const (
	checkpointEvery       = 100 * time.Millisecond
	writerCheckpointPages = 16384 // 64 MiB of 4 KiB pages
)

// checkpointLoop checkpoints until stop is closed, then closes done.
func (s *Store) checkpointLoop(db *sql.DB, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var busy, log, copied int
		err := db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &copied)
		cancel()
		if err == nil && copied > 0 {
			s.checkpointed.Add(int64(copied))
		}
	}
}
