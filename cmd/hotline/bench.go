package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

const benchUsage = `usage: hotline bench tickets --token TOKEN [--url URL]… [--clients 8] [--duration 10s]
       (tickets created through Open311: hotline bench tickets --help)
usage: hotline bench chat [--url ws://127.0.0.1:8080/ws/chat] [--pid PID]
                          [--idle 10000] [--active 1000] [--asks 5] [--think 1s]
                          [--questions FILE] [--echo]

Drives websocket residents against a running server (start it with --chat-ip-rate -1 and
--max-conns-per-ip -1 so that one address may open as many connections and send as fast as the
bench does):
  1. opens --idle connections that say hello and then stay idle, and reports the server's memory
     per idle connection (resident set size before and after, from /proc/PID/status: give --pid);
  2. then --active residents, all connected at once, each ask --asks questions, pausing --think
     between reading a reply and asking again (each resident starts at a random moment within the
     first --think), and reports the asks per second offered (residents ÷ think) and served, and
     the reply latency p50 / p99;
  3. then the same residents ask --asks questions each with no pause at all, the worst burst,
     and report its asks per second (the server's capacity) and latency.
The questions are the lines of --questions (JSON lines with "q", or plain text lines), or by
default the 4,000-odd labelled resident messages of the built-in guide (2 to 150+ characters,
dialect, typos), each resident starting at its own place in them.
With --echo, phases 2 and 3 run first against a bare WebSocket echo server (a child process
that answers every ask at once), driven the same way in the same run; the echo_ lines and the
served_ratio lines (hotline's asks per second over the echo server's) compare them.
Output, one "name value" a line:
  questions 4285
  idle_connections 10000
  memory_per_idle_connection_kb 11.8
  offered_asks_per_second 1000
  asks 5000
  asks_per_second 960
  reply_p50_ms 1.9
  reply_p99_ms 9.3
  burst_asks 5000
  burst_asks_per_second 5500
  burst_reply_p50_ms 170
  burst_reply_p99_ms 260
  errors 0
and with --echo, before them, echo_asks_per_second … and, after, served_ratio 0.97 and
burst_served_ratio 0.61.
`

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "echo" {
		return cmdBenchEcho(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "tickets" {
		return cmdBenchTickets(ctx, args[1:], stdout, stderr) // bench_tickets.go
	}
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
	questionsFile := fs.String("questions", "", "questions to ask: JSON lines with \"q\", or plain lines (default: the built-in guide's labelled messages)")
	echo := fs.Bool("echo", false, "run the asking phases against a bare echo server first, for the ratio")
	if _, err := parseInterspersed(fs, args[1:], stderr); err != nil {
		return err
	}
	questions, err := benchQuestions(*questionsFile)
	if err != nil {
		return err
	}
	raiseFileLimit()
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	fmt.Fprintf(out, "questions %d\n", len(questions))

	var echoRates map[string]float64
	if *echo {
		echoURL, stop, err := startEcho(ctx)
		if err != nil {
			return fmt.Errorf("starting the echo server: %w", err)
		}
		echoRates, err = askPhases(ctx, out, "echo_", echoURL, *active, *asks, *think, questions)
		stop()
		if err != nil {
			return err
		}
	}

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

	rates, err := askPhases(ctx, out, "", *url, *active, *asks, *think, questions)
	if err != nil {
		return err
	}
	for _, phase := range []string{"", "burst_"} {
		if e := echoRates[phase]; e > 0 {
			fmt.Fprintf(out, "%sserved_ratio %.2f\n", phase, rates[phase]/e)
		}
	}
	return nil
}

// askPhases runs the paced phase and the burst phase against url, each with its own residents
// (a connection may send only a few messages at once), prints their lines with prefix and
// returns each phase's asks per second served, by phase prefix ("" and "burst_").
func askPhases(ctx context.Context, out *bufio.Writer, prefix, url string, active, asks int, think time.Duration, questions []string) (map[string]float64, error) {
	var errs int64
	rates := map[string]float64{}
	if think > 0 {
		fmt.Fprintf(out, "%soffered_asks_per_second %.0f\n", prefix, float64(active)/think.Seconds())
	}
	for _, phase := range []struct {
		prefix string
		think  time.Duration
	}{{"", think}, {"burst_", 0}} {
		residents, err := openIdle(ctx, url, active)
		if err != nil {
			closeAll(residents)
			return nil, fmt.Errorf("connecting active residents: %w (connected %d)", err, len(residents))
		}
		lat, n, elapsed := askAll(residents, asks, phase.think, questions)
		closeAll(residents)
		errs += n
		p := prefix + phase.prefix
		fmt.Fprintf(out, "%sasks %d\n", p, len(lat))
		if len(lat) > 0 {
			slices.Sort(lat)
			pct := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
			rates[phase.prefix] = float64(len(lat)) / elapsed.Seconds()
			fmt.Fprintf(out, "%sasks_per_second %.0f\n", p, rates[phase.prefix])
			fmt.Fprintf(out, "%sreply_p50_ms %.2f\n%sreply_p99_ms %.2f\n", p, pct(0.50), p, pct(0.99))
		}
		out.Flush()
	}
	fmt.Fprintf(out, "%serrors %d\n", prefix, errs)
	out.Flush()
	return rates, nil
}

// benchQuestions reads the questions of file (JSON lines with "q", or plain lines; blank lines
// skipped), or, with no file, the built-in guide's labelled messages, in a fixed shuffled order.
func benchQuestions(file string) ([]string, error) {
	var qs []string
	if file == "" {
		g, _, err := loadGuide("")
		if err != nil {
			return nil, err
		}
		for _, l := range g.Training {
			qs = append(qs, l.Q)
		}
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(qs), func(i, j int) { qs[i], qs[j] = qs[j], qs[i] })
		return qs, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "{") {
			var l struct {
				Q string `json:"q"`
			}
			if err := json.Unmarshal([]byte(line), &l); err != nil || strings.TrimSpace(l.Q) == "" {
				return nil, fmt.Errorf("%s:%d: want a JSON object with \"q\", or plain text", file, i+1)
			}
			line = l.Q
		}
		qs = append(qs, line)
	}
	if len(qs) == 0 {
		return nil, fmt.Errorf("%s: no questions", file)
	}
	return qs, nil
}

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
func askAll(residents []*benchConn, asks int, think time.Duration, questions []string) ([]time.Duration, int64, time.Duration) {
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
				q := questions[(i*7919+j)%len(questions)] // each resident from its own place
				start := time.Now()
				if err := c.WriteJSON(map[string]string{"type": "ask", "id": id, "text": q}); err != nil {
					errs.Add(1)
					return
				}
				if !awaitAnswer(c, id) {
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

// awaitAnswer reads frames until the one that answers message id: the bot's reply, or, once
// the question put the resident in the queue for a person (我要找人工), the desk's "received".
// Frames about the desk (queue, handoff, notice…) are skipped. False on an error frame, a
// closed connection or 30 s without an answer.
func awaitAnswer(c *benchConn, id string) bool {
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		var r struct {
			Type    string `json:"type"`
			ReplyTo string `json:"reply_to"`
		}
		if err := c.ReadJSON(&r); err != nil {
			return false
		}
		if r.ReplyTo == id {
			return r.Type == "reply" || r.Type == "received"
		}
	}
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

// startEcho runs `hotline bench echo` as a child process (its own process, as the server is) and
// returns its chat URL and a function that stops it.
func startEcho(ctx context.Context) (string, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.CommandContext(ctx, self, "bench", "echo", "--addr", "127.0.0.1:0")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait() }
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stop()
		return "", nil, fmt.Errorf("no address from the echo server: %w", err)
	}
	return strings.TrimSpace(line), stop, nil
}

// cmdBenchEcho serves a bare WebSocket echo of the chat protocol until ctx ends: a welcome to a
// hello, a reply to an ask, nothing else. It prints its chat URL on the first line of stdout.
func cmdBenchEcho(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench echo", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	raiseFileLimit()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	up := websocket.Upgrader{ReadBufferSize: 1 << 10, WriteBufferPool: &sync.Pool{}}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			var f struct{ Type, ID string }
			if err := c.ReadJSON(&f); err != nil {
				return
			}
			switch f.Type {
			case "hello":
				err = c.WriteJSON(map[string]string{"type": "welcome", "session": "echo"})
			case "ask":
				err = c.WriteJSON(map[string]string{"type": "reply", "reply_to": f.ID, "text": "echo"})
			}
			if err != nil {
				return
			}
		}
	})}
	fmt.Fprintf(stdout, "ws://%s/ws/chat\n", ln.Addr())
	go func() { <-ctx.Done(); hs.Close() }()
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
