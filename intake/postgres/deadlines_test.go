package postgres

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/search"
)

// TestDeadlineJobOnEveryNode: every node runs the deadline job; on one database, a ticket not
// signed in time goes up one tier once, not once a node.
func TestDeadlineJobOnEveryNode(t *testing.T) {
	spec, err := search.LoadSpec(search.SpecFS())
	if err != nil {
		t.Fatal(err)
	}
	g, problems := search.Load(search.SampleGuide(), spec)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	start := time.Date(2099, 3, 2, 10, 0, 0, 0, intake.Beijing) // a Monday morning
	now := start
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	const n = 4
	var svcs []*intake.Service
	for _, s := range nodes(t, n) {
		svcs = append(svcs, &intake.Service{Store: s, SLA: intake.DefaultSLA(intake.DefaultCalendar()),
			Dir: intake.GuideDirectory{Spec: spec, Guide: g}, Now: clock})
	}
	ctx := context.Background()
	tk, _, err := svcs[0].Create(ctx, intake.NewTicket{Topic: "report-streetlight", Community: "wy-jinqiao",
		Address: "虹亚小区3号楼", Description: "路灯不亮", Phone: "13812345678", Channel: intake.ChannelAPI}, "")
	if err != nil || tk.Status != intake.Dispatched {
		t.Fatalf("create: %v, %+v", err, tk)
	}
	mu.Lock()
	now = tk.SignBy.Add(time.Minute)
	mu.Unlock()

	var wg sync.WaitGroup
	escalated := make([]int, n)
	errs := make([]error, n)
	ready := make(chan struct{})
	for i, svc := range svcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-ready
			escalated[i], _, errs[i] = svc.CheckDeadlines(ctx)
		}()
	}
	close(ready)
	wg.Wait()
	total := 0
	for i := range svcs {
		if errs[i] != nil {
			t.Fatalf("node %d: %v", i, errs[i])
		}
		total += escalated[i]
	}
	got, err := svcs[0].Get(ctx, tk.Number)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := svcs[0].Store.Events(ctx, tk.Number)
	if err != nil {
		t.Fatal(err)
	}
	escalations := 0
	for _, ev := range evs {
		if ev.Action == intake.ActEscalate {
			escalations++
		}
	}
	if total != 1 || escalations != 1 || got.Tier != intake.TierCommunity {
		t.Errorf("%d nodes reported %d escalations, the trail holds %d, tier %s; want one, to the community", n, total, escalations, got.Tier)
	}
}
