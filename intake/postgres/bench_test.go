package postgres

import (
	"context"
	"testing"

	"github.com/bayannur/hotline/intake/postgres/pgtest"
	"github.com/bayannur/hotline/intake/storetest"
)

// BenchmarkCreate: storetest's, every ticket durable before Create returns: the test server keeps
// fsync on, and this store's connections turn synchronous_commit back on (the test server has it
// off). One store is one node: its pool (pgx's default, 4 connections on this box) bounds how many
// creations share a flush of the WAL.
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
// two nodes behind a balancer, each store checked as BenchmarkCreate's is. Beside BenchmarkCreate
// it shows whether creations of one node wait on the other's: with numbers taken in a ticket's own
// transaction (the day's counter row locked until its commit) the two figures were the same.
func BenchmarkCreateTwoNodes(b *testing.B) {
	url := pgtest.Server(b) + "&synchronous_commit=on"
	a, c := openURL(b, url), openURL(b, url)
	for _, s := range []*Store{a, c} {
		var sync string
		if err := s.pool.QueryRow(b.Context(), "SELECT current_setting('synchronous_commit')").Scan(&sync); err != nil || sync != "on" {
			b.Fatalf("synchronous_commit %s, %v; want on: durable commits", sync, err)
		}
	}
	storetest.BenchCreateNodes(b, a, c)
}
