package intake_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
)

// seen is one notification as an observer saw it.
type seen struct {
	Number  string
	Status  intake.Status
	Version int
	Action  intake.Action
	EvNum   string
	From    intake.Status
	To      intake.Status
	Actor   string
}

func (s seen) String() string {
	return fmt.Sprintf("%s v%d %s (%s %s→%s by %s, event of %s)", s.Number, s.Version, s.Status, s.Action, s.From, s.To, s.Actor, s.EvNum)
}

// recorder is an observer that keeps what it is told, and checks that the change it is told of
// is already stored.
type recorder struct {
	t  *testing.T
	st intake.Store

	mu   sync.Mutex
	seen []seen
}

func (r *recorder) observe(tk *intake.Ticket, ev intake.Event) {
	if stored, err := r.st.Get(context.Background(), tk.Number); err != nil || stored.Version != tk.Version || stored.Status != tk.Status {
		r.t.Errorf("told of %s v%d %s before it was stored (stored %+v, %v)", tk.Number, tk.Version, tk.Status, stored, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, seen{tk.Number, tk.Status, tk.Version, ev.Action, ev.Number, ev.From, ev.To, ev.Actor})
}

func (r *recorder) got() []seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seen(nil), r.seen...)
}

func sameSeen(t *testing.T, name string, got, want []seen) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s saw %d changes %v; want %d %v", name, len(got), got, len(want), want)
		return
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("%s: change %d = %v; want %v", name, i, got[i], want[i])
		}
	}
}

func TestObserveCreateAndApply(t *testing.T) {
	svc, st, clk := newService(t)
	ctx := context.Background()
	r1, r2 := &recorder{t: t, st: st}, &recorder{t: t, st: st}
	svc.Observe(r1.observe)
	svc.Observe(r2.observe)

	// Dispatched at once: the last creation event is the dispatch.
	tk, _, err := svc.Create(ctx, streetlight(), "key-1")
	if err != nil {
		t.Fatal(err)
	}
	want := []seen{{tk.Number, intake.Dispatched, 1, intake.ActDispatch, tk.Number, intake.Received, intake.Dispatched, "system"}}

	// Not dispatched: the creation event itself.
	n := streetlight()
	n.Community, n.Address, n.Actor = "", "路边", "op1" // an address that names no place
	waiting, _, err := svc.Create(ctx, n, "")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, seen{waiting.Number, intake.Received, 1, intake.ActCreate, waiting.Number, "", intake.Received, "op1"})

	// A replayed key creates nothing and tells nobody.
	if again, created, err := svc.Create(ctx, streetlight(), "key-1"); err != nil || created || again.Number != tk.Number {
		t.Fatalf("replay: %v, created %v, %v", again, created, err)
	}
	// Neither does a refused ticket.
	bad := streetlight()
	bad.Description = ""
	if _, _, err := svc.Create(ctx, bad, ""); !errors.Is(err, intake.ErrInvalid) {
		t.Fatalf("empty description: %v; want ErrInvalid", err)
	}

	clk.Set(svcStart.Add(10 * time.Minute))
	signed, err := svc.Apply(ctx, tk.Number, 1, intake.Change{Action: intake.ActSign, Actor: "w1"})
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, seen{tk.Number, intake.Signed, 2, intake.ActSign, tk.Number, intake.Dispatched, intake.Signed, "w1"})
	if _, err := svc.Apply(ctx, tk.Number, signed.Version, intake.Change{Action: intake.ActStart, Actor: "w1"}); err != nil {
		t.Fatal(err)
	}
	want = append(want, seen{tk.Number, intake.InProgress, 3, intake.ActStart, tk.Number, intake.Signed, intake.InProgress, "w1"})

	// Refused changes tell nobody: a transition the lifecycle does not allow, a stale version,
	// an unknown ticket.
	if _, err := svc.Apply(ctx, tk.Number, 0, intake.Change{Action: intake.ActClose, Actor: "op1"}); !errors.Is(err, intake.ErrTransition) {
		t.Fatalf("closing an in-progress ticket: %v; want ErrTransition", err)
	}
	if _, err := svc.Apply(ctx, tk.Number, 1, intake.Change{Action: intake.ActNote, Actor: "op1", Note: "x"}); !errors.Is(err, intake.ErrConflict) {
		t.Fatalf("stale version: %v; want ErrConflict", err)
	}
	if _, err := svc.Apply(ctx, "20990101-0001", 0, intake.Change{Action: intake.ActNote, Actor: "op1", Note: "x"}); !errors.Is(err, intake.ErrNotFound) {
		t.Fatalf("unknown ticket: %v; want ErrNotFound", err)
	}

	if _, err := svc.Apply(ctx, waiting.Number, 0, intake.Change{Action: intake.ActNote, Actor: "op1", Note: "已电话联系"}); err != nil {
		t.Fatal(err)
	}
	want = append(want, seen{waiting.Number, intake.Received, 2, intake.ActNote, waiting.Number, intake.Received, intake.Received, "op1"})

	sameSeen(t, "first observer", r1.got(), want)
	sameSeen(t, "second observer", r2.got(), want)

	// An observer added now sees only what happens from now on.
	r3 := &recorder{t: t, st: st}
	svc.Observe(r3.observe)
	if _, err := svc.Apply(ctx, tk.Number, 0, intake.Change{Action: intake.ActNote, Actor: "w1", Note: "已报修"}); err != nil {
		t.Fatal(err)
	}
	last := seen{tk.Number, intake.InProgress, 4, intake.ActNote, tk.Number, intake.InProgress, intake.InProgress, "w1"}
	sameSeen(t, "late observer", r3.got(), []seen{last})
	sameSeen(t, "first observer", r1.got(), append(want, last))
}

