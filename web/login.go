package web

import (
	"bufio"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Login's defences. A password hash (argon2id, 19 MiB) is the costliest thing the server does on
// an anonymous request, so every hash goes through one small pool; an account name that keeps
// failing is locked for a while, longer each time; the login only takes a same-origin JSON request.

// MinPasswordLength is the shortest password accepted, in characters.
const MinPasswordLength = 10

//go:embed common_passwords.txt
var commonPasswordsFile string

// commonPasswords are the passwords refused however long they are, lower-cased.
var commonPasswords = func() map[string]bool {
	m := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsFile))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m[strings.ToLower(line)] = true
	}
	return m
}()

// CheckPassword says why a new password is refused, or nil: fewer than MinPasswordLength
// characters, one character repeated, or one of the common passwords (any case).
func CheckPassword(password string) error {
	if utf8.RuneCountInString(password) < MinPasswordLength {
		return fmt.Errorf("password: at least %d characters", MinPasswordLength)
	}
	if first, _ := utf8.DecodeRuneInString(password); strings.Count(password, string(first)) == utf8.RuneCountInString(password) {
		return errors.New("password: not one character repeated")
	}
	if commonPasswords[strings.ToLower(password)] {
		return errors.New("password: too common, choose another")
	}
	return nil
}

// errHashBusy is hashPool.do's answer when no slot freed up in time.
var errHashBusy = errors.New("password hashing busy")

// hashPool runs at most cap(slots) password hashes at once; a caller waits up to wait for a slot.
type hashPool struct {
	slots  chan struct{}
	wait   time.Duration
	active atomic.Int64
	peak   atomic.Int64 // the most hashes ever run at once, for tests and metrics
}

// loginHashes is how many password hashes may run at once: each holds passwordParams.Memory.
func loginHashes() int { return max(1, min(2, runtime.GOMAXPROCS(0))) }

// loginHashWait is how long a login waits for a slot: long enough for two hashes ahead of it on a
// busy machine, short enough that a flood gets 503 rather than piling up.
const loginHashWait = 5 * time.Second

func newHashPool(n int, wait time.Duration) *hashPool {
	return &hashPool{slots: make(chan struct{}, n), wait: wait}
}

// do runs f in a slot, or returns errHashBusy (or the context's error) without running it.
func (p *hashPool) do(ctx context.Context, f func()) error {
	t := time.NewTimer(p.wait)
	defer t.Stop()
	select {
	case p.slots <- struct{}{}:
	case <-t.C:
		return errHashBusy
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-p.slots }()
	n := p.active.Add(1)
	defer p.active.Add(-1)
	for {
		old := p.peak.Load()
		if n <= old || p.peak.CompareAndSwap(old, n) {
			break
		}
	}
	f()
	// The hash's memory is garbage now. Left to the pacer, a few logins in a row grow the heap
	// to twice its live size before it is collected (about 500 MB peak under a flood of 64 MiB
	// hashes); collected
	// at once, the next hash reuses the same memory and a node stays near its size plus two
	// hashes. A collection costs milliseconds; a login already costs far more.
	runtime.GC()
	return nil
}

// Per-account throttling: after lockoutAfter failures in a row, an account name is locked for
// lockoutBase, doubling with each further failure up to lockoutMax; a success clears it. The
// failures and the lock are kept by the store (intake.Users' LoginFailed): every node sharing it
// counts the same failures and refuses the same locked name, and a restart forgets nothing.
const (
	lockoutAfter = 5
	lockoutBase  = 30 * time.Second
	lockoutMax   = time.Hour
)

// lockFor is how long the failures-th failure in a row locks a name: none before lockoutAfter.
func lockFor(failures int) time.Duration {
	if failures < lockoutAfter {
		return 0
	}
	if shift := failures - lockoutAfter; shift < 8 {
		return min(lockoutBase<<shift, lockoutMax)
	}
	return lockoutMax
}

// loginRequestAllowed refuses a login that is not a same-origin JSON request: a cross-site
// form or a text/plain fetch (no preflight) would log a victim's browser in as the attacker.
func (s *Server) loginRequestAllowed(w http.ResponseWriter, r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" && !s.sameOrigin(r, o) {
		writeError(w, http.StatusForbidden, "forbidden_origin", "login only from this site")
		return false
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		writeError(w, http.StatusForbidden, "forbidden_origin", "login only from this site")
		return false
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "login takes Content-Type: application/json")
		return false
	}
	return true
}

// retryAfter sets Retry-After to d rounded up to whole seconds, at least 1.
func retryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int((d+time.Second-1)/time.Second))))
}

// logName is an account name as the log shows it: bounded, so that a name field filled with
// junk cannot flood the log.
func logName(name string) string {
	if len(name) > 64 {
		name = strings.ToValidUTF8(name[:64], "") + "…"
	}
	return name
}
