package intake

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Directory answers what the guide knows: which topics and categories exist, which communities,
// and who is responsible for a place at each tier.
type Directory interface {
	// Topic returns the category of a topic id.
	Topic(id string) (category string, ok bool)
	Category(code string) bool
	Community(id string) bool
	// Grid reports whether a grid id exists.
	Grid(id string) bool
	// Route finds the grid responsible for an address in a community, and who answers for it
	// at each tier. Without a community it finds the community the address names, if any.
	Route(community, address string) (Route, bool)
}

// Route is who is responsible for a place.
type Route struct {
	Community string
	Grid      string
	// Assignee by tier: the grid's worker, the community's 网格长 or 书记, the town office.
	Assignee map[Tier]string
}

// NewTicket is what a resident, an operator or a machine submits.
type NewTicket struct {
	Topic          string
	Category       string
	Community      string
	Description    string
	Address        string
	Lat, Lng       *float64
	Name           string
	Phone          string
	PhoneRequired  bool
	Urgency        Urgency
	Channel        Channel
	ConversationID string
	Actor          string // who submits it: "resident", a username, "open311:<key label>"
}

// Service is the intake domain in use: it validates, applies the lifecycle and keeps the clocks.
type Service struct {
	Store Store
	SLA   *SLA
	Dir   Directory
	Log   *slog.Logger
	Now   func() time.Time

	observers atomic.Pointer[[]Observer]
}

// Observer is told of every stored change to a ticket: its new state and the event (for a new
// ticket, its last creation event). It runs on the caller's goroutine after the change is
// durable, so it must be quick; it must not change the ticket through the same call.
type Observer func(t *Ticket, ev Event)

// Observe adds o to the observers of this service's changes (the operator desk, metrics).
func (s *Service) Observe(o Observer) {
	for {
		old := s.observers.Load()
		var next []Observer
		if old != nil {
			next = append(next, *old...)
		}
		next = append(next, o)
		if s.observers.CompareAndSwap(old, &next) {
			return
		}
	}
}

func (s *Service) notify(t *Ticket, ev Event) {
	if obs := s.observers.Load(); obs != nil {
		for _, o := range *obs {
			o(t, ev)
		}
	}
}

