package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/jackc/pgx/v5"
)

// ticketColumns are the tickets columns after number, in the order of ticketArgs and scanTicket.
var ticketColumns = []string{
	"category", "topic", "community", "grid", "tier", "urgency", "description", "address",
	"lat", "lng", "name", "phone", "channel", "conversation_id", "assignee", "status", "steps",
	"sign_by", "sign_by_ns", "due_by", "due_by_ns", "extension", "urged", "overdue", "reopened",
	"reply", "rating", "solved", "created", "created_ns", "updated", "updated_ns", "version",
	"rating_note", "rated_at", "rated_at_ns", "signed_on_time", "resolved_on_time",
	"resolved_at", "resolved_at_ns", "ratings",
}

var (
	ticketSelect = "number, " + strings.Join(ticketColumns, ", ")
	// ticketUpdate stores the ticket ($1…) and its event ($n+3…) if the ticket $n+1 is at version
	// $n+2, in one statement: it inserts one event or none.
	ticketUpdate = func() string {
		n := len(ticketColumns)
		var set []string
		for i, c := range ticketColumns {
			set = append(set, fmt.Sprintf("%s = $%d", c, i+1))
		}
		return fmt.Sprintf(`WITH changed AS (
			UPDATE tickets SET %s WHERE number = $%d AND version = $%d RETURNING number)
			INSERT INTO events (number, at, at_ns, actor, action, from_status, to_status, note)
			SELECT number, %s FROM changed`, strings.Join(set, ", "), n+1, n+2, params(n+3, 7))
	}()
)

// params is "$first, $first+1, …", n of them.
func params(first, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = "$" + strconv.Itoa(first+i)
	}
	return strings.Join(ps, ", ")
}

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
	ratings, err := ratingsJSON(t.Ratings)
	if err != nil {
		return nil, err
	}
	var st [6]stamp
	for i, v := range []struct {
		name string
		t    time.Time
	}{
		{"sign_by", t.SignBy}, {"due_by", t.DueBy}, {"created_at", t.Created}, {"updated_at", t.Updated},
		{"rated_at", t.RatedAt}, {"resolved_at", t.ResolvedAt},
	} {
		if st[i], err = toStamp(v.name, v.t); err != nil {
			return nil, err
		}
	}
	args := []any{
		t.Category, t.Topic, t.Community, t.Grid, string(t.Tier), string(t.Urgency), t.Description, t.Address,
		t.Lat, t.Lng, t.Name, t.Phone.Full(), string(t.Channel), t.ConversationID, t.Assignee, string(t.Status), steps,
	}
	args = append(append(args, st[0].args()...), st[1].args()...)
	args = append(args, ext, t.Urged, t.Overdue, t.Reopened, t.Reply, t.Rating, t.Solved)
	args = append(append(args, st[2].args()...), st[3].args()...)
	args = append(append(args, t.Version, t.RatingNote), st[4].args()...)
	args = append(append(args, t.SignedOnTime, t.ResolvedOnTime), st[5].args()...)
	return append(args, ratings), nil
}

func scanTicket(r pgx.Row) (*intake.Ticket, error) {
	var (
		t                   intake.Ticket
		phone               string
		steps, ext, ratings []byte
		st                  [6]stamp // sign_by, due_by, created, updated, rated_at, resolved_at
	)
	dest := []any{&t.Number,
		&t.Category, &t.Topic, &t.Community, &t.Grid, &t.Tier, &t.Urgency, &t.Description, &t.Address,
		&t.Lat, &t.Lng, &t.Name, &phone, &t.Channel, &t.ConversationID, &t.Assignee, &t.Status, &steps}
	dest = append(append(dest, st[0].dest()...), st[1].dest()...)
	dest = append(dest, &ext, &t.Urged, &t.Overdue, &t.Reopened, &t.Reply, &t.Rating, &t.Solved)
	dest = append(append(dest, st[2].dest()...), st[3].dest()...)
	dest = append(append(dest, &t.Version, &t.RatingNote), st[4].dest()...)
	dest = append(append(dest, &t.SignedOnTime, &t.ResolvedOnTime), st[5].dest()...)
	if err := r.Scan(append(dest, &ratings)...); err != nil {
		return nil, err
	}
	t.Phone = intake.Phone(phone)
	t.SignBy, t.DueBy, t.Created, t.Updated = st[0].time(), st[1].time(), st[2].time(), st[3].time()
	t.RatedAt, t.ResolvedAt = st[4].time(), st[5].time()
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

// jsonArg is v as a json or jsonb argument.
func jsonArg(name string, v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", intake.ErrInvalid, name, err)
	}
	return string(b), nil
}

