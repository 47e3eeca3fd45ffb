package bot_test

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/bayannur/hotline/bot"
)

// BenchmarkDecide measures one decision on the sample guide over the dev set's messages, and
// reports the latency percentiles (target: p99 ≤ 1 ms on one core, `-cpu 1`).
func BenchmarkDecide(b *testing.B) {
	bt, _ := newBot(b)
	f, err := os.Open("../testdata/dev.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	items, err := bot.ReadLabelled(f)
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if _, err := bt.Decide(ctx, bot.Message{Text: items[i%len(items)].Q}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}
