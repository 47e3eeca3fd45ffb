package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

const benchUsage = `usage: hotline bench chat [--url ws://127.0.0.1:8080/ws/chat] [--pid PID]
                          [--idle 10000] [--active 1000] [--asks 5]

Drives websocket residents against a running server (start it with --chat-ip-rate -1 so that one
address may send as fast as the bench does):
  1. opens --idle connections that say hello and then stay idle, and reports the server's memory
     per idle connection (resident set size before and after, from /proc/PID/status: give --pid);
  2. then --active residents each ask --asks questions one after the other, all at once, and
     reports asks per second and the reply latency p50 / p99.
Output, one "name value unit" a line:
  idle_connections 10000
  memory_per_idle_connection_kb 14.2
  asks 5000
  asks_per_second 3100
  reply_p50_ms 2.1
  reply_p99_ms 14.8
  errors 0
`

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "chat" {
		return exitError{code: 2, msg: benchUsage}
	}
	fs := flag.NewFlagSet("bench chat", flag.ContinueOnError)
	url := fs.String("url", "ws://127.0.0.1:8080/ws/chat", "the server's chat endpoint")
	pid := fs.Int("pid", 0, "the server's process id, to read its memory (same machine)")
	idle := fs.Int("idle", 10000, "idle connections to hold open")
	active := fs.Int("active", 1000, "residents asking at once")
	asks := fs.Int("asks", 5, "questions each active resident asks")
	if err := parseFlags(fs, args[1:], stderr); err != nil {
		return err
	}
	raiseFileLimit()
	out := bufio.NewWriter(stdout)
	defer out.Flush()

	before := rssKB(*pid)
	conns, err := openIdle(ctx, *url, *idle)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	if err != nil {
		return fmt.Errorf("opening idle connections: %w (opened %d)", err, len(conns))
	}
	fmt.Fprintf(out, "idle_connections %d\n", len(conns))
	if *pid != 0 && len(conns) > 0 {
		time.Sleep(2 * time.Second) // let the server's heap settle before reading its size
		after := rssKB(*pid)
		fmt.Fprintf(out, "memory_per_idle_connection_kb %.1f\n", float64(after-before)/float64(len(conns)))
	}
	out.Flush()

	lat, errs, elapsed := askAll(ctx, *url, *active, *asks)
	fmt.Fprintf(out, "asks %d\n", len(lat))
	if len(lat) > 0 {
		slices.Sort(lat)
		pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
		fmt.Fprintf(out, "asks_per_second %.0f\n", float64(len(lat))/elapsed.Seconds())
		fmt.Fprintf(out, "reply_p50_ms %.2f\nreply_p99_ms %.2f\n", pct(0.50), pct(0.99))
	}
	fmt.Fprintf(out, "errors %d\n", errs)
	return nil
}

// benchQuestions are what bench residents ask, in turn.
var benchQuestions = []string{"低保咋申请", "路灯不亮找谁", "居住证要带啥材料", "暖气费在哪交", "你好", "网格员是干啥的"}

type benchConn struct {
	*websocket.Conn
}

func dial(ctx context.Context, url string) (*benchConn, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	c, resp, err := d.DialContext(ctx, url, http.Header{})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("%w (HTTP %d)", err, resp.StatusCode)
		}
		return nil, err
	}
	bc := &benchConn{c}
	if err := bc.WriteJSON(map[string]string{"type": "hello", "session": "", "community": "wy-jinqiao"}); err != nil {
		c.Close()
		return nil, err
	}
	var welcome struct{ Type string }
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if err := c.ReadJSON(&welcome); err != nil || welcome.Type != "welcome" {
		c.Close()
		return nil, fmt.Errorf("no welcome: %v %q", err, welcome.Type)
	}
	c.SetReadDeadline(time.Time{})
	return bc, nil
}

// openIdle opens n connections, 200 at a time.
func openIdle(ctx context.Context, url string, n int) ([]*benchConn, error) {
	var mu sync.Mutex
	var conns []*benchConn
	var firstErr error
	sem := make(chan struct{}, 200)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c, err := dial(ctx, url)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			conns = append(conns, c)
		}()
	}
	wg.Wait()
	return conns, firstErr
}

// askAll has active residents each ask asks questions, all at once, and returns every reply's
// latency.
func askAll(ctx context.Context, url string, active, asks int) ([]time.Duration, int64, time.Duration) {
	var mu sync.Mutex
	var lat []time.Duration
	var errs atomic.Int64
	var ready, wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < active; i++ {
		ready.Add(1)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := dial(ctx, url)
			ready.Done()
			if err != nil {
				errs.Add(1)
				return
			}
			defer c.Close()
			<-start
			mine := make([]time.Duration, 0, asks)
			for j := 0; j < asks; j++ {
				id := strconv.Itoa(j)
				t0 := time.Now()
				q := benchQuestions[(i+j)%len(benchQuestions)]
				if err := c.WriteJSON(map[string]string{"type": "ask", "id": id, "text": q}); err != nil {
					errs.Add(1)
					return
				}
				c.SetReadDeadline(time.Now().Add(30 * time.Second))
				var r struct {
					Type    string `json:"type"`
					ReplyTo string `json:"reply_to"`
				}
				if err := c.ReadJSON(&r); err != nil || r.Type != "reply" || r.ReplyTo != id {
					errs.Add(1)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}(i)
	}
	ready.Wait()
	t0 := time.Now()
	close(start)
	wg.Wait()
	return lat, errs.Load(), time.Since(t0)
}

// rssKB reads a process's resident set size in KB (0 when unknown).
func rssKB(pid int) int64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// raiseFileLimit lifts the soft open-files limit to the hard one: ten thousand sockets need it.
func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}