// now is the service's clock, in UTC like everything the store gives back.
func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// FieldError names the field a ticket was refused for.
type FieldError struct {
	Field, Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap makes a FieldError an ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Create validates n, routes it to its grid and stores it. A ticket whose community is known is
// dispatched at once to the grid worker responsible (小事不出社区: the grid first); otherwise it
// waits, received, for a dispatcher. With an idempotency key already used, the first ticket is
// returned and created is false.
func (s *Service) Create(ctx context.Context, n NewTicket, idemKey string) (*Ticket, bool, error) {
	t, err := s.validate(n)
	if err != nil {
		return nil, false, err
	}
	now := s.now()
	t.Created, t.Updated = now, now
	t.Status, t.Tier, t.Version = Received, TierGrid, 1
	t.Steps = map[Status]time.Time{Received: now}
	t.AccessCode = NewAccessCode()
	t.DueBy = s.SLA.DueBy(t.Urgency, t.Category, now)
	actor := cmp.Or(n.Actor, "resident")
	events := []Event{{At: now, Actor: actor, Action: ActCreate, To: Received, Note: string(t.Channel)}}
	if t.Community != "" || t.Address != "" {
		r, ok := s.Dir.Route(t.Community, t.Address)
		if ok {
			t.Community = r.Community // found by the address when none was given
		}
		if ok && (r.Grid != "" || r.Assignee[TierGrid] != "") {
			ev, err := t.Apply(Change{Action: ActDispatch, Actor: "system", Grid: r.Grid, Assignee: r.Assignee[TierGrid]}, now, s.SLA)
			if err != nil {
				return nil, false, err
			}
			t.Version = 1
			events = append(events, ev)
		}
	}
	stored, created, err := s.Store.Create(ctx, t, events, idemKey)
	if err != nil {
		return nil, false, err
	}
	if !created && !sameRequest(stored, t) {
		// A key reused for another report: refuse rather than drop it, and show nothing of the
		// ticket the key first made.
		return nil, false, fmt.Errorf("%w: this Idempotency-Key was already used for a different request", ErrConflict)
	}
	if created {
		if s.Log != nil {
			// Never the phone: the number and category are enough to follow it.
			s.Log.Info("ticket created", "number", stored.Number, "category", stored.Category, "community", stored.Community, "channel", stored.Channel)
		}
		ev := events[len(events)-1]
		ev.Number = stored.Number
		s.notify(stored, ev)
	}
	return stored, created, nil
}

// sameRequest reports whether a replayed request asks for the same ticket as the stored one.
func sameRequest(stored, t *Ticket) bool {
	return stored.Topic == t.Topic && stored.Category == t.Category && stored.Community == t.Community &&
		stored.Description == t.Description && stored.Address == t.Address && stored.Phone == t.Phone
}

func (s *Service) validate(n NewTicket) (*Ticket, error) {
	t := &Ticket{
		Topic: strings.TrimSpace(n.Topic), Category: strings.TrimSpace(n.Category),
		Community: strings.TrimSpace(n.Community), Address: strings.TrimSpace(CleanText(n.Address)),
		Name: strings.TrimSpace(CleanText(n.Name)), Urgency: n.Urgency, Channel: n.Channel,
		ConversationID: n.ConversationID, Lat: n.Lat, Lng: n.Lng,
		Description: strings.TrimSpace(CleanText(n.Description)),
	}
	if t.Topic != "" {
		cat, ok := s.Dir.Topic(t.Topic)
		if !ok {
			return nil, invalid("topic", "unknown topic %q", t.Topic)
		}
		if t.Category != "" && t.Category != cat {
			return nil, invalid("category", "topic %s belongs to category %s, not %s", t.Topic, cat, t.Category)
		}
		t.Category = cat
	}
	switch {
	case t.Category == "":
		return nil, invalid("category", "give a topic or a category")
	case !s.Dir.Category(t.Category):
		return nil, invalid("category", "unknown category %q", t.Category)
	}
	if t.Community != "" && !s.Dir.Community(t.Community) {
		return nil, invalid("community", "unknown community %q", t.Community)
	}
	for field, v := range map[string]string{"description": t.Description, "address": t.Address, "name": t.Name} {
		if !utf8.ValidString(v) {
			return nil, invalid(field, "not valid UTF-8")
		}
	}
	switch n := utf8.RuneCountInString(t.Description); {
	case n == 0:
		return nil, invalid("description", "empty")
	case n > MaxDescription:
		return nil, invalid("description", "%d characters, at most %d", n, MaxDescription)
	}
	if utf8.RuneCountInString(t.Address) > 500 {
		return nil, invalid("address", "at most 500 characters")
	}
	if utf8.RuneCountInString(t.Name) > 100 {
		return nil, invalid("name", "at most 100 characters")
	}
	if (t.Lat == nil) != (t.Lng == nil) || t.Lat != nil && !(*t.Lat >= -90 && *t.Lat <= 90 && *t.Lng >= -180 && *t.Lng <= 180) {
		return nil, invalid("lat", "give both lat and lng, within range")
	}
	if n.Phone != "" || n.PhoneRequired {
		p, err := ParsePhone(n.Phone)
		if err != nil {
			return nil, invalid("phone", "want an 11-digit mobile number or a landline such as 0478-1234567")
		}
		t.Phone = p
	}
	if t.Urgency == "" {
		t.Urgency = Normal
	}
	if !t.Urgency.Valid() {
		return nil, invalid("urgency", "unknown urgency %q", t.Urgency)
	}
	if !t.Channel.Valid() {
		return nil, invalid("channel", "unknown channel %q", t.Channel)
	}
	return t, nil
}

// Get returns a ticket.
func (s *Service) Get(ctx context.Context, number string) (*Ticket, error) {
	return s.Store.Get(ctx, number)
}

// Apply takes one action on a ticket as staff see it at version (0: whatever is stored now).
// Someone else's change since that version is a conflict: exactly one of two racing changes wins.
func (s *Service) Apply(ctx context.Context, number string, version int, c Change) (*Ticket, error) {
	t, err := s.Store.Get(ctx, number)
	if err != nil {
		return nil, err
	}
	if version != 0 && version != t.Version {
		return nil, fmt.Errorf("%w: ticket %s is at version %d, you changed version %d; reload and try again", ErrConflict, number, t.Version, version)
	}
	if c.Action == ActDispatch && c.Grid != "" && !s.Dir.Grid(c.Grid) {
		return nil, invalid("grid", "unknown grid %q", c.Grid)
	}
	if c.Action == ActEscalate || c.Action == ActReopen {
		if up, ok := t.Tier.Up(); ok && c.Assignee == "" {
			c.Assignee = s.assignee(t, up)
		}
	}
	ev, err := t.Apply(c, s.now(), s.SLA)
	if err != nil {
		return nil, err
	}
	if err := s.Store.Update(ctx, t, ev); err != nil {
		return nil, err
	}
	s.notify(t, ev)
	if c.Action == ActRate && (t.Rating == Dissatisfied || t.Solved != nil && !*t.Solved) {
		// 不满意, or not solved: the work is done again, one tier up.
		return s.Apply(ctx, number, t.Version, Change{Action: ActReopen, Actor: "system", Note: "居民评价不满意或问题未解决，重办"})
	}
	return t, nil
}

func (s *Service) assignee(t *Ticket, tier Tier) string {
	if r, ok := s.Dir.Route(t.Community, t.Address); ok {
		return r.Assignee[tier]
	}
	return ""
}

// CheckDeadlines is one round of the SLA job: a dispatched ticket not signed by its deadline
// moves up one tier (to whoever answers there) and is marked urged — at the town, where there is
// nowhere higher, it is urged with a new sign deadline; a ticket past its finish deadline is
// marked overdue. Each change applies only to the version of the ticket the round
// read: if a worker signed it meanwhile, or another node already escalated it, the change is
// dropped and the next round looks again. It returns how many tickets it escalated and marked.
func (s *Service) CheckDeadlines(ctx context.Context) (escalated, overdue int, err error) {
	now := s.now()
	late, err := s.Store.Late(ctx, now)
	if err != nil {
		return 0, 0, err
	}
	for _, t := range late {
		version := t.Version
		if t.Status == Dispatched && t.SignBy.Before(now) {
			if _, ok := t.Tier.Up(); !ok {
				// At the town there is nowhere higher: it is urged, with a new sign deadline.
				up, err := s.systemChange(ctx, t.Number, version, Change{Action: ActUrge, Note: "超时未签收，催办"})
				if err != nil {
					return escalated, overdue, err
				}
				if up == nil {
					continue // someone acted first
				}
				version = up.Version
			} else {
				up, err := s.systemChange(ctx, t.Number, version, Change{Action: ActEscalate, Note: "超时未签收，升级"})
				if err != nil {
					return escalated, overdue, err
				}
				if up == nil {
					continue // someone acted first
				}
				if up, err = s.systemChange(ctx, t.Number, up.Version, Change{Action: ActUrge, Note: "超时未签收，催办"}); err != nil {
					return escalated, overdue, err
				}
				escalated++
				if up == nil {
					continue
				}
				version = up.Version
			}
		}
		if !t.Overdue && t.DueBy.Before(now) {
			marked, err := s.systemChange(ctx, t.Number, version, Change{Action: ActOverdue, Note: "超过办结时限"})
			if err != nil {
				return escalated, overdue, err
			}
			if marked != nil {
				overdue++
			}
		}
	}
	return escalated, overdue, nil
}

// systemChange applies a change as "system" to the given version of a ticket. A conflict (the
// ticket changed since) or a change the lifecycle no longer allows returns nil and no error.
func (s *Service) systemChange(ctx context.Context, number string, version int, c Change) (*Ticket, error) {
	c.Actor = "system"
	t, err := s.Apply(ctx, number, version, c)
	switch {
	case err == nil:
		return t, nil
	case errors.Is(err, ErrConflict), errors.Is(err, ErrTransition):
		return nil, nil
	}
	return nil, err
}

// WatchDeadlines runs CheckDeadlines every interval until ctx ends. Several nodes may run it: a
// change is applied only to the version it read, so two nodes never escalate a ticket twice.
func (s *Service) WatchDeadlines(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if esc, over, err := s.CheckDeadlines(ctx); err != nil {
			if ctx.Err() == nil && s.Log != nil {
				s.Log.Error("deadline check failed", "err", err)
			}
		} else if (esc > 0 || over > 0) && s.Log != nil {
			s.Log.Info("deadlines checked", "escalated", esc, "overdue", over)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
