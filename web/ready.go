package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/internal/i18n"
)

// GET /readyz: whether a load balancer should send this node new requests. Not while it starts
// (the bot is not trained yet), not while it drains before shutting down, and not while its store
// cannot write: a node whose database is unreachable or whose disk is full would take residents'
// messages and tickets it cannot keep, while another node could. GET /healthz stays 200 through
// all of it: the process is alive, and restarting it would not help.

// The store's probe for /readyz and hotline_store_writable: at most one every probeEvery, each
// given probeTimeout, and one at a time, whatever the number of health checks and scrapes.
const (
	probeEvery   = 2 * time.Second
	probeTimeout = time.Second
)

// errProbeStuck is a probe that has not returned past its timeout: a store that does not honour
// its context. It counts as a failure; no other probe starts until it returns.
var errProbeStuck = errors.New("store probe: no answer past its timeout")

// storeCheck runs the store's probe on demand and keeps its last outcome.
type storeCheck struct {
	probe          intake.Prober
	log            *slog.Logger
	every, timeout time.Duration

	mu      sync.Mutex
	err     error         // the last outcome
	at      time.Time     // when it came; zero before the first
	running chan struct{} // closed when the probe under way returns; nil when none is
}

// check returns the store's state: the last probe's outcome while it is fresh, else a new
// probe's, which callers at the same moment share. It waits at most a little over the probe's
// timeout.
func (c *storeCheck) check() error {
	c.mu.Lock()
	if c.running == nil && !c.at.IsZero() && time.Since(c.at) < c.every {
		err := c.err
		c.mu.Unlock()
		return err
	}
	done := c.running
	if done == nil {
		done = make(chan struct{})
		c.running = done
		go c.run(done)
	}
	c.mu.Unlock()
	select {
	case <-done:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.err
	case <-time.After(c.timeout + c.timeout/4):
		return errProbeStuck
	}
}

// run probes the store once, records the outcome, logs a change of state, and closes done.
func (c *storeCheck) run(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	err := c.probe.Probe(ctx)
	cancel()
	c.mu.Lock()
	was, first := c.err, c.at.IsZero()
	c.err, c.at, c.running = err, time.Now(), nil
	c.mu.Unlock()
	close(done)
	switch {
	case err != nil && (was == nil || first):
		c.log.Error("store: the probe failed: not ready", "err", err)
	case err == nil && was != nil:
		c.log.Info("store: the probe works again: ready")
	}
}

// up is the gauge's value: 1 when the store writes, else 0.
func (c *storeCheck) up() float64 {
	if c.check() != nil {
		return 0
	}
	return 1
}

// Ready reports whether the server has its bot: /readyz has answered 200 unless the store failed.
func (s *Server) Ready() bool { return s.bot.Load() != nil }

// Drain makes /readyz answer 503 "draining" from now on, while everything else is served as
// before: a load balancer stops sending this node new requests before it shuts down.
func (s *Server) Drain() { s.draining.Store(true) }

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	switch {
	case s.draining.Load():
		writeError(w, http.StatusServiceUnavailable, "draining", i18n.Both("error.draining"))
		return
	case s.bot.Load() == nil:
		writeError(w, http.StatusServiceUnavailable, "starting", i18n.Both("error.starting"))
		return
	}
	if s.store != nil {
		if err := s.store.check(); err != nil {
			// The probe's error stays in the log: it may name paths and hosts.
			writeError(w, http.StatusServiceUnavailable, "store_unavailable", i18n.Both("error.store_unavailable"))
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
}
