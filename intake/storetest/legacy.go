package storetest

import (
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
)

// OldRows checks, and adds to, the rows that a store's test of a database made by an older
// version of the store writes there in their stored form, all at at: the ticket 20250301-0001
// (phone 13812345678, received at at, version 1) with its create event, its idempotency key
// old-key and its day's counter at 1; the operator li, staff number 1; and the conversation c1
// (flow report, handoff live to li since at) with one turn, the resident's 路灯不亮.
func OldRows(t *testing.T, s Store, at time.Time) {
	t.Helper()
	ctx := t.Context()
	tk, err := s.Get(ctx, "20250301-0001")
	if err != nil {
		t.Fatal(err)
	}
	if !tk.Created.Equal(at) || tk.Phone.Full() != "13812345678" || !tk.Steps[intake.Received].Equal(at) || tk.Version != 1 {
		t.Errorf("old ticket %+v; want it as stored", tk)
	}
	if evs, err := s.Events(ctx, tk.Number); err != nil || len(evs) != 1 || !evs[0].At.Equal(at) || evs[0].Action != intake.ActCreate {
		t.Errorf("old events %+v, %v; want the create event", evs, err)
	}
	if got, created, err := s.Create(ctx, Ticket(at), nil, "old-key"); err != nil || created || got.Number != tk.Number {
		t.Errorf("the old key again: %v, created %v, %v; want the old ticket", got, created, err)
	}
	if got, _, err := s.Create(ctx, Ticket(at), nil, ""); err != nil || got.Number != "20250301-0002" {
		t.Errorf("a new ticket of the old day: %v, %v; want 20250301-0002", got, err)
	}
	if u, err := s.User(ctx, "li"); err != nil || u.Number != 1 || !u.Created.Equal(at) {
		t.Errorf("old user %+v, %v; want number 1", u, err)
	}
	// An API token made before tokens expired keeps working for a year from the upgrade.
	if tok, err := s.Token(ctx, "old-token-hash"); err != nil || !tok.Created.Equal(at) || tok.Expired(time.Now().AddDate(0, 0, 364)) ||
		!tok.Expired(time.Now().AddDate(0, 0, 366)) {
		t.Errorf("old API token %+v, %v; want it expiring a year from now", tok, err)
	}
	if c, err := s.Conversation(ctx, "c1"); err != nil || c.State.Flow != "report" || c.Handoff != intake.HandoffLive || !c.HandoffAt.Equal(at) {
		t.Errorf("old conversation %+v, %v", c, err)
	}
	if err := s.AddTurns(ctx, "c1", []intake.Turn{{From: "operator", Agent: "1", Text: "您好"}}); err != nil {
		t.Fatal(err)
	}
	if ts, err := s.Turns(ctx, "c1", 0); err != nil || len(ts) != 2 || ts[0].Text != "路灯不亮" || !ts[0].At.Equal(at) || ts[1].Seq != 2 {
		t.Errorf("turns %+v, %v; want the old one, then the new", ts, err)
	}
}
