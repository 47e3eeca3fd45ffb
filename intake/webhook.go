package intake

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Webhooks (docs/integrations.md). What happens to a ticket, a handoff or an emergency is written
// to an outbox in the same transaction as the change itself, with one delivery for each
// subscription that wants its kind: no change without its event, no event without its change.
// A worker (web.WebhookWorker) claims due deliveries in the database, so that on several nodes
// each is sent by one, POSTs them signed, and retries them with backoff for a day. A ticket's
// (or a conversation's) later event waits until its earlier one is delivered or has failed.

// EventKind names a webhook event.
type EventKind string

// The kinds of event.
const (
	KindTicketCreated    EventKind = "ticket.created"
	KindTicketDispatched EventKind = "ticket.dispatched"
	KindTicketSigned     EventKind = "ticket.signed"
	KindTicketResolved   EventKind = "ticket.resolved"
	KindTicketReopened   EventKind = "ticket.reopened"
	KindTicketEscalated  EventKind = "ticket.escalated"
	KindTicketOverdue    EventKind = "ticket.overdue"
	KindTicketRated      EventKind = "ticket.rated"
	KindHandoffWaiting   EventKind = "handoff.waiting"   // a resident asked for a person
	KindHandoffTaken     EventKind = "handoff.taken"     // an operator took the chat
	KindEmergencyDecided EventKind = "emergency.decided" // the bot decided a message is an emergency
)

// AllKinds, in a subscription's events, subscribes to every kind, those added later included.
const AllKinds EventKind = "*"

// ticketKinds are the ticket actions that are webhook events.
var ticketKinds = map[Action]EventKind{
	ActCreate: KindTicketCreated, ActDispatch: KindTicketDispatched, ActSign: KindTicketSigned,
	ActResolve: KindTicketResolved, ActReopen: KindTicketReopened, ActEscalate: KindTicketEscalated,
	ActOverdue: KindTicketOverdue, ActRate: KindTicketRated,
}

// TicketKind is the webhook event of a ticket action, if it is one.
func TicketKind(a Action) (EventKind, bool) {
	k, ok := ticketKinds[a]
	return k, ok
}

// EventKinds lists every kind of event.
func EventKinds() []EventKind {
	return []EventKind{KindTicketCreated, KindTicketDispatched, KindTicketSigned, KindTicketResolved,
		KindTicketReopened, KindTicketEscalated, KindTicketOverdue, KindTicketRated,
		KindHandoffWaiting, KindHandoffTaken, KindEmergencyDecided}
}

// Subscription is where an integrator wants events sent, and which.
type Subscription struct {
	ID     string      `json:"id"`
	URL    string      `json:"url"`
	Events []EventKind `json:"events"`
	// Secret signs every delivery (X-Hotline-Signature); it is shown once, when made.
	Secret string `json:"-"`
	// Trusted subscriptions get residents' phones whole; the others masked (138****5678), in
	// the phone field and in free text.
	Trusted   bool      `json:"trusted"`
	Created   time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by,omitempty"`
}

// Wants reports whether s subscribes to k.
func (s *Subscription) Wants(k EventKind) bool {
	return slices.Contains(s.Events, AllKinds) || slices.Contains(s.Events, k)
}

// Limits of a subscription.
const (
	maxWebhookURL    = 2048
	minWebhookSecret = 16
	maxWebhookSecret = 256
)

