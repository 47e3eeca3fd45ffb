package sqlite

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/storetest"
)

// BenchmarkCreate: storetest's, every ticket durable (synchronous=FULL) before Create returns,
// and how many tickets the group commit puts in one transaction.
func BenchmarkCreate(b *testing.B) {
	s, _ := openTemp(b)
	commits := s.commits.Load()
	storetest.BenchCreate(b, s)
	b.ReportMetric(float64(b.N)/float64(max(1, s.commits.Load()-commits)), "tickets/commit")
}

// BenchmarkChatMessage is what the chat stores per resident message, from many conversations at
// once: the conversation read, a resident turn and a bot turn appended with the new state, and
// the last turns read back (as the desk does). It measures the store's part of the message path.
func BenchmarkChatMessage(b *testing.B) {
	s, _ := openTemp(b)
	ctx := b.Context()
	const convs = 64
	ids := make([]string, convs)
	for i := range ids {
		ids[i] = fmt.Sprintf("c%03d", i)
		if err := s.CreateConversation(ctx, &intake.Conversation{ID: ids[i], TokenHash: "t" + ids[i]}); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := ids[next.Add(1)%convs]
			c, err := s.Conversation(ctx, id)
			if err != nil {
				b.Fatal(err)
			}
			c.State.Flow, c.State.Step = intake.FlowReport, intake.StepPlace
			turns := []intake.Turn{{From: "resident", Text: "俺们楼门口的路灯坏了好几天了"}, {From: "bot", Text: "请告诉我具体地点"}}
			if err := s.AppendTurns(ctx, c, turns); err != nil {
				b.Fatal(err)
			}
			if _, err := s.Turns(ctx, id, 50); err != nil {
				b.Fatal(err)
			}
		}
	})
}
