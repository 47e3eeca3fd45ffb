package web

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The pool never runs more than its size at once; the rest wait, then are told it is busy.
func TestHashPoolBound(t *testing.T) {
	const size, callers = 2, 20
	p := newHashPool(size, 50*time.Millisecond)
	var running, most atomic.Int64
	var busy, ran atomic.Int64
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := p.do(context.Background(), func() {
				n := running.Add(1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(20 * time.Millisecond)
				running.Add(-1)
			})
			switch {
			case err == nil:
				ran.Add(1)
			case errors.Is(err, errHashBusy):
				busy.Add(1)
			default:
				t.Errorf("do: %v", err)
			}
		}()
	}
	wg.Wait()
	if most.Load() > size || p.peak.Load() > size {
		t.Errorf("%d hashes ran at once (pool says %d); want at most %d", most.Load(), p.peak.Load(), size)
	}
	if ran.Load() < size || busy.Load() == 0 || ran.Load()+busy.Load() != callers {
		t.Errorf("%d ran, %d busy of %d; want some of each", ran.Load(), busy.Load(), callers)
	}
}

// A name is locked after lockoutAfter failures, for longer with each further one; a success
// clears it; other names are not touched.
func TestLockoutSchedule(t *testing.T) {
	l := newLockouts()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i < lockoutAfter; i++ {
		if n, d := l.fail("op", now); n != i || d != 0 {
			t.Fatalf("failure %d: %d, lock %v; want no lock yet", i, n, d)
		}
	}
	if _, d := l.fail("op", now); d != lockoutBase {
		t.Fatalf("failure %d: lock %v; want %v", lockoutAfter, d, lockoutBase)
	}
	if got := l.locked("op", now.Add(lockoutBase-time.Second)); got != time.Second {
		t.Errorf("locked %v a second before the end", got)
	}
	if l.locked("mgr", now) != 0 {
		t.Error("another name is locked")
	}
	now = now.Add(lockoutBase)
	if l.locked("op", now) != 0 {
		t.Error("still locked after the lock")
	}
	if _, d := l.fail("op", now); d != 2*lockoutBase {
		t.Errorf("next failure: lock %v; want %v", d, 2*lockoutBase)
	}
	for range 20 {
		l.fail("op", now)
	}
	if d := l.locked("op", now); d != lockoutMax {
		t.Errorf("after many failures: locked %v; want the cap %v", d, lockoutMax)
	}
	l.succeed("op")
	if l.locked("op", now) != 0 {
		t.Error("a success left the lock")
	}
}

func TestCheckPassword(t *testing.T) {
	for _, pw := range []string{"", "12345678", "short", "1234567890", "password123", "Password123", "QWERTYUIOP",
		"qwertyuiop", "aaaaaaaaaaaa", "中中中中中中中中中中", "woaini1314"} {
		if CheckPassword(pw) == nil {
			t.Errorf("CheckPassword(%q) accepted", pw)
		}
		if _, err := HashPassword(pw); err == nil {
			t.Errorf("HashPassword(%q) accepted", pw)
		}
	}
	for _, pw := range []string{"correct horse battery staple", "a-long-password", "巴彦淖尔市民热线十二三四五"} {
		if err := CheckPassword(pw); err != nil {
			t.Errorf("CheckPassword(%q): %v", pw, err)
		}
	}
	if len(commonPasswords) < 300 {
		t.Errorf("%d common passwords; want a few hundred", len(commonPasswords))
	}
}
