package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"
)

// 1,030 idle sockets from one address: the listener keeps DefaultMaxConnsPerIP of them and closes
// the rest at once, so the server holds few descriptors and /healthz still answers another
// address. The process's file limit is lowered for the test so that, without the cap, the
// server's accepted sockets alone would exhaust it (accept4: too many open files).
func TestConnCapIdleFlood(t *testing.T) {
	const flood = 1030
	open, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Skip(err)
	}
	// Room for what is open, the flood's client ends, the capped server ends and some slack;
	// not for the flood's server ends as well.
	lim := old
	lim.Cur = uint64(len(open) + flood + DefaultMaxConnsPerIP + 200)
	if lim.Cur > old.Cur {
		t.Skipf("the file limit %d is below the %d this test needs", old.Cur, lim.Cur)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skip(err)
	}
	defer syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old)

	s := New(Config{Log: slog.New(slog.DiscardHandler)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	capped := s.Listener(ln).(*ipCapListener)
	hs := s.HTTPServer()
	go hs.Serve(capped)
	defer hs.Close()
	addr := ln.Addr().String()

	conns := make([]net.Conn, 0, flood)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range flood {
		c, err := net.Dial("tcp", addr)
		if errors.Is(err, syscall.ECONNRESET) {
			continue // refused so fast that the reset came with the handshake
		}
		if err != nil {
			t.Fatalf("dial %d: %v", len(conns)+1, err)
		}
		conns = append(conns, c) // idle: never sends a byte
	}
	// Every connection is accepted, then kept or closed.
	openFrom := func() int {
		capped.mu.Lock()
		defer capped.mu.Unlock()
		return capped.open["127.0.0.1"]
	}
	deadline := time.Now().Add(30 * time.Second)
	for openFrom()+int(capped.refused.Load()) < flood {
		if time.Now().After(deadline) {
			t.Fatalf("accepted %d and refused %d of %d", openFrom(), capped.refused.Load(), flood)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := openFrom(); n != DefaultMaxConnsPerIP {
		t.Fatalf("%d connections open from one address, want the cap %d", n, DefaultMaxConnsPerIP)
	}

	// Another address is served.
	get := func(from string) (int, error) {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			DialContext: func(ctx context.Context, n, a string) (net.Conn, error) { return d.DialContext(ctx, n, a) }}}
		defer client.CloseIdleConnections()
		resp, err := client.Get("http://" + addr + "/healthz")
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	if code, err := get("127.0.0.2"); err != nil || code != http.StatusOK {
		t.Fatalf("/healthz from another address during the flood: %d %v", code, err)
	}
	// The flooding address is not, until its connections close.
	if code, err := get("127.0.0.1"); err == nil {
		t.Fatalf("/healthz from the flooding address at its cap: %d, want the connection closed", code)
	}
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	deadline = time.Now().Add(30 * time.Second)
	for openFrom() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still counted after the client closed them all", openFrom())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, err := get("127.0.0.1"); err != nil || code != http.StatusOK {
		t.Fatalf("/healthz once the flood has gone: %d %v", code, err)
	}
}
