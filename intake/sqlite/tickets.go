package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/bayannur/hotline/intake"
)

// ticketColumns are the tickets columns after number, in the order of ticketArgs and scanTicket.
var ticketColumns = []string{
	"category", "topic", "community", "grid", "tier", "urgency", "description", "address",
	"lat", "lng", "name", "phone", "channel", "conversation_id", "assignee", "status", "steps",
	"sign_by", "due_by", "extension", "urged", "overdue", "reopened", "reply", "rating", "solved",
	"created", "updated", "version",
	"rating_note", "rated_at", "signed_on_time", "resolved_on_time", "resolved_at", "ratings",
}

var (
	ticketSetColumns = strings.Join(ticketColumns, ", ")
	ticketSelect     = "number, " + ticketSetColumns
	ticketUpdateSet  = strings.Join(ticketColumns, " = ?, ") + " = ?"
)

// ticketArgs are t's values for ticketColumns. The phone goes in full: Phone's String and
// MarshalText mask it.
func ticketArgs(t *intake.Ticket) ([]any, error) {
	steps, err := stepsJSON(t.Steps)
	if err != nil {
		return nil, err
	}
	ext, err := extensionJSON(t.Extension)
	if err != nil {
		return nil, err
	}
	var times [4]any
	for i, v := range []struct {
		name string
		t    time.Time
	}{{"sign_by", t.SignBy}, {"due_by", t.DueBy}, {"created_at", t.Created}, {"updated_at", t.Updated}} {
		if times[i], err = nanos(v.name, v.t); err != nil {
			return nil, err
		}
	}
	boolOrNull := func(b *bool) any {
		if b == nil {
			return nil
		}
		return *b
	}
	ratedAt, err := nanos("rated_at", t.RatedAt)
	if err != nil {
		return nil, err
	}
	resolvedAt, err := nanos("resolved_at", t.ResolvedAt)
	if err != nil {
		return nil, err
	}
	var ratings any
	if len(t.Ratings) > 0 {
		utc := make([]intake.RatingRecord, len(t.Ratings))
		for i, r := range t.Ratings {
			r.At = r.At.UTC() // as every time the store gives back
			utc[i] = r
		}
		b, err := json.Marshal(utc)
		if err != nil {
			return nil, err
		}
		ratings = string(b)
	}
	return []any{
		t.Category, t.Topic, t.Community, t.Grid, string(t.Tier), string(t.Urgency), t.Description, t.Address,
		floatOrNull(t.Lat), floatOrNull(t.Lng), t.Name, t.Phone.Full(), string(t.Channel), t.ConversationID,
		t.Assignee, string(t.Status), steps,
		times[0], times[1], ext, t.Urged, t.Overdue, t.Reopened, t.Reply, t.Rating, boolOrNull(t.Solved),
		times[2], times[3], t.Version,
		t.RatingNote, ratedAt, boolOrNull(t.SignedOnTime), boolOrNull(t.ResolvedOnTime), resolvedAt, ratings,
	}, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanTicket(r scanner) (*intake.Ticket, error) {
	var (
		t                               intake.Ticket
		lat, lng                        sql.NullFloat64
		steps, ext, ratings             sql.NullString
		signBy, dueBy, created, updated sql.NullInt64
		ratedAt, resolvedAt             sql.NullInt64
		solved, signedOK, resolvedOK    sql.NullBool
	)
	if err := r.Scan(&t.Number,
		&t.Category, &t.Topic, &t.Community, &t.Grid, &t.Tier, &t.Urgency, &t.Description, &t.Address,
		&lat, &lng, &t.Name, &t.Phone, &t.Channel, &t.ConversationID, &t.Assignee, &t.Status, &steps,
		&signBy, &dueBy, &ext, &t.Urged, &t.Overdue, &t.Reopened, &t.Reply, &t.Rating, &solved,
		&created, &updated, &t.Version,
		&t.RatingNote, &ratedAt, &signedOK, &resolvedOK, &resolvedAt, &ratings); err != nil {
		return nil, err
	}
	if lat.Valid {
		t.Lat = &lat.Float64
	}
	if lng.Valid {
		t.Lng = &lng.Float64
	}
	boolPtr := func(b sql.NullBool) *bool {
		if !b.Valid {
			return nil
		}
		return &b.Bool
	}
	t.Solved, t.SignedOnTime, t.ResolvedOnTime = boolPtr(solved), boolPtr(signedOK), boolPtr(resolvedOK)
	t.RatedAt, t.ResolvedAt = fromNanos(ratedAt), fromNanos(resolvedAt)
	if ratings.Valid {
		if err := json.Unmarshal([]byte(ratings.String), &t.Ratings); err != nil {
			return nil, fmt.Errorf("ticket %s: ratings: %w", t.Number, err)
		}
	}
	t.SignBy, t.DueBy, t.Created, t.Updated = fromNanos(signBy), fromNanos(dueBy), fromNanos(created), fromNanos(updated)
	if steps.Valid {
		if err := json.Unmarshal([]byte(steps.String), &t.Steps); err != nil {
			return nil, fmt.Errorf("ticket %s: steps: %w", t.Number, err)
		}
	}
	if ext.Valid {
		t.Extension = new(intake.Extension)
		if err := json.Unmarshal([]byte(ext.String), t.Extension); err != nil {
			return nil, fmt.Errorf("ticket %s: extension: %w", t.Number, err)
		}
	}
	return &t, nil
}

func floatOrNull(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

var (
	minNanos = time.Unix(0, math.MinInt64)
	maxNanos = time.Unix(0, math.MaxInt64)
)

// nanos is t in unix nanoseconds, or NULL for the zero time.
func nanos(name string, t time.Time) (any, error) {
	if t.IsZero() {
		return nil, nil
	}
	if t.Before(minNanos) || t.After(maxNanos) {
		return nil, fmt.Errorf("%w: %s %s is outside the years 1678 to 2262", intake.ErrInvalid, name, t.Format(time.RFC3339))
	}
	return t.UnixNano(), nil
}

func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

func stepsJSON(steps map[intake.Status]time.Time) (any, error) {
	if steps == nil {
		return nil, nil
	}
	utc := make(map[intake.Status]time.Time, len(steps))
	for k, v := range steps {
		utc[k] = v.UTC()
	}
	b, err := json.Marshal(utc)
	if err != nil {
		return nil, fmt.Errorf("%w: steps: %v", intake.ErrInvalid, err)
	}
	return string(b), nil
}

func extensionJSON(e *intake.Extension) (any, error) {
	if e == nil {
		return nil, nil
	}
	utc := *e
	utc.Until, utc.Requested = e.Until.UTC(), e.Requested.UTC()
	b, err := json.Marshal(utc)
	if err != nil {
		return nil, fmt.Errorf("%w: extension: %v", intake.ErrInvalid, err)
	}
	return string(b), nil
}

// dayOf is the Beijing date of t as the prefix of a ticket number.
func dayOf(t time.Time) string { return t.In(intake.Beijing).Format("20060102") }

// Create numbers t by the Beijing date of t.Created (time.Now() when zero) and a counter of that
// day, and stores it with events and idemKey in one transaction. On success t and events are
// updated: t.Number, t.Created, t.Version (1 when it was 0), and each event's Number and ID. When
// idemKey was used before, nothing is written, t is left alone, and the stored ticket is returned
// with created false.
func (s *Store) Create(ctx context.Context, t *intake.Ticket, events []intake.Event, idemKey string) (*intake.Ticket, bool, error) {
	if t == nil {
		return nil, false, fmt.Errorf("%w: no ticket", intake.ErrInvalid)
	}
	row := *t
	if row.Created.IsZero() {
		row.Created = time.Now()
	}
	if row.Version == 0 {
		row.Version = 1
	}
	args, err := ticketArgs(&row)
	if err != nil {
		return nil, false, err
	}
	args = append([]any{nil}, args...) // args[0]: the number, once known
	evArgs := make([][]any, len(events))
	for i, ev := range events {
		if evArgs[i], err = eventArgs(ev); err != nil {
			return nil, false, err
		}
	}
	day := dayOf(row.Created)
	now := time.Now().UnixNano()

	var (
		number   string
		ids      []int64
		existing *intake.Ticket
	)
	err = s.write(ctx, func(w *writer) error {
		if idemKey != "" {
			var n string
			err := w.idemGet.QueryRow(idemKey).Scan(&n)
			if err == nil {
				existing, err = scanTicket(w.ticketGet.QueryRow(n))
				return err
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		var c int64
		if err := w.counterNext.QueryRow(day).Scan(&c); err != nil {
			return fmt.Errorf("day counter: %w", err)
		}
		number = fmt.Sprintf("%s-%04d", day, c)
		args[0] = number
		if _, err := w.ticketInsert.Exec(args...); err != nil {
			return fmt.Errorf("ticket: %w", err)
		}
		ids = make([]int64, len(evArgs))
		for i, a := range evArgs {
			a[0] = number
			res, err := w.eventInsert.Exec(a...)
			if err != nil {
				return fmt.Errorf("event: %w", err)
			}
			if ids[i], err = res.LastInsertId(); err != nil {
				return err
			}
		}
		if idemKey != "" {
			if _, err := w.idemInsert.Exec(idemKey, number, now); err != nil {
				return fmt.Errorf("idempotency key: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, wrap("create", err)
	}
	if existing != nil {
		return existing, false, nil
	}
	t.Number, t.Created, t.Version = number, row.Created, row.Version
	for i := range events {
		events[i].Number, events[i].ID = number, ids[i]
	}
	return t, true, nil
}

// eventArgs are ev's values for the events insert; [0] is the number.
func eventArgs(ev intake.Event) ([]any, error) {
	at, err := nanos("event time", ev.At)
	if err != nil {
		return nil, err
	}
	return []any{ev.Number, at, ev.Actor, string(ev.Action), string(ev.From), string(ev.To), ev.Note}, nil
}

// wrap adds the operation to a database error; the domain errors (intake.ErrNotFound…) and ctx's
// pass through unchanged, for their messages are meant for the caller.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	for _, e := range []error{intake.ErrInvalid, intake.ErrNotFound, intake.ErrConflict, context.Canceled, context.DeadlineExceeded, ErrClosed} {
		if errors.Is(err, e) {
			return err
		}
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// Update stores t and ev provided the stored version is t.Version-1.
func (s *Store) Update(ctx context.Context, t *intake.Ticket, ev intake.Event) error {
	if t == nil || t.Number == "" {
		return fmt.Errorf("%w: update needs a ticket with a number", intake.ErrInvalid)
	}
	if ev.Number == "" {
		ev.Number = t.Number
	}
	if ev.Number != t.Number {
		return fmt.Errorf("%w: event of ticket %s given with ticket %s", intake.ErrInvalid, ev.Number, t.Number)
	}
	args, err := ticketArgs(t)
	if err != nil {
		return err
	}
	args = append(args, t.Number, t.Version-1)
	evArgs, err := eventArgs(ev)
	if err != nil {
		return err
	}
	err = s.write(ctx, func(w *writer) error {
		res, err := w.ticketUpdate.Exec(args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			var one int
			err := w.ticketExists.QueryRow(t.Number).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: ticket %s", intake.ErrNotFound, t.Number)
			}
			if err != nil {
				return err
			}
			return fmt.Errorf("%w: ticket %s was changed meanwhile (it is no longer version %d)", intake.ErrConflict, t.Number, t.Version-1)
		}
		_, err = w.eventInsert.Exec(evArgs...)
		return err
	})
	return wrap("update", err)
}

// Get returns a ticket by number.
func (s *Store) Get(ctx context.Context, number string) (*intake.Ticket, error) {
	t, err := scanTicket(s.rdb.QueryRowContext(ctx, "SELECT "+ticketSelect+" FROM tickets WHERE number = ?", number))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: ticket %s", intake.ErrNotFound, number)
	}
	if err != nil {
		return nil, wrap("get", err)
	}
	return t, nil
}

// Events returns a ticket's audit trail in the order it was written, oldest first, or
// ErrNotFound when there is no such ticket.
func (s *Store) Events(ctx context.Context, number string) ([]intake.Event, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, number, at, actor, action, from_status, to_status, note
		FROM events WHERE number = ? ORDER BY id`, number)
	if err != nil {
		return nil, wrap("events", err)
	}
	defer rows.Close()
	var out []intake.Event
	for rows.Next() {
		var ev intake.Event
		var at sql.NullInt64
		if err := rows.Scan(&ev.ID, &ev.Number, &at, &ev.Actor, &ev.Action, &ev.From, &ev.To, &ev.Note); err != nil {
			return nil, wrap("events", err)
		}
		ev.At = fromNanos(at)
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("events", err)
	}
	if len(out) == 0 {
		if _, err := s.Get(ctx, number); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// List order: overdue first, then emergency, urgent, normal, then newest first.
const listOrder = " ORDER BY overdue DESC, urgency_rank, created DESC, number DESC"

// List returns the tickets matching f.
func (s *Store) List(ctx context.Context, f intake.Filter) ([]*intake.Ticket, error) {
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
		pat := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(text) + "%"
		where = append(where, `(number LIKE ? ESCAPE '\' OR description LIKE ? ESCAPE '\' OR address LIKE ? ESCAPE '\')`)
		args = append(args, pat, pat, pat)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	q := "SELECT " + ticketSelect + " FROM tickets"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += listOrder + " LIMIT ? OFFSET ?"
	args = append(args, limit, max(f.Offset, 0))
	return s.queryTickets(ctx, "list", q, args...)
}

// lateQuery reads the partial indexes tickets_sign_late and tickets_due_late, whose WHERE
// clauses it repeats. INDEXED BY makes it fail loudly, rather than scan, should they ever part;
// without it SQLite prefers tickets_status on a database without statistics.
var lateQuery = "SELECT " + ticketSelect + ` FROM tickets WHERE number IN (
		SELECT number FROM tickets INDEXED BY tickets_sign_late WHERE status = 'dispatched' AND sign_by < ?1
		UNION
		SELECT number FROM tickets INDEXED BY tickets_due_late
		WHERE overdue = 0 AND status IN ('received', 'dispatched', 'signed', 'in_progress', 'returned') AND due_by < ?1
	) ORDER BY created, number`

// Late returns the open tickets that are dispatched and past their sign deadline, or not yet
// marked overdue and past their finish deadline, oldest first.
func (s *Store) Late(ctx context.Context, now time.Time) ([]*intake.Ticket, error) {
	n, err := nanos("now", now)
	if err != nil {
		return nil, err
	}
	return s.queryTickets(ctx, "late", lateQuery, n)
}

func (s *Store) queryTickets(ctx context.Context, op, q string, args ...any) ([]*intake.Ticket, error) {
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	out := []*intake.Ticket{}
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(op, err)
	}
	return out, nil
}
