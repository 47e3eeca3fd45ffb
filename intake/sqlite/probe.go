package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/bayannur/hotline/intake/internal/sqlstore"
)

// probeMinFree is the least free space on the database's filesystem the probe takes for a working
// store. The probe's own write may still fit where a ticket's does not (the WAL reuses its space
// after a checkpoint, and a checkpoint that must grow the file fails), so a disk this close to
// full is a failing store before the writes fail.
const probeMinFree = 32 << 20

// Probe writes the probe's row through the writer, as every write goes (intake.Prober), and checks
// the free space on the file's filesystem. Unlike the other writes it stops waiting when ctx ends,
// even once the writer has started it: a writer stuck on a lock (busy_timeout is 10 s) is itself
// the failure to report, and the probe's outcome, when it comes, is of no one's interest.
func (s *Store) Probe(ctx context.Context) error {
	o := newOp(ctx, func(w *writer) error {
		_, err := w.db.Exec(context.Background(), sqlstore.ProbeUpsert, time.Now().UnixNano())
		return err
	})
	if err := s.enqueue(ctx, o); err != nil {
		return wrap("probe", err)
	}
	select {
	case err := <-o.done:
		if err != nil {
			return wrap("probe", err)
		}
	case <-ctx.Done():
		return fmt.Errorf("sqlite: probe: the write did not commit in time: %w", ctx.Err())
	}
	free, ok := freeBytes(filepath.Dir(s.path))
	if ok && free < s.minFree {
		return fmt.Errorf("sqlite: probe: %d MiB free on the filesystem of %s, want at least %d MiB", free>>20, filepath.Dir(s.path), s.minFree>>20)
	}
	return nil
}
