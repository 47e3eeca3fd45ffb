package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bayannur/hotline/search"
	"github.com/bayannur/hotline/search/meili"
)

// meiliGuide is the guide on a Meilisearch server (serve --meili), which the console's guide
// search and contact lookup ask (web.GuideIndex) once the guide is on it. The node publishes its
// guide there in the background at start, and again whenever the server was found gone; until
// then, and whenever it fails, the console is served from the in-process index. The bot never
// asks it.
type meiliGuide struct {
	c     *meili.Client
	log   *slog.Logger
	ready atomic.Bool   // the guide is on the server and it answered last time
	kick  chan struct{} // publish again (buffered, one)

	mu    sync.Mutex
	guide *search.Guide // the guide to publish

	// retryMin and retryMax bound the pause between two attempts to publish.
	retryMin, retryMax time.Duration
}

func newMeiliGuide(cfg meili.Config, g *search.Guide, log *slog.Logger) (*meiliGuide, error) {
	c, err := meili.New(cfg)
	if err != nil {
		return nil, err
	}
	return &meiliGuide{c: c, log: log, guide: g, kick: make(chan struct{}, 1), retryMin: 500 * time.Millisecond, retryMax: 30 * time.Second}, nil
}

// Ready is web.GuideIndex's: the guide is on the server, which answered the last time.
func (m *meiliGuide) Ready() bool { return m.ready.Load() }

// SearchEntries is web.GuideIndex's.
func (m *meiliGuide) SearchEntries(ctx context.Context, q string, limit int) ([]search.EntryHit, error) {
	hits, err := m.c.SearchEntries(ctx, q, limit)
	m.check(err)
	return hits, err
}

// SearchContacts is web.GuideIndex's.
func (m *meiliGuide) SearchContacts(ctx context.Context, q string, limit int) ([]search.ContactHit, error) {
	hits, err := m.c.SearchContacts(ctx, q, limit)
	m.check(err)
	return hits, err
}

// check looks at a search's error: a server gone, a key refused or an index deleted makes the
// console use the in-process index until the guide is published again.
func (m *meiliGuide) check(err error) {
	var ae *meili.APIError
	if err == nil || !(errors.Is(err, meili.ErrUnreachable) || errors.Is(err, meili.ErrKey) || (errors.As(err, &ae) && ae.Code == "index_not_found")) {
		return
	}
	if m.ready.Swap(false) {
		m.log.Warn("meilisearch failed: serving the console's guide search from the in-process index, publishing again in the background",
			"url", m.c.URL(), "err", err)
	}
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// Publish puts g on the server now and, once it is there, lets the console search it: the hook
// for publishing a new version of the guide. On failure the console keeps to the in-process
// index and the background loop (run) tries again.
func (m *meiliGuide) Publish(ctx context.Context, g *search.Guide) error {
	m.mu.Lock()
	m.guide = g
	m.mu.Unlock()
	err := m.c.Publish(ctx, g)
	m.ready.Store(err == nil)
	if err != nil {
		select {
		case m.kick <- struct{}{}:
		default:
		}
	}
	return err
}

// run publishes the guide until it is on the server, pausing longer after each failure
// (retryMin doubling up to retryMax), then waits until a search finds the server gone and does
// it again. It returns when ctx ends.
func (m *meiliGuide) run(ctx context.Context) {
	delay, last := m.retryMin, ""
	for {
		if !m.ready.Load() {
			m.mu.Lock()
			g := m.guide
			m.mu.Unlock()
			start := time.Now()
			err := m.c.Publish(ctx, g)
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				m.ready.Store(true)
				entries, contacts := m.c.Indexes()
				m.log.Info("meilisearch: guide published; the console's guide search uses it", "url", m.c.URL(),
					"entries", entries, "contacts", contacts, "took", time.Since(start).Round(time.Millisecond))
				delay, last = m.retryMin, ""
			} else {
				if msg := err.Error(); msg != last { // once per kind of failure, not every retry
					last = msg
					what := "meilisearch: publishing the guide failed"
					if errors.Is(err, meili.ErrUnreachable) {
						what = "meilisearch unreachable"
					}
					m.log.Warn(what+": serving from the in-process index, retrying in the background", "url", m.c.URL(), "err", err)
				}
				select {
				case <-time.After(delay):
				case <-ctx.Done():
					return
				}
				delay = min(2*delay, m.retryMax)
				continue
			}
		}
		select {
		case <-m.kick:
		case <-ctx.Done():
			return
		}
	}
}

// Close releases the client's connections.
func (m *meiliGuide) Close() { m.c.Close() }
