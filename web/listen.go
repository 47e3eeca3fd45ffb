package web

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The connection limits of the HTTP server (Config.ReadTimeout and the rest; 0 takes these).
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second // the whole request, body included
	DefaultWriteTimeout      = 60 * time.Second // the whole response (CSV exports get exportWriteWait)
	DefaultIdleTimeout       = 2 * time.Minute  // a keep-alive connection between requests
	DefaultMaxHeaderBytes    = 16 << 10
	DefaultMaxConnsPerIP     = 256
	exportWriteWait          = 10 * time.Minute // GET ….csv: a large export on a slow link
)

// HTTPServer is the http.Server that serves s with the configured timeouts and header cap.
// WebSocket connections, once upgraded, keep their own deadlines (the idle and write waits of
// the chat), not these.
func (s *Server) HTTPServer() *http.Server {
	c := s.conns
	return &http.Server{
		Handler:           s,
		ReadHeaderTimeout: c.readHeader,
		ReadTimeout:       c.read,
		WriteTimeout:      c.write,
		IdleTimeout:       c.idle,
		MaxHeaderBytes:    c.maxHeader,
	}
}

// Listener wraps ln with the cap of Config.MaxConnsPerIP (none when negative). The trusted
// proxies are not capped: every resident behind them arrives from their addresses (the
// balancer caps its clients, and the rate limits see each one).
func (s *Server) Listener(ln net.Listener) net.Listener {
	if s.conns.perIP <= 0 {
		return ln
	}
	l := LimitConnsPerIP(ln, s.conns.perIP).(*ipCapListener)
	l.exempt = s.proxies
	return l
}

// connLimits are the HTTP server's settings from Config, defaults applied.
type connLimits struct {
	readHeader, read, write, idle time.Duration
	maxHeader, perIP              int
}

func newConnLimits(cfg Config) connLimits {
	or := func(d, def time.Duration) time.Duration {
		if d == 0 {
			return def
		}
		return d
	}
	c := connLimits{
		readHeader: or(cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		read:       or(cfg.ReadTimeout, DefaultReadTimeout),
		write:      or(cfg.WriteTimeout, DefaultWriteTimeout),
		idle:       or(cfg.IdleTimeout, DefaultIdleTimeout),
		maxHeader:  cfg.MaxHeaderBytes,
		perIP:      cfg.MaxConnsPerIP,
	}
	if c.maxHeader <= 0 {
		c.maxHeader = DefaultMaxHeaderBytes
	}
	if c.perIP == 0 {
		c.perIP = DefaultMaxConnsPerIP
	}
	if c.readHeader > c.read {
		c.readHeader = c.read
	}
	return c
}

// longResponse gives a CSV export more time than the server's write timeout.
func longResponse(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, ".csv") {
		http.NewResponseController(w).SetWriteDeadline(time.Now().Add(exportWriteWait))
	}
}

// LimitConnsPerIP returns a listener that keeps at most max connections open from one client
// address (IPv6: one /64, as the rate limits count). A connection over the cap is closed as soon
// as it is accepted; a connection counts until it is closed, hijacked WebSockets included.
func LimitConnsPerIP(ln net.Listener, max int) net.Listener {
	return &ipCapListener{Listener: ln, max: max, open: map[string]int{}}
}

type ipCapListener struct {
	net.Listener
	max    int
	exempt proxies // peers never capped: the trusted load balancers

	mu      sync.Mutex
	open    map[string]int
	refused atomic.Int64
}

func (l *ipCapListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if a, ok := peer(c.RemoteAddr().String()); ok && l.exempt.trusted(a) {
			return c, nil
		}
		key := connKey(c)
		l.mu.Lock()
		if l.open[key] >= l.max {
			l.mu.Unlock()
			l.refused.Add(1)
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetLinger(0) // a reset: no TIME_WAIT left behind for a flood
			}
			c.Close()
			continue
		}
		l.open[key]++
		l.mu.Unlock()
		return &ipCapConn{Conn: c, l: l, key: key}, nil
	}
}

func (l *ipCapListener) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key]--; l.open[key] <= 0 {
		delete(l.open, key)
	}
}

// connKey is the remote address's key, as addrKey.
func connKey(c net.Conn) string {
	a := c.RemoteAddr()
	if a == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return addrKey(a.String())
	}
	return addrKey(host)
}

type ipCapConn struct {
	net.Conn
	l    *ipCapListener
	key  string
	once sync.Once
}

func (c *ipCapConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.key) })
	return err
}