// NewSubscription checks a subscription and makes its ID, and its secret when secret is empty.
// The URL must be absolute http or https with a host and no user or fragment; whether its host
// may be an internal address is the transport's to say (web.WebhookWorker's dialer).
func NewSubscription(rawURL string, events []string, secret string, trusted bool, by string, now time.Time) (*Subscription, error) {
	rawURL = strings.TrimSpace(rawURL)
	if rawURL == "" {
		return nil, invalid("url", "the address to send events to is required")
	}
	if len(rawURL) > maxWebhookURL {
		return nil, invalid("url", "at most %d characters", maxWebhookURL)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, invalid("url", "not a URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, invalid("url", "want an http:// or https:// URL, not %q", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, invalid("url", "the URL has no host")
	}
	if u.User != nil {
		return nil, invalid("url", "no user or password in the URL: the receiver checks the signature instead")
	}
	if u.Fragment != "" {
		return nil, invalid("url", "no #fragment in the URL")
	}
	if len(events) == 0 {
		return nil, invalid("events", "name the events to send (%s), or *", kindNames())
	}
	var kinds []EventKind
	for _, e := range events {
		k := EventKind(strings.TrimSpace(e))
		if k != AllKinds && !slices.Contains(EventKinds(), k) {
			return nil, invalid("events", "unknown event %q: want %s, or *", e, kindNames())
		}
		if !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	if slices.Contains(kinds, AllKinds) {
		kinds = []EventKind{AllKinds}
	}
	if secret == "" {
		secret = "whsec_" + randomHex(24)
	} else if len(secret) < minWebhookSecret || len(secret) > maxWebhookSecret {
		return nil, invalid("secret", "%d to %d characters (or none: one is made)", minWebhookSecret, maxWebhookSecret)
	}
	return &Subscription{ID: "wh_" + randomHex(8), URL: u.String(), Events: kinds, Secret: secret, Trusted: trusted,
		Created: now, CreatedBy: by}, nil
}

func kindNames() string {
	var s []string
	for _, k := range EventKinds() {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// OutboxEvent is one event as a store writes it to its outbox, in the transaction of its change.
type OutboxEvent struct {
	Kind EventKind
	// Subject orders deliveries: "ticket:NUMBER" or "conversation:ID". A subject's later event is
	// not sent to a subscription before its earlier one is delivered or has failed.
	Subject string
	// Data is the event's data with residents' phones masked; Trusted with them whole.
	Data, Trusted []byte
	At            time.Time
}

// webhookTicket is a ticket in a trusted payload: its phone whole (Phone marshals masked).
type webhookTicket struct {
	*Ticket
	Phone string `json:"phone,omitempty"`
}

// webhookEvent is the change a ticket event reports.
type webhookEvent struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action Action    `json:"action"`
	From   Status    `json:"from,omitempty"`
	To     Status    `json:"to,omitempty"`
	Note   string    `json:"note,omitempty"`
}

// TicketOutbox is the outbox event of ev, the change that made t, or false when ev's action is
// no webhook event (a note, an urge…). t must have its number.
func TicketOutbox(t *Ticket, ev Event) (OutboxEvent, bool, error) {
	k, ok := ticketKinds[ev.Action]
	if !ok {
		return OutboxEvent{}, false, nil
	}
	t = utcTicket(t)
	e := webhookEvent{At: ev.At.UTC(), Actor: ev.Actor, Action: ev.Action, From: ev.From, To: ev.To, Note: ev.Note}
	full, err := json.Marshal(map[string]any{"ticket": webhookTicket{t, t.Phone.Full()}, "event": e})
	if err != nil {
		return OutboxEvent{}, false, fmt.Errorf("%w: webhook data: %v", ErrInvalid, err)
	}
	e.Note = MaskPhones(e.Note)
	masked, err := json.Marshal(map[string]any{"ticket": t.MaskedText(), "event": e})
	if err != nil {
		return OutboxEvent{}, false, fmt.Errorf("%w: webhook data: %v", ErrInvalid, err)
	}
	return OutboxEvent{Kind: k, Subject: "ticket:" + t.Number, Data: masked, Trusted: full, At: ev.At}, true, nil
}

// utcTicket is a copy of t with its times in UTC, as the store gives them back.
func utcTicket(t *Ticket) *Ticket {
	c := *t
	c.SignBy, c.DueBy, c.Created, c.Updated = t.SignBy.UTC(), t.DueBy.UTC(), t.Created.UTC(), t.Updated.UTC()
	c.RatedAt, c.ResolvedAt = t.RatedAt.UTC(), t.ResolvedAt.UTC()
	if t.Steps != nil {
		c.Steps = make(map[Status]time.Time, len(t.Steps))
		for k, v := range t.Steps {
			c.Steps[k] = v.UTC()
		}
	}
	return &c
}

// webhookConversation is what a handoff event tells of a conversation.
type webhookConversation struct {
	ID        string    `json:"id"`
	Community string    `json:"community,omitempty"`
	Handoff   string    `json:"handoff"`
	Operator  string    `json:"operator,omitempty"`
	HandoffAt time.Time `json:"handoff_at"`
	Guess     string    `json:"guess,omitempty"` // the bot's guess at the topic
}

// HandoffOutbox is the outbox event of c's handoff having just moved (handoff.waiting,
// handoff.taken), or false for the other states.
func HandoffOutbox(c *Conversation) (OutboxEvent, bool, error) {
	var k EventKind
	switch c.Handoff {
	case HandoffWaiting:
		k = KindHandoffWaiting
	case HandoffLive:
		k = KindHandoffTaken
	default:
		return OutboxEvent{}, false, nil
	}
	b, err := json.Marshal(map[string]any{"conversation": webhookConversation{c.ID, c.Community, c.Handoff, c.Operator, c.HandoffAt.UTC(), c.Guess}})
	if err != nil {
		return OutboxEvent{}, false, err
	}
	return OutboxEvent{Kind: k, Subject: "conversation:" + c.ID, Data: b, Trusted: b, At: c.HandoffAt}, true, nil
}

// webhookEmergency is what emergency.decided tells.
type webhookEmergency struct {
	Conversation struct {
		ID        string `json:"id"`
		Community string `json:"community,omitempty"`
	} `json:"conversation"`
	At      time.Time `json:"at"`
	Topic   string    `json:"topic,omitempty"`
	Message string    `json:"message,omitempty"` // what the resident wrote
	Reply   string    `json:"reply"`             // what the bot answered
}

// EmergencyOutbox are the outbox events of turns, appended to conversation id: one for each bot
// turn whose reply decided an emergency, with the resident's message before it.
func EmergencyOutbox(id, community string, turns []Turn) ([]OutboxEvent, error) {
	var out []OutboxEvent
	for i, t := range turns {
		if t.From != "bot" || t.Reply == nil || t.Reply.Decision != string(Emergency) {
			continue
		}
		var e webhookEmergency
		e.Conversation.ID, e.Conversation.Community = id, community
		e.At, e.Topic, e.Reply = t.At.UTC(), t.Reply.Topic, t.Text
		if i > 0 && turns[i-1].From == "resident" {
			e.Message = turns[i-1].Text
		}
		full, err := json.Marshal(e)
		if err != nil {
			return nil, err
		}
		e.Message, e.Reply = MaskPhones(e.Message), MaskPhones(e.Reply)
		masked, err := json.Marshal(e)
		if err != nil {
			return nil, err
		}
		out = append(out, OutboxEvent{Kind: KindEmergencyDecided, Subject: "conversation:" + id, Data: masked, Trusted: full, At: t.At})
	}
	return out, nil
}

// DeliveryStatus is where a delivery is.
type DeliveryStatus string

// Delivery statuses.
const (
	DeliveryPending   DeliveryStatus = "pending"   // waiting for its first attempt or a retry
	DeliveryDelivered DeliveryStatus = "delivered" // the receiver answered 2xx
	DeliveryFailed    DeliveryStatus = "failed"    // retried for a day in vain (replay sends it again)
)

// Delivery is one event to send to one subscription, as a worker claimed it.
type Delivery struct {
	SubscriptionID string
	EventID        int64
	Kind           EventKind
	Subject        string
	Created        time.Time // the event's time
	Data           []byte    // masked or whole by the subscription's Trusted
	URL, Secret    string
	Attempts       int       // before this one
	FirstAt        time.Time // when its day of retries began: written, or replayed
	Lease          string    // the claim's: only its holder may settle the delivery
}

// DeliveryResult settles one attempt of a claimed delivery.
type DeliveryResult struct {
	SubscriptionID string
	EventID        int64
	Lease          string
	Status         DeliveryStatus
	NextAt         time.Time // for DeliveryPending: the next attempt
	Code           int       // the receiver's HTTP status, 0 when it gave none
	Error          string    // why the attempt failed, "" when delivered
	At             time.Time
}

// DeliveryLog is a delivery as admins read it.
type DeliveryLog struct {
	EventID   int64          `json:"event_id"`
	Kind      EventKind      `json:"event"`
	Subject   string         `json:"subject"`
	Created   time.Time      `json:"created_at"`
	Status    DeliveryStatus `json:"status"`
	Attempts  int            `json:"attempts"`
	LastError string         `json:"last_error,omitempty"`
	LastCode  int            `json:"last_status_code,omitempty"`
	NextAt    time.Time      `json:"next_attempt_at,omitzero"`
	Updated   time.Time      `json:"updated_at"`
}

// Webhooks stores subscriptions and the outbox's deliveries (intake/sqlite and intake/postgres);
// the outbox's events are written by the stores' own writes of the changes.
type Webhooks interface {
	// AddSubscription stores s (ErrConflict when its ID is taken).
	AddSubscription(ctx context.Context, s *Subscription) error
	// Subscriptions lists the subscriptions, oldest first, secrets included.
	Subscriptions(ctx context.Context) ([]*Subscription, error)
	// DeleteSubscription deletes a subscription and its deliveries (ErrNotFound).
	DeleteSubscription(ctx context.Context, id string) error
	// ClaimDeliveries leases up to limit due deliveries until now+d for lease, a token
	// unique to the claim: pending ones whose next attempt is due, unleased or whose lease has
	// run out, each the earliest pending of its subscription and subject. Several workers on
	// one database never hold one delivery at once.
	ClaimDeliveries(ctx context.Context, lease string, now time.Time, d time.Duration, limit int) ([]Delivery, error)
	// FinishDelivery records an attempt and ends the lease; false when the lease was no longer
	// r.Lease's (it ran out and another worker claimed the delivery).
	FinishDelivery(ctx context.Context, r DeliveryResult) (bool, error)
	// Deliveries is a subscription's delivery log, newest first, of one status or all ("")
	// (ErrNotFound for an unknown subscription).
	Deliveries(ctx context.Context, subscriptionID string, status DeliveryStatus, limit int) ([]DeliveryLog, error)
	// ReplayDelivery sends a failed (or delivered) delivery again from now, for another day
	// (ErrNotFound; ErrConflict while it is pending).
	ReplayDelivery(ctx context.Context, subscriptionID string, eventID int64, now time.Time) error
	// PruneDeliveries deletes deliveries delivered before before, and events no delivery needs.
	PruneDeliveries(ctx context.Context, before time.Time) (int, error)
}

// Webhook delivery headers.
const (
	HeaderEvent     = "X-Hotline-Event"
	HeaderDelivery  = "X-Hotline-Delivery"
	HeaderTimestamp = "X-Hotline-Timestamp"
	HeaderSignature = "X-Hotline-Signature"
)

// WebhookBody is the JSON a delivery POSTs: the event's id, type, time and data.
func WebhookBody(d Delivery) []byte {
	var b strings.Builder
	b.WriteString(`{"id":"`)
	b.WriteString(strconv.FormatInt(d.EventID, 10))
	b.WriteString(`","type":"`)
	b.WriteString(string(d.Kind))
	b.WriteString(`","created_at":"`)
	b.WriteString(d.Created.UTC().Format(time.RFC3339Nano))
	b.WriteString(`","data":`)
	b.Write(d.Data)
	b.WriteString("}")
	return []byte(b.String())
}

// WebhookSignature is X-Hotline-Signature's value: "sha256=" and the hex HMAC-SHA256, keyed by
// secret, of the timestamp (X-Hotline-Timestamp, Unix seconds), a dot and the body.
func WebhookSignature(secret string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifyWebhook is what a receiver does: it checks signature against secret, timestamp (the
// header's text) and body, in constant time, and that timestamp is within tolerance of now.
func VerifyWebhook(secret, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook: bad timestamp %q", timestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("webhook: timestamp %d is %s from now", ts, d.Round(time.Second))
	}
	if !hmac.Equal([]byte(WebhookSignature(secret, ts, body)), []byte(signature)) {
		return fmt.Errorf("webhook: signature does not match")
	}
	return nil
}

// Backoff is how long to wait before attempt n+1 after n failed attempts: base doubled each
// time up to ceiling, then a random 50–100% of that (jitter, so that a receiver back from an outage
// is not met by every retry at once).
func Backoff(n int, base, ceiling time.Duration) time.Duration {
	d := float64(base) * math.Pow(2, float64(max(n-1, 0)))
	d = math.Min(d, float64(ceiling))
	return time.Duration(d * (0.5 + 0.5*mrand.Float64()))
}
