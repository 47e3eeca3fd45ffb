package web

import (
	"bytes"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// goid is the running goroutine's number, from the first line of its stack trace.
func goid() uint64 {
	b := make([]byte, 64)
	b = b[:runtime.Stack(b, false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	n, _ := strconv.ParseUint(string(b[:bytes.IndexByte(b, ' ')]), 10, 64)
	return n
}

// The goroutines that answer frames: one that has finished a job takes the next (its stack
// already grown), a second starts when the first is busy, and they end once idle.
func TestWorkersReuseThenEnd(t *testing.T) {
	w := &workers{jobs: make(chan func()), idle: 50 * time.Millisecond}
	on := func(block <-chan struct{}) (id chan uint64) {
		id = make(chan uint64, 1)
		w.run(func() {
			id <- goid()
			if block != nil {
				<-block
			}
		})
		return id
	}
	// A worker waits for the next job once its job has returned, which may be a moment after it
	// sent its id: until then run starts another. Soon a job lands on a goroutine seen before.
	seen := map[uint64]bool{}
	reused := false
	for deadline := time.Now().Add(5 * time.Second); !reused && time.Now().Before(deadline); {
		id := <-on(nil)
		reused, seen[id] = seen[id], true
	}
	if !reused {
		t.Fatalf("%d jobs one after another ran on as many goroutines: no waiting worker was reused", len(seen))
	}

	release := make(chan struct{})
	busy := <-on(release)
	other := <-on(nil)
	if other == busy {
		t.Fatalf("a job ran on goroutine %d while that goroutine was busy", other)
	}
	close(release)

	for deadline := time.Now().Add(5 * time.Second); w.live.Load() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d workers still alive long after their idle time", w.live.Load())
		}
	}
	if after := <-on(nil); seen[after] || after == busy || after == other {
		t.Errorf("a job after the workers ended ran on an old goroutine (%d)", after)
	}
}

//go:noinline
func deepCall(n int) int {
	var frame [256]byte
	frame[n%256] = byte(n)
	if n == 0 {
		return int(frame[0])
	}
	return deepCall(n-1) + int(frame[n%256])
}

var deepSink int

// BenchmarkOnOwnStack: what answering a frame off the reader's stack costs when the answer needs
// about 24 KB of stack (a decision and a store write need as much): on a new goroutine, whose
// stack grows again each time, and on frameWorkers' kept ones.
func BenchmarkOnOwnStack(b *testing.B) {
	answer := func() { deepSink += deepCall(80) }
	b.Run("direct", func(b *testing.B) {
		for range b.N {
			answer()
		}
	})
	b.Run("new-goroutine", func(b *testing.B) {
		for range b.N {
			done := make(chan struct{})
			go func() { defer close(done); answer() }()
			<-done
		}
	})
	b.Run("workers", func(b *testing.B) {
		for range b.N {
			onOwnStack(answer)
		}
	})
}
