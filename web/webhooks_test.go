package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/web"
)

const adminName = "root" // the webhook fixture's admin

// newWebhookFixture is a fixture whose server mounts the webhook routes, with an admin.
func newWebhookFixture(t *testing.T, allowPrivate bool) *fixture {
	t.Helper()
	return newWebhookFixtureConfig(t, allowPrivate, nil)
}

// newWebhookFixtureConfig is newWebhookFixture with more of the server's configuration (may be nil).
func newWebhookFixtureConfig(t *testing.T, allowPrivate bool, config func(*web.Config)) *fixture {
	t.Helper()
	f := newFixtureConfig(t, nil, func(c *web.Config) {
		c.Webhooks, c.WebhookAllowPrivate = c.Users.(intake.Webhooks), allowPrivate
		if config != nil {
			config(c)
		}
	})
	u := intake.User{Name: adminName, Role: intake.RoleAdmin, PasswordHash: fixtureHash}
	if err := f.store.AddUser(t.Context(), &u); err != nil {
		t.Fatal(err)
	}
	token, hash := web.NewToken()
	if err := f.store.AddToken(t.Context(), intake.APIToken{TokenHash: hash, User: adminName, Label: "test", Created: f.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	f.tokens[adminName] = token
	return f
}

// receiver is an integrator's endpoint: it verifies each delivery's signature with its secret
// and keeps the ones that verify, in the order they came.
type receiver struct {
	ts     *httptest.Server
	secret string

	mu   sync.Mutex
	down bool // answers 503
	got  []delivery
	bad  []string // why deliveries were refused
}

type delivery struct {
	ID, Type, Subject string
	Header            http.Header
	Body              []byte
}

func newReceiver(t *testing.T, secret string) *receiver {
	r := &receiver{secret: secret}
	r.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.down {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		err := intake.VerifyWebhook(r.secret, req.Header.Get("X-Hotline-Timestamp"), req.Header.Get("X-Hotline-Signature"), body, time.Now(), 5*time.Minute)
		if err != nil {
			r.bad = append(r.bad, err.Error())
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var env struct {
			ID   string `json:"id"`
			Type string `json:"type"`
			Data struct {
				Ticket       struct{ Number string } `json:"ticket"`
				Conversation struct{ ID string }     `json:"conversation"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &env); err != nil || env.ID != req.Header.Get("X-Hotline-Delivery") || env.Type != req.Header.Get("X-Hotline-Event") {
			r.bad = append(r.bad, fmt.Sprintf("body %s does not match its headers %v (%v)", body, req.Header, err))
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		subject := "ticket:" + env.Data.Ticket.Number
		if env.Data.Ticket.Number == "" {
			subject = "conversation:" + env.Data.Conversation.ID
		}
		r.got = append(r.got, delivery{env.ID, env.Type, subject, req.Header.Clone(), body})
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.ts.Close)
	return r
}

func (r *receiver) setSecret(secret string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secret = secret
}

func (r *receiver) setDown(down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = down
}

func (r *receiver) received() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func (r *receiver) refusals() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.bad)
}

// subscribeAPI subscribes url to events through the API, as the admin, and returns the
// subscription's id and secret.
func (f *fixture) subscribeAPI(url string, trusted bool, events ...string) (id, secret string) {
	f.t.Helper()
	r := f.as(adminName, http.MethodPost, "/api/v1/webhooks", map[string]any{"url": url, "events": events, "trusted": trusted})
	if r.status != http.StatusCreated {
		f.t.Fatalf("POST /api/v1/webhooks: %s", r)
	}
	var sub struct{ ID, Secret string }
	decode(f.t, r, &sub)
	if sub.ID == "" || len(sub.Secret) < 16 {
		f.t.Fatalf("new subscription %s: want an id and a secret", r.body)
	}
	return sub.ID, sub.Secret
}

// runWorker runs a webhook worker on f's store until the test ends, retrying quickly.
func (f *fixture) runWorker(allowPrivate bool) *web.WebhookWorker {
	f.t.Helper()
	wk := &web.WebhookWorker{Store: f.store, AllowPrivate: allowPrivate, Poll: 20 * time.Millisecond,
		RetryBase: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond, Lease: 30 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { wk.Run(ctx); close(done) }()
	f.t.Cleanup(func() { cancel(); <-done }) // before the store closes
	return wk
}

// waitFor polls cond until it holds, failing the test after within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// everyKind makes one event of every kind: a ticket through its lifecycle, a chat's handoff, an
// emergency.
func (f *fixture) everyKind() {
	f.t.Helper()
	ctx := f.t.Context()
	tk := f.newTicket(intake.NewTicket{Community: "wy-jinqiao", Address: "虹亚小区3号楼"})
	apply := func(c intake.Change) {
		f.t.Helper()
		if _, err := f.svc.Apply(ctx, tk.Number, 0, c); err != nil {
			f.t.Fatalf("%s: %v", c.Action, err)
		}
	}
	if tk.Status == intake.Received {
		apply(intake.Change{Action: intake.ActDispatch, Actor: opName, Grid: f.grid})
	}
	apply(intake.Change{Action: intake.ActEscalate, Actor: opName, Note: "网格处理不了"})
	apply(intake.Change{Action: intake.ActSign, Actor: gwName})
	apply(intake.Change{Action: intake.ActOverdue, Actor: "system"})
	apply(intake.Change{Action: intake.ActResolve, Actor: gwName, Note: "已修好"})
	apply(intake.Change{Action: intake.ActRate, Actor: "resident", Rating: intake.Satisfied})
	apply(intake.Change{Action: intake.ActReopen, Actor: opName, Note: "居民不满意"})

	c := &intake.Conversation{ID: "c-hook", TokenHash: "h-hook", Community: "wy-jinqiao", Created: f.clock.Now(), Updated: f.clock.Now()}
	if err := f.store.CreateConversation(ctx, c); err != nil {
		f.t.Fatal(err)
	}
	for _, step := range []struct {
		from []string
		ch   intake.HandoffChange
	}{
		{[]string{intake.HandoffNone}, intake.HandoffChange{State: intake.HandoffWaiting, At: f.clock.Now()}},
		{[]string{intake.HandoffWaiting}, intake.HandoffChange{State: intake.HandoffLive, Operator: opName, At: f.clock.Now()}},
	} {
		if moved, err := f.store.SetHandoff(ctx, c.ID, step.from, "", step.ch); err != nil || !moved {
			f.t.Fatalf("SetHandoff %s: %v, %v", step.ch.State, moved, err)
		}
	}
	reply := &intake.Reply{Type: "reply", ReplyTo: "m1", Decision: "emergency", Topic: "gas", Text: "请立即离开并拨打119", Options: []intake.Option{}}
	if err := f.store.AppendTurns(ctx, c, []intake.Turn{
		{From: "resident", Text: "家里煤气味很大"}, {From: "bot", Text: reply.Text, Reply: reply},
	}); err != nil {
		f.t.Fatal(err)
	}
}

func TestWebhookEveryKindSigned(t *testing.T) {
	f := newWebhookFixture(t, true)
	rcv := newReceiver(t, "")
	id, secret := f.subscribeAPI(rcv.ts.URL+"/hook", false, "*")
	rcv.setSecret(secret)
	f.runWorker(true)
	f.everyKind()

	var all []string
	for _, k := range intake.EventKinds() {
		all = append(all, string(k))
	}
	seen := func() []string {
		var ks []string
		for _, d := range rcv.received() {
			if !slices.Contains(ks, d.Type) {
				ks = append(ks, d.Type)
			}
		}
		sort.Strings(ks)
		return ks
	}
	sort.Strings(all)
	waitFor(t, 30*time.Second, "an event of every kind", func() bool { return slices.Equal(seen(), all) })
	if bad := rcv.refusals(); len(bad) > 0 {
		t.Errorf("the receiver refused deliveries: %q", bad)
	}
	for _, d := range rcv.received() {
		if !strings.HasPrefix(d.Header.Get("X-Hotline-Signature"), "sha256=") || d.Header.Get("Content-Type") != "application/json" {
			t.Errorf("delivery %s: headers %v", d.ID, d.Header)
		}
		if strings.Contains(string(d.Body), "13800001111") {
			t.Errorf("delivery %s to an untrusted subscription has the phone whole: %s", d.ID, d.Body)
		}
	}
	// The log says delivered, with the receiver's status.
	waitFor(t, 30*time.Second, "every delivery delivered", func() bool {
		log, err := f.store.Deliveries(t.Context(), id, intake.DeliveryPending, 1000)
		return err == nil && len(log) == 0
	})
	r := f.as(adminName, http.MethodGet, "/api/v1/webhooks/"+id+"/deliveries", nil)
	var log []struct {
		EventID  int64  `json:"event_id"`
		Status   string `json:"status"`
		Attempts int    `json:"attempts"`
		Code     int    `json:"last_status_code"`
	}
	decode(t, r, &log)
	if len(log) < len(all) {
		t.Fatalf("delivery log %s; want at least %d", r.body, len(all))
	}
	for _, l := range log {
		if l.Status != "delivered" || l.Code != http.StatusNoContent || l.Attempts != 1 {
			t.Errorf("delivery log entry %+v; want delivered at the first attempt with 204", l)
		}
	}
}

func TestWebhookReceiverDownThenUp(t *testing.T) {
	f := newWebhookFixture(t, true)
	rcv := newReceiver(t, "")
	id, secret := f.subscribeAPI(rcv.ts.URL, false, "*")
	rcv.setSecret(secret)
	rcv.setDown(true)
	f.runWorker(true)

	// Five tickets, each created (and dispatched), signed and resolved while the receiver is down.
	var numbers []string
	for range 5 {
		tk := f.newTicket(intake.NewTicket{Community: "wy-jinqiao", Address: "虹亚小区3号楼"})
		numbers = append(numbers, tk.Number)
	}
	for _, n := range numbers {
		for _, c := range []intake.Change{
			{Action: intake.ActSign, Actor: gwName},
			{Action: intake.ActResolve, Actor: gwName, Note: "已修好"},
		} {
			if _, err := f.svc.Apply(t.Context(), n, 0, c); err != nil {
				t.Fatalf("%s %s: %v", n, c.Action, err)
			}
		}
	}
	all, err := f.store.Deliveries(t.Context(), id, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 3*len(numbers) {
		t.Fatalf("%d deliveries; want at least %d", len(all), 3*len(numbers))
	}
	// Retried while down: every ticket's first event has been tried more than once, and its
	// later ones not at all.
	waitFor(t, 30*time.Second, "every ticket's first event retried while the receiver is down", func() bool {
		log, err := f.store.Deliveries(t.Context(), id, intake.DeliveryPending, 1000)
		if err != nil {
			t.Fatal(err)
		}
		retried := map[string]bool{}
		for _, l := range log {
			if l.Attempts >= 2 {
				retried[l.Subject] = true
			}
		}
		return len(retried) == len(numbers)
	})
	for _, l := range mustDeliveries(t, f, id) {
		if l.Attempts > 0 && l.Kind != intake.KindTicketCreated {
			t.Errorf("%s of %s tried %d times while its ticket's creation was not delivered", l.Kind, l.Subject, l.Attempts)
		}
	}
	if got := rcv.received(); len(got) != 0 {
		t.Fatalf("received %d while down", len(got))
	}

	rcv.setDown(false)
	waitFor(t, 60*time.Second, "every event delivered once the receiver is back", func() bool {
		log, err := f.store.Deliveries(t.Context(), id, intake.DeliveryDelivered, 1000)
		if err != nil {
			t.Fatal(err)
		}
		return len(log) == len(all)
	})
	// None lost, each once, in order per ticket: the order the events were written in.
	got := map[string][]int64{}
	ids := map[string]int{}
	for _, d := range rcv.received() {
		var n int64
		fmt.Sscan(d.ID, &n)
		if ids[d.ID]++; ids[d.ID] == 1 {
			got[d.Subject] = append(got[d.Subject], n)
		}
	}
	want := map[string][]int64{}
	for _, l := range all {
		want[l.Subject] = append([]int64{l.EventID}, want[l.Subject]...) // the log is newest first
	}
	for subject, evs := range want {
		if !slices.Equal(got[subject], evs) {
			t.Errorf("%s: received events %v; want %v, in that order", subject, got[subject], evs)
		}
	}
	if len(got) != len(numbers) {
		t.Errorf("received events of %d tickets; want %d", len(got), len(numbers))
	}
}

func mustDeliveries(t *testing.T, f *fixture, id string) []intake.DeliveryLog {
	t.Helper()
	log, err := f.store.Deliveries(t.Context(), id, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	return log
}

func TestWebhookWrongSecretDetected(t *testing.T) {
	f := newWebhookFixture(t, true)
	rcv := newReceiver(t, "not-the-secret-at-all")
	id, _ := f.subscribeAPI(rcv.ts.URL, false, "ticket.created")
	f.runWorker(true)
	f.newTicket(intake.NewTicket{Community: "wy-jinqiao", Address: "虹亚小区3号楼"})
	waitFor(t, 30*time.Second, "the receiver to refuse a delivery", func() bool { return len(rcv.refusals()) > 0 })
	if got := rcv.received(); len(got) != 0 {
		t.Errorf("the receiver accepted %d deliveries signed with another secret", len(got))
	}
	if bad := rcv.refusals()[0]; !strings.Contains(bad, "signature does not match") {
		t.Errorf("refusal %q; want a signature mismatch", bad)
	}
	waitFor(t, 30*time.Second, "the refusal in the delivery log", func() bool {
		log := mustDeliveries(t, f, id)
		return len(log) == 1 && log[0].LastCode == http.StatusBadRequest && log[0].LastError == "status 400"
	})

	// What the receiver does, on its own: the right secret verifies, anything else does not.
	body := []byte(`{"id":"1","type":"ticket.created","created_at":"2026-12-02T10:00:00Z","data":{}}`)
	now := time.Now()
	ts := fmt.Sprint(now.Unix())
	sig := intake.WebhookSignature("the-right-secret-1234", now.Unix(), body)
	if err := intake.VerifyWebhook("the-right-secret-1234", ts, sig, body, now, 5*time.Minute); err != nil {
		t.Errorf("the right secret: %v", err)
	}
	for name, check := range map[string]func() error{
		"wrong secret": func() error { return intake.VerifyWebhook("another-secret-5678", ts, sig, body, now, 5*time.Minute) },
		"changed body": func() error {
			return intake.VerifyWebhook("the-right-secret-1234", ts, sig, append(body, ' '), now, 5*time.Minute)
		},
		"old timestamp": func() error {
			return intake.VerifyWebhook("the-right-secret-1234", ts, sig, body, now.Add(time.Hour), 5*time.Minute)
		},
	} {
		if check() == nil {
			t.Errorf("%s: verified", name)
		}
	}
}

func TestWebhookInternalAddressRefusedByDefault(t *testing.T) {
	f := newWebhookFixture(t, false)
	for _, u := range []string{"http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.1.2.3/", "http://169.254.169.254/latest/meta-data", "http://[::1]/"} {
		r := f.as(adminName, http.MethodPost, "/api/v1/webhooks", map[string]any{"url": u, "events": []string{"*"}})
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `"field":"url"`) || !strings.Contains(string(r.body), "internal") {
			t.Errorf("POST %s: %s; want 400 on the url, internal", u, r)
		}
	}
	// A name that resolves inside is refused by the worker's dialer, and the log says why.
	rcv := newReceiver(t, "")
	// Stored past the API's check, as a public name that resolves to loopback would pass it.
	sub, err := intake.NewSubscription(rcv.ts.URL, []string{"*"}, "", false, "t", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.AddSubscription(t.Context(), sub); err != nil {
		t.Fatal(err)
	}
	f.runWorker(false)
	f.newTicket(intake.NewTicket{Community: "wy-jinqiao", Address: "虹亚小区3号楼"})
	waitFor(t, 30*time.Second, "the refusal in the delivery log", func() bool {
		log := mustDeliveries(t, f, sub.ID)
		return len(log) > 0 && strings.Contains(log[len(log)-1].LastError, "internal address")
	})
	if got := rcv.received(); len(got) != 0 {
		t.Errorf("an internal address received %d deliveries", len(got))
	}
}

func TestWebhookAPI(t *testing.T) {
	f := newWebhookFixture(t, true)
	post := func(user string, body any) result {
		t.Helper()
		return f.as(user, http.MethodPost, "/api/v1/webhooks", body)
	}
	for _, tc := range []struct {
		body  any
		field string
	}{
		{map[string]any{"url": "ftp://example.com/x", "events": []string{"*"}}, "url"},
		{map[string]any{"url": "https://user:pw@example.com/x", "events": []string{"*"}}, "url"},
		{map[string]any{"url": "", "events": []string{"*"}}, "url"},
		{map[string]any{"url": "https://example.com/x"}, "events"},
		{map[string]any{"url": "https://example.com/x", "events": []string{"ticket.exploded"}}, "events"},
		{map[string]any{"url": "https://example.com/x", "events": []string{"*"}, "secret": "short"}, "secret"},
	} {
		r := post(adminName, tc.body)
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `"field":"`+tc.field+`"`) {
			t.Errorf("POST %v: %s; want 400 on %s", tc.body, r, tc.field)
		}
	}
	if r := post(adminName, "{not json"); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "invalid_json") {
		t.Errorf("bad JSON: %s", r)
	}
	for _, user := range []string{mgrName, opName} {
		if r := post(user, map[string]any{"url": "https://example.com/x", "events": []string{"*"}}); r.status != http.StatusForbidden {
			t.Errorf("POST as %s: %s; want 403", user, r)
		}
		if r := f.as(user, http.MethodGet, "/api/v1/webhooks", nil); r.status != http.StatusForbidden {
			t.Errorf("GET as %s: %s; want 403", user, r)
		}
	}
	if r := f.anon(http.MethodGet, "/api/v1/webhooks", nil); r.status != http.StatusUnauthorized {
		t.Errorf("GET anonymously: %s; want 401", r)
	}

	id, secret := f.subscribeAPI("https://example.com/hook", true, "ticket.created", "ticket.resolved")
	r := f.as(adminName, http.MethodGet, "/api/v1/webhooks", nil)
	if r.status != http.StatusOK || strings.Contains(string(r.body), secret) || !strings.Contains(string(r.body), id) ||
		!strings.Contains(string(r.body), `"trusted":true`) || !strings.Contains(string(r.body), `"created_by":"`+adminName+`"`) {
		t.Errorf("GET /api/v1/webhooks: %s; want the subscription without its secret", r)
	}
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/api/v1/webhooks/" + id + "/deliveries?status=lost", http.StatusBadRequest},
		{http.MethodGet, "/api/v1/webhooks/" + id + "/deliveries?limit=0", http.StatusBadRequest},
		{http.MethodGet, "/api/v1/webhooks/" + id + "/deliveries?status=failed", http.StatusOK},
		{http.MethodGet, "/api/v1/webhooks/wh_nothing/deliveries", http.StatusNotFound},
		{http.MethodPost, "/api/v1/webhooks/" + id + "/deliveries/abc/replay", http.StatusBadRequest},
		{http.MethodPost, "/api/v1/webhooks/" + id + "/deliveries/12345/replay", http.StatusNotFound},
		{http.MethodDelete, "/api/v1/webhooks/" + id, http.StatusNoContent},
		{http.MethodDelete, "/api/v1/webhooks/" + id, http.StatusNotFound},
	} {
		if r := f.as(adminName, tc.method, tc.path, nil); r.status != tc.status {
			t.Errorf("%s %s: %s; want %d", tc.method, tc.path, r, tc.status)
		}
	}
}

func TestWebhookReplayAPI(t *testing.T) {
	f := newWebhookFixture(t, true)
	rcv := newReceiver(t, "")
	id, secret := f.subscribeAPI(rcv.ts.URL, false, "ticket.created")
	rcv.setSecret(secret)
	rcv.setDown(true)
	wk := &web.WebhookWorker{Store: f.store, AllowPrivate: true, RetryBase: time.Millisecond, RetryMax: time.Millisecond, GiveUp: time.Nanosecond}
	f.newTicket(intake.NewTicket{Community: "wy-jinqiao", Address: "虹亚小区3号楼"})
	if n, err := wk.RunOnce(t.Context()); err != nil || n != 1 {
		t.Fatalf("RunOnce = %d, %v; want 1 (%+v)", n, err, mustDeliveries(t, f, id))
	}
	var log []intake.DeliveryLog
	decode(t, f.as(adminName, http.MethodGet, "/api/v1/webhooks/"+id+"/deliveries?status=failed", nil), &log)
	if len(log) != 1 || log[0].Attempts != 1 || log[0].LastCode != http.StatusServiceUnavailable {
		t.Fatalf("failed deliveries %+v; want the creation, failed after one attempt with 503", log)
	}
	rcv.setDown(false)
	path := fmt.Sprintf("/api/v1/webhooks/%s/deliveries/%d/replay", id, log[0].EventID)
	if r := f.as(adminName, http.MethodPost, path, nil); r.status != http.StatusAccepted {
		t.Fatalf("replay: %s", r)
	}
	if r := f.as(adminName, http.MethodPost, path, nil); r.status != http.StatusConflict {
		t.Errorf("replay of a pending delivery: %s; want 409", r)
	}
	wk.GiveUp = time.Hour
	if n, err := wk.RunOnce(t.Context()); err != nil || n != 1 {
		t.Fatalf("RunOnce = %d, %v; want 1", n, err)
	}
	if got := rcv.received(); len(got) != 1 || got[0].ID != fmt.Sprint(log[0].EventID) {
		t.Errorf("received %+v after the replay; want the event", got)
	}
}
