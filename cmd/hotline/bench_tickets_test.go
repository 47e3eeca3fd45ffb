package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayannur/hotline/internal/testkit"
)

// benchLines parses `hotline bench tickets`'s output: "name value" lines, every value a number.
func benchLines(t *testing.T, out string) map[string]float64 {
	t.Helper()
	got := map[string]float64{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		name, value, ok := strings.Cut(line, " ")
		v, err := strconv.ParseFloat(value, 64)
		if !ok || err != nil {
			t.Fatalf("bench tickets printed %q; want \"name value\" lines\n%s", line, out)
		}
		if _, dup := got[name]; dup {
			t.Fatalf("bench tickets printed %s twice\n%s", name, out)
		}
		got[name] = v
	}
	return got
}

func wantBench(t *testing.T, got map[string]float64, want map[string]float64, out string) {
	t.Helper()
	for name, w := range want {
		if v, ok := got[name]; !ok || v != w {
			t.Errorf("%s = %v (printed: %v); want %v\n%s", name, v, ok, w, out)
		}
	}
	for _, name := range []string{"seconds", "created_per_second", "latency_p50_ms", "latency_p99_ms", "client_cpu_ms_per_ticket"} {
		if _, ok := got[name]; !ok {
			t.Errorf("bench tickets did not print %s\n%s", name, out)
		}
	}
	if got["latency_p50_ms"] > got["latency_p99_ms"] {
		t.Errorf("latency p50 %v above p99 %v", got["latency_p50_ms"], got["latency_p99_ms"])
	}
}

// fakeOpen311 is an Open311 create endpoint that checks what the bench sends: the api_key, a form
// with a service and a community, and an Idempotency-Key never sent before. Every failEvery-th
// request (counted from 1, the bench's first checks included) it answers 500; it counts the
// connections it accepted.
type fakeOpen311 struct {
	t         *testing.T
	failEvery int64
	requests  atomic.Int64
	created   atomic.Int64
	conns     atomic.Int64
	mu        sync.Mutex
	keys      map[string]bool
}

func (f *fakeOpen311) start() *httptest.Server {
	f.keys = map[string]bool{}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.conns.Add(1)
		}
	}
	ts.Start()
	f.t.Cleanup(ts.Close)
	return ts
}