// dayOf is the Beijing date of t as the prefix of a ticket number.
func dayOf(t time.Time) string { return t.In(intake.Beijing).Format("20060102") }

// createTicket numbers and stores a ticket, its events and its idempotency key in one statement
// (one transaction): $1 the Beijing day, $2 the key (empty for none), $3… the ticket's columns, then
// the events' columns as arrays. The day's counter row is the first thing it locks and stays
// locked until the commit, so that a number is given once, and only to a ticket that is stored:
// the numbers of a day have no gaps. It returns no row when the key is already stored, and fails
// on idempotency_pkey when a Create with the same key committed meanwhile.
var createTicket = func() string {
	n := len(ticketColumns)
	return fmt.Sprintf(`WITH counter AS (
			INSERT INTO day_counters AS d (day, last)
			SELECT $1::text, 1 WHERE NOT EXISTS (SELECT 1 FROM idempotency WHERE key = $2::text)
			ON CONFLICT (day) DO UPDATE SET last = d.last + 1
			RETURNING $1::text || '-' || lpad(last::text, greatest(4, length(last::text)), '0') AS number
		), ticket AS (
			INSERT INTO tickets (%s) SELECT number, %s FROM counter RETURNING number
		), event AS (
			INSERT INTO events (number, at, at_ns, actor, action, from_status, to_status, note)
			SELECT ticket.number, e.at, e.at_ns, e.actor, e.action, e.from_status, e.to_status, e.note
			FROM ticket, unnest($%d::timestamptz[], $%d::smallint[], $%d::text[], $%d::text[], $%d::text[], $%d::text[], $%d::text[])
				WITH ORDINALITY AS e (at, at_ns, actor, action, from_status, to_status, note, i)
			ORDER BY e.i
			RETURNING id
		), key AS (
			INSERT INTO idempotency (key, number) SELECT $2::text, number FROM ticket WHERE $2::text <> ''
		)
		SELECT number, ARRAY(SELECT id FROM event ORDER BY id) FROM ticket`,
		ticketSelect, params(3, n), n+3, n+4, n+5, n+6, n+7, n+8, n+9)
}()

// Create numbers t by the Beijing date of t.Created (time.Now() when zero) and a counter of that
// day, and stores it with events and idemKey in one transaction. On success t and events are
// updated: t.Number, t.Created, t.Version (1 when it was 0), and each event's Number and ID. When
// idemKey was used before, nothing is written, t is left alone, and the stored ticket is returned
// with created false; of two Creates with one key at once, on one node or two, one stores its
// ticket and the other returns it.
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
	at, atNs := make([]*time.Time, len(events)), make([]int16, len(events))
	var text [5][]string // actor, action, from_status, to_status, note
	for i := range text {
		text[i] = make([]string, len(events))
	}
	for i, ev := range events {
		st, err := toStamp("event time", ev.At)
		if err != nil {
			return nil, false, err
		}
		at[i], atNs[i] = st.at, st.ns
		for j, v := range []string{ev.Actor, string(ev.Action), string(ev.From), string(ev.To), ev.Note} {
			text[j][i] = v
		}
	}
	args = append(append([]any{dayOf(row.Created), idemKey}, args...), at, atNs, text[0], text[1], text[2], text[3], text[4])

	var number string
	var ids []int64
	err = s.pool.QueryRow(ctx, createTicket, args...).Scan(&number, &ids)
	if idemKey != "" && (errors.Is(err, pgx.ErrNoRows) || constraint(err) == "idempotency_pkey") {
		existing, err := scanTicket(s.pool.QueryRow(ctx, "SELECT "+ticketSelect+
			" FROM tickets WHERE number = (SELECT number FROM idempotency WHERE key = $1)", idemKey))
		if err != nil {
			return nil, false, wrap("create", err)
		}
		return existing, false, nil
	}
	if err != nil {
		return nil, false, wrap("create", err)
	}
	if len(ids) != len(events) {
		return nil, false, fmt.Errorf("postgres: create: %d event ids for %d events", len(ids), len(events))
	}
	t.Number, t.Created, t.Version = number, row.Created, row.Version
	for i := range events {
		events[i].Number, events[i].ID = number, ids[i]
	}
	return t, true, nil
}

// eventArgs are ev's values for the events columns after number: at, at_ns, actor, action,
// from_status, to_status, note.
func eventArgs(ev intake.Event) ([]any, error) {
	at, err := toStamp("event time", ev.At)
	if err != nil {
		return nil, err
	}
	return append(at.args(), ev.Actor, string(ev.Action), string(ev.From), string(ev.To), ev.Note), nil
}

