package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/intake/internal/sqlstore"
)

// params is "$first, $first+1, …", n of them.
func params(first, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = "$" + strconv.Itoa(first+i)
	}
	return strings.Join(ps, ", ")
}

// createTicket stores a numbered ticket, its events and its idempotency key in one statement (one
// transaction): $1 the number, $2 the key (empty for none), $3… the ticket's columns, then the
// events' columns as arrays. The number comes from the node's block (numbers.go), so the statement
// locks nothing that another creation needs. It returns no row, and writes nothing, when the key is
// already stored, and fails on idempotency_pkey when a Create with the same key committed
// meanwhile.
var createTicket = func() string {
	n := strings.Count(sqlstore.Postgres.TicketColumns(), ",") + 1
	return fmt.Sprintf(`WITH ticket AS (
			INSERT INTO tickets (%s)
			SELECT $1::text, %s WHERE NOT EXISTS (SELECT 1 FROM idempotency WHERE key = $2::text)
			RETURNING number
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
		sqlstore.Postgres.TicketSelect(), params(3, n), n+3, n+4, n+5, n+6, n+7, n+8, n+9)
}()

// reserveNumbers adds $2 to the counter of day $1 and returns its new value: the block of numbers
// last-$2+1 … last is the caller's. The row is locked only for this statement.
const reserveNumbers = `INSERT INTO day_counters AS d (day, last) VALUES ($1, $2)
	ON CONFLICT (day) DO UPDATE SET last = d.last + excluded.last RETURNING last`

// reserve is numbers' reserve on the store's pool.
func (s *Store) reserve(ctx context.Context, day string, n int64) (int64, error) {
	var last int64
	if err := s.pool.QueryRow(ctx, reserveNumbers, day, n).Scan(&last); err != nil {
		return 0, wrap("reserving ticket numbers", err)
	}
	return last, nil
}

// numberAttempts is how many numbers a Create tries when the one it took is found taken (which
// only a counter set back by hand makes happen).
const numberAttempts = 3

// Create numbers t by the Beijing date of t.Created (time.Now() when zero) and a number of that
// day from the node's block (numbers.go: unique, increasing per node, gaps possible), and stores
// it with events and idemKey in one transaction. On success t and events are updated: t.Number,
// t.Created, t.Version (1 when it was 0), and each event's Number and ID. When idemKey was used
// before, nothing is written, t is left alone, and the stored ticket is returned with created
// false; of two Creates with one key at once, on one node or two, one stores its ticket and the
// other returns it.
func (s *Store) Create(ctx context.Context, t *intake.Ticket, events []intake.Event, idemKey string) (*intake.Ticket, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	row, args, err := sqlstore.Postgres.NewTicket(t)
	if err != nil {
		return nil, false, err
	}
	at, atNs := make([]*time.Time, len(events)), make([]int16, len(events))
	var text [5][]string // actor, action, from_status, to_status, note
	for i := range text {
		text[i] = make([]string, len(events))
	}
	for i, ev := range events {
		if at[i], atNs[i], err = sqlstore.Micros("event time", ev.At); err != nil {
			return nil, false, err
		}
		for j, v := range []string{ev.Actor, string(ev.Action), string(ev.From), string(ev.To), ev.Note} {
			text[j][i] = v
		}
	}
	day := sqlstore.DayOf(row.Created)
	args = append(append([]any{"", idemKey}, args...), at, atNs, text[0], text[1], text[2], text[3], text[4])

	var number string
	var ids []int64
	for attempt := 1; ; attempt++ {
		n, err := s.numbers.take(ctx, day)
		if err != nil {
			return nil, false, err
		}
		args[0] = fmt.Sprintf("%s-%04d", day, n)
		// The ticket, and the webhook outbox's events in the same transaction.
		err = s.tx(ctx, func(ctx context.Context, db sqlstore.DB) error {
			if err := db.QueryRow(ctx, createTicket, args...).Scan(&number, &ids); err != nil {
				return err
			}
			stored := row
			stored.Number = number
			for _, ev := range events {
				if err := db.AddTicketOutbox(ctx, &stored, ev); err != nil {
					return err
				}
			}
			return nil
		})
		var pgErr *pgconn.PgError
		if errors.Is(err, pgx.ErrNoRows) || (errors.As(err, &pgErr) && pgErr.ConstraintName != "tickets_pkey") {
			// The transaction stored nothing: the number is still free.
			s.numbers.giveBack(day, n)
		}
		if constraint(err) == "tickets_pkey" && attempt < numberAttempts {
			s.numbers.forget(day)
			continue
		}
		if idemKey != "" && (errors.Is(err, pgx.ErrNoRows) || constraint(err) == "idempotency_pkey") {
			existing, err := sqlstore.Postgres.ScanTicket(s.pool.QueryRow(ctx, "SELECT "+sqlstore.Postgres.TicketSelect()+
				" FROM tickets WHERE number = (SELECT number FROM idempotency WHERE key = $1)", idemKey))
			if err != nil {
				return nil, false, wrap("create", err)
			}
			return existing, false, nil
		}
		if err != nil {
			return nil, false, wrap("create", err)
		}
		break
	}
	if len(ids) != len(events) {
		return nil, false, fmt.Errorf("postgres: create: %d event ids for %d events", len(ids), len(events))
	}
	sqlstore.Numbered(t, row, number, events, ids)
	return t, true, nil
}

// ticketUpdate stores the ticket (sqlstore's TicketUpdate) and, if it changed it, its event, in one
// statement: it inserts one event or none.
var ticketUpdate = sqlstore.Postgres.Rebind("WITH changed AS (" + sqlstore.Postgres.TicketUpdate() + " RETURNING number) " +
	"INSERT INTO events (number, " + sqlstore.Postgres.EventColumns() + ") " +
	"SELECT number, " + sqlstore.Placeholders(sqlstore.Postgres.EventColumns()) + " FROM changed")

// Update stores t and ev provided the stored version is t.Version-1, in one statement.
func (s *Store) Update(ctx context.Context, t *intake.Ticket, ev intake.Event) error {
	args, evArgs, err := sqlstore.Postgres.UpdateArgs(t, ev)
	if err != nil {
		return err
	}
	args = append(args, evArgs[1:]...) // the number is changed's
	if _, ok := intake.TicketKind(ev.Action); ok {
		// A webhook event: the change and the outbox's row in one transaction.
		var n int64
		err := s.tx(ctx, func(ctx context.Context, db sqlstore.DB) error {
			var err error
			if n, err = db.Exec(ctx, ticketUpdate, args...); err != nil || n != 1 {
				return err
			}
			return db.AddTicketOutbox(ctx, t, ev)
		})
		if err != nil {
			return wrap("update", err)
		}
		if n == 1 {
			return nil
		}
		return wrap("update", s.Read.NotUpdated(ctx, t))
	}
	ct, err := s.pool.Exec(ctx, ticketUpdate, args...)
	if err != nil {
		return wrap("update", err)
	}
	if ct.RowsAffected() == 1 {
		return nil
	}
	return wrap("update", s.Read.NotUpdated(ctx, t))
}

// lateQuery repeats the WHERE clauses of the partial indexes tickets_sign_late and
// tickets_due_late, so that the planner can read them.
var lateQuery = "SELECT " + sqlstore.Postgres.TicketSelect() + ` FROM tickets
	WHERE (status = 'dispatched' AND (sign_by, sign_by_ns) < ($1, $2))
		OR (NOT overdue AND status IN ('received', 'dispatched', 'signed', 'in_progress', 'returned')
			AND (due_by, due_by_ns) < ($1, $2))
	ORDER BY created, created_ns, number`

// Late returns the open tickets that are dispatched and past their sign deadline, or not yet
// marked overdue and past their finish deadline, oldest first.
func (s *Store) Late(ctx context.Context, now time.Time) ([]*intake.Ticket, error) {
	n, err := sqlstore.Postgres.TimeArgs("now", now)
	if err != nil {
		return nil, err
	}
	if now.IsZero() {
		return []*intake.Ticket{}, nil // nothing is before the zero time
	}
	ts, err := s.Read.Tickets(ctx, lateQuery, n...)
	if err != nil {
		return nil, wrap("late", err)
	}
	return ts, nil
}
