package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
)

var userTests = []test{
	{"Users", testUsers},
	{"Sessions", testSessions},
	{"Tokens", testTokens},
	{"TokenExpiry", testTokenExpiry},
	{"TokensListAndRevoke", testTokensListAndRevoke},
	{"PasswordAndRevoke", testPasswordAndRevoke},
	{"Numbers", testUserNumbers},
	{"NumbersNeverReused", testStaffNumbersNeverReused},
	{"LoginFailures", testLoginFailures},
	{"FollowFailures", testFollowFailures},
}

func addUser(t *testing.T, s Store, u *intake.User) {
	t.Helper()
	if err := s.AddUser(t.Context(), u); err != nil {
		t.Fatalf("AddUser(%s): %v", u.Name, err)
	}
}

// Accounts: added, read, listed by name, their password changed; names are unique, roles known.
func testUsers(t *testing.T, s Store) {
	ctx := t.Context()
	created := time.Date(2026, 1, 5, 9, 0, 0, 0, intake.Beijing)
	li := &intake.User{Name: "li", Role: intake.RoleGridWorker, Grid: "g1", PasswordHash: "$argon2id$a", Created: created}
	addUser(t, s, li)
	admin := &intake.User{Name: "admin", Role: intake.RoleAdmin}
	addUser(t, s, admin)
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
	users, err := s.ListUsers(ctx)
	if err != nil || len(users) != 2 || users[0].Name != "admin" || users[1].Name != "li" {
		t.Errorf("ListUsers = %v, %v; want admin, li", users, err)
	}
	if len(users) == 2 && (*users[1] != *got || !users[0].Created.Equal(admin.Created)) {
		t.Errorf("ListUsers = %+v, %+v; want them as User gives them", users[0], users[1])
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

// A session is found by its token hash until it expires; it belongs to a known user.
func testSessions(t *testing.T, s Store) {
	ctx := t.Context()
	addUser(t, s, &intake.User{Name: "li", Role: intake.RoleOperator})
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

// An API token is found by its token hash; it belongs to a known user.
func testTokens(t *testing.T, s Store) {
	ctx := t.Context()
	addUser(t, s, &intake.User{Name: "bot", Role: intake.RoleOperator})
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
	tok.ID = "t1"
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

// hash64 is a token hash as the service stores one: 64 hex digits, starting with prefix.
func hash64(prefix string) string {
	const pad = "0000000000000000000000000000000000000000000000000000000000000000"
	return prefix + pad[len(prefix):]
}

// An API token keeps its expiry to the nanosecond; a zero one is never. Token returns an expired
// token too, and Expired says so from its expiry on.
func testTokenExpiry(t *testing.T, s Store) {
	ctx := t.Context()
	addUser(t, s, &intake.User{Name: "bridge", Role: intake.RoleOperator})
	created := time.Date(2026, 2, 3, 10, 0, 0, 0, intake.Beijing)
	expires := created.Add(720*time.Hour + 123456789)
	if err := s.AddToken(ctx, intake.APIToken{TokenHash: hash64("e1"), User: "bridge", Created: created, Expires: expires}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddToken(ctx, intake.APIToken{TokenHash: hash64("e2"), User: "bridge", Created: created}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Token(ctx, hash64("e1"))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Expires.Equal(expires) || got.ID != hash64("e1")[:intake.TokenIDLength] {
		t.Errorf("token expires %v, ID %q; want %v and the hash's first %d characters", got.Expires, got.ID, expires, intake.TokenIDLength)
	}
	if got.Expired(expires.Add(-time.Nanosecond)) || !got.Expired(expires) || !got.Expired(expires.Add(time.Hour)) {
		t.Error("Expired: want false before the expiry, true from it on")
	}
	never, err := s.Token(ctx, hash64("e2"))
	if err != nil {
		t.Fatal(err)
	}
	if !never.Expires.IsZero() || never.Expired(time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("a token stored without expiry: expires %v; want never", never.Expires)
	}
	if err := s.AddToken(ctx, intake.APIToken{TokenHash: hash64("e3"), User: "bridge", Expires: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)}); !errors.Is(err, intake.ErrInvalid) {
		t.Errorf("an expiry in the year 3000: %v; want ErrInvalid", err)
	}
	// The last use: none yet, then as touched, to the nanosecond.
	if !got.LastUsed.IsZero() {
		t.Errorf("a new token last used %v; want never", got.LastUsed)
	}
	used := created.Add(time.Hour + 5)
	if err := s.TouchToken(ctx, hash64("e1"), used); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Token(ctx, hash64("e1")); err != nil || !got.LastUsed.Equal(used) {
		t.Errorf("after TouchToken: %+v, %v; want last used %v", got, err, used)
	}
	if err := s.TouchToken(ctx, hash64("ee"), used); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("TouchToken of an unknown token: %v; want ErrNotFound", err)
	}
}

// A user's tokens are listed oldest first, without anyone else's; one is revoked by its ID and
// no longer found, the others stay.
func testTokensListAndRevoke(t *testing.T, s Store) {
	ctx := t.Context()
	addUser(t, s, &intake.User{Name: "wang", Role: intake.RoleOperator})
	addUser(t, s, &intake.User{Name: "zhou", Role: intake.RoleOperator})
	at := time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)
	for i, h := range []string{"bb", "aa", "cc"} {
		tok := intake.APIToken{TokenHash: hash64(h), User: "wang", Label: "l-" + h, Created: at.Add(time.Duration(i) * time.Hour), Expires: at.AddDate(0, 0, 90)}
		if err := s.AddToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddToken(ctx, intake.APIToken{TokenHash: hash64("dd"), User: "zhou", Created: at}); err != nil {
		t.Fatal(err)
	}
	list, err := s.Tokens(ctx, "wang")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tok := range list {
		got = append(got, tok.Label+" "+tok.ID)
		if tok.User != "wang" || !tok.Expires.Equal(at.AddDate(0, 0, 90)) {
			t.Errorf("listed %+v", tok)
		}
	}
	want := []string{"l-bb " + hash64("bb")[:12], "l-aa " + hash64("aa")[:12], "l-cc " + hash64("cc")[:12]}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Tokens(wang) = %v; want %v, oldest first", got, want)
	}
	if list, err := s.Tokens(ctx, "ghost"); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("Tokens(ghost) = %v, %v; want ErrNotFound", list, err)
	}
	if err := s.RevokeToken(ctx, "wang", hash64("aa")[:12]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Token(ctx, hash64("aa")); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("a revoked token: %v; want ErrNotFound", err)
	}
	for _, h := range []string{"bb", "cc", "dd"} {
		if _, err := s.Token(ctx, hash64(h)); err != nil {
			t.Errorf("token %s after revoking another: %v", h, err)
		}
	}
	for _, c := range []struct{ user, id string }{
		{"wang", hash64("aa")[:12]}, // already revoked
		{"wang", hash64("dd")[:12]}, // zhou's
		{"wang", hash64("bb")[:6]},  // not a whole ID
		{"ghost", hash64("bb")[:12]},
	} {
		if err := s.RevokeToken(ctx, c.user, c.id); !errors.Is(err, intake.ErrNotFound) {
			t.Errorf("RevokeToken(%s, %s): %v; want ErrNotFound", c.user, c.id, err)
		}
	}
	if list, _ := s.Tokens(ctx, "wang"); len(list) != 2 {
		t.Errorf("%d tokens left; want 2", len(list))
	}
}

// A new password ends the user's sessions; revoking ends sessions and API tokens. Other users
// keep theirs.
func testPasswordAndRevoke(t *testing.T, s Store) {
	ctx := t.Context()
	later := time.Now().Add(time.Hour)
	for _, name := range []string{"a", "b"} {
		addUser(t, s, &intake.User{Name: name, Role: intake.RoleOperator})
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
	for _, h := range []string{"s1-a", "s2-a"} {
		if _, err := s.Session(ctx, h, time.Now()); !errors.Is(err, intake.ErrNotFound) {
			t.Errorf("a's session %s after a new password: %v, want ended", h, err)
		}
	}
	if _, err := s.Token(ctx, "t-a"); err != nil {
		t.Errorf("a's API token after a new password: %v, want kept (revoke ends tokens)", err)
	}
	if _, err := s.Session(ctx, "s1-b", time.Now()); err != nil {
		t.Errorf("a's new password ended b's session: %v", err)
	}
	// A rehash (the same password, other parameters) keeps b's sessions, and only replaces the
	// hash it was computed from.
	if ok, err := s.RehashPassword(ctx, "b", "$argon2id$stale", "$argon2id$b2"); err != nil || ok {
		t.Errorf("RehashPassword from a hash b does not have = %v, %v; want false", ok, err)
	}
	b, _ := s.User(ctx, "b")
	if ok, err := s.RehashPassword(ctx, "b", b.PasswordHash, "$argon2id$b2"); err != nil || !ok {
		t.Errorf("RehashPassword(b) = %v, %v; want true", ok, err)
	}
	if b, _ := s.User(ctx, "b"); b.PasswordHash != "$argon2id$b2" {
		t.Errorf("b's hash after a rehash: %q", b.PasswordHash)
	}
	if _, err := s.Session(ctx, "s1-b", time.Now()); err != nil {
		t.Errorf("a rehash ended b's session: %v", err)
	}
	if n, err := s.RevokeAccess(ctx, "b"); err != nil || n != 3 {
		t.Errorf("RevokeAccess(b) = %d, %v; want 2 sessions and 1 token", n, err)
	}
	if _, err := s.Token(ctx, "t-b"); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("b's token after revoking: %v", err)
	}
	for _, h := range []string{"s1-b", "s2-b"} {
		if _, err := s.Session(ctx, h, time.Now()); !errors.Is(err, intake.ErrNotFound) {
			t.Errorf("b's session %s after revoking: %v", h, err)
		}
	}
	if _, err := s.Token(ctx, "t-a"); err != nil {
		t.Errorf("revoking b touched a's token: %v", err)
	}
	if n, err := s.RevokeAccess(ctx, "b"); err != nil || n != 0 {
		t.Errorf("RevokeAccess(b) again = %d, %v; want 0, nil", n, err)
	}
	if _, err := s.RevokeAccess(ctx, "ghost"); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("RevokeAccess(ghost): %v, want ErrNotFound", err)
	}
	if err := s.SetPassword(ctx, "ghost", "x"); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("SetPassword(ghost): %v, want ErrNotFound", err)
	}
}

