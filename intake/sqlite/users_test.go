package sqlite

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
)

func TestUsers(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	created := time.Date(2026, 1, 5, 9, 0, 0, 0, intake.Beijing)
	li := &intake.User{Name: "li", Role: intake.RoleGridWorker, Grid: "g1", PasswordHash: "$argon2id$a", Created: created}
	if err := s.AddUser(ctx, li); err != nil {
		t.Fatal(err)
	}
	admin := &intake.User{Name: "admin", Role: intake.RoleAdmin}
	if err := s.AddUser(ctx, admin); err != nil {
		t.Fatal(err)
	}
	if admin.Created.IsZero() {
		t.Error("AddUser left Created zero; want it set to now")
	}
	if err := s.AddUser(ctx, &intake.User{Name: "li", Role: intake.RoleOperator}); !errors.Is(err, intake.ErrConflict) {
		t.Errorf("duplicate name: %v; want ErrConflict", err)
	}
	if err := s.AddUser(ctx, &intake.User{Name: "x", Role: "boss"}); !errors.Is(err, intake.ErrInvalid) {
		t.Errorf("unknown role: %v; want ErrInvalid", err)
	}

	got, err := s.User(ctx, "li")
	if err != nil {
		t.Fatal(err)
	}
	if *got != (intake.User{Name: "li", Number: 1, Role: intake.RoleGridWorker, Grid: "g1", PasswordHash: "$argon2id$a", Created: created.UTC()}) {
		t.Errorf("User(li) = %+v", got)
	}
	if _, err := s.User(ctx, "nobody"); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("unknown user: %v; want ErrNotFound", err)
	}
	all, err := s.ListUsers(ctx)
	if err != nil || len(all) != 2 || all[0].Name != "admin" || all[1].Name != "li" {
		t.Errorf("ListUsers = %v, %v; want admin, li", all, err)
	}

	if err := s.SetPassword(ctx, "li", "$argon2id$b"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.User(ctx, "li"); got.PasswordHash != "$argon2id$b" {
		t.Errorf("password hash %q after SetPassword", got.PasswordHash)
	}
	if err := s.SetPassword(ctx, "nobody", "h"); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("SetPassword of an unknown user: %v; want ErrNotFound", err)
	}
}

func TestSessions(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	if err := s.AddUser(ctx, &intake.User{Name: "li", Role: intake.RoleOperator}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 2, 3, 10, 0, 0, 0, intake.Beijing)
	sess := intake.Session{TokenHash: "h1", User: "li", CSRF: "csrf1", Expires: now.Add(time.Hour)}
	if err := s.AddSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	got, err := s.Session(ctx, "h1", now)
	if err != nil {
		t.Fatal(err)
	}
	if want := (intake.Session{TokenHash: "h1", User: "li", CSRF: "csrf1", Expires: sess.Expires.UTC()}); *got != want {
		t.Errorf("Session = %+v; want %+v", got, want)
	}
	if _, err := s.Session(ctx, "h1", now.Add(time.Hour)); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("at its expiry: %v; want ErrNotFound", err)
	}
	if _, err := s.Session(ctx, "h1", now.Add(2*time.Hour)); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("expired: %v; want ErrNotFound", err)
	}
	if _, err := s.Session(ctx, "nope", now); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("unknown: %v; want ErrNotFound", err)
	}
	if err := s.AddSession(ctx, sess); !errors.Is(err, intake.ErrConflict) {
		t.Errorf("same token twice: %v; want ErrConflict", err)
	}
	if err := s.AddSession(ctx, intake.Session{TokenHash: "h2", User: "ghost", Expires: now}); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("session of an unknown user: %v; want ErrNotFound", err)
	}
	if err := s.DeleteSession(ctx, "h1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, "h1", now); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("after DeleteSession: %v; want ErrNotFound", err)
	}
	if err := s.DeleteSession(ctx, "h1"); err != nil {
		t.Errorf("deleting a deleted session: %v; want nil", err)
	}
}

func TestTokens(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	if err := s.AddUser(ctx, &intake.User{Name: "bot", Role: intake.RoleOperator}); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 2, 3, 10, 0, 0, 0, intake.Beijing)
	tok := intake.APIToken{TokenHash: "t1", User: "bot", Label: "open311 bridge", Created: created}
	if err := s.AddToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	got, err := s.Token(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	tok.Created = created.UTC()
	if *got != tok {
		t.Errorf("Token = %+v; want %+v", got, tok)
	}
	if _, err := s.Token(ctx, "t2"); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("unknown token: %v; want ErrNotFound", err)
	}
	if err := s.AddToken(ctx, tok); !errors.Is(err, intake.ErrConflict) {
		t.Errorf("same token twice: %v; want ErrConflict", err)
	}
	if err := s.AddToken(ctx, intake.APIToken{TokenHash: "t3", User: "ghost"}); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("token of an unknown user: %v; want ErrNotFound", err)
	}
}

// A new password ends the user's sessions; revoking ends sessions and API tokens. Other users
// keep theirs.
func TestPasswordAndRevoke(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	later := time.Now().Add(time.Hour)
	for _, name := range []string{"a", "b"} {
		if err := s.AddUser(ctx, &intake.User{Name: name, Role: intake.RoleOperator}); err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{"s1-" + name, "s2-" + name} {
			if err := s.AddSession(ctx, intake.Session{TokenHash: h, User: name, Expires: later}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddToken(ctx, intake.APIToken{TokenHash: "t-" + name, User: name}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetPassword(ctx, "a", "$argon2id$new"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, "s1-a", time.Now()); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("a's session after a new password: %v, want ended", err)
	}
	if _, err := s.Token(ctx, "t-a"); err != nil {
		t.Errorf("a's API token after a new password: %v, want kept (revoke ends tokens)", err)
	}
	if n, err := s.RevokeAccess(ctx, "b"); err != nil || n != 3 {
		t.Errorf("RevokeAccess(b) = %d, %v; want 2 sessions and 1 token", n, err)
	}
	if _, err := s.Token(ctx, "t-b"); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("b's token after revoking: %v", err)
	}
	if _, err := s.Session(ctx, "s2-b", time.Now()); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("b's session after revoking: %v", err)
	}
	if _, err := s.Token(ctx, "t-a"); err != nil {
		t.Errorf("revoking b touched a's token: %v", err)
	}
	if _, err := s.RevokeAccess(ctx, "ghost"); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("RevokeAccess(ghost): %v, want ErrNotFound", err)
	}
	if err := s.SetPassword(ctx, "ghost", "x"); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("SetPassword(ghost): %v, want ErrNotFound", err)
	}
}
