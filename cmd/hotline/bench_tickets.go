package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const benchTicketsUsage = `usage: hotline bench tickets --token TOKEN [--url http://127.0.0.1:8080]… [--clients 8]
                             [--duration 10s | --requests N] [--service CODE,…] [--community ID]
                             [--pid PID,…]

Creates tickets through running servers as an integration does: Open311 GeoReport v2,
POST /open311/v2/requests.json with the staff API token as api_key, a fresh Idempotency-Key on
each request, from --clients clients at once, each sending its next request as soon as the last
is answered, over a keep-alive connection of its own (HTTP/1.1, reused for every request). Client
i sends to the i-th --url (repeat --url, or separate URLs by commas: several nodes, or a balancer
in front of them), for --duration, or until --requests have been sent in all (shared evenly).

Each server is first sent one request (not counted), so that a wrong token, service or community
stops the bench at once with the server's answer. The token is an API token of a staff account
that may work tickets (operator, manager or admin), made on the server's data:
  echo 'a-long-password' | hotline user add --role operator bench     # once
  hotline user token --ttl 24h --label bench bench                     # prints TOKEN
(with the server's --data DIR or --database URL). --service lists the Open311 service codes the
clients take in turn (GET /open311/v2/services.json lists them); --community is the community the
reports are in, so that each is routed to its grid as a resident's would be. --pid names the
servers' processes (on this machine): their CPU time over the run is read from /proc, to tell
whether the servers or something else (the database, the bench itself) is the limit.

Output, one "name value" a line:
  urls 2
  clients 8
  connections 8
  seconds 10.0
  created 21034
  created_per_second 2103
  latency_p50_ms 3.4
  latency_p99_ms 11.9
  errors 0
  created_url_1 10517
  created_url_2 10517
  client_cpu_ms_per_ticket 0.17
  server_cpu_ms_per_ticket 0.61     (with --pid)
connections are the TCP connections the clients opened (one each when every one is kept alive),
latency is from sending a request to reading the whole answer, errors count the requests that got
no 201 (the first one of each kind is written to stderr), and created_url_N the tickets each
--url created, in the order given; the CPU lines are the CPU time of this process, and of the
--pid processes together, over the run, per ticket created.
`

// benchTicketsConfig is what `hotline bench tickets` was asked to do.
type benchTicketsConfig struct {
	urls      []string // base URLs, no trailing slash
	token     string
	clients   int
	duration  time.Duration
	requests  int // 0: for duration
	services  []string
	community string
	pids      []int // the servers' processes, whose CPU time is read
}

// urlList is a flag.Value that collects --url, repeated or comma-separated.
type urlList []string

func (l *urlList) String() string { return strings.Join(*l, ",") }

func (l *urlList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimRight(strings.TrimSpace(s), "/")
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return fmt.Errorf("want a server's base URL such as http://127.0.0.1:8080, not %q", s)
		}
		*l = append(*l, s)
	}
	return nil
}

// parseBenchTickets reads the flags of `hotline bench tickets`.
func parseBenchTickets(args []string, stderr io.Writer) (benchTicketsConfig, error) {
	fs := flag.NewFlagSet("bench tickets", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(stderr, benchTicketsUsage) }
	var urls urlList
	fs.Var(&urls, "url", "a server's base URL; repeat it or separate URLs by commas (default http://127.0.0.1:8080)")
	token := fs.String("token", "", "a staff API token (hotline user token NAME), sent as api_key")
	clients := fs.Int("clients", 8, "clients creating tickets at once, a connection each")
	duration := fs.Duration("duration", 10*time.Second, "how long to create tickets")
	requests := fs.Int("requests", 0, "stop after this many requests in all instead (0: --duration)")
	services := fs.String("service", "report-streetlight,report-garbage,report-sewage,report-water-outage", "Open311 service codes, taken in turn")
	community := fs.String("community", "wy-jinqiao", "the community of the reports")
	pids := fs.String("pid", "", "the servers' process ids, comma-separated, to read their CPU time (same machine)")
	pos, err := parseInterspersed(fs, args, stderr)
	if err != nil {
		return benchTicketsConfig{}, err
	}
	usage := func(msg string) error {
		return exitError{code: 2, msg: "hotline bench tickets: " + msg + "\n\n" + benchTicketsUsage}
	}
	if len(pos) > 0 {
		return benchTicketsConfig{}, usage(fmt.Sprintf("unexpected argument %q", pos[0]))
	}
	if len(urls) == 0 {
		urls = urlList{"http://127.0.0.1:8080"}
	}
	cfg := benchTicketsConfig{urls: urls, token: strings.TrimSpace(*token), clients: *clients, duration: *duration,
		requests: *requests, community: strings.TrimSpace(*community)}
	for _, s := range strings.Split(*services, ",") {
		if s = strings.TrimSpace(s); s != "" {
			cfg.services = append(cfg.services, s)
		}
	}
	for _, p := range strings.Split(*pids, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		pid, err := strconv.Atoi(p)
		if err != nil || pid <= 0 {
			return cfg, usage(fmt.Sprintf("--pid: want process ids, not %q", p))
		}
		if _, err := cpuTime(pid); err != nil {
			return cfg, usage(fmt.Sprintf("--pid: %v", err))
		}
		cfg.pids = append(cfg.pids, pid)
	}
	switch {
	case cfg.token == "":
		return cfg, usage("--token: an API token is needed; make one on the server's data with `hotline user token NAME` (see below)")
	case cfg.clients < 1:
		return cfg, usage("--clients: at least 1")
	case cfg.requests < 0 || (cfg.requests > 0 && cfg.requests < cfg.clients):
		return cfg, usage("--requests: 0 (run for --duration), or at least --clients")
	case cfg.requests == 0 && cfg.duration <= 0:
		return cfg, usage("--duration: above 0")
	case len(cfg.services) == 0:
		return cfg, usage("--service: at least one service code")
	}
	return cfg, nil
}

