package web_test

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/bayannur/hotline/web"
)

// trustLoopback is a server behind a load balancer on 127.0.0.1 (the test client's address).
func trustLoopback(c *web.Config) {
	c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
}

// Behind a trusted balancer each forwarded client has its own limits: one client spending its
// ticket burst leaves another's untouched. From a peer that is not trusted, X-Forwarded-For is
// ignored: the same two "clients" are one address and share one bucket.
func TestTrustedProxyLimitsPerClient(t *testing.T) {
	spend := func(f *fixture, xff string) {
		t.Helper()
		for i := range web.TicketIPBurst {
			if r := f.anon(http.MethodPost, "/api/v1/tickets", "{", "X-Forwarded-For", xff); r.status != http.StatusBadRequest {
				t.Fatalf("request %d from %s: %v, want 400 within the burst", i+1, xff, r)
			}
		}
		wantErr(t, f.anon(http.MethodPost, "/api/v1/tickets", reportBody(), "X-Forwarded-For", xff), http.StatusTooManyRequests, "rate_limited")
	}
	behind := newFixtureConfig(t, nil, trustLoopback)
	spend(behind, "198.51.100.1")
	if r := behind.anon(http.MethodPost, "/api/v1/tickets", reportBody(), "X-Forwarded-For", "198.51.100.2"); r.status != http.StatusCreated {
		t.Errorf("another client behind the balancer: %v, want 201", r)
	}
	// A client cannot escape its bucket by writing its own X-Forwarded-For: the balancer appends
	// the real address, the right-most one is believed.
	wantErr(t, behind.anon(http.MethodPost, "/api/v1/tickets", reportBody(), "X-Forwarded-For", "203.0.113.5, 198.51.100.1"),
		http.StatusTooManyRequests, "rate_limited")

	direct := newFixture(t)
	spend(direct, "198.51.100.1")
	wantErr(t, direct.anon(http.MethodPost, "/api/v1/tickets", reportBody(), "X-Forwarded-For", "198.51.100.2"),
		http.StatusTooManyRequests, "rate_limited")
}

// TLS at the balancer: from a trusted proxy that says https, the session cookie is Secure and
// responses carry HSTS, and a browser's Origin is compared with the host the balancer forwarded
// (nginx sends the upstream's name as Host unless told otherwise). From any other peer the same
// headers get neither, and the Origin of the forwarded host is refused.
func TestTrustedProxyHTTPS(t *testing.T) {
	const site = "12345.bayannur.example"
	hdr := []string{"X-Forwarded-For", "198.51.100.7", "X-Forwarded-Proto", "https", "X-Forwarded-Host", site, "Origin", "https://" + site}
	behind := newFixtureConfig(t, nil, trustLoopback)
	w := behind.loginFrom("127.0.0.1", opName, staffPassword, hdr...)
	if w.Code != http.StatusOK {
		t.Fatalf("login through the balancer: %d %s", w.Code, w.Body)
	}
	if c := w.Result().Cookies(); len(c) != 1 || !c[0].Secure || !c[0].HttpOnly {
		t.Errorf("session cookie behind a TLS balancer: %+v; want Secure, HttpOnly", c)
	}
	if got := w.Header().Get("Strict-Transport-Security"); !strings.HasPrefix(got, "max-age=") {
		t.Errorf("Strict-Transport-Security %q; want max-age", got)
	}
	if r := behind.anon(http.MethodGet, "/healthz", nil, "X-Forwarded-Proto", "http"); r.header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS on a plain-http request")
	}

	direct := newFixture(t)
	w = direct.loginFrom("203.0.113.9", opName, staffPassword, hdr...)
	if w.Code != http.StatusForbidden {
		t.Errorf("an Origin of the forwarded host from an untrusted peer: %d %s; want 403", w.Code, w.Body)
	}
	w = direct.loginFrom("203.0.113.9", opName, staffPassword, "X-Forwarded-Proto", "https")
	if w.Code != http.StatusOK {
		t.Fatalf("a direct login: %d %s", w.Code, w.Body)
	}
	if c := w.Result().Cookies(); len(c) != 1 || c[0].Secure {
		t.Errorf("session cookie from an untrusted peer's X-Forwarded-Proto: %+v; want not Secure", c)
	}
	if w.Header().Get("Strict-Transport-Security") != "" {
		t.Error("HSTS from an untrusted peer's X-Forwarded-Proto")
	}
}
