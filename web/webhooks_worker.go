package web

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/bayannur/hotline/intake"
)

// WebhookWorker sends the webhook outbox's deliveries (docs/integrations.md). It claims due
// deliveries in the database with a lease, so that on several nodes, each running one, every
// delivery is sent by one worker at a time; POSTs each signed; and records the outcome: 2xx is
// delivered, anything else is retried with exponential backoff and jitter until GiveUp after the
// event, then failed. A node killed mid-delivery leaves its lease to run out: another worker (or
// the node, restarted) sends the delivery again. At least once, then: receivers deduplicate by
// X-Hotline-Delivery.
type WebhookWorker struct {
	Store intake.Webhooks
	Log   *slog.Logger
	// AllowPrivate lets deliveries reach loopback, private, link-local and other internal
	// addresses (hotline serve --webhook-allow-private). Off, the dialer refuses them whatever
	// the URL's host resolves to, so that a subscription cannot probe the internal network.
	AllowPrivate bool
	// Client sends the deliveries (nil: WebhookClient(AllowPrivate)).
	Client *http.Client

	Poll      time.Duration // how often due deliveries are looked for (0: 1 s)
	Lease     time.Duration // how long a claim holds a delivery (0: 1 minute; above the client's timeout)
	RetryBase time.Duration // the first retry's delay (0: 5 s), doubled each time…
	RetryMax  time.Duration // …up to this (0: 1 hour)
	GiveUp    time.Duration // a delivery is failed once its next attempt would be this long after its first (0: 24 h)
	Keep      time.Duration // delivered deliveries are pruned this long after (0: 7 days)
	Batch     int           // deliveries claimed at once (0: 32)
	Parallel  int           // sent at once (0: 4)

	wakeOnce sync.Once
	wake     chan struct{}
}

// The worker's defaults.
const (
	webhookTimeout = 10 * time.Second
	webhookMaxBody = 64 << 10 // what is read of a receiver's answer
)

func (w *WebhookWorker) init() {
	w.wakeOnce.Do(func() {
		w.wake = make(chan struct{}, 1)
		if w.Log == nil {
			w.Log = slog.New(slog.DiscardHandler)
		}
		if w.Client == nil {
			w.Client = WebhookClient(w.AllowPrivate)
		}
		w.Poll = cmp.Or(w.Poll, time.Second)
		w.Lease = cmp.Or(w.Lease, time.Minute)
		w.RetryBase = cmp.Or(w.RetryBase, 5*time.Second)
		w.RetryMax = cmp.Or(w.RetryMax, time.Hour)
		w.GiveUp = cmp.Or(w.GiveUp, 24*time.Hour)
		w.Keep = cmp.Or(w.Keep, 7*24*time.Hour)
		w.Batch = cmp.Or(w.Batch, 32)
		w.Parallel = cmp.Or(w.Parallel, 4)
	})
}

