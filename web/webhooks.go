package web

import (
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bayannur/hotline/intake"
)

// The admins' webhook routes (docs/integrations.md): subscriptions, their delivery logs, and the
// replay of a delivery.

// webhookAPI serves the routes on a store's subscriptions.
type webhookAPI struct {
	s            *Server
	store        intake.Webhooks
	allowPrivate bool // subscriptions may name internal addresses (WebhookWorker.AllowPrivate)
}

// mountWebhooks mounts the webhook routes, for admins only.
func (s *Server) mountWebhooks(store intake.Webhooks, allowPrivate bool) {
	h := &webhookAPI{s: s, store: store, allowPrivate: allowPrivate}
	s.handle("POST /api/v1/webhooks", s.staff(h.add, intake.RoleAdmin))
	s.handle("GET /api/v1/webhooks", s.staff(h.list, intake.RoleAdmin))
	s.handle("DELETE /api/v1/webhooks/{id}", s.staff(h.remove, intake.RoleAdmin))
	s.handle("GET /api/v1/webhooks/{id}/deliveries", s.staff(h.deliveries, intake.RoleAdmin))
	s.handle("POST /api/v1/webhooks/{id}/deliveries/{event}/replay", s.staff(h.replay, intake.RoleAdmin))
}

// webhookRequest is the body of POST /api/v1/webhooks.
type webhookRequest struct {
	URL     string   `json:"url"`
	Events  []string `json:"events"`
	Secret  string   `json:"secret"`
	Trusted bool     `json:"trusted"`
}

// newWebhook is a subscription as made: its secret shown this once.
type newWebhook struct {
	*intake.Subscription
	Secret string `json:"secret"`
}

// invalidField answers 400 for a field, as intake's FieldError is answered.
func invalidField(w http.ResponseWriter, field, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": field + ": " + msg, "code": "invalid", "field": field})
}

func (h *webhookAPI) add(w http.ResponseWriter, r *http.Request) {
	var req webhookRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	sub, err := intake.NewSubscription(req.URL, req.Events, req.Secret, req.Trusted, staffUser(r).Name, h.s.now())
	if err != nil {
		h.s.writeIntakeError(w, err)
		return
	}
	if !h.allowPrivate {
		if why := internalHost(sub.URL); why != "" {
			invalidField(w, "url", why+": webhooks go to the internet unless the server runs with --webhook-allow-private")
			return
		}
	}
	if err := h.store.AddSubscription(r.Context(), sub); err != nil {
		h.s.writeIntakeError(w, err)
		return
	}
	h.s.log.Info("audit: webhook added", "staff", staffUser(r).Name, "id", sub.ID, "events", len(sub.Events), "trusted", sub.Trusted)
	writeJSON(w, http.StatusCreated, newWebhook{sub, sub.Secret})
}

// internalHost says why a URL's host is internal (an address InternalAddr refuses, or a name
// such as localhost), or "" when it may be public. A name is only known once the worker resolves
// it, and its dialer refuses internal addresses then.
func internalHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if a, err := netip.ParseAddr(host); err == nil && InternalAddr(a) {
		return host + " is an internal address"
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasSuffix(host, ".internal") || strings.HasSuffix(host, ".local") {
		return host + " is an internal name"
	}
	return ""
}

func (h *webhookAPI) list(w http.ResponseWriter, r *http.Request) {
	subs, err := h.store.Subscriptions(r.Context())
	if err != nil {
		h.s.internal(w, "list webhooks", err)
		return
	}
	writeJSON(w, http.StatusOK, subs) // Secret is never in JSON
}

// writeError answers 404 for an unknown subscription or delivery, else as writeIntakeError.
func (h *webhookAPI) writeError(w http.ResponseWriter, err error) {
	if errors.Is(err, intake.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", err.Error())
		return
	}
	h.s.writeIntakeError(w, err)
}

func (h *webhookAPI) remove(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := h.store.DeleteSubscription(r.Context(), id); err != nil {
		h.writeError(w, err)
		return
	}
	h.s.log.Info("audit: webhook removed", "staff", staffUser(r).Name, "id", id)
	w.WriteHeader(http.StatusNoContent)
}

func (h *webhookAPI) deliveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	status := intake.DeliveryStatus(q.Get("status"))
	switch status {
	case "", intake.DeliveryPending, intake.DeliveryDelivered, intake.DeliveryFailed:
	default:
		invalidField(w, "status", "want pending, delivered or failed")
		return
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			invalidField(w, "limit", "a number from 1 to 1000")
			return
		}
		limit = n
	}
	log, err := h.store.Deliveries(r.Context(), r.PathValue("id"), status, limit)
	if err != nil {
		h.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, log)
}

func (h *webhookAPI) replay(w http.ResponseWriter, r *http.Request) {
	event, err := strconv.ParseInt(r.PathValue("event"), 10, 64)
	if err != nil || event <= 0 {
		invalidField(w, "event", "an event id, as X-Hotline-Delivery gives it")
		return
	}
	id := r.PathValue("id")
	// Deliveries are scheduled by the workers' clock, the real one (not the server's Now, a test's).
	if err := h.store.ReplayDelivery(r.Context(), id, event, time.Now()); err != nil {
		h.writeError(w, err)
		return
	}
	h.s.log.Info("audit: webhook delivery replayed", "staff", staffUser(r).Name, "id", id, "event", event)
	writeJSON(w, http.StatusAccepted, map[string]any{"event_id": event, "status": intake.DeliveryPending})
}
