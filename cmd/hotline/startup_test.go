package main

import (
	"context"
	"testing"
)

// BenchmarkLoadEngine measures what stands between `hotline serve` starting and the bot
// answering: loading and checking the built-in guide, the segmenter's dictionary and the index.
// Target: well under the 2 s readiness budget.
func BenchmarkLoadEngine(b *testing.B) {
	for i := 0; i < b.N; i++ {
		eng, err := loadEngine(context.Background(), "")
		if err != nil {
			b.Fatal(err)
		}
		eng.index.Close()
	}
}
