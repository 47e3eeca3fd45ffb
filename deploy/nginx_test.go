package deploy_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake/postgres/pgtest"
	"github.com/bayannur/hotline/internal/testkit"
)

// TestNginxTwoNodes runs nginx on a copy of deploy/nginx.conf in which only the two upstream
// servers and the listening port are replaced by the test's loopback addresses (each must be
// found exactly once), in front of two nodes on PostgreSQL trusting it, with a ceiling of 5 chat
// messages a minute per address: the WebSocket upgrade passes, the node sees the Host nginx was
// asked for (the chat's Origin check passes), each resident is limited by its own address from
// X-Forwarded-For, and with one node killed every request still finds the other
// (proxy_next_upstream).
func TestNginxTwoNodes(t *testing.T) {
	bin := findTool("nginx")
	if bin == "" {
		t.Skip("nginx not installed: apt-get install -y nginx (scripts/test.sh does it)")
	}
	db := pgtest.Server(t)
	nodes := startNodes(t, db, 2, "--trusted-proxies", "127.0.0.1/32", "--chat-ip-rate", "5")

	src, err := os.ReadFile("nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	listen := testkit.FreeAddr(t)
	conf := string(src)
	for old, new := range map[string]string{
		"server 10.0.0.11:8080 ": "server " + nodes[0].Addr + " ",
		"server 10.0.0.12:8080 ": "server " + nodes[1].Addr + " ",
		"listen 80;":             "listen " + listen + ";",
	} {
		if n := strings.Count(conf, old); n != 1 {
			t.Fatalf("deploy/nginx.conf has %q %d times, want once", old, n)
		}
		conf = strings.Replace(conf, old, new, 1)
	}
	copyPath := filepath.Join(t.TempDir(), "hotline.conf")
	if err := os.WriteFile(copyPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	prefix, main := nginxMain(t, copyPath)
	// One process, in the foreground: killing it leaves no worker behind.
	cmd := exec.Command(bin, "-e", "stderr", "-p", prefix+"/", "-c", main, "-g", "daemon off; master_process off;")
	var out testkit.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("nginx's output:\n%s", out.String())
		}
	})
	base := "http://" + listen
	client := &http.Client{Timeout: 5 * time.Second}
	get := func(path string) (int, error) {
		resp, err := client.Get(base + path)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, err := get("/readyz")
		if err == nil && code == http.StatusOK {
			break
		}
		select {
		case <-exited:
			t.Fatalf("nginx exited: %v\n%s", cmd.ProcessState, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not pass /readyz within 15s (last: %d %v)\n%s", code, err, out.String())
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// nginx passes $host, which has no port: a page served through it on a port of its own has
	// an Origin with the port, which is not what the node is told. On 80 or 443, as deployed, the
	// page's Origin has no port either; this is that origin.
	origin := http.Header{"Origin": {"http://127.0.0.1"}}
	dial := func(name, from string) *resident {
		t.Helper()
		r, err := dialResident(ctx, name, listen, from, origin.Clone())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.close)
		if _, err := r.hello("", "wy-jinqiao"); err != nil {
			t.Fatal(err)
		}
		return r
	}
	// The first resident, on two chats from one address (nginx, least_conn, puts them on the two
	// nodes), uses up its address's 5 messages a minute on both nodes; its next is refused.
	a1 := dial("resident a, first chat", "127.0.0.2")
	a1OnFirst, err := chatConnections(nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	a2 := dial("resident a, second chat", "127.0.0.2")
	for _, s := range nodes {
		if n, err := chatConnections(s); err != nil || n != 1 {
			t.Fatalf("open chats on %s: %d (%v), want one of resident a's on each node", s.Addr, n, err)
		}
	}
	for _, r := range []*resident{a1, a2} {
		for i := range 5 {
			if _, err := r.ask("低保咋申请"); err != nil {
				t.Fatalf("message %d of 5: %v", i+1, err)
			}
		}
	}
	if f, err := a1.ask("低保咋申请"); err == nil || f.Code != "rate_limited" {
		t.Fatalf("a sixth message from one address got %s (%v), want rate_limited", f, err)
	}
	// Another resident, from another address, is not refused, on whichever node it lands: the
	// nodes count the address nginx forwards in X-Forwarded-For. (Counted by nginx's own
	// address, 127.0.0.1, it would be refused on both.)
	b := dial("resident b", "127.0.0.3")
	if _, err := b.ask("低保咋申请"); err != nil {
		t.Fatalf("resident b: %v", err)
	}

	// One node killed: every request still gets an answer from the other. Once nginx has seen
	// the dead node's chat end, that node has the fewest connections (least_conn sends the next
	// request there) and refuses them: nginx must pass the request on (proxy_next_upstream).
	dead := nodes[0]
	if err := syscall.Kill(dead.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	onDead := a2
	if a1OnFirst == 1 {
		onDead = a1
	}
	onDead.deadline = time.Now().Add(10 * time.Second)
	for {
		if _, err := onDead.read(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("%s, on the killed node, stayed open: %v", onDead.name, err)
			}
			break
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", dead.Addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the killed node still takes connections")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i := range 10 {
		code, err := get("/readyz")
		if err != nil || code != http.StatusOK {
			t.Fatalf("request %d after a node was killed: %d %v", i+1, code, err)
		}
	}
	if code, err := get("/metrics"); err != nil || code != http.StatusNotFound {
		t.Errorf("GET /metrics through nginx: %d %v, want 404", code, err)
	}
}
