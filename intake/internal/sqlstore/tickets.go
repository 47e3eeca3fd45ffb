package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/bayannur/hotline/intake"
)

// Tickets, and their audit trails (events).

// byDialect is f's string for each dialect, made once.
func byDialect(f func(Dialect) string) [Postgres + 1]string {
	var out [Postgres + 1]string
	for _, d := range []Dialect{SQLite, Postgres} {
		out[d] = f(d)
	}
	return out
}

var (
	ticketColumns = byDialect(func(d Dialect) string {
		return "category, topic, community, grid, tier, urgency, description, address, " +
			"lat, lng, name, phone, channel, conversation_id, assignee, status, steps, " +
			d.Time("sign_by") + ", " + d.Time("due_by") + ", extension, urged, overdue, reopened, reply, rating, solved, " +
			d.Time("created") + ", " + d.Time("updated") + ", version, " +
			"rating_note, " + d.Time("rated_at") + ", signed_on_time, resolved_on_time, " + d.Time("resolved_at") + ", ratings, access_code"
	})
	eventColumns = byDialect(func(d Dialect) string {
		return d.Time("at") + ", actor, action, from_status, to_status, note"
	})
)

// TicketColumns are the tickets columns after number, in the order of TicketArgs.
func (d Dialect) TicketColumns() string { return ticketColumns[d] }

// TicketSelect is the select list ScanTicket reads.
func (d Dialect) TicketSelect() string { return "number, " + ticketColumns[d] }

// EventColumns are the events columns after id and number, in the order of EventArgs.
func (d Dialect) EventColumns() string { return eventColumns[d] }

// TicketUpdate stores a ticket, given TicketArgs, then the number and the version it must have.
func (d Dialect) TicketUpdate() string {
	return "UPDATE tickets SET " + Assignments(ticketColumns[d]) + " WHERE number = ? AND version = ?"
}

// listOrder is List's: overdue first, then emergency, urgent, normal, then newest first (the index
// tickets_queue).
var listOrder = [Postgres + 1]string{
	SQLite:   "ORDER BY overdue DESC, urgency_rank, created DESC, number DESC",
	Postgres: "ORDER BY overdue DESC, urgency_rank, created DESC, created_ns DESC, number DESC",
}

// ListOrder is List's ORDER BY, for the stores' query plan tests.
func (d Dialect) ListOrder() string { return listOrder[d] }

// TicketArgs are t's values for TicketColumns. The phone goes in full: Phone's String and
// MarshalText mask it.
func (d Dialect) TicketArgs(t *intake.Ticket) ([]any, error) {
	steps, err := stepsJSON(t.Steps)
	if err != nil {
		return nil, err
	}
	ext, err := extensionJSON(t.Extension)
	if err != nil {
		return nil, err
	}
	ratings, err := ratingsJSON(t.Ratings)
	if err != nil {
		return nil, err
	}
	var times [6][]any
	for i, v := range []struct {
		name string
		t    time.Time
	}{
		{"sign_by", t.SignBy}, {"due_by", t.DueBy}, {"created_at", t.Created}, {"updated_at", t.Updated},
		{"rated_at", t.RatedAt}, {"resolved_at", t.ResolvedAt},
	} {
		if times[i], err = d.TimeArgs(v.name, v.t); err != nil {
			return nil, err
		}
	}
	args := []any{
		t.Category, t.Topic, t.Community, t.Grid, string(t.Tier), string(t.Urgency), t.Description, t.Address,
		t.Lat, t.Lng, t.Name, t.Phone.Full(), string(t.Channel), t.ConversationID, t.Assignee, string(t.Status), steps,
	}
	args = append(append(args, times[0]...), times[1]...)
	args = append(args, ext, t.Urged, t.Overdue, t.Reopened, t.Reply, t.Rating, t.Solved)
	args = append(append(args, times[2]...), times[3]...)
	args = append(append(args, t.Version, t.RatingNote), times[4]...)
	args = append(append(args, t.SignedOnTime, t.ResolvedOnTime), times[5]...)
	return append(args, ratings, t.AccessCode), nil
}

