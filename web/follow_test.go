package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
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
