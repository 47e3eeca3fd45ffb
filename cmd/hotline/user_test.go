package main

import (
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/internal/testkit"
)

// hotline user add and passwd refuse a short or common password.
func TestUserWeakPassword(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	for _, pw := range []string{"12345678", "1234567890", "password123", "Qwertyuiop", "zzzzzzzzzzzz"} {
		code, _, errOut := runCmd(t, pw+"\n", "user", "add", "--data", data, "--role", "operator", "weak")
		if code != 2 || !strings.Contains(errOut, "password") {
			t.Errorf("user add with %q: exit %d, %q; want 2 and why", pw, code, errOut)
		}
	}
	if code, out, errOut := runCmd(t, "a-long-password\n", "user", "add", "--data", data, "--role", "operator", "weak"); code != 0 {
		t.Fatalf("user add with a good password: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runCmd(t, "password123\n", "user", "passwd", "--data", data, "weak"); code != 2 {
		t.Errorf("user passwd with a common password: exit %d, %q; want 2", code, errOut)
	}
}

// hotline user token --ttl gives a token that stops working at its expiry; user tokens lists a
// user's tokens without their secrets; user revoke-token ends one. Checked against a running
// server.
func TestUserTokenExpiryListRevoke(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	user := func(stdin string, args ...string) (string, string) {
		t.Helper()
		code, out, errOut := runCmd(t, stdin, append([]string{"user", args[0], "--data", data}, args[1:]...)...)
		if code != 0 {
			t.Fatalf("user %v: exit %d\n%s%s", args, code, out, errOut)
		}
		return strings.TrimSpace(out), errOut
	}
	user("first-password\n", "add", "--role", "operator", "qian")
	short, _ := user("", "token", "qian", "--ttl", "1s", "--label", "short")
	// The short token was made before now: a second after now it has expired.
	made := time.Now()
	long, info := user("", "token", "--label", "bridge", "qian") // the default: 90 days
	if !strings.Contains(info, "expires "+time.Now().AddDate(0, 0, 90).Format("2006-01-02")) &&
		!strings.Contains(info, "expires "+time.Now().AddDate(0, 0, 91).Format("2006-01-02")) {
		t.Errorf("the default token's expiry: %q; want 90 days from now", info)
	}
	if code, _, _ := runCmd(t, "", "user", "token", "--data", data, "--ttl", "0s", "qian"); code != 2 {
		t.Errorf("--ttl 0: exit %d; want 2", code)
	}
	list, _ := user("", "tokens", "qian")
	ids := regexp.MustCompile(`(?m)^([0-9a-f]{12})\s+\S+ \S+\s+(\S+ \S+)`).FindAllStringSubmatch(list, -1)
	if len(ids) != 2 || !strings.Contains(list, "bridge") || !strings.Contains(list, "short") {
		t.Fatalf("user tokens:\n%s\nwant two tokens by ID, with their labels", list)
	}
	if strings.Contains(list, short) || strings.Contains(list, long) {
		t.Errorf("user tokens shows a secret:\n%s", list)
	}

	addr := testkit.FreeAddr(t)
	s := testkit.Serve(t, addr, nil, "--addr", addr, "--data", data)
	s.WaitStatus(t, "/healthz", http.StatusOK, 10*time.Second)
	me := func(token string) int {
		req, _ := http.NewRequest(http.MethodGet, s.Base+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	time.Sleep(time.Until(made.Add(1100 * time.Millisecond))) // past the short token's second
	if got := me(short); got != http.StatusUnauthorized {
		t.Errorf("an expired token: %d; want 401", got)
	}
	if got := me(long); got != http.StatusOK {
		t.Fatalf("the 90-day token: %d; want 200", got)
	}
	if list, _ := user("", "tokens", "qian"); !strings.Contains(list, "(expired)") {
		t.Errorf("user tokens does not mark the expired one:\n%s", list)
	}
	list, _ = user("", "tokens", "qian")
	var bridge string
	for _, line := range strings.Split(list, "\n") {
		if strings.HasSuffix(strings.TrimSpace(line), "bridge") {
			bridge = strings.Fields(line)[0]
			if today := time.Now().In(intake.Beijing).Format("2006-01-02"); strings.Count(line, today) != 2 {
				t.Errorf("the used token's line %q; want created and last used today", line)
			}
		}
	}
	out, _ := user("", "revoke-token", "qian", bridge)
	if !strings.Contains(out, bridge) {
		t.Errorf("revoke-token said %q", out)
	}
	if got := me(long); got != http.StatusUnauthorized {
		t.Errorf("a revoked token: %d; want 401", got)
	}
	if code, _, errOut := runCmd(t, "", "user", "revoke-token", "--data", data, "qian", bridge); code != 1 || !strings.Contains(errOut, "not found") {
		t.Errorf("revoking it again: exit %d, %q; want 1 and not found", code, errOut)
	}
	stop(t, s)
}

// hotline user unlock ends the lock that failed logins set on a running server's account (the
// lock is the store's, so the command sees and clears it) and forgets the failures.
func TestUserUnlock(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	if code, out, errOut := runCmd(t, "first-password\n", "user", "add", "--data", data, "--role", "operator", "zhao"); code != 0 {
		t.Fatalf("user add: exit %d\n%s%s", code, out, errOut)
	}
	addr := testkit.FreeAddr(t)
	s := testkit.Serve(t, addr, nil, "--addr", addr, "--data", data)
	s.WaitStatus(t, "/healthz", http.StatusOK, 10*time.Second)
	login := func(password string) int {
		resp, err := client.Post(s.Base+"/api/v1/login", "application/json",
			strings.NewReader(`{"name":"zhao","password":"`+password+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 5 {
		if got := login("wrong-password"); got != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, got)
		}
	}
	if got := login("first-password"); got != http.StatusTooManyRequests {
		t.Fatalf("the right password after 5 failures: %d; want 429", got)
	}
	code, out, errOut := runCmd(t, "", "user", "unlock", "--data", data, "zhao")
	if code != 0 || !strings.Contains(out, "zhao was locked until") {
		t.Fatalf("user unlock: exit %d, %q %q", code, out, errOut)
	}
	if got := login("first-password"); got != http.StatusOK {
		t.Errorf("the right password after unlock: %d; want 200", got)
	}
	if _, out, _ := runCmd(t, "", "user", "unlock", "--data", data, "zhao"); !strings.Contains(out, "zhao was not locked") {
		t.Errorf("unlocking again: %q", out)
	}
	stop(t, s)
}
