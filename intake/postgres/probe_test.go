package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake/postgres/pgtest"
)

// probe runs the store's probe with the short timeout a readiness check gives it.
func probe(s *Store) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return s.Probe(ctx)
}

// TestProbeDatabaseStopped: the probe fails while the database is down, within its timeout, and
// works again once the database is back, on the same store (its pool reconnects).
func TestProbeDatabaseStopped(t *testing.T) {
	pg := pgtest.Own(t)
	s := openURL(t, pg.URL())
	if err := probe(s); err != nil {
		t.Fatalf("probe: %v", err)
	}
	pg.Stop(t)
	start := time.Now()
	if err := probe(s); err == nil {
		t.Error("probe with the database stopped: nil; want an error")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the probe took %v with the database stopped; want at most its timeout", took)
	}
	pg.Start(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := probe(s)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("probe 10 s after the database came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // between polls, not instead of one
	}
}

// TestProbeReadOnly: a database that takes connections but no writes (a standby after a
// failover, default_transaction_read_only) fails the probe.
func TestProbeReadOnly(t *testing.T) {
	s, _ := openTest(t)
	if err := probe(s); err != nil {
		t.Fatalf("probe: %v", err)
	}
	var db string
	if err := s.pool.QueryRow(t.Context(), "SELECT current_database()").Scan(&db); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(t.Context(), "ALTER DATABASE "+db+" SET default_transaction_read_only = on"); err != nil {
		t.Fatal(err)
	}
	s.pool.Reset() // new sessions take the database's setting
	if err := probe(s); err == nil {
		t.Error("probe of a read-only database: nil; want an error")
	}
}