func cmdBenchTickets(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseBenchTickets(args, stderr)
	if err != nil {
		return err
	}
	res, err := benchTickets(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	res.print(stdout, cfg)
	return nil
}

// benchTicketsResult is what a run measured.
type benchTicketsResult struct {
	connections int64
	elapsed     time.Duration
	clientCPU   time.Duration
	serverCPU   time.Duration   // of cfg.pids; 0 without
	latencies   []time.Duration // of the tickets created, sorted
	errors      int64
	created     []int64 // by URL
}

func (r benchTicketsResult) print(w io.Writer, cfg benchTicketsConfig) {
	out := bufio.NewWriter(w)
	defer out.Flush()
	pct := func(p float64) float64 {
		if len(r.latencies) == 0 {
			return 0
		}
		return float64(r.latencies[int(p*float64(len(r.latencies)-1))].Microseconds()) / 1000
	}
	var created int64
	for _, n := range r.created {
		created += n
	}
	fmt.Fprintf(out, "urls %d\nclients %d\nconnections %d\nseconds %.1f\ncreated %d\ncreated_per_second %.0f\n",
		len(cfg.urls), cfg.clients, r.connections, r.elapsed.Seconds(), created, float64(created)/max(r.elapsed.Seconds(), 1e-9))
	fmt.Fprintf(out, "latency_p50_ms %.2f\nlatency_p99_ms %.2f\nerrors %d\n", pct(0.50), pct(0.99), r.errors)
	for i, n := range r.created {
		fmt.Fprintf(out, "created_url_%d %d\n", i+1, n)
	}
	perTicket := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(max(created, 1)) }
	fmt.Fprintf(out, "client_cpu_ms_per_ticket %.3f\n", perTicket(r.clientCPU))
	if len(cfg.pids) > 0 {
		fmt.Fprintf(out, "server_cpu_ms_per_ticket %.3f\n", perTicket(r.serverCPU))
	}
}

// cpuTime is the CPU time, user and system, process pid has used so far, from /proc/PID/stat.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("process %d: %w", pid, err)
	}
	// pid (comm) state ppid … : the name may hold spaces and parentheses; the fields follow its
	// last ')'. utime and stime are the 14th and 15th fields, in clock ticks (100 a second).
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("process %d: unexpected /proc/%d/stat", pid, pid)
	}
	var ticks int64
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("process %d: unexpected /proc/%d/stat", pid, pid)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// serversCPU is the CPU time the processes have used so far, together.
func serversCPU(pids []int) time.Duration {
	var sum time.Duration
	for _, pid := range pids {
		d, _ := cpuTime(pid) // a server gone meanwhile counts what it had
		sum += d
	}
	return sum
}

// selfCPU is the CPU time this process has used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchClient posts tickets to one server over one kept-alive connection.
type benchClient struct {
	http      *http.Client
	base      string
	cfg       benchTicketsConfig
	run, seq  string // the run's and client's part of each Idempotency-Key
	n         int    // requests sent
	errorSeen func(kind string) bool
}