// ScanTicket reads a row of TicketSelect.
func (d Dialect) ScanTicket(r Row) (*intake.Ticket, error) {
	var (
		t                   intake.Ticket
		phone               string
		steps, ext, ratings []byte
		w                   [6]when // sign_by, due_by, created, updated, rated_at, resolved_at
	)
	dest := []any{&t.Number,
		&t.Category, &t.Topic, &t.Community, &t.Grid, &t.Tier, &t.Urgency, &t.Description, &t.Address,
		&t.Lat, &t.Lng, &t.Name, &phone, &t.Channel, &t.ConversationID, &t.Assignee, &t.Status, &steps}
	dest = append(append(dest, d.dest(&w[0])...), d.dest(&w[1])...)
	dest = append(dest, &ext, &t.Urged, &t.Overdue, &t.Reopened, &t.Reply, &t.Rating, &t.Solved)
	dest = append(append(dest, d.dest(&w[2])...), d.dest(&w[3])...)
	dest = append(append(dest, &t.Version, &t.RatingNote), d.dest(&w[4])...)
	dest = append(append(dest, &t.SignedOnTime, &t.ResolvedOnTime), d.dest(&w[5])...)
	if err := r.Scan(append(dest, &ratings, &t.AccessCode)...); err != nil {
		return nil, err
	}
	t.Phone = intake.Phone(phone)
	t.SignBy, t.DueBy, t.Created, t.Updated = w[0].time(), w[1].time(), w[2].time(), w[3].time()
	t.RatedAt, t.ResolvedAt = w[4].time(), w[5].time()
	if steps != nil {
		if err := json.Unmarshal(steps, &t.Steps); err != nil {
			return nil, fmt.Errorf("ticket %s: steps: %w", t.Number, err)
		}
	}
	if ext != nil {
		t.Extension = new(intake.Extension)
		if err := json.Unmarshal(ext, t.Extension); err != nil {
			return nil, fmt.Errorf("ticket %s: extension: %w", t.Number, err)
		}
	}
	if ratings != nil {
		if err := json.Unmarshal(ratings, &t.Ratings); err != nil {
			return nil, fmt.Errorf("ticket %s: ratings: %w", t.Number, err)
		}
	}
	return &t, nil
}

// stepsJSON, extensionJSON and ratingsJSON are the JSON columns, with times in UTC as every time
// the store gives back, or nil (NULL) for nil.
func stepsJSON(steps map[intake.Status]time.Time) (any, error) {
	if steps == nil {
		return nil, nil
	}
	utc := make(map[intake.Status]time.Time, len(steps))
	for k, v := range steps {
		utc[k] = v.UTC()
	}
	return jsonArg("steps", utc)
}

func extensionJSON(e *intake.Extension) (any, error) {
	if e == nil {
		return nil, nil
	}
	utc := *e
	utc.Until, utc.Requested = e.Until.UTC(), e.Requested.UTC()
	return jsonArg("extension", utc)
}

func ratingsJSON(rs []intake.RatingRecord) (any, error) {
	if len(rs) == 0 {
		return nil, nil
	}
	utc := make([]intake.RatingRecord, len(rs))
	for i, r := range rs {
		r.At = r.At.UTC()
		utc[i] = r
	}
	return jsonArg("ratings", utc)
}

// jsonArg is v as the text of a JSON column (SQLite's TEXT, PostgreSQL's jsonb); v that does not
// encode is intake.ErrInvalid.
func jsonArg(name string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", intake.ErrInvalid, name, err)
	}
	return string(b), nil
}

// EventArgs are ev's values for number and EventColumns.
func (d Dialect) EventArgs(ev intake.Event) ([]any, error) {
	at, err := d.TimeArgs("event time", ev.At)
	if err != nil {
		return nil, err
	}
	args := append([]any{ev.Number}, at...)
	return append(args, ev.Actor, string(ev.Action), string(ev.From), string(ev.To), ev.Note), nil
}

// NewTicket checks Create's ticket and returns the row to store, Created now when zero and
// Version 1 when 0, with its TicketArgs.
func (d Dialect) NewTicket(t *intake.Ticket) (intake.Ticket, []any, error) {
	if t == nil {
		return intake.Ticket{}, nil, fmt.Errorf("%w: no ticket", intake.ErrInvalid)
	}
	row := *t
	if row.Created.IsZero() {
		row.Created = time.Now()
	}
	if row.Version == 0 {
		row.Version = 1
	}
	args, err := d.TicketArgs(&row)
	return row, args, err
}

// Numbered gives Create's caller what it stored: t's number, Created and Version as in row, and
// each event's number and id.
func Numbered(t *intake.Ticket, row intake.Ticket, number string, events []intake.Event, ids []int64) {
	t.Number, t.Created, t.Version = number, row.Created, row.Version
	for i := range events {
		events[i].Number, events[i].ID = number, ids[i]
	}
}

// DayOf is the Beijing date of t as the prefix of a ticket number.
func DayOf(t time.Time) string { return t.In(intake.Beijing).Format("20060102") }

// UpdateArgs checks Update's ticket and event, and returns the arguments of TicketUpdate and
// EventArgs.
func (d Dialect) UpdateArgs(t *intake.Ticket, ev intake.Event) (ticket, event []any, err error) {
	if t == nil || t.Number == "" {
		return nil, nil, fmt.Errorf("%w: update needs a ticket with a number", intake.ErrInvalid)
	}
	if ev.Number == "" {
		ev.Number = t.Number
	}
	if ev.Number != t.Number {
		return nil, nil, fmt.Errorf("%w: event of ticket %s given with ticket %s", intake.ErrInvalid, ev.Number, t.Number)
	}
	if ticket, err = d.TicketArgs(t); err != nil {
		return nil, nil, err
	}
	if event, err = d.EventArgs(ev); err != nil {
		return nil, nil, err
	}
	return append(ticket, t.Number, t.Version-1), event, nil
}