// AddUser gives each account a staff number (工号): positive, larger than the last, one per
// account; a refused account takes none.
func testUserNumbers(t *testing.T, s Store) {
	ctx := t.Context()
	var users []*intake.User
	for _, name := range []string{"zhao", "qian", "sun"} {
		u := &intake.User{Name: name, Role: intake.RoleOperator}
		addUser(t, s, u)
		if u.Number <= 0 {
			t.Errorf("AddUser(%s) set number %d; want a positive one", name, u.Number)
		}
		if n := len(users); n > 0 && u.Number <= users[n-1].Number {
			t.Errorf("%s got number %d after %s's %d; want larger", name, u.Number, users[n-1].Name, users[n-1].Number)
		}
		users = append(users, u)
	}
	// A refused user takes no number.
	dup := &intake.User{Name: "zhao", Role: intake.RoleAdmin}
	if err := s.AddUser(ctx, dup); !errors.Is(err, intake.ErrConflict) || dup.Number != 0 {
		t.Errorf("duplicate: number %d, %v; want 0, ErrConflict", dup.Number, err)
	}
	next := &intake.User{Name: "li", Role: intake.RoleManager}
	addUser(t, s, next)
	users = append(users, next)
	seen := map[int]string{}
	for _, u := range users {
		if other, ok := seen[u.Number]; ok {
			t.Errorf("%s and %s share number %d", other, u.Name, u.Number)
		}
		seen[u.Number] = u.Name
		got, err := s.User(ctx, u.Name)
		if err != nil {
			t.Fatal(err)
		}
		if got.Number != u.Number {
			t.Errorf("User(%s).Number = %d; want %d, as AddUser set", u.Name, got.Number, u.Number)
		}
	}
	listed, err := s.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != len(users) {
		t.Errorf("ListUsers: %d users; want %d", len(listed), len(users))
	}
	for _, got := range listed {
		if seen[got.Number] != got.Name {
			t.Errorf("ListUsers: %s has number %d; want it as AddUser set", got.Name, got.Number)
		}
	}
}

