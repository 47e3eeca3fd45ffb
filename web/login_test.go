package web_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/internal/testkit"
	"github.com/bayannur/hotline/web"
)

// loginFrom posts a login to f's server as if from ip, with the header pairs hdr (Content-Type
// application/json unless hdr sets it), straight to the handler: each address has its own
// per-address limit, so these tests reach the pool and the per-account lock.
func (f *fixture) loginFrom(ip, name, password string, hdr ...string) *httptest.ResponseRecorder {
	b, _ := json.Marshal(map[string]string{"name": name, "password": password})
	req := httptest.NewRequest(http.MethodPost, "/api/v1/login", strings.NewReader(string(b)))
	req.RemoteAddr = ip + ":40000"
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, req)
	return w
}

// Twenty bad logins at once, from twenty addresses: each is refused (401) or told to come back
// (503 with Retry-After), and never more than the pool's few hashes run at once.
func TestLoginHashesBounded(t *testing.T) {
	f := newFixture(t)
	var wg sync.WaitGroup
	codes := make([]int, 20)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := opName
			if i%2 == 1 {
				name = fmt.Sprintf("nobody%d", i) // an unknown name costs a hash too
			}
			w := f.loginFrom(fmt.Sprintf("10.0.1.%d", i), name, fmt.Sprintf("wrong password %d", i))
			codes[i] = w.Code
			if w.Code == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		}()
	}
	wg.Wait()
	unauthorized := 0
	for i, c := range codes {
		if c != http.StatusUnauthorized && c != http.StatusServiceUnavailable {
			t.Errorf("login %d: %d; want 401 or 503", i, c)
		}
		if c == http.StatusUnauthorized {
			unauthorized++
		}
	}
	if unauthorized == 0 {
		t.Error("no login was answered 401: the pool ran none")
	}
	if peak, n := f.srv.HashPeak(), web.LoginHashes(); peak > int64(n) || peak < 1 {
		t.Errorf("%d password hashes ran at once; want 1 to %d", peak, n)
	}
}

// Forty logins at once do not take forty times argon2id's 19 MiB: the heap grows by a few
// hashes' worth at most. HeapSys only grows, so an earlier test may have grown it already; the
// peak of HeapAlloc, sampled while the logins run, is what the logins themselves took.
func TestLoginMemoryBounded(t *testing.T) {
	f := newFixture(t)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	done := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		var most uint64
		var m runtime.MemStats
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&m)
			most = max(most, m.HeapAlloc)
			select {
			case <-done:
				peak <- most
				return
			case <-tick.C:
			}
		}
	}()
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.loginFrom(fmt.Sprintf("10.0.2.%d", i), fmt.Sprintf("user%d", i), "some wrong password")
		}()
	}
	wg.Wait()
	close(done)
	heapPeak := int64(<-peak) - int64(before.HeapAlloc)
	runtime.ReadMemStats(&after)
	sys := int64(after.HeapSys) - int64(before.HeapSys)
	// 40 hashes at once would take 760 MiB; a pool of two, collected after each hash, holds two
	// (38 MiB) and some garbage.
	const limit = 128 << 20
	t.Logf("40 concurrent logins: HeapSys grew by %d MiB, Sys by %d MiB, HeapAlloc peaked %d MiB above the start",
		sys>>20, (int64(after.Sys)-int64(before.Sys))>>20, heapPeak>>20)
	if sys > limit || heapPeak > limit {
		t.Errorf("40 concurrent logins took %d MiB of heap (HeapSys +%d MiB); want under %d MiB", heapPeak>>20, sys>>20, limit>>20)
	}
}

