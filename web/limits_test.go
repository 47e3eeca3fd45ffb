package web_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bayannur/hotline/web"
)

// The connection limits: the HTTP server's timeouts and header cap, the per-address cap on
// connections, the metrics token, and the chat's hello deadline and silence limit. Deadlines here
// are short configured limits, not measurements: a test waits for something to happen, with a
// generous bound in case it never does.

const closedWait = 10 * time.Second // far beyond every limit configured below

// limitsServer serves a bot-only server with cfg through HTTPServer and Listener.
func limitsServer(t *testing.T, cfg web.Config) (*web.Server, string) {
	t.Helper()
	cfg.Log = quietLogger()
	s := web.New(cfg)
	s.SetBot(sampleBot(t))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := s.HTTPServer()
	go hs.Serve(s.Listener(ln))
	t.Cleanup(func() { hs.Close() })
	return s, ln.Addr().String()
}

// wantServerCloses reads from c until the server ends the connection, and returns what it sent.
func wantServerCloses(t *testing.T, c net.Conn, what string) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(closedWait))
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: the connection is still open after %v", what, closedWait)
	}
	return string(b)
}

func TestServerReadTimeoutCutsSlowBody(t *testing.T) {
	_, addr := limitsServer(t, web.Config{ReadTimeout: 300 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The headers promise 100 bytes of body; one comes, then nothing.
	io.WriteString(c, "POST /api/v1/ask HTTP/1.1\r\nHost: hotline\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
	got := wantServerCloses(t, c, "a body that never comes")
	if strings.Contains(got, " 200 ") {
		t.Errorf("a cut request was answered 200: %q", got)
	}
}

func TestServerIdleTimeoutClosesKeepAlive(t *testing.T) {
	_, addr := limitsServer(t, web.Config{IdleTimeout: 300 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: hotline\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %d", resp.StatusCode)
	}
	wantServerCloses(t, c, "an idle keep-alive connection")
}

func TestServerRefusesOversizedHeader(t *testing.T) {
	_, addr := limitsServer(t, web.Config{})
	get := func(size int) int {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/healthz", nil)
		req.Header.Set("X-Filler", strings.Repeat("a", size))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(8 << 10); code != http.StatusOK {
		t.Errorf("8 KiB of headers: %d, want 200", code)
	}
	if code := get(64 << 10); code != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("64 KiB of headers: %d, want 431", code)
	}
}

func TestMetricsToken(t *testing.T) {
	s := web.New(web.Config{Log: quietLogger(), MetricsToken: "s3cret-token"})
	ts := httptest.NewServer(s)
	defer ts.Close()
	get := func(auth string) int {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
			t.Error("401 without WWW-Authenticate")
		}
		return resp.StatusCode
	}
	for _, auth := range []string{"", "Bearer wrong", "Basic s3cret-token", "s3cret-token", "Bearer "} {
		if code := get(auth); code != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %d, want 401", auth, code)
		}
	}
	if code := get("Bearer s3cret-token"); code != http.StatusOK {
		t.Errorf("the right token: %d, want 200", code)
	}
	// Without a token configured, /metrics stays open.
	open := httptest.NewServer(web.New(web.Config{Log: quietLogger()}))
	defer open.Close()
	resp, err := open.Client().Get(open.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("no token configured: %d, want 200", resp.StatusCode)
	}
}

// A chat outlives the server's read, write and idle timeouts: once upgraded, the socket keeps the
// chat's own deadlines.
func TestChatOutlivesServerTimeouts(t *testing.T) {
	const short = 200 * time.Millisecond
	e := newChatEnv(t, chatOptions{config: func(c *web.Config) {
		c.ReadTimeout, c.WriteTimeout, c.IdleTimeout = short, short, short
	}})
	c := e.dial()
	c.hello("", "")
	time.Sleep(4 * short) // past every server timeout
	if f := c.ask("低保怎么申请"); f.Type != "reply" {
		t.Fatalf("after the server's timeouts: %s", f)
	}
}

func TestChatHelloDeadline(t *testing.T) {
	e := newChatEnv(t, chatOptions{config: func(c *web.Config) { c.ChatHelloWait = 300 * time.Millisecond }})
	mute := e.dial()
	mute.send(map[string]string{"type": "ping"}) // a frame, but not hello
	if f := mute.read(); f.Type != "pong" {
		t.Fatalf("ping: %s", f)
	}
	mute.wantClosed(websocket.ClosePolicyViolation, "hello_timeout")

	// One that says hello in time stays past the deadline.
	ok := e.dial()
	ok.hello("", "")
	time.Sleep(600 * time.Millisecond)
	if f := ok.ask("低保怎么申请"); f.Type != "reply" {
		t.Fatalf("after hello: %s", f)
	}
}

// Pings keep a connection, not a chat: a resident socket that answers pings but sends nothing
// else is closed once ChatSilence passes; one that talks is not.
func TestChatSilence(t *testing.T) {
	const silence = 800 * time.Millisecond
	silenceOnly := func(c *web.Config) { c.ChatSilence = silence }

	// The talker does not read between its frames, so it would not answer pings: the server's
	// idle time stays long here.
	talker := newChatEnv(t, chatOptions{config: silenceOnly}).dial()
	talker.hello("", "")
	for range 4 {
		time.Sleep(silence / 2)
		talker.send(map[string]string{"type": "typing"})
	}
	if f := talker.ask("低保怎么申请"); f.Type != "reply" {
		t.Fatalf("a talking resident after %v: %s", 2*silence, f)
	}

	// The server pings this one every 50 ms, and it answers.
	e := newChatEnv(t, chatOptions{idle: 200 * time.Millisecond, config: silenceOnly})
	silent := e.dial()
	silent.hello("", "")
	silent.ws.SetReadDeadline(time.Now().Add(closedWait))
	for {
		// gorilla answers the server's pings while reading; pongs are all the client sends.
		_, _, err := silent.ws.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseNormalClosure || ce.Text != "silent" {
			t.Fatalf("a silent socket answering pings ended with %v, want close 1000 silent", err)
		}
		break
	}
	if line := e.log.wait(t, "chat closed"); !strings.Contains(line, "code=1000") {
		t.Fatalf("closed: %s", line)
	}
}

// A WebSocket counts against the per-address cap until it closes.
func TestConnCapCountsWebSockets(t *testing.T) {
	e := newChatEnv(t, chatOptions{listener: func(ln net.Listener) net.Listener { return web.LimitConnsPerIP(ln, 2) }})
	a, b := e.dial(), e.dial()
	a.hello("", "")
	b.hello("", "")
	if _, _, err := dialChat(t, e.url, nil); err == nil {
		t.Fatal("a third connection from one address was served with a cap of 2")
	}
	a.ws.Close()
	deadline := time.Now().Add(closedWait)
	for {
		c, _, err := dialChat(t, e.url, nil)
		if err == nil {
			c.hello("", "")
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a closed WebSocket still counts: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A resident typing too fast is limited by its conversation, not its address: a second
// conversation from the same address (a neighbour behind the same NAT) is answered meanwhile.
func TestChatLimitPerConversation(t *testing.T) {
	e := newChatEnv(t, chatOptions{})
	fast, neighbour := e.dial(), e.dial()
	session := fast.hello("", "").Session
	neighbour.hello("", "")
	const n = 3 * web.ChatConvBurst
	for i := range n {
		fast.send(map[string]string{"type": "ask", "id": fmt.Sprintf("f%d", i), "text": "低保咋申请"})
	}
	limited := 0
	for range n {
		if f := fast.read(); f.Type == "error" && f.Code == "rate_limited" {
			limited++
		} else if f.Type != "reply" {
			t.Fatalf("the fast conversation got %s", f)
		}
	}
	if limited == 0 {
		t.Fatalf("%d asks at once in one conversation: none limited", n)
	}
	neighbour.send(map[string]string{"type": "ask", "id": "n1", "text": "网格员电话多少"})
	if f := neighbour.read(); f.Type != "reply" || f.ReplyTo != "n1" {
		t.Errorf("the neighbour got %s; want a reply at once", f)
	}
	// A new connection of the limited conversation is still limited: the bucket is the
	// conversation's, not the connection's.
	again := e.dial()
	if w := again.hello(session, ""); !w.Resumed {
		t.Fatalf("the fast conversation did not resume: %s", w)
	}
	again.send(map[string]string{"type": "ask", "id": "again", "text": "低保咋申请"})
	if f := again.read(); f.Type != "error" || f.Code != "rate_limited" {
		t.Errorf("the same conversation on a new connection got %s; want rate_limited", f)
	}
}