// A staff number is never given twice, even after the account with the highest one is gone, and
// not to an account of the same name either. Needs UserDeleter.
func testStaffNumbersNeverReused(t *testing.T, s Store) {
	d, ok := s.(UserDeleter)
	if !ok {
		t.Skip("the store does not implement storetest.UserDeleter")
	}
	ctx := t.Context()
	first := &intake.User{Name: "zhou", Role: intake.RoleOperator}
	last := &intake.User{Name: "wu", Role: intake.RoleOperator}
	for _, u := range []*intake.User{first, last} {
		addUser(t, s, u)
	}
	if err := d.DeleteUser(ctx, last.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := s.User(ctx, last.Name); !errors.Is(err, intake.ErrNotFound) {
		t.Fatalf("User(%s) after DeleteUser: %v; want ErrNotFound", last.Name, err)
	}
	next := &intake.User{Name: "zheng", Role: intake.RoleOperator}
	addUser(t, s, next)
	if next.Number <= last.Number {
		t.Errorf("after %s (number %d) was deleted, %s got number %d; want a new one", last.Name, last.Number, next.Name, next.Number)
	}
	got, err := s.User(ctx, next.Name)
	if err != nil || got.Number != next.Number {
		t.Errorf("User(%s) = %+v, %v; want number %d", next.Name, got, err, next.Number)
	}
	again := &intake.User{Name: last.Name, Role: intake.RoleOperator}
	addUser(t, s, again)
	if again.Number <= next.Number {
		t.Errorf("%s added again got number %d; want a new one, after %d", again.Name, again.Number, next.Number)
	}
}

// An account name's failed logins: counted in a row, locked when the caller's policy says so (a
// later end already set stays), shared by every node on the data, counted one by one when nodes
// count at once, forgotten at a success or a day after the last failure.
func testLoginFailures(t *testing.T, s Store) {
	ctx := t.Context()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, intake.Beijing)
	if until, err := s.LoginLockedUntil(ctx, "op"); err != nil || !until.IsZero() {
		t.Fatalf("a name never failed: locked until %v, %v; want zero", until, err)
	}
	policy := func(n int) time.Duration { // 30 s at the fifth failure, then 1 s (shorter)
		switch {
		case n == 5:
			return 30 * time.Second
		case n > 5:
			return time.Second
		}
		return 0
	}
	for i := 1; i <= 6; i++ {
		n, err := s.LoginFailed(ctx, "op", now.Add(time.Duration(i)*time.Millisecond), policy)
		if err != nil || n != i {
			t.Fatalf("failure %d: counted %d, %v", i, n, err)
		}
		until, err := s.LoginLockedUntil(ctx, "op")
		if want := now.Add(5*time.Millisecond + 30*time.Second); i >= 5 && (err != nil || !until.Equal(want)) {
			t.Fatalf("after failure %d: locked until %v, %v; want %v (the sixth's shorter lock does not shorten it)", i, until, err, want)
		}
		if i < 5 && (err != nil || !until.IsZero()) {
			t.Fatalf("after failure %d: locked until %v, %v; want no lock", i, until, err)
		}
	}
	if until, _ := s.LoginLockedUntil(ctx, "mgr"); !until.IsZero() {
		t.Errorf("another name is locked too: %v", until)
	}
	if err := s.LoginSucceeded(ctx, "op"); err != nil {
		t.Fatal(err)
	}
	if until, err := s.LoginLockedUntil(ctx, "op"); err != nil || !until.IsZero() {
		t.Errorf("after a success: locked until %v, %v; want zero", until, err)
	}
	if n, err := s.LoginFailed(ctx, "op", now, policy); err != nil || n != 1 {
		t.Errorf("the first failure after a success: counted %d, %v; want 1", n, err)
	}
	if _, err := s.LoginFailed(ctx, "", now, policy); !errors.Is(err, intake.ErrInvalid) {
		t.Errorf("a failure without a name: %v; want ErrInvalid", err)
	}

	// Every node sees the same count: 20 failures at once, spread over the nodes, are counted
	// 1 to 20, each once; the lock one node set holds on the others.
	nodes := nodes(t, s, 2)
	counts := make(chan int, 20)
	errs := make(chan error, 20)
	for i := range 20 {
		go func() {
			n, err := nodes[i%len(nodes)].LoginFailed(ctx, "shared", now, func(n int) time.Duration {
				if n == 20 {
					return time.Hour
				}
				return 0
			})
			counts <- n
			errs <- err
		}()
	}
	seen := map[int]bool{}
	for range 20 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		seen[<-counts] = true
	}
	for i := 1; i <= 20; i++ {
		if !seen[i] {
			t.Fatalf("failures counted at once: %v; want 1 to 20, each once", seen)
		}
	}
	for i, n := range nodes {
		if until, err := n.LoginLockedUntil(ctx, "shared"); err != nil || !until.Equal(now.Add(time.Hour)) {
			t.Errorf("node %d: locked until %v, %v; want %v", i+1, until, err, now.Add(time.Hour))
		}
	}

	// A name whose last failure is more than a day old, and that is not locked, is forgotten;
	// a locked one is kept until its lock ends.
	old := now.Add(-25 * time.Hour)
	if _, err := s.LoginFailed(ctx, "stale", old, policy); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := s.LoginFailed(ctx, "stale-locked", old, func(int) time.Duration { return 48 * time.Hour }); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.LoginFailed(ctx, "someone", now, policy); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.LoginFailed(ctx, "stale", now, policy); n != 1 {
		t.Errorf("a name failed 25 h ago: counted %d now; want 1 (forgotten)", n)
	}
	if n, _ := s.LoginFailed(ctx, "stale-locked", now, policy); n != 6 {
		t.Errorf("a name locked for 48 h, failed 25 h ago: counted %d now; want 6 (kept)", n)
	}
}