// The SLA job's changes go through Apply, so observers see them too.
func TestObserveDeadlineChanges(t *testing.T) {
	svc, st, clk := newService(t)
	ctx := context.Background()
	tk, _, err := svc.Create(ctx, streetlight(), "")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{t: t, st: st}
	svc.Observe(r.observe)
	clk.Set(tk.SignBy.Add(time.Minute))
	if esc, _, err := svc.CheckDeadlines(ctx); err != nil || esc != 1 {
		t.Fatalf("escalated %d, %v; want 1", esc, err)
	}
	got := r.got()
	if len(got) != 2 || got[0].Action != intake.ActEscalate || got[0].Version != 2 || got[1].Action != intake.ActUrge || got[1].Version != 3 ||
		got[0].Actor != "system" || got[1].Actor != "system" {
		t.Errorf("observer saw %v; want escalate (v2) and urge (v3) by the system", got)
	}
}

// Of racing changes to one version, only the one stored is told.
func TestObserveRacingApply(t *testing.T) {
	svc, st, _ := newService(t)
	ctx := context.Background()
	tk, _, err := svc.Create(ctx, streetlight(), "")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{t: t, st: st}
	svc.Observe(r.observe)
	const n = 8
	start := make(chan struct{})
	var wg sync.WaitGroup
	var won atomic.Int32
	winner := make(chan string, n)
	for i := range n {
		wg.Go(func() {
			<-start
			actor := fmt.Sprint("op", i)
			_, err := svc.Apply(ctx, tk.Number, 1, intake.Change{Action: intake.ActNote, Actor: actor, Note: "备注"})
			switch {
			case err == nil:
				won.Add(1)
				winner <- actor
			case !errors.Is(err, intake.ErrConflict):
				t.Errorf("%s: %v; want nil or ErrConflict", actor, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d changes won; want 1", won.Load())
	}
	sameSeen(t, "observer", r.got(), []seen{{tk.Number, intake.Dispatched, 2, intake.ActNote, tk.Number, intake.Dispatched, intake.Dispatched, <-winner}})
}

// Observers may be added while tickets are being created (run with -race): none is lost.
func TestObserveConcurrent(t *testing.T) {
	svc, _, _ := newService(t)
	ctx := context.Background()
	const adders, per, creators, each = 8, 100, 4, 5
	counts := make([]atomic.Int64, adders*per)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for a := range adders {
		wg.Go(func() {
			<-start
			for j := range per {
				i := a*per + j
				svc.Observe(func(tk *intake.Ticket, ev intake.Event) {
					if tk.Number == "" || ev.Number != tk.Number {
						t.Errorf("observer %d told of ticket %q, event of %q", i, tk.Number, ev.Number)
					}
					counts[i].Add(1)
				})
			}
		})
	}
	for range creators {
		wg.Go(func() {
			<-start
			for range each {
				if _, _, err := svc.Create(ctx, streetlight(), ""); err != nil {
					t.Error(err)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	before := make([]int64, len(counts))
	for i := range counts {
		before[i] = counts[i].Load()
		if before[i] > creators*each {
			t.Errorf("observer %d told %d times of %d tickets", i, before[i], creators*each)
		}
	}
	// Every observer was kept: each hears of the next ticket exactly once.
	if _, _, err := svc.Create(ctx, streetlight(), ""); err != nil {
		t.Fatal(err)
	}
	lost := 0
	for i := range counts {
		switch got := counts[i].Load() - before[i]; {
		case got == 0:
			lost++
		case got != 1:
			t.Errorf("observer %d told %d times of one more ticket; want once", i, got)
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d observers added concurrently were lost", lost, len(counts))
	}
}
