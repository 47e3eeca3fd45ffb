package web

import (
	"container/list"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/bayannur/hotline/internal/i18n"
)

// limiter is a token bucket per client address, keyed by addrKey (IPv6 by its /64). It holds at
// most maxKeys buckets: when full, a new address evicts the least recently seen one, so a flood
// of addresses cannot grow it without bound nor lock new residents out. Keys idle for longer
// than limiterForget are dropped as well.
type limiter struct {
	every   time.Duration
	burst   int
	maxKeys int

	mu      sync.Mutex
	buckets map[string]*list.Element // of *bucket, in lru
	lru     *list.List               // most recently seen first
}

type bucket struct {
	key  string
	lim  *rate.Limiter
	seen time.Time
}

const (
	maxLimiterKeys = 100_000
	limiterForget  = 10 * time.Minute
)

func newLimiter(every time.Duration, burst int) *limiter {
	return &limiter{every: every, burst: burst, maxKeys: maxLimiterKeys,
		buckets: map[string]*list.Element{}, lru: list.New()}
}

// allow takes a token from addr's bucket.
func (l *limiter) allow(addr string) bool {
	key := addrKey(addr)
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	// Forget the idle: the oldest are at the back.
	for e := l.lru.Back(); e != nil && now.Sub(e.Value.(*bucket).seen) > limiterForget; e = l.lru.Back() {
		l.drop(e)
	}
	e, ok := l.buckets[key]
	if !ok {
		for l.lru.Len() >= l.maxKeys {
			l.drop(l.lru.Back())
		}
		e = l.lru.PushFront(&bucket{key: key, lim: rate.NewLimiter(rate.Every(l.every), l.burst)})
		l.buckets[key] = e
	} else {
		l.lru.MoveToFront(e)
	}
	b := e.Value.(*bucket)
	b.seen = now
	return b.lim.AllowN(now, 1)
}

func (l *limiter) drop(e *list.Element) {
	delete(l.buckets, e.Value.(*bucket).key)
	l.lru.Remove(e)
}

// addrKey is what limits count by: an IPv4 address as it is, an IPv6 address by its /64 (one
// subscriber's network: its addresses cost an attacker nothing). Anything else is its own key.
func addrKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.Prefix(64)
	return p.String()
}

// clientIP is the peer address of a request. (Behind a reverse proxy, configure it to connect
// from a per-client address or extend this with a trusted X-Forwarded-For.)
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func tooMany(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "10")
	writeError(w, http.StatusTooManyRequests, "rate_limited", i18n.Both("error.rate_limited"))
}
