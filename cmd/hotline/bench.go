package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
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
                          [--idle 10000] [--active 1000] [--asks 5] [--think 1s]

Drives websocket residents against a running server (start it with --chat-ip-rate -1 and
--max-conns-per-ip -1 so that one address may open as many connections and send as fast as the
bench does):
  1. opens --idle connections that say hello and then stay idle, and reports the server's memory
     per idle connection (resident set size before and after, from /proc/PID/status: give --pid);
  2. then --active residents, all connected at once, each ask --asks questions, pausing --think
     between reading a reply and asking again (each resident starts at a random moment within the
     first --think), and reports asks per second and the reply latency p50 / p99;
  3. then the same residents ask --asks questions each with no pause at all, the worst burst,
     and report its asks per second (the server's capacity) and latency.
Output, one "name value" a line:
  idle_connections 10000
  memory_per_idle_connection_kb 11.8
  asks 5000
  asks_per_second 960
  reply_p50_ms 1.9
  reply_p99_ms 9.3
  burst_asks 5000
  burst_asks_per_second 5500
  burst_reply_p50_ms 170
  burst_reply_p99_ms 260
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
	think := fs.Duration("think", time.Second, "pause between a resident's reply and next question")
	if err := parseFlags(fs, args[1:], stderr); err != nil {
		return err
	}
	raiseFileLimit()
	out := bufio.NewWriter(stdout)
	defer out.Flush()

	before := rssKB(*pid)
	conns, err := openIdle(ctx, *url, *idle)
	defer closeAll(conns)
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

	var errs int64
	report := func(prefix string, lat []time.Duration, elapsed time.Duration) {
		fmt.Fprintf(out, "%sasks %d\n", prefix, len(lat))
		if len(lat) > 0 {
			slices.Sort(lat)
			pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
			fmt.Fprintf(out, "%sasks_per_second %.0f\n", prefix, float64(len(lat))/elapsed.Seconds())
			fmt.Fprintf(out, "%sreply_p50_ms %.2f\n%sreply_p99_ms %.2f\n", prefix, pct(0.50), prefix, pct(0.99))
		}
		out.Flush()
	}
	// Each phase has its own residents: a connection may send only a few messages at once.
	for _, phase := range []struct {
		prefix string
		think  time.Duration
	}{{"", *think}, {"burst_", 0}} {
		residents, err := openIdle(ctx, *url, *active)
		if err != nil {
			closeAll(residents)
			return fmt.Errorf("connecting active residents: %w (connected %d)", err, len(residents))
		}
		lat, n, elapsed := askAll(residents, *asks, phase.think)
		closeAll(residents)
		errs += n
		report(phase.prefix, lat, elapsed)
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
	bc := &benchConn{Conn: c}
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

func closeAll(conns []*benchConn) {
	for _, c := range conns {
		c.Close()
	}
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

// askAll has every resident ask asks questions, pausing think between a reply and the next
// question (starting at a random moment within the first think), and returns every reply's
// latency, the failures and the time it all took. A failed resident stops asking.
func askAll(residents []*benchConn, asks int, think time.Duration) ([]time.Duration, int64, time.Duration) {
	var mu sync.Mutex
	var lat []time.Duration
	var errs atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for i, c := range residents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if think > 0 {
				time.Sleep(rand.N(think))
			}
			mine := make([]time.Duration, 0, asks)
			for j := range asks {
				if j > 0 && think > 0 {
					time.Sleep(think)
				}
				id := strconv.Itoa(j)
				q := benchQuestions[(i+j)%len(benchQuestions)]
				start := time.Now()
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
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
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
