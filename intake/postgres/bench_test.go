package postgres

import (
	"context"
	"testing"

	"github.com/bayannur/hotline/intake/postgres/pgtest"
	"github.com/bayannur/hotline/intake/storetest"
)

// BenchmarkCreate: storetest's, every ticket durable before Create returns: the test server keeps
// fsync on, and this store's connections turn synchronous_commit back on (the test server has it
// off). The day's counter row makes the creates of one day take their turn, across nodes
// too: the figure is about what one database gives, however many nodes share it.
func BenchmarkCreate(b *testing.B) {
	s := openURL(b, pgtest.Server(b)+"&synchronous_commit=on")
	ctx := context.Background()
	var fsync, sync string
	if err := s.pool.QueryRow(ctx, "SELECT current_setting('fsync'), current_setting('synchronous_commit')").Scan(&fsync, &sync); err != nil {
		b.Fatal(err)
	}
	if fsync != "on" || sync != "on" {
		b.Fatalf("fsync %s, synchronous_commit %s; want on, on: durable commits", fsync, sync)
	}
	storetest.BenchCreate(b, s)
}

// BenchmarkCreateTwoNodes: BenchmarkCreate's callers spread over two stores on one database, as
// two nodes behind a balancer. Beside BenchmarkCreate it shows whether creates of one node wait
// on the other's: with numbers taken in a ticket's own transaction (the day's counter row locked
// until its commit) the two figures were the same.
func BenchmarkCreateTwoNodes(b *testing.B) {
	url := pgtest.Server(b) + "&synchronous_commit=on"
	a, c := openURL(b, url), openURL(b, url)
	storetest.BenchCreateNodes(b, a, c)
}
