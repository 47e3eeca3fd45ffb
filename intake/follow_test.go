package intake_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
)

func TestCreateGivesAnAccessCode(t *testing.T) {
	svc, _, _ := newService(t)
	a, _, err := svc.Create(context.Background(), streetlight(), "")
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := svc.Create(context.Background(), streetlight(), "")
	if err != nil {
		t.Fatal(err)
	}
	six := regexp.MustCompile(`^\d{6}$`)
	if !six.MatchString(a.AccessCode) || !six.MatchString(b.AccessCode) {
		t.Errorf("access codes %q and %q; want 6 digits each", a.AccessCode, b.AccessCode)
	}
}

func TestFollow(t *testing.T) {
	ctx := context.Background()
	svc, _, clk := newService(t)
	tk, _, err := svc.Create(ctx, streetlight(), "") // phone 138 1234 5678, conversation conv-1
	if err != nil {
		t.Fatal(err)
	}
	follow := func(p intake.Proof) error {
		_, err := svc.Follow(ctx, tk.Number, p)
		return err
	}
	if err := follow(intake.Proof{Code: tk.AccessCode}); err != nil {
		t.Errorf("the code: %v", err)
	}
	// A tail alone, or from another conversation, proves nothing.
	for _, p := range []intake.Proof{{Tail: "5678"}, {Tail: "5678", Conversation: "conv-2"}, {Conversation: "conv-1"}} {
		if err := follow(p); !errors.Is(err, intake.ErrNotFound) {
			t.Errorf("%+v: %v, want ErrNotFound", p, err)
		}
	}
	if err := follow(intake.Proof{Tail: "5678", Conversation: "conv-1"}); err != nil {
		t.Errorf("the opening conversation with the tail: %v", err)
	}
	// Wrong codes: after FollowFailures of them the ticket is locked, even for the right code.
	for i := range intake.FollowFailures {
		wrong := fmt.Sprintf("%06d", i)
		if wrong == tk.AccessCode {
			wrong = "999999"
		}
		if err := follow(intake.Proof{Code: wrong}); !errors.Is(err, intake.ErrNotFound) {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	err = follow(intake.Proof{Code: tk.AccessCode})
	if !intake.IsLocked(err) {
		t.Fatalf("after %d failures the right code: %v, want locked", intake.FollowFailures, err)
	}
	// The opening conversation is never locked out.
	if err := follow(intake.Proof{Tail: "5678", Conversation: "conv-1"}); err != nil {
		t.Errorf("the opening conversation while locked: %v", err)
	}
	// An hour later the code works again.
	clk.Set(clk.Now().Add(intake.FollowWindow + time.Second))
	if err := follow(intake.Proof{Code: tk.AccessCode}); err != nil {
		t.Errorf("after the window: %v", err)
	}
	if _, err := svc.Follow(ctx, "20990101-0001", intake.Proof{Code: "123456"}); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("no such ticket: %v", err)
	}
}
