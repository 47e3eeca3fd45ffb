package deploy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bayannur/hotline/intake/postgres/pgtest"
	"github.com/bayannur/hotline/internal/testkit"
)

// balancer is haproxy running deploy/haproxy.cfg.
type balancer struct {
	addr string // where it listens
	out  testkit.Buffer
}

// startHAProxy runs haproxy on the repository's deploy/haproxy.cfg, unedited: the listening
// address and the nodes' come from the environment variables the file reads. It skips the test
// when haproxy is not installed.
func startHAProxy(t *testing.T, nodes ...*testkit.Server) *balancer {
	t.Helper()
	bin := findTool("haproxy")
	if bin == "" {
		t.Skip("haproxy not installed: apt-get install -y haproxy (scripts/test.sh does it)")
	}
	b := &balancer{addr: testkit.FreeAddr(t)}
	// 1,000 connections at most: a test machine's descriptor limit may be lower than production's.
	env := []string{"HOTLINE_LISTEN=" + b.addr, "HOTLINE_HAPROXY_MAXCONN=1000"}
	for i, n := range nodes {
		env = append(env, fmt.Sprintf("HOTLINE_NODE%d=%s", i+1, n.Addr))
	}
	if os.Geteuid() != 0 {
		env = append(env, "HOTLINE_HAPROXY_UNPRIVILEGED=1") // no chroot, no switch of user
	}
	cmd := exec.Command(bin, "-db", "-f", "haproxy.cfg") // -db: in the foreground
	cmd.Env = cleanEnv(env...)
	cmd.Stdout, cmd.Stderr = &b.out, &b.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("haproxy's output:\n%s", b.out.String())
		}
	})
	// Up when /readyz answers through it.
	deadline := time.Now().Add(15 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get("http://" + b.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return b
			}
		}
		select {
		case <-exited:
			t.Fatalf("haproxy exited: %v\n%s", cmd.ProcessState, b.out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy did not pass /readyz within 15s (last: %v)\n%s", err, b.out.String())
		}
	}
}

// startNodes starts n hotline nodes on the PostgreSQL database db, trusting the balancer on
// 127.0.0.1, and waits until their bots answer.
func startNodes(t *testing.T, db string, n int, args ...string) []*testkit.Server {
	t.Helper()
	var nodes []*testkit.Server
	for i := range n {
		addr := testkit.FreeAddr(t)
		a := append([]string{"--addr", addr, "--database", db, "--data", filepath.Join(t.TempDir(), strconv.Itoa(i))}, args...)
		nodes = append(nodes, testkit.Serve(t, addr, nil, a...))
	}
	start := time.Now()
	for _, s := range nodes {
		s.WaitReady(t, 90*time.Second)
	}
	t.Logf("%d nodes ready in %v", n, time.Since(start).Round(time.Millisecond))
	return nodes
}

// frame is a server's frame on /ws/chat (docs/protocol.md), the fields these tests read.
type frame struct {
	Type     string `json:"type"`
	Session  string `json:"session"`
	Resumed  bool   `json:"resumed"`
	ReplyTo  string `json:"reply_to"`
	Decision string `json:"decision"`
	Text     string `json:"text"`
	Code     string `json:"code"`
	Options  []struct {
		ID string `json:"id"`
	} `json:"options"`
	Ticket *struct {
		Number string `json:"number"`
	} `json:"ticket"`
	History []struct {
		From string `json:"from"`
		Text string `json:"text"`
	} `json:"history"`
}

func (f frame) String() string {
	b, _ := json.Marshal(f)
	return string(b)
}

func (f frame) hasOption(id string) bool {
	return slices.ContainsFunc(f.Options, func(o struct {
		ID string `json:"id"`
	}) bool {
		return o.ID == id
	})
}

// resident is one chat through the balancer, from a loopback address of its own.
type resident struct {
	name     string
	ws       *websocket.Conn
	n        int
	deadline time.Time // no read or write waits past it
}

