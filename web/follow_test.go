package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/web"
)

// Issue 12: guessing a ticket's proof from many addresses. Each address has its own bucket, so
// the per-address limit alone lets 64 addresses walk the 10,000 phone tails in moments; the
// ticket's own count of failures stops them whatever address they come from.
func TestGuessingFromManyAddressesLocksTheTicket(t *testing.T) {
	f := newFixture(t)
	n, code := f.reportCode(reportBody())
	other, otherCode := f.reportCode(reportBody())
	addr := 0
	from := func(method, path, body string) *httptest.ResponseRecorder {
		addr++ // a fresh client address for every request: no per-address bucket ever fills
		var req *http.Request
		if body == "" {
			req = httptest.NewRequest(method, path, nil)
		} else {
			req = httptest.NewRequest(method, path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
		}
		req.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:40000", addr>>16&255, addr>>8&255, addr&255)
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, req)
		return rec
	}
	wrong := func(i int) string {
		c := fmt.Sprintf("%06d", i)
		if c == code {
			c = fmt.Sprintf("%06d", i+1)
		}
		return c
	}
	// The phone's tail, even the right one, proves nothing from any address.
	tail := residentPhone[len(residentPhone)-4:]
	for range 3 {
		if rec := from(http.MethodGet, "/api/v1/tickets/"+n+"?phone_tail="+tail, ""); rec.Code != http.StatusNotFound {
			t.Fatalf("the right tail alone: %d %s, want 404", rec.Code, rec.Body)
		}
	}
	for i := range intake.FollowFailures {
		if rec := from(http.MethodGet, "/api/v1/tickets/"+n+"?code="+wrong(i), ""); rec.Code != http.StatusNotFound {
			t.Fatalf("guess %d: %d %s, want 404", i, rec.Code, rec.Body)
		}
	}
	// Locked now: a further guess, even the right code, from yet another address.
	for _, c := range []string{wrong(100), code} {
		rec := from(http.MethodGet, "/api/v1/tickets/"+n+"?code="+c, "")
		if rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), "ticket_locked") || rec.Header().Get("Retry-After") == "" {
			t.Errorf("code %s after %d failures from other addresses: %d %s %v, want 429 ticket_locked with Retry-After",
				c, intake.FollowFailures, rec.Code, rec.Body, rec.Header())
		}
	}
	// The rating page's route is locked too.
	rec := from(http.MethodPost, "/api/v1/tickets/"+n+"/rating", `{"code":"`+code+`","rating":"dissatisfied","solved":false}`)
	if rec.Code != http.StatusTooManyRequests {
		t.Errorf("rating a locked ticket: %d %s, want 429", rec.Code, rec.Body)
	}
	// Another ticket is not.
	if rec := from(http.MethodGet, "/api/v1/tickets/"+other+"?code="+otherCode, ""); rec.Code != http.StatusOK {
		t.Errorf("another ticket: %d %s", rec.Code, rec.Body)
	}
	// Staff still see it.
	f.staffGet(opName, n)
	// An hour on, the resident's code works again.
	f.clock.Advance(intake.FollowWindow + time.Minute)
	if rec := from(http.MethodGet, "/api/v1/tickets/"+n+"?code="+code, ""); rec.Code != http.StatusOK {
		t.Errorf("after the window: %d %s", rec.Code, rec.Body)
	}
}

// The Open311 create notice tells the access code.
func TestOpen311CreateTellsTheCode(t *testing.T) {
	f := newFixture(t)
	r := f.o311Post(f.o311Form())
	var out []map[string]any
	decode(t, r, &out)
	id, _ := out[0]["service_request_id"].(string)
	tk, err := f.svc.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	notice, _ := out[0]["service_notice"].(string)
	if len(tk.AccessCode) != 6 || !strings.Contains(notice, tk.AccessCode) || out[0]["access_code"] != tk.AccessCode {
		t.Errorf("create answer %s; want the access code %q in service_notice and access_code", r.body, tk.AccessCode)
	}
}

// A ticket's wrong codes are counted in the store: guesses spread over two nodes behind a
// balancer lock it on both, as on one (each node counting its own gave n nodes n times the
// guesses).
func TestFollowLockHoldsOnEveryNode(t *testing.T) {
	var cfg web.Config
	f := newFixtureConfig(t, nil, func(c *web.Config) { cfg = *c })
	first := cfg.Intake // a second node: its own service and server on the same store
	cfg.Intake = &intake.Service{Store: first.Store, SLA: first.SLA, Dir: first.Dir, Log: first.Log, Now: first.Now}
	other := web.New(cfg)
	n, code := f.reportCode(reportBody())
	get := func(h http.Handler, c string, i int) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/tickets/"+n+"?code="+c, nil)
		req.RemoteAddr = fmt.Sprintf("10.9.0.%d:40000", i)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	nodes := []http.Handler{f.srv, other}
	for i := range intake.FollowFailures {
		wrong := fmt.Sprintf("%06d", i)
		if wrong == code {
			wrong = "999999"
		}
		if rec := get(nodes[i%2], wrong, i); rec.Code != http.StatusNotFound {
			t.Fatalf("guess %d on node %d: %d %s, want 404", i, i%2+1, rec.Code, rec.Body)
		}
	}
	for i, h := range nodes {
		if rec := get(h, code, 100+i); rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), "ticket_locked") {
			t.Errorf("node %d, the right code after %d guesses over both nodes: %d %s, want 429 ticket_locked",
				i+1, intake.FollowFailures, rec.Code, rec.Body)
		}
	}
	f.clock.Advance(intake.FollowWindow + time.Minute)
	for i, h := range nodes {
		if rec := get(h, code, 110+i); rec.Code != http.StatusOK {
			t.Errorf("node %d after the window: %d %s", i+1, rec.Code, rec.Body)
		}
	}
}