// NotUpdated is why TicketUpdate changed no row: intake.ErrNotFound when there is no such
// ticket, else intake.ErrConflict.
func (db DB) NotUpdated(ctx context.Context, t *intake.Ticket) error {
	var n int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM tickets WHERE number = ?", t.Number).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: ticket %s", intake.ErrNotFound, t.Number)
	}
	return fmt.Errorf("%w: ticket %s was changed meanwhile (it is no longer version %d)", intake.ErrConflict, t.Number, t.Version-1)
}

// Ticket returns a ticket by number (intake.ErrNotFound).
func (db DB) Ticket(ctx context.Context, number string) (*intake.Ticket, error) {
	t, err := db.ScanTicket(db.QueryRow(ctx, "SELECT "+db.TicketSelect()+" FROM tickets WHERE number = ?", number))
	if err != nil && db.conn.Kind(err) == NoRows {
		return nil, fmt.Errorf("%w: ticket %s", intake.ErrNotFound, number)
	}
	return t, err
}

// Tickets runs query, which selects TicketSelect.
func (db DB) Tickets(ctx context.Context, query string, args ...any) ([]*intake.Ticket, error) {
	return All(ctx, db, db.ScanTicket, query, args...)
}

// Get returns a ticket by number.
func (s Shared) Get(ctx context.Context, number string) (*intake.Ticket, error) {
	t, err := s.Read.Ticket(ctx, number)
	if err != nil {
		return nil, s.Wrap("get", err)
	}
	return t, nil
}

// Events returns a ticket's audit trail in the order it was written, oldest first, or
// intake.ErrNotFound when there is no such ticket.
func (s Shared) Events(ctx context.Context, number string) ([]intake.Event, error) {
	db := s.Read
	evs, err := All(ctx, db, db.scanEvent,
		"SELECT id, number, "+db.EventColumns()+" FROM events WHERE number = ? ORDER BY id", number)
	if err != nil {
		return nil, s.Wrap("events", err)
	}
	if len(evs) == 0 {
		_, err := s.Get(ctx, number)
		return nil, err
	}
	return evs, nil
}

func (d Dialect) scanEvent(r Row) (intake.Event, error) {
	var ev intake.Event
	var at when
	dest := append([]any{&ev.ID, &ev.Number}, d.dest(&at)...)
	if err := r.Scan(append(dest, &ev.Actor, &ev.Action, &ev.From, &ev.To, &ev.Note)...); err != nil {
		return ev, err
	}
	ev.At = at.time()
	return ev, nil
}

// List returns the tickets matching f.
func (s Shared) List(ctx context.Context, f intake.Filter) ([]*intake.Ticket, error) {
	db := s.Read
	var where []string
	var args []any
	eq := func(col, v string) {
		if v != "" {
			where = append(where, col+" = ?")
			args = append(args, v)
		}
	}
	eq("status", string(f.Status))
	eq("tier", string(f.Tier))
	eq("community", f.Community)
	eq("category", f.Category)
	eq("grid", f.Grid)
	eq("conversation_id", f.Conversation)
	if f.Overdue != nil {
		where = append(where, "overdue = ?")
		args = append(args, *f.Overdue)
	}
	if text := strings.TrimSpace(f.Text); text != "" {
		like := "LIKE" // SQLite's ignores the case of ASCII letters, as PostgreSQL's ILIKE does
		if db.Dialect == Postgres {
			like = "ILIKE"
		}
		pat := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(text) + "%"
		where = append(where, fmt.Sprintf(`(number %[1]s ? ESCAPE '\' OR description %[1]s ? ESCAPE '\' OR address %[1]s ? ESCAPE '\')`, like))
		args = append(args, pat, pat, pat)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	q := "SELECT " + db.TicketSelect() + " FROM tickets"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " " + db.ListOrder() + " LIMIT ? OFFSET ?"
	ts, err := db.Tickets(ctx, q, append(args, limit, max(f.Offset, 0))...)
	if err != nil {
		return nil, s.Wrap("list", err)
	}
	return ts, nil
}

// TicketsCreated returns every ticket created in [from, to), oldest first.
func (s Shared) TicketsCreated(ctx context.Context, from, to time.Time) ([]*intake.Ticket, error) {
	db := s.Read
	ts, err := db.Tickets(ctx, "SELECT "+db.TicketSelect()+" FROM tickets WHERE "+
		db.Compare("created", ">=")+" AND "+db.Compare("created", "<")+" ORDER BY "+db.Time("created")+", number",
		append(db.Bound(from), db.Bound(to)...)...)
	if err != nil {
		return nil, s.Wrap("tickets created", err)
	}
	return ts, nil
}

// OverdueCounts counts the open tickets marked overdue, by category and tier.
func (s Shared) OverdueCounts(ctx context.Context) ([]intake.OverdueCount, error) {
	cs, err := All(ctx, s.Read, func(r Row) (intake.OverdueCount, error) {
		var c intake.OverdueCount
		err := r.Scan(&c.Category, &c.Tier, &c.N)
		return c, err
	}, `SELECT category, tier, count(*) FROM tickets
		WHERE overdue AND status IN ('received', 'dispatched', 'signed', 'in_progress', 'returned')
		GROUP BY category, tier ORDER BY category, tier`)
	if err != nil {
		return nil, s.Wrap("overdue counts", err)
	}
	return cs, nil
}
