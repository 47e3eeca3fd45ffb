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

// The limits per client address are ceilings: high enough for a household or a carrier-NAT block
// of residents behind one address (behind a load balancer, see proxy.go: the client's address,
// not the balancer's). What limits one person comes first: a conversation's messages
// (chatConvEvery), an account's failed logins (lockFor, counted by the store), a ticket's wrong access codes
// (intake.FollowFailures).
const (
	// chatConvEvery, chatConvBurst: a conversation's asks and chooses, one a second on average,
	// bursts of 10 (tapping through a report's options).
	chatConvEvery, chatConvBurst = time.Second, 10
	// chatIPEvery, chatIPBurst: every conversation from one address, 300 a minute (forty
	// residents of one NAT each sending a message every eight seconds), bursts of 100.
	chatIPEvery, chatIPBurst = 200 * time.Millisecond, 100
	// ticketIPEvery, ticketIPBurst: tickets through the API, 30 at once then one every 2 s.
	ticketIPEvery, ticketIPBurst = 2 * time.Second, 30
	// lookupIPEvery, lookupIPBurst: following and rating tickets, 30 at once then one every 2 s
	// (a code is 6 digits and a ticket locks after intake.FollowFailures wrong ones).
	lookupIPEvery, lookupIPBurst = 2 * time.Second, 30
	// loginIPEvery, loginIPBurst: login attempts, 20 at once then one a second (an office's
	// staff behind one address; each account locks on its own after lockoutAfter failures).
	loginIPEvery, loginIPBurst = time.Second, 20
)

// limiter is a token bucket per key: a client address (through addrKey) or any other id, keyed by addrKey (IPv6 by its /64). It holds at
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

// clientIP is the client address of a request: the peer's, or, from a trusted proxy, the
// forwarded one (ServeHTTP has rewritten RemoteAddr, see proxy.go).
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