// Wake makes the worker look for deliveries now rather than at its next poll (after a change).
func (w *WebhookWorker) Wake() {
	w.init()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends.
func (w *WebhookWorker) Run(ctx context.Context) {
	w.init()
	tick := time.NewTicker(w.Poll)
	defer tick.Stop()
	var pruned time.Time
	for {
		for {
			n, err := w.RunOnce(ctx)
			if err != nil && ctx.Err() == nil {
				w.Log.Warn("webhooks: claiming deliveries", "err", err)
			}
			if n < w.Batch || err != nil {
				break
			}
		}
		if time.Since(pruned) > time.Hour {
			pruned = time.Now()
			if n, err := w.Store.PruneDeliveries(ctx, pruned.Add(-w.Keep)); err != nil && ctx.Err() == nil {
				w.Log.Warn("webhooks: pruning deliveries", "err", err)
			} else if n > 0 {
				w.Log.Info("webhooks: pruned delivered deliveries", "n", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-w.wake:
		}
	}
}

// RunOnce claims one batch of due deliveries, sends them and records the outcomes; it returns
// how many it claimed.
func (w *WebhookWorker) RunOnce(ctx context.Context) (int, error) {
	w.init()
	lease := newLease()
	ds, err := w.Store.ClaimDeliveries(ctx, lease, time.Now(), w.Lease, w.Batch)
	if err != nil {
		return 0, err
	}
	sem := make(chan struct{}, w.Parallel)
	var wg sync.WaitGroup
	for _, d := range ds {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			w.deliver(ctx, d)
		}()
	}
	wg.Wait()
	return len(ds), nil
}

func newLease() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// deliver sends d once and records the outcome.
func (w *WebhookWorker) deliver(ctx context.Context, d intake.Delivery) {
	body := intake.WebhookBody(d)
	code, err := w.post(ctx, d, body)
	if ctx.Err() != nil {
		return // shutting down: the lease runs out and the delivery is sent again
	}
	now := time.Now()
	r := intake.DeliveryResult{SubscriptionID: d.SubscriptionID, EventID: d.EventID, Lease: d.Lease, Code: code, At: now,
		Status: intake.DeliveryDelivered}
	if err != nil {
		r.Error = err.Error()
		r.NextAt = now.Add(intake.Backoff(d.Attempts+1, w.RetryBase, w.RetryMax))
		r.Status = intake.DeliveryPending
		if r.NextAt.Sub(d.FirstAt) > w.GiveUp {
			r.Status = intake.DeliveryFailed
		}
	}
	// The outcome is recorded even if the node is told to stop meanwhile.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	ok, ferr := w.Store.FinishDelivery(fctx, r)
	log := w.Log.With("event", d.EventID, "type", d.Kind, "subscription", d.SubscriptionID, "attempt", d.Attempts+1)
	switch {
	case ferr != nil:
		log.Error("webhooks: recording a delivery", "err", ferr)
	case !ok:
		log.Warn("webhooks: the delivery's lease ran out before it was recorded; it is sent again")
	case r.Status == intake.DeliveryFailed:
		log.Warn("webhooks: delivery failed for good (replay it once the receiver works)", "status", code, "err", r.Error)
	case r.Status == intake.DeliveryPending:
		log.Info("webhooks: delivery to be retried", "status", code, "err", r.Error, "next", r.NextAt.Sub(now).Round(time.Second))
	}
}

// post sends body as d, signed, and returns the receiver's status; an error for anything but 2xx.
func (w *WebhookWorker) post(ctx context.Context, d intake.Delivery, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "hotline-webhooks/1")
	req.Header.Set(intake.HeaderEvent, string(d.Kind))
	req.Header.Set(intake.HeaderDelivery, strconv.FormatInt(d.EventID, 10))
	req.Header.Set(intake.HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(intake.HeaderSignature, intake.WebhookSignature(d.Secret, ts, body))
	resp, err := w.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without "Post URL:": the URL is the subscription's, and long
		}
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, webhookMaxBody))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("status %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// WebhookClient is the client deliveries are sent with: 10 s per delivery, no redirects followed
// (a 3xx is a failure), no proxy from the environment, and unless allowPrivate a dialer that
// refuses internal addresses (InternalAddr) after the name is resolved, so that a host name
// pointing inside is refused as an address would be.
func WebhookClient(allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return err
			}
			if InternalAddr(ap.Addr()) {
				return fmt.Errorf("webhook: %s is an internal address (hotline serve --webhook-allow-private allows it)", ap.Addr())
			}
			return nil
		}
	}
	tr := &http.Transport{DialContext: d.DialContext, TLSHandshakeTimeout: 5 * time.Second, ResponseHeaderTimeout: webhookTimeout,
		MaxIdleConns: 32, MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second, ForceAttemptHTTP2: true}
	return &http.Client{Transport: tr, Timeout: webhookTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// cgnat is the shared address space of carriers (RFC 6598), internal too.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// InternalAddr reports whether a is no address of the public internet: loopback, private
// (RFC 1918, fc00::/7), link-local (cloud metadata at 169.254.169.254 included), carrier-grade
// NAT, unspecified or multicast.
func InternalAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() || cgnat.Contains(a)
}
