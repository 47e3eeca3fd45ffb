package sqlite

import (
	"testing"

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