// dialResident opens /ws/chat through the balancer from the address from (127.x.y.z) with the
// balancer's own origin (unless h has one), as the demo page would: the node accepts that Origin
// only if the Host header came through unchanged.
func dialResident(ctx context.Context, name, lb, from string, h http.Header) (*resident, error) {
	nd := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	d := &websocket.Dialer{NetDialContext: nd.DialContext, HandshakeTimeout: 10 * time.Second}
	if h == nil {
		h = http.Header{}
	}
	if h.Get("Origin") == "" {
		h.Set("Origin", "http://"+lb)
	}
	ws, resp, err := d.DialContext(ctx, "ws://"+lb+"/ws/chat", h)
	if err != nil {
		if resp != nil {
			body, _ := io.ReadAll(resp.Body)
			return nil, fmt.Errorf("%s: dial from %s: %v (%s %s)", name, from, err, resp.Status, body)
		}
		return nil, fmt.Errorf("%s: dial from %s: %v", name, from, err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(30 * time.Second)
	}
	return &resident{name: name, ws: ws, deadline: deadline}, nil
}

func (r *resident) close() { r.ws.Close() }

func (r *resident) send(v any) error {
	r.ws.SetWriteDeadline(r.deadline)
	if err := r.ws.WriteJSON(v); err != nil {
		return fmt.Errorf("%s: send: %w", r.name, err)
	}
	return nil
}

func (r *resident) read() (frame, error) {
	r.ws.SetReadDeadline(r.deadline)
	var f frame
	if err := r.ws.ReadJSON(&f); err != nil {
		return f, fmt.Errorf("%s: read: %w", r.name, err)
	}
	return f, nil
}

func (r *resident) hello(session, community string) (frame, error) {
	if err := r.send(map[string]string{"type": "hello", "session": session, "community": community}); err != nil {
		return frame{}, err
	}
	f, err := r.read()
	if err != nil {
		return f, err
	}
	if f.Type != "welcome" || f.Session == "" {
		return f, fmt.Errorf("%s: hello got %s, want a welcome with a session", r.name, f)
	}
	return f, nil
}

// message sends an ask (text) or a choose (option) and returns the server's answer to it: a reply,
// or an error frame as an error.
func (r *resident) message(typ, field, value string) (frame, error) {
	r.n++
	id := "m" + strconv.Itoa(r.n)
	if err := r.send(map[string]string{"type": typ, "id": id, field: value}); err != nil {
		return frame{}, err
	}
	for {
		f, err := r.read()
		if err != nil {
			return f, err
		}
		if f.ReplyTo != id {
			continue
		}
		if f.Type == "error" {
			return f, fmt.Errorf("%s: %s %q got error %s", r.name, typ, value, f.Code)
		}
		if f.Type != "reply" {
			return f, fmt.Errorf("%s: %s %q got %s, want a reply", r.name, typ, value, f)
		}
		return f, nil
	}
}

func (r *resident) ask(text string) (frame, error)  { return r.message("ask", "text", text) }
func (r *resident) choose(id string) (frame, error) { return r.message("choose", "option", id) }

var ticketNumber = regexp.MustCompile(`^\d{8}-\d{4}$`)

const (
	problem = "俺们虹亚小区3号楼门口路灯坏了"
	place   = "虹亚小区3号楼"
	phone   = "13812345678"
)

// report is a resident's whole report: the problem, the place, a phone, the confirmation; it
// returns the ticket's number.
func (r *resident) report() (string, error) {
	f, err := r.ask(problem)
	if err != nil {
		return "", err
	}
	if f.Decision != "report" || !strings.Contains(f.Text, "地点") {
		return "", fmt.Errorf("%s: the problem got %s, want the report's question for the place", r.name, f)
	}
	return r.finishReport()
}

// finishReport answers the report's questions from the place on.
func (r *resident) finishReport() (string, error) {
	f, err := r.ask(place)
	if err != nil {
		return "", err
	}
	if !strings.Contains(f.Text, "电话") {
		return "", fmt.Errorf("%s: the place got %s, want the question for a phone", r.name, f)
	}
	if f, err = r.ask(phone); err != nil {
		return "", err
	}
	if !f.hasOption("confirm") {
		return "", fmt.Errorf("%s: the phone got %s, want the confirmation", r.name, f)
	}
	if f, err = r.choose("confirm"); err != nil {
		return "", err
	}
	if f.Ticket == nil || !ticketNumber.MatchString(f.Ticket.Number) {
		return "", fmt.Errorf("%s: the confirmation got %s, want a ticket", r.name, f)
	}
	return f.Ticket.Number, nil
}

// chatConnections reads hotline_chat_connections from a node's /metrics.
func chatConnections(s *testkit.Server) (int, error) {
	resp, err := http.Get(s.Base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "hotline_chat_connections "); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int(n), err
		}
	}
	return 0, fmt.Errorf("%s/metrics: no hotline_chat_connections", s.Base)
}

