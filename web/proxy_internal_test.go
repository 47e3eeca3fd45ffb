package web

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

// From a trusted proxy the client is the right-most forwarded hop that is not itself a trusted
// proxy; anything to its left was written by the client and is not believed. From any other
// peer the headers change nothing.
func TestFromProxy(t *testing.T) {
	ps, err := ParseTrustedProxies("10.0.0.0/8, 127.0.0.1, ::1")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, peer   string
		hdr          map[string]string
		client, host string
		https        bool
	}{
		{"no proxy", "203.0.113.7:5000", map[string]string{"X-Forwarded-For": "1.2.3.4", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}, "203.0.113.7", "node:8080", false},
		{"one hop", "10.0.0.2:5000", map[string]string{"X-Forwarded-For": "198.51.100.9", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "12345.bayannur.gov.cn"}, "198.51.100.9", "12345.bayannur.gov.cn", true},
		{"a spoofed left part", "10.0.0.2:5000", map[string]string{"X-Forwarded-For": "6.6.6.6, 198.51.100.9"}, "198.51.100.9", "node:8080", false},
		{"two proxies", "127.0.0.1:5000", map[string]string{"X-Forwarded-For": "6.6.6.6, 198.51.100.9, 10.1.2.3"}, "198.51.100.9", "node:8080", false},
		{"all trusted", "127.0.0.1:5000", map[string]string{"X-Forwarded-For": "10.9.9.9, 10.1.2.3"}, "10.9.9.9", "node:8080", false},
		{"Forwarded, IPv6", "[::1]:5000", map[string]string{"Forwarded": `for=6.6.6.6, for="[2001:db8::1]:4711";proto=https`}, "2001:db8::1", "node:8080", true},
		{"Forwarded proto", "[::1]:5000", map[string]string{"Forwarded": `for=192.0.2.60;proto=https;host=x`}, "192.0.2.60", "node:8080", true},
		{"an unknown hop", "10.0.0.2:5000", map[string]string{"X-Forwarded-For": "unknown"}, "10.0.0.2", "node:8080", false},
		{"no header", "10.0.0.2:5000", nil, "10.0.0.2", "node:8080", false},
		{"a client's https, the proxy's http", "10.0.0.2:5000", map[string]string{"X-Forwarded-For": "198.51.100.9", "X-Forwarded-Proto": "https, http"}, "198.51.100.9", "node:8080", false},
		{"mapped IPv4 peer", "[::ffff:10.0.0.2]:5000", map[string]string{"X-Forwarded-For": "198.51.100.9"}, "198.51.100.9", "node:8080", false},
	}
	for _, c := range cases {
		r := httptest.NewRequest(http.MethodGet, "http://node:8080/healthz", nil)
		r.RemoteAddr = c.peer
		for k, v := range c.hdr {
			r.Header.Set(k, v)
		}
		got := proxies(ps).fromProxy(r)
		if ip := clientIP(got); ip != c.client || got.Host != c.host || isHTTPS(got) != c.https {
			t.Errorf("%s: client %s host %s https %v; want %s %s %v", c.name, ip, got.Host, isHTTPS(got), c.client, c.host, c.https)
		}
	}
	if _, err := ParseTrustedProxies("10.0.0.0/8,lb.internal"); err == nil {
		t.Error("a host name was taken as a trusted proxy")
	}
	if ps, err := ParseTrustedProxies(" "); err != nil || len(ps) != 0 {
		t.Errorf("an empty list: %v, %v", ps, err)
	}
}

// The per-address connection cap does not count a trusted balancer, from whose address every
// resident arrives; any other address is capped as before.
func TestConnCapExemptsTrustedProxies(t *testing.T) {
	s := New(Config{Log: slog.New(slog.DiscardHandler), MaxConnsPerIP: 2,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := s.HTTPServer()
	go hs.Serve(s.Listener(ln))
	defer hs.Close()
	get := func(from string) error {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
		resp, err := c.Get("http://" + ln.Addr().String() + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	hold := func(from string, n int) int {
		held := 0
		for range n {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
			c, err := d.Dial("tcp", ln.Addr().String())
			if err != nil {
				continue
			}
			t.Cleanup(func() { c.Close() })
			held++
		}
		return held
	}
	hold("127.0.0.1", 5)
	if err := get("127.0.0.1"); err != nil {
		t.Errorf("a sixth connection from the trusted balancer: %v; want served", err)
	}
	hold("127.0.0.2", 2)
	// The cap closes the third connection of 127.0.0.2 as soon as it is accepted.
	if err := get("127.0.0.2"); err == nil {
		t.Error("a third connection from an untrusted address was served with a cap of 2")
	}
}
