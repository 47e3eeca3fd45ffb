package storetest

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// BenchCreate is the stores' Create benchmark: about 64 callers creating tickets at once, each
// with an idempotency key and a create event, every one durable before Create returns. It
// reports tickets/s; the store's benchmark adds what is its own.
func BenchCreate(b *testing.B, s Store) { BenchCreateNodes(b, s) }

// BenchCreateNodes is BenchCreate with its callers spread over several stores on the same data,
// as over the nodes of a service: caller i calls nodes[i % len(nodes)].
func BenchCreateNodes(b *testing.B, nodes ...Store) {
	ctx := context.Background()
	var callers atomic.Int64
	var n atomic.Int64
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		s := nodes[int(callers.Add(1)-1)%len(nodes)]
		for pb.Next() {
			now := time.Now()
			key := fmt.Sprintf("bench-%d", n.Add(1))
			if _, _, err := s.Create(ctx, Ticket(now), CreateEvent(now), key); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tickets/s")
}
