package bot_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/bayannur/hotline/bot"
)

// BenchmarkDecide measures one decision on the sample guide over the 3,591 labelled messages of
// its training/ sets (colloquial, dialect, typos, pinyin, bystanders; two to a hundred and more
// characters), and reports the latency percentiles (target: p99 ≤ 300 µs on one core, `-cpu 1`).
func BenchmarkDecide(b *testing.B) {
	bt, g := newBot(b)
	items := g.Training
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

// BenchmarkTrain measures training the bot's model on the sample guide at start (its examples,
// keywords, intents and labelled sets, with their typed variants), the index already built.
// Target: 1.5 s.
func BenchmarkTrain(b *testing.B) {
	_, g := newBot(b)
	idx, an := indexOf(b, g)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bot.ForgetModels()
		if _, err := bot.New(g, idx, an); err != nil {
			b.Fatal(err)
		}
	}
}