// A password stored with the library's old default (64 MiB) still logs in, and is stored again
// with the current parameters; a session the user had before (another browser) survives the
// rehash. The new hash logs in too, and is not rehashed again.
func TestLoginRehashesOldParameters(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	const name, password = "laowang", "an old long password 1"
	old, err := argon2id.CreateHash(password, argon2id.DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.AddUser(ctx, &intake.User{Name: name, Role: intake.RoleOperator, PasswordHash: old}); err != nil {
		t.Fatal(err)
	}
	other := intake.Session{TokenHash: web.HashToken("other browser"), User: name, CSRF: "x", Expires: time.Now().Add(time.Hour)}
	if err := f.store.AddSession(ctx, other); err != nil {
		t.Fatal(err)
	}
	if w := f.loginFrom("10.0.4.1", name, password); w.Code != http.StatusOK {
		t.Fatalf("login with a 64 MiB hash: %d %s", w.Code, w.Body)
	}
	u, _ := f.store.User(ctx, name)
	p, _, _, err := argon2id.DecodeHash(u.PasswordHash)
	if err != nil || u.PasswordHash == old || p.Memory != 19*1024 || p.Iterations != 2 || p.Parallelism != 1 {
		t.Fatalf("stored hash after the login: %q (%+v, %v); want m=19456,t=2,p=1", u.PasswordHash, p, err)
	}
	if _, err := f.store.Session(ctx, other.TokenHash, time.Now()); err != nil {
		t.Errorf("the other browser's session after the rehash: %v; want kept", err)
	}
	if w := f.loginFrom("10.0.4.2", name, password); w.Code != http.StatusOK {
		t.Fatalf("login with the new hash: %d %s", w.Code, w.Body)
	}
	if again, _ := f.store.User(ctx, name); again.PasswordHash != u.PasswordHash {
		t.Error("a current hash was replaced at login")
	}
}

// After five failures an account is locked, even against its right password, for 30 s; the
// next failure locks it for 60 s; the lock ends by itself, and a success clears the count.
func TestLoginLockout(t *testing.T) {
	f := newFixture(t)
	for i := range 5 {
		if w := f.loginFrom(fmt.Sprintf("10.0.3.%d", i), opName, "wrong password"); w.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %s", i+1, w.Code, w.Body)
		}
	}
	w := f.loginFrom("10.0.3.100", opName, staffPassword)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "30" {
		t.Fatalf("the right password after 5 failures: %d, Retry-After %q; want 429 and 30", w.Code, w.Header().Get("Retry-After"))
	}
	if w := f.loginFrom("10.0.3.101", mgrName, staffPassword); w.Code != http.StatusOK {
		t.Errorf("another account is locked too: %d", w.Code)
	}
	f.clock.Advance(31 * time.Second)
	if w := f.loginFrom("10.0.3.102", opName, "wrong again"); w.Code != http.StatusUnauthorized {
		t.Fatalf("after the lock: %d", w.Code)
	}
	w = f.loginFrom("10.0.3.103", opName, staffPassword)
	if got, _ := strconv.Atoi(w.Header().Get("Retry-After")); w.Code != http.StatusTooManyRequests || got != 60 {
		t.Fatalf("after the 6th failure: %d, Retry-After %d; want 429 and 60", w.Code, got)
	}
	f.clock.Advance(61 * time.Second)
	if w := f.loginFrom("10.0.3.104", opName, staffPassword); w.Code != http.StatusOK {
		t.Fatalf("after the second lock: %d %s", w.Code, w.Body)
	}
	for i := range 4 {
		if w := f.loginFrom(fmt.Sprintf("10.0.3.%d", 110+i), opName, "wrong"); w.Code != http.StatusUnauthorized {
			t.Fatalf("a success did not clear the count: failure %d answered %d", i+1, w.Code)
		}
	}
}

// The failures and the lock are the store's, not a node's: failures on one node lock the name on
// another sharing the store (or a node started again), and they go on counting there.
func TestLoginLockHoldsOnEveryNode(t *testing.T) {
	var cfg web.Config
	f := newFixtureConfig(t, nil, func(c *web.Config) { cfg = *c })
	other := web.New(cfg) // a second node on the same store
	loginOther := func(ip, password string) *httptest.ResponseRecorder {
		b, _ := json.Marshal(map[string]string{"name": opName, "password": password})
		req := httptest.NewRequest(http.MethodPost, "/api/v1/login", strings.NewReader(string(b)))
		req.RemoteAddr = ip + ":40000"
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		other.ServeHTTP(w, req)
		return w
	}
	for i := range 5 {
		if w := f.loginFrom(fmt.Sprintf("10.0.5.%d", i), opName, "wrong password"); w.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d on the first node: %d %s", i+1, w.Code, w.Body)
		}
	}
	if w := loginOther("10.0.5.100", staffPassword); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "30" {
		t.Fatalf("the right password on the second node after 5 failures on the first: %d, Retry-After %q; want 429 and 30",
			w.Code, w.Header().Get("Retry-After"))
	}
	f.clock.Advance(31 * time.Second)
	if w := loginOther("10.0.5.101", "wrong again"); w.Code != http.StatusUnauthorized {
		t.Fatalf("a failure on the second node after the lock: %d", w.Code)
	}
	w := f.loginFrom("10.0.5.102", opName, staffPassword)
	if got, _ := strconv.Atoi(w.Header().Get("Retry-After")); w.Code != http.StatusTooManyRequests || got != 60 {
		t.Fatalf("the first node after the 6th failure, made on the second: %d, Retry-After %d; want 429 and 60 (counted on)", w.Code, got)
	}
}

// A login without a name is refused like a wrong password (401), not as a server error: the store
// counts failures only for names.
func TestLoginWithoutName(t *testing.T) {
	f := newFixture(t)
	if w := f.loginFrom("10.0.6.1", "", staffPassword); w.Code != http.StatusUnauthorized {
		t.Errorf("a login without a name: %d %s; want 401", w.Code, w.Body)
	}
}

