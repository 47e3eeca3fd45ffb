package sqlite

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake/storetest"
)

// BenchmarkCreate: about 64 callers creating tickets at once, each with an idempotency key and
// a create event, every one durable (synchronous=FULL) before Create returns.
func BenchmarkCreate(b *testing.B) {
	s, _ := openTemp(b)
	ctx := context.Background()
	var n atomic.Int64
	commits := s.commits.Load()
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
	b.ReportMetric(float64(b.N)/float64(max(1, s.commits.Load()-commits)), "tickets/commit")
}
