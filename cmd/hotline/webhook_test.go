package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/postgres"
	"github.com/bayannur/hotline/intake/postgres/pgtest"
	"github.com/bayannur/hotline/internal/testkit"
)

// hookReceiver is an integrator's endpoint on a given address: it keeps every delivery whose
// signature verifies with its secret, and counts the ones that do not.
type hookReceiver struct {
	secret string
	ts     *httptest.Server

	mu   sync.Mutex
	got  []hookDelivery
	bad  int
	seen map[string]int // deliveries by X-Hotline-Delivery
}

type hookDelivery struct{ id, kind, number, conversation string }

func startReceiver(t *testing.T, addr, secret string) *hookReceiver {
	t.Helper()
	r := &hookReceiver{secret: secret, seen: map[string]int{}}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r.ts = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := intake.VerifyWebhook(r.secret, req.Header.Get("X-Hotline-Timestamp"), req.Header.Get("X-Hotline-Signature"), body, time.Now(), 5*time.Minute); err != nil {
			r.bad++
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var env struct {
			ID   string `json:"id"`
			Type string `json:"type"`
			Data struct {
				Ticket struct {
					Number string `json:"number"`
					Phone  string `json:"phone"`
				} `json:"ticket"`
				Conversation struct {
					ID string `json:"id"`
				} `json:"conversation"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &env); err != nil || env.ID != req.Header.Get("X-Hotline-Delivery") {
			r.bad++
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		if strings.Contains(string(body), "13812345678") {
			r.bad++ // an untrusted subscription: the phone must come masked
		}
		r.seen[env.ID]++
		r.got = append(r.got, hookDelivery{env.ID, env.Type, env.Data.Ticket.Number, env.Data.Conversation.ID})
		w.WriteHeader(http.StatusOK)
	}))
	r.ts.Listener.Close()
	r.ts.Listener = ln
	r.ts.Start()
	t.Cleanup(r.ts.Close)
	return r
}

func (r *hookReceiver) snapshot() ([]hookDelivery, map[string]int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]int{}
	for k, v := range r.seen {
		seen[k] = v
	}
	return slices.Clone(r.got), seen, r.bad
}

// report files a ticket through a node's API, as a resident, and returns its number.
func report(t *testing.T, base string, i int) string {
	t.Helper()
	resp, err := client.Post(base+"/api/v1/tickets", "application/json", strings.NewReader(fmt.Sprintf(
		`{"topic":"report-streetlight","community":"wy-jinqiao","address":"虹亚小区%d号楼","description":"路灯不亮","phone":"13812345678"}`, i+1)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tk struct{ Number string }
	if err := json.NewDecoder(resp.Body).Decode(&tk); err != nil || resp.StatusCode != http.StatusCreated || tk.Number == "" {
		t.Fatalf("POST /api/v1/tickets: %s, %v", resp.Status, err)
	}
	return tk.Number
}

// addHook subscribes url through the CLI and returns the subscription's id.
func addHook(t *testing.T, store []string, secret, events, url string) string {
	t.Helper()
	code, out, errOut := runCmd(t, "", append(append([]string{"webhook", "add"}, store...), "--events", events, "--secret", secret, url)...)
	if code != 0 {
		t.Fatalf("webhook add: exit %d: %s", code, errOut)
	}
	return strings.TrimSpace(out)
}

// poll calls cond until it holds, failing the test after within.
func poll(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var pendingLine = regexp.MustCompile(`(?m)^(\d+)\s+(\S+)\s+ticket:(\S+)\s+pending\s`)

// TestWebhookSurvivesKill9 kills the node with SIGKILL between the changes and their delivery
// (the receiver is not even listening yet), starts it again, and sees every event delivered,
// signed, in order per ticket.
func TestWebhookSurvivesKill9(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	store := []string{"--data", data}
	secret := "kill9-secret-0123456789"
	rcvAddr := testkit.FreeAddr(t) // nothing listens there until the node is dead
	id := addHook(t, store, secret, "*", "http://"+rcvAddr+"/hook")
	if code, out, _ := runCmd(t, "", "webhook", "list", "--data", data); code != 0 || !strings.Contains(out, id) {
		t.Fatalf("webhook list: exit %d: %s", code, out)
	}

	addr := testkit.FreeAddr(t)
	args := []string{"--addr", addr, "--data", data, "--webhook-allow-private"}
	s := testkit.Serve(t, addr, nil, args...)
	s.WaitStatus(t, "/healthz", http.StatusOK, 30*time.Second)
	var numbers []string
	for i := range 3 {
		numbers = append(numbers, report(t, s.Base, i))
	}
	// The events are in the outbox, pending: the node has tried the receiver and found nobody.
	var pending []string
	poll(t, 30*time.Second, "the events pending in the outbox, tried once", func() bool {
		_, out, _ := runCmd(t, "", "webhook", "deliveries", "--data", data, id)
		pending = nil
		for _, m := range pendingLine.FindAllStringSubmatch(out, -1) {
			pending = append(pending, m[1])
		}
		return len(pending) >= len(numbers) && strings.Contains(out, "connection refused")
	})
	if err := syscall.Kill(s.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	poll(t, 10*time.Second, "the killed node to exit", s.Exited)

	rcv := startReceiver(t, rcvAddr, secret)
	s = testkit.Serve(t, addr, nil, args...)
	s.WaitStatus(t, "/healthz", http.StatusOK, 30*time.Second)
	poll(t, 90*time.Second, "every pending event delivered after the restart", func() bool {
		_, seen, _ := rcv.snapshot()
		for _, p := range pending {
			if seen[p] == 0 {
				return false
			}
		}
		return true
	})
	got, _, bad := rcv.snapshot()
	if bad != 0 {
		t.Errorf("%d deliveries did not verify (or had the phone whole)", bad)
	}
	// In order per ticket: each ticket's created event before its later ones.
	byTicket := map[string][]string{}
	for _, d := range got {
		byTicket[d.number] = append(byTicket[d.number], d.kind)
	}
	for _, n := range numbers {
		if kinds := byTicket[n]; len(kinds) == 0 || kinds[0] != "ticket.created" {
			t.Errorf("ticket %s: events %q; want ticket.created first", n, kinds)
		}
	}
	stop(t, s)
}

// TestWebhookTwoNodesOnce runs two nodes on one PostgreSQL database, each with its worker: a
// resident on node B hands off to an operator on node A, another tells node A of a fire, and
// residents file tickets through both. Every event reaches the receiver exactly once.
func TestWebhookTwoNodesOnce(t *testing.T) {
	t.Parallel()
	db := pgtest.Server(t)
	secret := "two-nodes-secret-0123456789"
	rcvAddr := testkit.FreeAddr(t)
	rcv := startReceiver(t, rcvAddr, secret)
	id := addHook(t, []string{"--database", db}, secret, "*", "http://"+rcvAddr+"/hook")

	n := liveChatAcrossNodes(t, db, "--webhook-allow-private") // handoff.waiting, then .taken
	ws := "ws" + strings.TrimPrefix(n.a.Base, "http") + "/ws/chat"
	fire := dialPeer(t, "resident on A", ws, http.Header{"Origin": {n.a.Base}})
	fire.send(map[string]string{"type": "hello", "session": "", "community": "wy-jinqiao"})
	fire.want("welcome", nil)
	fire.send(map[string]string{"type": "ask", "id": "m1", "text": "着火了 快来人"})
	if f := fire.want("reply", nil); f["decision"] != "emergency" {
		t.Fatalf("resident on A: reply %v, want an emergency", f)
	}
	nodes := []*testkit.Server{n.a, n.b}
	const tickets = 24
	for i := range tickets {
		report(t, nodes[i%2].Base, i)
	}

	pg, err := postgres.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	var log []intake.DeliveryLog
	poll(t, 60*time.Second, "every delivery delivered", func() bool {
		log, err = pg.Deliveries(t.Context(), id, "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range log {
			if l.Status != intake.DeliveryDelivered {
				return false
			}
		}
		return len(log) >= 2*tickets+3
	})
	// Every delivery is settled: none can be sent again. Each reached the receiver once.
	got, seen, bad := rcv.snapshot()
	if bad != 0 {
		t.Errorf("%d deliveries did not verify (or had the phone whole)", bad)
	}
	if len(seen) != len(log) {
		t.Errorf("the receiver got %d events; the log has %d", len(seen), len(log))
	}
	for _, l := range log {
		if n := seen[strconv.FormatInt(l.EventID, 10)]; n != 1 || l.Attempts != 1 {
			t.Errorf("event %d (%s): received %d times, %d attempts; want once", l.EventID, l.Kind, n, l.Attempts)
		}
	}
	count := map[string]int{}
	var chat []string
	for _, d := range got {
		count[d.kind]++
		if d.conversation == n.conv {
			chat = append(chat, d.kind)
		}
	}
	if count["ticket.created"] != tickets || count["ticket.dispatched"] != tickets {
		t.Errorf("received %d ticket.created and %d ticket.dispatched; want %d each", count["ticket.created"], count["ticket.dispatched"], tickets)
	}
	if !slices.Equal(chat, []string{"handoff.waiting", "handoff.taken"}) {
		t.Errorf("the live chat's events: %q; want handoff.waiting, handoff.taken", chat)
	}
	if count["emergency.decided"] != 1 {
		t.Errorf("received %d emergency.decided; want 1", count["emergency.decided"])
	}
	for _, s := range nodes {
		stop(t, s)
	}
}

// TestWebhookCommand runs hotline webhook's subcommands on a data directory.
func TestWebhookCommand(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	for _, args := range [][]string{
		{"webhook"},
		{"webhook", "frobnicate", "--data", data},
		{"webhook", "add", "--data", data, "https://example.com/hook"},                                // no --events
		{"webhook", "add", "--data", data, "--events", "ticket.exploded", "https://example.com/hook"}, // unknown event
		{"webhook", "add", "--data", data, "--events", "*", "ftp://example.com/hook"},                 // not http
		{"webhook", "add", "--data", data, "--events", "*", "--secret", "short", "https://example.com/hook"},
		{"webhook", "replay", "--data", data, "wh_x", "abc"},
	} {
		if code, _, errOut := runCmd(t, "", args...); code != 2 || errOut == "" {
			t.Errorf("%q: exit %d (%s); want 2 and why", args, code, errOut)
		}
	}
	code, out, errOut := runCmd(t, "", "webhook", "add", "--data", data, "--events", "ticket.created,*", "https://example.com/hook")
	if code != 0 || !strings.HasPrefix(out, "wh_") || !strings.Contains(out, "secret: whsec_") {
		t.Fatalf("webhook add: exit %d: %s %s; want the id and a new secret", code, out, errOut)
	}
	id := strings.Fields(out)[0]
	if code, out, _ := runCmd(t, "", "webhook", "list", "--data", data); code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "https://example.com/hook") ||
		strings.Contains(out, "whsec_") || !strings.Contains(out, " * ") {
		t.Errorf("webhook list: exit %d:\n%s\nwant the subscription to *, without its secret", code, out)
	}
	if code, out, _ := runCmd(t, "", "webhook", "deliveries", "--data", data, id); code != 0 || !strings.HasPrefix(out, "EVENT") {
		t.Errorf("webhook deliveries: exit %d: %s", code, out)
	}
	for _, args := range [][]string{
		{"webhook", "deliveries", "--data", data, "wh_nothing"},
		{"webhook", "replay", "--data", data, id, "7"},
	} {
		if code, _, errOut := runCmd(t, "", args...); code != 1 || !strings.Contains(errOut, "not found") {
			t.Errorf("%q: exit %d (%s); want 1, not found", args, code, errOut)
		}
	}
	if code, out, _ := runCmd(t, "", "webhook", "remove", "--data", data, id); code != 0 || !strings.Contains(out, "removed "+id) {
		t.Errorf("webhook remove: exit %d: %s", code, out)
	}
	if code, _, errOut := runCmd(t, "", "webhook", "remove", "--data", data, id); code != 1 || !strings.Contains(errOut, "not found") {
		t.Errorf("webhook remove again: exit %d: %s; want 1, not found", code, errOut)
	}
}