func (f *fakeOpen311) serve(w http.ResponseWriter, r *http.Request) {
	n := f.requests.Add(1)
	if r.Method != http.MethodPost || r.URL.Path != "/open311/v2/requests.json" {
		http.Error(w, "not here", http.StatusNotFound)
		return
	}
	if err := r.ParseForm(); err != nil || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		http.Error(w, "want a form", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if r.PostForm.Get("api_key") != "tok" {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `[{"code":403,"description":"invalid api_key or token"}]`)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	f.mu.Lock()
	again := f.keys[key]
	f.keys[key] = true
	f.mu.Unlock()
	if key == "" || again || r.PostForm.Get("service_code") == "" || r.PostForm.Get("community") != "wy-jinqiao" {
		f.t.Errorf("request %d: key %q (sent before: %v), form %v", n, key, again, r.PostForm)
	}
	if f.failEvery > 0 && n%f.failEvery == 0 {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"error":"boom","code":"internal"}`)
		return
	}
	f.created.Add(1)
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `[{"service_request_id":"20261202-%04d","service_notice":"ok","account_id":null,"access_code":"123456"}]`, n)
}

// A tiny run against two fake servers, named by a comma list and a repeated --url: every request
// answered counted, once, by the server it went to, each client on one kept-alive connection;
// the failures counted as errors and told once on stderr.
func TestBenchTicketsOutput(t *testing.T) {
	a, b := &fakeOpen311{t: t}, &fakeOpen311{t: t, failEvery: 4}
	sa, sb := a.start(), b.start()
	code, out, errOut := runCmd(t, "", "bench", "tickets", "--url", sa.URL+"/", "--url", sb.URL, "--token", "tok",
		"--clients", "4", "--requests", "40", "--pid", strconv.Itoa(os.Getpid())) // the servers are in this process
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	got := benchLines(t, out)
	// One check request each first, then 10 from each client: clients 0 and 2 send theirs to a,
	// 1 and 3 to b, which answers 500 to its 4th, 8th, … request: 5 of 21.
	if a.requests.Load() != 21 || b.requests.Load() != 21 {
		t.Errorf("the servers got %d and %d requests; want 21 each: a check, then 20", a.requests.Load(), b.requests.Load())
	}
	wantBench(t, got, map[string]float64{"urls": 2, "clients": 4, "connections": 4, "created": 35,
		"errors": 5, "created_url_1": 20, "created_url_2": 15}, out)
	// The check's connection, then one a client (clients 0 and 2 on a, 1 and 3 on b).
	if a.conns.Load() != 3 || b.conns.Load() != 3 {
		t.Errorf("connections accepted: %d and %d; want 3 each: a check's, then one per client", a.conns.Load(), b.conns.Load())
	}
	if v, ok := got["server_cpu_ms_per_ticket"]; !ok || v < 0 {
		t.Errorf("server_cpu_ms_per_ticket %v (printed: %v); want it, with --pid\n%s", v, ok, out)
	}
	if n := strings.Count(errOut, "500 Internal Server Error"); n != 1 {
		t.Errorf("stderr tells the 500 %d times; want once:\n%s", n, errOut)
	}
}

// What the bench is given wrong is refused at once, with what to do.
func TestBenchTicketsBadInput(t *testing.T) {
	f := &fakeOpen311{t: t}
	ts := f.start()
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--url", ts.URL}, 2, "hotline user token"},
		{[]string{"--token", "tok", "--url", "127.0.0.1:8080"}, 2, "want a server's base URL"},
		{[]string{"--token", "tok", "--url", ts.URL + "/open311"}, 2, "want a server's base URL"},
		{[]string{"--token", "tok", "--clients", "0"}, 2, "--clients"},
		{[]string{"--token", "tok", "--duration", "0s"}, 2, "--duration"},
		{[]string{"--token", "tok", "--requests", "-1"}, 2, "--requests"},
		{[]string{"--token", "tok", "--requests", "7"}, 2, "at least --clients"},
		{[]string{"--token", "tok", "--service", " , "}, 2, "--service"},
		{[]string{"--token", "tok", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"--token", "tok", "--pid", "12x"}, 2, `--pid: want process ids, not "12x"`},
		{[]string{"--token", "tok", "--pid", "999999999"}, 2, "--pid: process 999999999"},
		{[]string{"--token", "wrong", "--url", ts.URL}, 1, "403 Forbidden: invalid api_key or token"},
	} {
		code, out, errOut := runCmd(t, "", append([]string{"bench", "tickets"}, c.args...)...)
		if code != c.code || !strings.Contains(errOut, c.want) || out != "" {
			t.Errorf("bench tickets %v: exit %d, stdout %q, stderr:\n%s\nwant exit %d and %q", c.args, code, out, errOut, c.code, c.want)
		}
	}
	if n := f.requests.Load(); n != 1 {
		t.Errorf("the server got %d requests; want 1: the wrong token's check, and nothing after it", n)
	}
}

// Against a real node on its embedded store, with a token made as the usage says: every request
// a ticket, each with its own number, all listed by Open311 afterwards.
func TestBenchTicketsServe(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	if code, out, errOut := runCmd(t, "a-long-password\n", "user", "add", "--data", data, "--role", "operator", "bench"); code != 0 {
		t.Fatalf("user add: exit %d\n%s%s", code, out, errOut)
	}
	code, token, errOut := runCmd(t, "", "user", "token", "--data", data, "--ttl", "1h", "bench")
	if code != 0 {
		t.Fatalf("user token: exit %d\n%s", code, errOut)
	}
	token = strings.TrimSpace(token)
	addr := testkit.FreeAddr(t)
	s := testkit.Serve(t, addr, nil, "--addr", addr, "--data", data)
	s.WaitStatus(t, "/healthz", http.StatusOK, 10*time.Second)

	code, out, errOut := runCmd(t, "", "bench", "tickets", "--url", s.Base, "--token", token, "--clients", "3", "--requests", "30")
	if code != 0 {
		t.Fatalf("bench tickets: exit %d\n%s\n%s", code, out, errOut)
	}
	got := benchLines(t, out)
	wantBench(t, got, map[string]float64{"urls": 1, "clients": 3, "connections": 3, "created": 30, "errors": 0, "created_url_1": 30}, out)
	if _, ok := got["server_cpu_ms_per_ticket"]; ok {
		t.Errorf("server_cpu_ms_per_ticket printed without --pid\n%s", out)
	}

	resp, err := client.Get(s.Base + "/open311/v2/requests.json?api_key=" + url.QueryEscape(token))
	if err != nil {
		t.Fatal(err)
	}
	var listed []struct {
		ID          string `json:"service_request_id"`
		Description string `json:"description"`
	}
	err = json.NewDecoder(resp.Body).Decode(&listed)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	numbers := map[string]bool{}
	for _, r := range listed {
		if strings.HasPrefix(r.Description, "hotline bench tickets: ") {
			numbers[r.ID] = true
		}
	}
	if len(numbers) != 31 {
		t.Errorf("%d bench tickets listed, %d numbers; want 31: the check and 30", len(listed), len(numbers))
	}
	stop(t, s)
}

// --url takes several servers, repeated or separated by commas; the defaults are the usage's.
func TestBenchTicketsFlags(t *testing.T) {
	cfg, err := parseBenchTickets([]string{"--token", " tok ", "--url", "http://a:1, https://b:2/", "--url", "http://c:3",
		"--service", "x, y,", "--requests", "8"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"http://a:1", "https://b:2", "http://c:3"}; !slices.Equal(cfg.urls, want) {
		t.Errorf("urls %q; want %q", cfg.urls, want)
	}
	if cfg.token != "tok" || !slices.Equal(cfg.services, []string{"x", "y"}) || cfg.requests != 8 || cfg.clients != 8 {
		t.Errorf("parsed %+v", cfg)
	}
	cfg, err = parseBenchTickets([]string{"--token", "tok"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.urls, []string{"http://127.0.0.1:8080"}) || cfg.clients != 8 || cfg.duration != 10*time.Second ||
		cfg.requests != 0 || cfg.community != "wy-jinqiao" || len(cfg.services) != 4 || len(cfg.pids) != 0 {
		t.Errorf("defaults %+v", cfg)
	}
}
