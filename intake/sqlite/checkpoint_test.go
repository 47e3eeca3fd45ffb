package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake/storetest"
)

// The log is copied into the database file by the checkpointer, beside the writer, whose own
// checkpoint waits for a log many times larger than SQLite's default.
func TestCheckpointsBesideTheWriter(t *testing.T) {
	s, _ := openTemp(t)
	var pages int
	query(t, s, "PRAGMA wal_autocheckpoint", nil, &pages)
	if pages != writerCheckpointPages {
		t.Fatalf("the writer checkpoints at %d pages; want %d", pages, writerCheckpointPages)
	}
	for range 50 {
		if _, _, err := s.Create(context.Background(), storetest.Ticket(time.Now()), nil, ""); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.checkpointed.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("nothing checkpointed in 10 s")
		}
		time.Sleep(checkpointEvery / 4)
	}
}