// create posts one report and returns the ticket's number, or why there is none.
func (c *benchClient) create(ctx context.Context) (string, error) {
	c.n++
	service := c.cfg.services[c.n%len(c.cfg.services)]
	form := url.Values{
		"api_key": {c.cfg.token}, "service_code": {service}, "community": {c.cfg.community},
		"address_string": {"金桥小区" + strconv.Itoa(1+c.n%12) + "号楼"},
		"description":    {"hotline bench tickets: " + service + " " + c.seq + "-" + strconv.Itoa(c.n)},
		"phone":          {"13800000000"},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/open311/v2/requests.json", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Idempotency-Key", "bench-"+c.run+"-"+c.seq+"-"+strconv.Itoa(c.n))
	resp, err := c.http.Do(req)
	if err != nil {
		return "", err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20)) // read to the end: the connection is reused
	resp.Body.Close()
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusCreated {
		var o311 []struct {
			Description string `json:"description"`
		}
		msg := strings.TrimSpace(string(body))
		if json.Unmarshal(body, &o311) == nil && len(o311) > 0 {
			msg = o311[0].Description
		}
		return "", fmt.Errorf("%s: %s", resp.Status, msg)
	}
	var created []struct {
		ID string `json:"service_request_id"`
	}
	if err := json.Unmarshal(body, &created); err != nil || len(created) != 1 || created[0].ID == "" {
		return "", fmt.Errorf("%s answered %.200q; want [{\"service_request_id\": …}]", resp.Status, body)
	}
	return created[0].ID, nil
}

// benchTickets runs the clients and gathers what they measured.
func benchTickets(ctx context.Context, cfg benchTicketsConfig, stderr io.Writer) (benchTicketsResult, error) {
	var res benchTicketsResult
	var conns atomic.Int64
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	newClient := func() *http.Client {
		// A transport per client: its own connection, kept alive, as one integration's would be.
		return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := dialer.DialContext(ctx, network, addr)
				if err == nil {
					conns.Add(1)
				}
				return c, err
			},
			MaxIdleConnsPerHost: 1,
			IdleConnTimeout:     90 * time.Second,
			ForceAttemptHTTP2:   false,
		}}
	}
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	var errMu sync.Mutex
	seen := map[string]bool{}
	errorSeen := func(kind string) bool {
		errMu.Lock()
		defer errMu.Unlock()
		old := seen[kind]
		seen[kind] = true
		return old
	}

	// One request to each server first: a wrong token, service or community ends the bench here.
	for i, base := range cfg.urls {
		c := &benchClient{http: newClient(), base: base, cfg: cfg, run: run, seq: "check" + strconv.Itoa(i), errorSeen: errorSeen}
		if _, err := c.create(ctx); err != nil {
			hint := ""
			if strings.Contains(err.Error(), "403") {
				hint = "\n(is --token an API token of an operator, manager or admin on this server's data? `hotline user token NAME` makes one)"
			}
			return res, fmt.Errorf("%s: the first request failed: %w%s", base, err, hint)
		}
		c.http.CloseIdleConnections()
	}
	conns.Store(0)

	res.created = make([]int64, len(cfg.urls))
	lat := make([][]time.Duration, cfg.clients)
	var wg sync.WaitGroup
	cpu0, server0 := selfCPU(), serversCPU(cfg.pids)
	start := time.Now()
	end := start.Add(cfg.duration)
	for i := range cfg.clients {
		u := i % len(cfg.urls)
		c := &benchClient{http: newClient(), base: cfg.urls[u], cfg: cfg, run: run, seq: strconv.Itoa(i), errorSeen: errorSeen}
		quota := cfg.requests / cfg.clients // with --requests, each client's share
		if i < cfg.requests%cfg.clients {
			quota++
		}
		wg.Go(func() {
			defer c.http.CloseIdleConnections()
			for sent := 0; ctx.Err() == nil; sent++ {
				if cfg.requests > 0 {
					if sent == quota {
						return
					}
				} else if !time.Now().Before(end) {
					return
				}
				t0 := time.Now()
				_, err := c.create(ctx)
				took := time.Since(t0)
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					atomic.AddInt64(&res.errors, 1)
					kind := err.Error()
					if len(kind) > 60 {
						kind = kind[:60]
					}
					if !c.errorSeen(kind) {
						fmt.Fprintf(stderr, "bench tickets: %s: %v\n", c.base, err)
					}
					continue
				}
				atomic.AddInt64(&res.created[u], 1)
				lat[i] = append(lat[i], took)
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.clientCPU, res.serverCPU = selfCPU()-cpu0, serversCPU(cfg.pids)-server0
	res.connections = conns.Load()
	for _, l := range lat {
		res.latencies = append(res.latencies, l...)
	}
	slices.Sort(res.latencies)
	if err := ctx.Err(); err != nil && len(res.latencies) == 0 {
		return res, err
	}
	if len(res.latencies) == 0 && res.errors > 0 {
		return res, errors.New("no ticket was created: see the errors above")
	}
	return res, nil
}
