package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// probe runs the store's probe with the short timeout a readiness check gives it.
func probe(s *Store) error {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	return s.Probe(ctx)
}

// TestProbeLockedElsewhere: while another process holds the database's write lock (a backup, the
// sqlite3 shell left in a transaction), the store cannot write: the probe says so within its
// timeout, though the writer waits on the lock for up to busy_timeout (10 s), and is well again
// once the lock is let go. (Unlike a read-only file, a lock stops root's writes too.)
func TestProbeLockedElsewhere(t *testing.T) {
	s, path := openTemp(t)
	if err := probe(s); err != nil {
		t.Fatalf("probe of a new store: %v", err)
	}
	other, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = probe(s)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("probe with the write lock held elsewhere: %v; want its deadline exceeded", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the probe took %v with the lock held; want it to give up at its timeout (500 ms)", took)
	}
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second) // the writer's wait on the lock ends first
	for {
		err := probe(s)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("probe after the lock was let go: %v", err)
		}
	}
}

// TestProbeDiskFull: with less free space on the file's filesystem than the probe wants, the
// probe fails and says how much is free. (The test raises what the probe wants, rather than
// filling a disk.)
func TestProbeDiskFull(t *testing.T) {
	s, _ := openTemp(t)
	s.minFree = math.MaxUint64
	err := probe(s)
	if err == nil || !strings.Contains(err.Error(), "MiB free on the filesystem") {
		t.Errorf("probe with the disk 'full': %v; want the free space named", err)
	}
	s.minFree = probeMinFree
	if err := probe(s); err != nil {
		t.Errorf("probe with room: %v", err)
	}
}
