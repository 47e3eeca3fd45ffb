package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
)

var cannedTests = []test{
	{"Seeded", testCannedSeeded},
	{"AddUpdateDelete", testCannedReplies},
}

func listCanned(t *testing.T, s Store) []intake.CannedReply {
	t.Helper()
	rs, err := s.ListCanned(t.Context())
	if err != nil {
		t.Fatalf("ListCanned: %v", err)
	}
	return rs
}

// A new store holds the canned replies that come with the service: each with an id, a title and
// a text, and no update time; listed by id.
func testCannedSeeded(t *testing.T, s Store) {
	seeded := listCanned(t, s)
	if len(seeded) == 0 {
		t.Fatal("no canned replies in a new store; want those that come with the service")
	}
	for i, r := range seeded {
		if r.ID <= 0 || r.Title == "" || r.Text == "" {
			t.Errorf("seeded reply %+v; want an id, a title and a text", r)
		}
		if !r.Updated.IsZero() {
			t.Errorf("seeded reply %d updated %v; want zero for the replies that come with the service", r.ID, r.Updated)
		}
		if i > 0 && r.ID <= seeded[i-1].ID {
			t.Errorf("ids %d then %d; want ascending", seeded[i-1].ID, r.ID)
		}
	}
}

// AddCanned numbers after every reply there is (a zero Updated is now); UpdateCanned and
// DeleteCanned change one reply, and an unknown id is ErrNotFound.
func testCannedReplies(t *testing.T, s Store) {
	ctx := t.Context()
	seeded := listCanned(t, s)
	if len(seeded) == 0 {
		t.Fatal("no canned replies in a new store")
	}

	when := time.Date(2026, 2, 3, 10, 0, 0, 0, intake.Beijing)
	r := &intake.CannedReply{Title: "停水", Text: "您好，该区域正在抢修，预计今晚恢复供水。", Updated: when, UpdatedBy: "manager1"}
	if err := s.AddCanned(ctx, r); err != nil {
		t.Fatal(err)
	}
	if r.ID <= seeded[len(seeded)-1].ID {
		t.Errorf("new reply id %d; want one after the seeded %d", r.ID, seeded[len(seeded)-1].ID)
	}
	other := &intake.CannedReply{Title: "停电", Text: "供电所正在处理。"}
	if err := s.AddCanned(ctx, other); err != nil {
		t.Fatal(err)
	}
	if other.ID <= r.ID || other.Updated.IsZero() {
		t.Errorf("second reply id %d (first %d), updated %v; want a larger id and now", other.ID, r.ID, other.Updated)
	}
	find := func(id int64, want int) (intake.CannedReply, bool) {
		t.Helper()
		rs := listCanned(t, s)
		if len(rs) != want {
			t.Errorf("%d canned replies; want %d", len(rs), want)
		}
		for _, x := range rs {
			if x.ID == id {
				return x, true
			}
		}
		return intake.CannedReply{}, false
	}
	got, ok := find(r.ID, len(seeded)+2)
	if !ok || got.Title != r.Title || got.Text != r.Text || got.UpdatedBy != "manager1" || !got.Updated.Equal(when) {
		t.Errorf("stored reply %+v (found %v); want %+v", got, ok, r)
	}
	if o, ok := find(other.ID, len(seeded)+2); !ok || !o.Updated.Equal(other.Updated) {
		t.Errorf("stored reply %+v (found %v); want updated %v, as AddCanned set", o, ok, other.Updated)
	}

	later := when.Add(time.Hour)
	up := &intake.CannedReply{ID: r.ID, Title: "停水通知", Text: "已恢复供水。", Updated: later, UpdatedBy: "manager2"}
	if err := s.UpdateCanned(ctx, up); err != nil {
		t.Fatal(err)
	}
	got, ok = find(r.ID, len(seeded)+2)
	if !ok || got.Title != "停水通知" || got.Text != "已恢复供水。" || got.UpdatedBy != "manager2" || !got.Updated.Equal(later) {
		t.Errorf("updated reply %+v (found %v); want %+v", got, ok, up)
	}
	// The others are untouched.
	if o, ok := find(other.ID, len(seeded)+2); !ok || o.Title != "停电" || o.Text != "供电所正在处理。" {
		t.Errorf("other reply %+v (found %v) after updating %d", o, ok, r.ID)
	}

	ghost := seeded[0].ID + 100000
	if err := s.UpdateCanned(ctx, &intake.CannedReply{ID: ghost, Title: "x", Text: "y"}); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("UpdateCanned(unknown): %v; want ErrNotFound", err)
	}
	if err := s.DeleteCanned(ctx, ghost); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("DeleteCanned(unknown): %v; want ErrNotFound", err)
	}

	if err := s.DeleteCanned(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := find(r.ID, len(seeded)+1); ok {
		t.Errorf("reply %d still listed after DeleteCanned", r.ID)
	}
	if err := s.DeleteCanned(ctx, r.ID); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("deleting %d twice: %v; want ErrNotFound", r.ID, err)
	}
	if err := s.UpdateCanned(ctx, up); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("updating deleted %d: %v; want ErrNotFound", r.ID, err)
	}
	if _, ok := find(other.ID, len(seeded)+1); !ok {
		t.Errorf("reply %d gone after deleting %d", other.ID, r.ID)
	}
}
