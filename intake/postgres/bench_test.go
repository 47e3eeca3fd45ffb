package postgres

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake/postgres/pgtest"
	"github.com/bayannur/hotline/intake/storetest"
)

// BenchmarkCreate: about 64 callers creating tickets of one day at once, each with an
// idempotency key and a create event, every one durable before Create returns: the test server
// keeps fsync on, and this store's connections turn synchronous_commit back on (the test server
// has it off). The day's counter row makes the creates of one day take their turn, across nodes
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
	var n atomic.Int64
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			now := time.Now()
			key := fmt.Sprintf("bench-%d", n.Add(1))
			if _, _, err := s.Create(ctx, storetest.Ticket(now), storetest.CreateEvent(now), key); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tickets/s")
}
