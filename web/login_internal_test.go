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

// A name is locked at its lockoutAfter-th failure in a row, for twice as long at each further
// one, never longer than lockoutMax (the store keeps the count: TestLoginLockout,
// TestLoginLockHoldsOnEveryNode, storetest's LoginFailures).
func TestLockoutSchedule(t *testing.T) {
	for _, c := range []struct {
		failures int
		want     time.Duration
	}{{1, 0}, {lockoutAfter - 1, 0}, {lockoutAfter, lockoutBase}, {lockoutAfter + 1, 2 * lockoutBase},
		{lockoutAfter + 2, 4 * lockoutBase}, {lockoutAfter + 7, lockoutMax}, {lockoutAfter + 8, lockoutMax}, {1000, lockoutMax}} {
		if got := lockFor(c.failures); got != c.want {
			t.Errorf("lockFor(%d) = %v; want %v", c.failures, got, c.want)
		}
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