// TestHAProxyTwoNodes runs deploy/haproxy.cfg in front of two nodes on one PostgreSQL database,
// each trusting the balancer's address (--trusted-proxies 127.0.0.1/32), with the ceiling of chat
// messages per address at 30 a minute (--chat-ip-rate 30, burst 30) and the cap on connections
// per address at 8 (--max-conns-per-ip 8), both low enough that the balancer's own address would
// hit them: residents come from addresses of their own in 127/8, the balancer connects from
// 127.0.0.1 and says who they are in X-Forwarded-For.
func TestHAProxyTwoNodes(t *testing.T) {
	if findTool("haproxy") == "" {
		t.Skip("haproxy not installed: apt-get install -y haproxy (scripts/test.sh does it)")
	}
	db := pgtest.Server(t)
	nodes := startNodes(t, db, 2, "--trusted-proxies", "127.0.0.1/32", "--chat-ip-rate", "30", "--max-conns-per-ip", "8")
	lb := startHAProxy(t, nodes...)

	// Each resident is limited as themselves: 40 residents' reports, 4 messages each (160 from
	// the balancer's one address, far more than 30 a minute on each of the two nodes), on 56
	// connections from the balancer (8 allowed from one address), all end in a ticket within a
	// minute, while one resident flooding from 16 connections, 5 messages each (within a
	// conversation's burst, over the address's 30 on at least one node), with made-up
	// X-Forwarded-For and Forwarded headers, is rate-limited.
	t.Run("residents limited one by one", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		const residents, floods, perFlood = 40, 16, 5
		var wg sync.WaitGroup
		errs := make(chan error, residents+floods)
		tickets := make(chan string, residents)
		for i := range residents {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := dialResident(ctx, fmt.Sprintf("resident %d", i), lb.addr, fmt.Sprintf("127.0.0.%d", i+2), nil)
				if err != nil {
					errs <- err
					return
				}
				defer r.close()
				if _, err := r.hello("", "wy-jinqiao"); err != nil {
					errs <- err
					return
				}
				n, err := r.report()
				if err != nil {
					errs <- err
					return
				}
				tickets <- n
			}()
		}
		var mu sync.Mutex
		limitedN, answeredN := 0, 0
		for i := range floods {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Made-up addresses the flooder would like to be counted as.
				h := http.Header{"X-Forwarded-For": {fmt.Sprintf("127.1.0.%d", i+1)}, "Forwarded": {fmt.Sprintf("for=127.2.0.%d", i+1)}}
				r, err := dialResident(ctx, fmt.Sprintf("flooder %d", i), lb.addr, "127.0.0.60", h)
				if err != nil {
					errs <- err
					return
				}
				defer r.close()
				if _, err := r.hello("", ""); err != nil {
					errs <- err
					return
				}
				// 5 at once: within one connection's burst, so only the limit per address stops them.
				for j := range perFlood {
					if err := r.send(map[string]string{"type": "ask", "id": fmt.Sprintf("f%d", j), "text": "你好"}); err != nil {
						errs <- err
						return
					}
				}
				for got := 0; got < perFlood; {
					f, err := r.read()
					if err != nil {
						errs <- err
						return
					}
					if !strings.HasPrefix(f.ReplyTo, "f") {
						continue
					}
					got++
					mu.Lock()
					switch {
					case f.Type == "error" && f.Code == "rate_limited":
						limitedN++
					case f.Type == "reply":
						answeredN++
					default:
						mu.Unlock()
						errs <- fmt.Errorf("flooder %d got %s", i, f)
						return
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		close(errs)
		close(tickets)
		for err := range errs {
			t.Error(err)
		}
		seen := map[string]bool{}
		for n := range tickets {
			if seen[n] {
				t.Errorf("ticket %s opened twice", n)
			}
			seen[n] = true
		}
		if len(seen) != residents {
			t.Errorf("%d of %d residents got their ticket", len(seen), residents)
		}
		if limitedN == 0 {
			t.Errorf("the flooder sent %d messages from one address, none rate-limited", floods*perFlood)
		}
		t.Logf("flooder: %d answered, %d rate-limited", answeredN, limitedN)
	})

	// The balancer keeps /metrics to the inside (Prometheus scrapes each node).
	t.Run("metrics refused", func(t *testing.T) {
		for _, path := range []string{"/metrics", "/%6detrics"} {
			resp, err := http.Get("http://" + lb.addr + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s through haproxy: %s, want 404", path, resp.Status)
			}
		}
		if _, err := chatConnections(nodes[0]); err != nil {
			t.Errorf("a node's own /metrics: %v", err)
		}
	})

	// A node dies (SIGKILL) while a resident is in the middle of a report, asked for the place;
	// the resident reconnects through the balancer with its session, lands on the other node, and
	// the report goes on where it was, to its ticket.
	t.Run("node killed mid-report", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		r, err := dialResident(ctx, "resident", lb.addr, "127.0.0.61", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer r.close()
		w, err := r.hello("", "wy-jinqiao")
		if err != nil {
			t.Fatal(err)
		}
		f, err := r.ask(problem)
		if err != nil {
			t.Fatal(err)
		}
		if f.Decision != "report" || !strings.Contains(f.Text, "地点") {
			t.Fatalf("the problem got %s, want the report's question for the place", f)
		}

		// The node the chat is on: the one that counts one open chat.
		var on, other *testkit.Server
		deadline := time.Now().Add(15 * time.Second)
		for on == nil {
			var counts []int
			for _, s := range nodes {
				n, err := chatConnections(s)
				if err != nil {
					t.Fatal(err)
				}
				counts = append(counts, n)
			}
			switch {
			case counts[0] == 1 && counts[1] == 0:
				on, other = nodes[0], nodes[1]
			case counts[0] == 0 && counts[1] == 1:
				on, other = nodes[1], nodes[0]
			case time.Now().After(deadline):
				t.Fatalf("open chats on the nodes: %v, want the one resident's on one of them", counts)
			default:
				time.Sleep(50 * time.Millisecond)
			}
		}

		// A bystander's chat on the other node, so that haproxy (leastconn) sends the next
		// connection to the node about to die, until its health checks find it down.
		by, err := dialResident(ctx, "bystander", lb.addr, "127.0.0.62", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer by.close()
		if _, err := by.hello("", "wy-jinqiao"); err != nil {
			t.Fatal(err)
		}
		if n, err := chatConnections(other); err != nil || n != 1 {
			t.Fatalf("open chats on the other node: %d (%v), want the bystander's", n, err)
		}

		if err := syscall.Kill(on.Pid(), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		// The balancer ends the resident's connection with the node's.
		r.deadline = time.Now().Add(10 * time.Second)
		for {
			if _, err := r.read(); err != nil {
				if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
					t.Fatalf("the chat stayed open after its node was killed: %v", err)
				}
				break
			}
		}
		r.close()

		// The widget reconnects with its session: the first try goes through (haproxy, sending it
		// to the dead node, has it refused, and tries again on the other: retries, redispatch) and
		// resumes the conversation there.
		r, err = dialResident(ctx, "resident again", lb.addr, "127.0.0.61", nil)
		if err != nil {
			t.Fatalf("reconnecting through haproxy after the node was killed: %v", err)
		}
		defer r.close()
		again, err := r.hello(w.Session, "")
		if err != nil {
			t.Fatal(err)
		}
		if !again.Resumed || again.Session != w.Session {
			t.Fatalf("welcome %s, want the conversation %s resumed", again, w.Session)
		}
		if !slices.ContainsFunc(again.History, func(h struct {
			From string `json:"from"`
			Text string `json:"text"`
		}) bool {
			return h.From == "resident" && h.Text == problem
		}) {
			t.Fatalf("the resumed history %s lacks the problem", again)
		}
		if n, err := chatConnections(other); err != nil || n != 2 {
			t.Fatalf("open chats on the surviving node: %d (%v), want the bystander's and the resumed one", n, err)
		}
		n, err := r.finishReport()
		if err != nil {
			t.Fatal(err)
		}
		// The bystander's chat went on all along.
		if f, err := by.ask("低保咋申请"); err != nil || f.Decision != "answer" {
			t.Errorf("the bystander on the surviving node got %s (%v), want an answer", f, err)
		}
		t.Logf("ticket %s, opened on the surviving node after the other was killed", n)
	})
}