// Update stores t and ev provided the stored version is t.Version-1, in one statement.
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
	evArgs, err := eventArgs(ev)
	if err != nil {
		return err
	}
	args = append(append(args, t.Number, t.Version-1), evArgs...)
	ct, err := s.pool.Exec(ctx, ticketUpdate, args...)
	if err != nil {
		return wrap("update", err)
	}
	if ct.RowsAffected() == 1 {
		return nil
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM tickets WHERE number = $1)", t.Number).Scan(&exists); err != nil {
		return wrap("update", err)
	}
	if !exists {
		return fmt.Errorf("%w: ticket %s", intake.ErrNotFound, t.Number)
	}
	return fmt.Errorf("%w: ticket %s was changed meanwhile (it is no longer version %d)", intake.ErrConflict, t.Number, t.Version-1)
}

// Get returns a ticket by number.
func (s *Store) Get(ctx context.Context, number string) (*intake.Ticket, error) {
	t, err := scanTicket(s.pool.QueryRow(ctx, "SELECT "+ticketSelect+" FROM tickets WHERE number = $1", number))
	if errors.Is(err, pgx.ErrNoRows) {
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
	rows, err := s.pool.Query(ctx, `SELECT id, number, at, at_ns, actor, action, from_status, to_status, note
		FROM events WHERE number = $1 ORDER BY id`, number)
	if err != nil {
		return nil, wrap("events", err)
	}
	defer rows.Close()
	var out []intake.Event
	for rows.Next() {
		var ev intake.Event
		var at stamp
		if err := rows.Scan(&ev.ID, &ev.Number, &at.at, &at.ns, &ev.Actor, &ev.Action, &ev.From, &ev.To, &ev.Note); err != nil {
			return nil, wrap("events", err)
		}
		ev.At = at.time()
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

// List order: overdue first, then emergency, urgent, normal, then newest first (tickets_queue).
const listOrder = " ORDER BY overdue DESC, urgency_rank, created DESC, created_ns DESC, number DESC"

// List returns the tickets matching f.
func (s *Store) List(ctx context.Context, f intake.Filter) ([]*intake.Ticket, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	eq := func(col, v string) {
		if v != "" {
			where = append(where, col+" = "+arg(v))
		}
	}
	eq("status", string(f.Status))
	eq("tier", string(f.Tier))
	eq("community", f.Community)
	eq("category", f.Category)
	eq("grid", f.Grid)
	eq("conversation_id", f.Conversation)
	if f.Overdue != nil {
		where = append(where, "overdue = "+arg(*f.Overdue))
	}
	if text := strings.TrimSpace(f.Text); text != "" {
		// ILIKE: SQLite's LIKE ignores the case of ASCII letters.
		p := arg("%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(text) + "%")
		where = append(where, fmt.Sprintf(`(number ILIKE %[1]s ESCAPE '\' OR description ILIKE %[1]s ESCAPE '\' OR address ILIKE %[1]s ESCAPE '\')`, p))
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
	q += listOrder + " LIMIT " + arg(limit) + " OFFSET " + arg(max(f.Offset, 0))
	return s.queryTickets(ctx, "list", q, args...)
}

// lateQuery repeats the WHERE clauses of the partial indexes tickets_sign_late and
// tickets_due_late, so that the planner can read them.
var lateQuery = "SELECT " + ticketSelect + ` FROM tickets
	WHERE (status = 'dispatched' AND (sign_by, sign_by_ns) < ($1, $2))
		OR (NOT overdue AND status IN ('received', 'dispatched', 'signed', 'in_progress', 'returned')
			AND (due_by, due_by_ns) < ($1, $2))
	ORDER BY created, created_ns, number`

// Late returns the open tickets that are dispatched and past their sign deadline, or not yet
// marked overdue and past their finish deadline, oldest first.
func (s *Store) Late(ctx context.Context, now time.Time) ([]*intake.Ticket, error) {
	n, err := toStamp("now", now)
	if err != nil {
		return nil, err
	}
	if n.at == nil {
		return []*intake.Ticket{}, nil // nothing is before the zero time
	}
	return s.queryTickets(ctx, "late", lateQuery, n.args()...)
}

func (s *Store) queryTickets(ctx context.Context, op, q string, args ...any) ([]*intake.Ticket, error) {
	rows, err := s.pool.Query(ctx, q, args...)
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
