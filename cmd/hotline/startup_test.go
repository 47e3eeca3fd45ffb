package main

import (
	"context"
	"testing"

	"github.com/bayannur/hotline/bot"
)

// BenchmarkLoadEngine measures what stands between `hotline serve` starting and the bot
// answering: loading and checking the built-in guide, the segmenter's dictionary, the index and
// training the bot's model (never the one a previous iteration trained). Target: ready within 2 s.
func BenchmarkLoadEngine(b *testing.B) {
	for i := 0; i < b.N; i++ {
		bot.ForgetModels()
		eng, err := loadEngine(context.Background(), "")
		if err != nil {
			b.Fatal(err)
		}
		eng.index.Close()
	}
}
