package intake_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
)

// A known history — on time and late signatures, an escalation, an approved extension, a
// ticket reopened after 不满意 and rated again, one reopened and not yet redone, unrated and
// pending tickets — gives each rate an exact fraction.
func TestRatesOfAKnownHistory(t *testing.T) {
	svc, st, clk := newService(t)
	ctx := context.Background()
	t0 := svcStart
	at := func(d time.Duration) { clk.Set(t0.Add(d)) }
	yes, no := true, false
	create := func() string {
		tk, _, err := svc.Create(ctx, streetlight(), "")
		if err != nil {
			t.Fatal(err)
		}
		return tk.Number
	}
	do := func(number string, d time.Duration, c intake.Change) {
		t.Helper()
		at(d)
		c.Actor = "w"
		if _, err := svc.Apply(ctx, number, 0, c); err != nil {
			t.Fatalf("%s %s at +%v: %v", number, c.Action, d, err)
		}
	}
	sign := intake.Change{Action: intake.ActSign}
	resolve := intake.Change{Action: intake.ActResolve, Note: "已处理"}
	rate := func(r string, solved *bool) intake.Change {
		return intake.Change{Action: intake.ActRate, Rating: r, Solved: solved}
	}
	day := 24 * time.Hour

	at(0)
	a, b, c, d, _, h := create(), create(), create(), create(), create(), create() // the fifth is E
	// A: on time throughout, 满意, solved.
	do(a, time.Hour, sign)
	do(a, day, resolve)
	do(a, day+time.Hour, rate(intake.Satisfied, &yes))
	// B: signed late, resolved after its deadline, 基本满意 without the solved question.
	do(b, 3*time.Hour, sign)
	do(b, 10*day, resolve)
	do(b, 10*day+time.Hour, rate(intake.BasicallySatisfied, nil))
	// C: on time, 不满意 and not solved → reopened a tier up; redone on time and 满意.
	do(c, time.Hour, sign)
	do(c, day, resolve)
	do(c, day+time.Hour, rate(intake.Dissatisfied, &no))
	if tk, _ := st.Get(ctx, c); tk.Status != intake.Dispatched || tk.Tier != intake.TierCommunity || tk.Reopened != 1 {
		t.Fatalf("不满意 left C %s at tier %s, reopened %d; want dispatched again one tier up", tk.Status, tk.Tier, tk.Reopened)
	}
	do(c, day+2*time.Hour, sign)
	do(c, 2*day, resolve)
	do(c, 2*day+time.Hour, rate(intake.Satisfied, &yes))
	// D: an extension approved before a resolution that would otherwise be late.
	do(d, time.Hour, sign)
	do(d, 2*day, intake.Change{Action: intake.ActRequestExtension, Note: "需要采购", Until: t0.Add(20 * day)})
	do(d, 2*day+time.Hour, intake.Change{Action: intake.ActApproveExtension})
	do(d, 12*day, resolve)
	// H: on time, 不满意 though solved → reopened, not redone.
	do(h, time.Hour, sign)
	do(h, day, resolve)
	do(h, day+time.Hour, rate(intake.Dissatisfied, &yes))
	// E: never signed; the deadline job moves it up.
	at(3 * time.Hour)
	if up, _, err := svc.CheckDeadlines(ctx); err != nil || up != 1 {
		t.Fatalf("CheckDeadlines: %d escalated, %v; want E", up, err)
	}
	// F: created an hour before now, nothing due yet.
	now := t0.Add(30 * day)
	clk.Set(now.Add(-time.Hour))
	create()

	all, err := st.List(ctx, intake.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 7 {
		t.Fatalf("%d tickets, want 7", len(all))
	}
	want := map[string][2]int{
		intake.RateSignedOnTime:   {4, 6}, // A C D H on time; B late; E escalated unsigned; F not due
		intake.RateResolvedOnTime: {3, 6}, // A C D; B late; E and H (reopened) open past due; F not due
		intake.RateSolved:         {3, 4}, // A yes, C no then yes, H yes; B not asked
		intake.RateSatisfied:      {3, 5}, // A 满意, B 基本满意, C 不满意 then 满意, H 不满意
	}
	rates := intake.ComputeRates(all, now, intake.DefaultTargets())
	if len(rates) != 4 {
		t.Fatalf("%d rates, want 4", len(rates))
	}
	for _, r := range rates {
		w := want[r.Rate]
		if r.Numerator != w[0] || r.Denominator != w[1] || r.Value == nil || *r.Value != float64(w[0])/float64(w[1]) {
			t.Errorf("%s (%s): %d/%d = %v, want %d/%d", r.Rate, r.Label, r.Numerator, r.Denominator, r.Value, w[0], w[1])
		}
		if r.Target != intake.DefaultTargets()[r.Rate] {
			t.Errorf("%s target %v", r.Rate, r.Target)
		}
	}

	// Nothing to divide is no rate at all, not 0 % or 100 %.
	for _, r := range intake.ComputeRates(nil, now, intake.DefaultTargets()) {
		if r.Value != nil || r.Denominator != 0 {
			t.Errorf("%s over no tickets: %+v, want no value", r.Rate, r)
		}
	}
}

// One rating per resolution; it may be changed within 24 hours, and the change replaces it.
func TestRatingRules(t *testing.T) {
	svc, _, clk := newService(t)
	ctx := context.Background()
	tk, _, err := svc.Create(ctx, streetlight(), "")
	if err != nil {
		t.Fatal(err)
	}
	n := tk.Number
	yes := true
	apply := func(c intake.Change) (*intake.Ticket, error) {
		c.Actor = "resident"
		return svc.Apply(ctx, n, 0, c)
	}
	if _, err := apply(intake.Change{Action: intake.ActRate, Rating: intake.Satisfied, Solved: &yes}); !errors.Is(err, intake.ErrTransition) {
		t.Fatalf("rating a dispatched ticket: %v, want a refused transition", err)
	}
	for _, a := range []intake.Action{intake.ActSign, intake.ActResolve} {
		if _, err := apply(intake.Change{Action: a, Note: "修好了"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := apply(intake.Change{Action: intake.ActRate, Rating: intake.Satisfied, Solved: &yes, Amend: true}); !errors.Is(err, intake.ErrNotRated) {
		t.Errorf("changing a rating never given: %v, want ErrNotRated", err)
	}
	if _, err := apply(intake.Change{Action: intake.ActRate, Rating: "great", Solved: &yes}); !errors.Is(err, intake.ErrInvalid) {
		t.Errorf("an unknown rating: %v, want ErrInvalid", err)
	}
	first := clk.Now()
	if _, err := apply(intake.Change{Action: intake.ActRate, Rating: intake.BasicallySatisfied, Solved: &yes, Note: "还行"}); err != nil {
		t.Fatal(err)
	}
	if _, err := apply(intake.Change{Action: intake.ActRate, Rating: intake.Satisfied, Solved: &yes}); !errors.Is(err, intake.ErrAlreadyRated) {
		t.Errorf("a second rating: %v, want ErrAlreadyRated", err)
	}
	clk.Set(first.Add(23 * time.Hour))
	got, err := apply(intake.Change{Action: intake.ActRate, Rating: intake.Satisfied, Solved: &yes, Amend: true})
	if err != nil {
		t.Fatalf("changing within 24 hours: %v", err)
	}
	if got.Rating != intake.Satisfied || len(got.Ratings) != 1 || got.Ratings[0].Rating != intake.Satisfied || !got.RatedAt.Equal(first) {
		t.Errorf("after the change: rating %q, ratings %+v, rated at %v; want one rating, 满意, first given at %v", got.Rating, got.Ratings, got.RatedAt, first)
	}
	clk.Set(first.Add(25 * time.Hour))
	if _, err := apply(intake.Change{Action: intake.ActRate, Rating: intake.BasicallySatisfied, Solved: &yes, Amend: true}); !errors.Is(err, intake.ErrTooLate) {
		t.Errorf("changing after 24 hours: %v, want ErrTooLate", err)
	}
}
