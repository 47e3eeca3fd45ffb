package web

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Behind a load balancer every request arrives from the balancer's address. A node started with
// --trusted-proxies believes, from those peers only, what the balancer says about the client:
// its address (X-Forwarded-For, else RFC 7239 Forwarded), the scheme it used (X-Forwarded-Proto)
// and the host it asked for (X-Forwarded-Host). Everything keyed by address — the rate limits,
// the logs, the cap on connections — then sees residents, not the balancer. From any other peer
// the headers are ignored: anyone can send them.

// ParseTrustedProxies reads a comma-separated list of CIDR prefixes or single addresses
// ("10.0.0.0/8, 127.0.0.1, ::1").
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxies: %q is neither an address nor a CIDR prefix", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// proxies is the set of trusted peers.
type proxies []netip.Prefix

func (ps proxies) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peer parses the host of a host:port address (or a bare address).
func peer(addr string) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// forwardedFor lists the client addresses a proxy chain recorded, nearest the client first:
// X-Forwarded-For's, else Forwarded's for= values. An entry that is not an address (unknown, an
// obfuscated identifier) is kept as an invalid Addr: it stops the walk as untrusted.
func forwardedFor(h http.Header) []netip.Addr {
	var hops []string
	if xff := h.Values("X-Forwarded-For"); len(xff) > 0 {
		for _, v := range xff {
			hops = append(hops, strings.Split(v, ",")...)
		}
	} else {
		hops = forwardedValues(h, "for")
	}
	out := make([]netip.Addr, 0, len(hops))
	for _, h := range hops {
		a, _ := peer(strings.TrimSpace(h))
		out = append(out, a)
	}
	return out
}

// forwardedProto is the scheme a request arrived with at the proxy nearest this node, the one
// whose word is trusted: the last value of X-Forwarded-Proto (a balancer that sets it replaces
// what the client sent), else the last proto= of Forwarded.
func forwardedProto(h http.Header) string {
	if vs := h.Values("X-Forwarded-Proto"); len(vs) > 0 {
		parts := strings.Split(vs[len(vs)-1], ",")
		return strings.ToLower(strings.TrimSpace(parts[len(parts)-1]))
	}
	if protos := forwardedValues(h, "proto"); len(protos) > 0 {
		return strings.ToLower(protos[len(protos)-1])
	}
	return ""
}

// forwardedValues lists the values of key in the RFC 7239 Forwarded headers, unquoted, in order.
func forwardedValues(h http.Header, key string) []string {
	var out []string
	for _, v := range h.Values("Forwarded") {
		for _, elem := range strings.Split(v, ",") {
			for _, pair := range strings.Split(elem, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok && strings.EqualFold(k, key) {
					out = append(out, strings.Trim(strings.TrimSpace(val), `"`))
				}
			}
		}
	}
	return out
}

// httpsKey marks a request that came through a trusted proxy over https.
type httpsKey struct{}

// fromProxy rewrites a request that came from a trusted proxy as the client made it: RemoteAddr
// becomes the client's address (the right-most hop that is not itself a trusted proxy, port 0),
// Host the forwarded host, and an https scheme is recorded for isHTTPS. Other requests are
// returned as they are.
func (ps proxies) fromProxy(r *http.Request) *http.Request {
	if len(ps) == 0 {
		return r
	}
	p, ok := peer(r.RemoteAddr)
	if !ok || !ps.trusted(p) {
		return r
	}
	client := p
	hops := forwardedFor(r.Header)
	for i := len(hops) - 1; i >= 0; i-- {
		client = hops[i]
		if !client.IsValid() || !ps.trusted(client) {
			break
		}
	}
	if !client.IsValid() {
		client = p // an unknown hop: the proxy is the best we know
	}
	r2 := r.Clone(r.Context())
	r2.RemoteAddr = netip.AddrPortFrom(client, 0).String()
	if host := r.Header.Get("X-Forwarded-Host"); host != "" {
		first, _, _ := strings.Cut(host, ",")
		r2.Host = strings.TrimSpace(first)
	}
	if forwardedProto(r.Header) == "https" {
		r2 = r2.WithContext(context.WithValue(r2.Context(), httpsKey{}, true))
	}
	return r2
}

// isHTTPS reports whether the client's request was https: TLS on this node, or through a trusted
// proxy that said so.
func isHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	v, _ := r.Context().Value(httpsKey{}).(bool)
	return v
}

// hstsValue is the Strict-Transport-Security of an https response: a year, this host only (the
// node cannot know whether every subdomain has TLS).
const hstsValue = "max-age=31536000"