// A ticket's failed proofs: listed newest first after a time, at most as many as asked, per
// ticket; recorded on one node, seen on the others; older ones forgotten as new ones come.
func testFollowFailures(t *testing.T, s Store) {
	ctx := t.Context()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, intake.Beijing)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	if ts, err := s.FollowFailures(ctx, "20260302-0001", ago(time.Hour), 5); err != nil || len(ts) != 0 {
		t.Fatalf("a ticket never failed: %v, %v; want none", ts, err)
	}
	ns := nodes(t, s, 2)
	for i, at := range []time.Duration{90 * time.Minute, 50 * time.Minute, 40 * time.Minute, 30 * time.Minute, 20 * time.Minute, 10 * time.Minute} {
		// Alternating nodes, forgetting nothing yet.
		if err := ns[i%len(ns)].FollowFailed(ctx, "20260302-0001", ago(at), ago(24*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.FollowFailed(ctx, "20260302-0002", ago(5*time.Minute), ago(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	for i, n := range ns {
		ts, err := n.FollowFailures(ctx, "20260302-0001", ago(time.Hour), 5)
		if err != nil {
			t.Fatal(err)
		}
		want := []time.Time{ago(10 * time.Minute), ago(20 * time.Minute), ago(30 * time.Minute), ago(40 * time.Minute), ago(50 * time.Minute)}
		if len(ts) != len(want) {
			t.Fatalf("node %d: failures in the last hour %v; want %v", i+1, ts, want)
		}
		for j := range want {
			if !ts[j].Equal(want[j]) {
				t.Fatalf("node %d: failures in the last hour %v; want %v (newest first)", i+1, ts, want)
			}
		}
	}
	if ts, _ := s.FollowFailures(ctx, "20260302-0001", ago(25*time.Minute), 5); len(ts) != 2 {
		t.Errorf("failures in the last 25 minutes: %v; want 2", ts)
	}
	if ts, _ := s.FollowFailures(ctx, "20260302-0001", ago(2*time.Hour), 3); len(ts) != 3 {
		t.Errorf("at most 3: %v", ts)
	}
	// Recording a failure forgets every ticket's failures before the time given.
	if err := s.FollowFailed(ctx, "20260302-0003", now, ago(45*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if ts, _ := s.FollowFailures(ctx, "20260302-0001", ago(24*time.Hour), 10); len(ts) != 4 {
		t.Errorf("after forgetting those older than 45 minutes: %v; want the 4 newer", ts)
	}
	if ts, _ := s.FollowFailures(ctx, "20260302-0002", ago(24*time.Hour), 10); len(ts) != 1 {
		t.Errorf("another ticket's newer failure: %v; want it kept", ts)
	}
	if err := s.FollowFailed(ctx, "", now, now); !errors.Is(err, intake.ErrInvalid) {
		t.Errorf("a failure without a ticket: %v; want ErrInvalid", err)
	}
}