// Each failed login leaves a line with the account and the client's address, never the password.
func TestFailedLoginAudited(t *testing.T) {
	var logs testkit.Buffer
	f := newFixtureLog(t, slog.New(slog.NewTextHandler(&logs, nil)))
	const guess = "Tr0ub4dor-and-3"
	f.loginFrom("192.0.2.7", opName, guess)
	f.loginFrom("192.0.2.8", "ghost", guess)
	out := logs.String()
	for _, want := range []string{"user=op known=true client=192.0.2.7", "user=ghost known=false client=192.0.2.8"} {
		if !strings.Contains(out, "staff login failed") || !strings.Contains(out, want) {
			t.Errorf("the log lacks a failed login with %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, guess) || strings.Contains(out, staffPassword) {
		t.Errorf("the log holds a password:\n%s", out)
	}
}

// Login takes only a same-origin JSON request: a cross-site form or text/plain fetch could log a
// victim's browser into the attacker's account.
func TestLoginSameOriginJSON(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		name string
		hdr  []string
		want int
	}{
		{"text/plain", []string{"Content-Type", "text/plain"}, http.StatusUnsupportedMediaType},
		{"form", []string{"Content-Type", "application/x-www-form-urlencoded"}, http.StatusUnsupportedMediaType},
		{"no type", []string{"Content-Type", ""}, http.StatusUnsupportedMediaType},
		{"other origin", []string{"Origin", "https://evil.example"}, http.StatusForbidden},
		{"other origin, text/plain", []string{"Origin", "https://evil.example", "Content-Type", "text/plain"}, http.StatusForbidden},
		{"cross-site fetch", []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"own origin", []string{"Origin", "http://example.com", "Sec-Fetch-Site", "same-origin"}, http.StatusOK},
		{"JSON with charset, no origin", []string{"Content-Type", "application/json; charset=utf-8"}, http.StatusOK},
	} {
		w := f.loginFrom("10.0.4.1", opName, staffPassword, c.hdr...)
		if w.Code != c.want {
			t.Errorf("%s: %d %s; want %d", c.name, w.Code, w.Body, c.want)
		}
		if c.want != http.StatusOK && w.Header().Get("Set-Cookie") != "" {
			t.Errorf("%s: a refused login set a cookie", c.name)
		}
	}
}

// An API token works until its expiry and not from then on, for the staff API and for Open311;
// a revoked token is refused at once.
func TestTokenExpiryAndRevoke(t *testing.T) {
	f := newFixture(t)
	token, hash := web.NewToken()
	tok := intake.APIToken{TokenHash: hash, User: opName, Created: f.clock.Now(), Expires: f.clock.Now().Add(time.Hour)}
	if err := f.store.AddToken(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	me := func(token string) int {
		return f.anon(http.MethodGet, "/api/v1/me", nil, "Authorization", "Bearer "+token).status
	}
	if got := me(token); got != http.StatusOK {
		t.Fatalf("a fresh token: %d", got)
	}
	f.clock.Advance(time.Hour - time.Second)
	if got := me(token); got != http.StatusOK {
		t.Errorf("a second before its expiry: %d", got)
	}
	f.clock.Advance(time.Second)
	wantErr(t, f.anon(http.MethodGet, "/api/v1/me", nil, "Authorization", "Bearer "+token), http.StatusUnauthorized, "unauthorized")
	r := f.o311Post(url.Values{"api_key": {token}, "service_code": {"report-noise"}, "address_string": {"虹亚小区"}, "description": {"吵"}})
	if r.status != http.StatusForbidden {
		t.Errorf("Open311 with an expired api_key: %v; want 403", r)
	}

	// The fixture's own tokens never expire; revoke op's by its ID.
	if got := me(f.tokens[opName]); got != http.StatusOK {
		t.Fatalf("op's token: %d", got)
	}
	list, err := f.store.Tokens(t.Context(), opName)
	if err != nil || len(list) != 2 {
		t.Fatalf("op's tokens %v, %v; want 2", list, err)
	}
	if err := f.store.RevokeToken(t.Context(), opName, web.HashToken(f.tokens[opName])[:intake.TokenIDLength]); err != nil {
		t.Fatal(err)
	}
	wantErr(t, f.anon(http.MethodGet, "/api/v1/me", nil, "Authorization", "Bearer "+f.tokens[opName]), http.StatusUnauthorized, "unauthorized")
	if got := me(f.tokens[mgrName]); got != http.StatusOK {
		t.Errorf("revoking op's token touched mgr's: %d", got)
	}
}
