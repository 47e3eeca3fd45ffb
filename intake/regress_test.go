package intake_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
)

// staleLate hands every caller the same Late list, read once: two nodes that read it before
// either writes.
type staleLate struct {
	*memStore
	snap []*intake.Ticket
}

func (s *staleLate) Late(ctx context.Context, now time.Time) ([]*intake.Ticket, error) {
	if s.snap == nil {
		s.snap, _ = s.memStore.Late(ctx, now)
	}
	var out []*intake.Ticket
	for _, t := range s.snap {
		out = append(out, clone(t))
	}
	return out, nil
}

func TestTwoNodesEscalateOnce(t *testing.T) {
	svc, st, clk := newService(t)
	ctx := context.Background()
	tk, _, _ := svc.Create(ctx, streetlight(), "")
	clk.Set(tk.SignBy.Add(time.Minute))
	stale := &staleLate{memStore: st}
	stale.Late(ctx, clk.Now())
	nodeA := &intake.Service{Store: stale, SLA: svc.SLA, Dir: svc.Dir, Log: svc.Log, Now: svc.Now}
	nodeB := &intake.Service{Store: stale, SLA: svc.SLA, Dir: svc.Dir, Log: svc.Log, Now: svc.Now}
	if _, _, err := nodeA.CheckDeadlines(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := nodeB.CheckDeadlines(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Get(ctx, tk.Number); got.Tier != intake.TierCommunity || got.Urged != 1 {
		t.Errorf("tier %s, urged %d; want community, 1", got.Tier, got.Urged)
	}
}

func TestSignedMeanwhileIsNotPulledBack(t *testing.T) {
	svc, st, clk := newService(t)
	ctx := context.Background()
	tk, _, _ := svc.Create(ctx, streetlight(), "")
	clk.Set(tk.SignBy.Add(time.Minute))
	stale := &staleLate{memStore: st}
	stale.Late(ctx, clk.Now())
	if _, err := svc.Apply(ctx, tk.Number, 1, intake.Change{Action: intake.ActSign, Actor: "w1"}); err != nil {
		t.Fatal(err)
	}
	svc.Store = stale
	if _, _, err := svc.CheckDeadlines(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Get(ctx, tk.Number); got.Status != intake.Signed || got.Tier != intake.TierGrid || got.Urged != 0 {
		t.Errorf("status %s, tier %s, urged %d; want signed at the grid", got.Status, got.Tier, got.Urged)
	}
}

func TestReopenAtTownKeepsAssignee(t *testing.T) {
	svc, _, _ := newService(t)
	ctx := context.Background()
	tk, _, _ := svc.Create(ctx, streetlight(), "")
	for _, c := range []intake.Change{{Action: intake.ActEscalate}, {Action: intake.ActEscalate}, {Action: intake.ActSign}, {Action: intake.ActResolve, Note: "已修复"}} {
		if _, err := svc.Apply(ctx, tk.Number, 0, c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := svc.Apply(ctx, tk.Number, 0, intake.Change{Action: intake.ActReopen, Note: "没修好"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Tier != intake.TierTown || got.Assignee == "" {
		t.Errorf("tier %s, assignee %q; want the town, still assigned", got.Tier, got.Assignee)
	}
}

func TestPendingExtensionDoesNotSurviveReopen(t *testing.T) {
	s := intake.DefaultSLA(intake.DefaultCalendar())
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, intake.Beijing)
	tk := ticketIn(intake.InProgress)
	for i, c := range []intake.Change{
		{Action: intake.ActRequestExtension, Note: "等配件", Until: tk.DueBy.Add(time.Hour)},
		{Action: intake.ActResolve, Note: "已修复"}, {Action: intake.ActReopen, Note: "没修好"}, {Action: intake.ActSign},
	} {
		if _, err := tk.Apply(c, now.Add(time.Duration(i+1)*24*time.Hour), s); err != nil {
			t.Fatal(err)
		}
	}
	newDue := tk.DueBy
	if _, err := tk.Apply(intake.Change{Action: intake.ActRequestExtension, Note: "还要等", Until: newDue.Add(48 * time.Hour)}, now.Add(5*24*time.Hour), s); err != nil {
		t.Fatalf("request in the reopened round: %v", err)
	}
	if _, err := tk.Apply(intake.Change{Action: intake.ActApproveExtension}, now.Add(5*24*time.Hour), s); err != nil || !tk.DueBy.After(newDue) {
		t.Errorf("approve: %v; deadline %v → %v, want later", err, newDue, tk.DueBy)
	}
}

type noGrids struct{ intake.GuideDirectory }

func (d noGrids) Route(community, _ string) (intake.Route, bool) {
	return intake.Route{Community: community, Assignee: map[intake.Tier]string{intake.TierTown: "某镇"}}, true
}

func TestCommunityWithoutGridsWaitsReceived(t *testing.T) {
	svc, _, _ := newService(t)
	svc.Dir = noGrids{sampleDirectory(t)}
	if tk, _, err := svc.Create(context.Background(), streetlight(), ""); err != nil || tk.Status != intake.Received {
		t.Errorf("a valid ticket: %v; want it kept, received", err)
	}
}

func TestLongNameBlamesName(t *testing.T) {
	svc, _, _ := newService(t)
	n := streetlight()
	n.Name = strings.Repeat("王", 101)
	_, _, err := svc.Create(context.Background(), n, "")
	var fe *intake.FieldError
	if !errors.As(err, &fe) || fe.Field != "name" {
		t.Errorf("err = %v; want field name", err)
	}
}

func TestPhoneGoSyntaxIsMasked(t *testing.T) {
	if s := fmt.Sprintf("%#v", intake.Ticket{Phone: "13812345678"}); strings.Contains(s, "13812345678") {
		t.Errorf("%%#v = %s", s)
	}
}
