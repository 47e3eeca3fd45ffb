package sqlstore

import (
	"fmt"
	"math"
	"time"

	"github.com/bayannur/hotline/intake"
)

// Times. SQLite keeps a time as unix nanoseconds in one INTEGER column. PostgreSQL keeps it as a
// timestamptz, which holds microseconds, and in the smallint column NAME_ns beside it the
// nanoseconds past the microsecond (0 to 999). Either way a time comes back exactly as it was
// given, in UTC, and the zero time is NULL. Both stores take only the times unix nanoseconds can
// hold, the years 1678 to 2262, so that both take the same tickets.

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// Time is the column, or columns, of the time col: "col" in SQLite, "col, col_ns" in PostgreSQL.
// It serves in a select list, an insert's column list and an ascending ORDER BY.
func (d Dialect) Time(col string) string {
	if d == Postgres {
		return col + ", " + col + "_ns"
	}
	return col
}

// Compare is the condition "col op ?" on the time col, for the arguments of Bound.
func (d Dialect) Compare(col, op string) string {
	if d == Postgres {
		return "(" + col + ", " + col + "_ns) " + op + " (?, ?)"
	}
	return col + " " + op + " ?"
}

// TimeArgs are the values of t for the columns of Time; a time outside the years 1678 to 2262 is
// intake.ErrInvalid, name saying which.
func (d Dialect) TimeArgs(name string, t time.Time) ([]any, error) {
	if !t.IsZero() && (t.Before(minTime) || t.After(maxTime)) {
		return nil, fmt.Errorf("%w: %s %s is outside the years 1678 to 2262", intake.ErrInvalid, name, t.Format(time.RFC3339))
	}
	return d.timeValues(t), nil
}

// Bound are the values of t for Compare, where any time will do: the zero time and times before
// 1678 count as the smallest, times after 2262 as the largest.
func (d Dialect) Bound(t time.Time) []any {
	switch {
	case t.IsZero() || t.Before(minTime):
		t = minTime
	case t.After(maxTime):
		t = maxTime
	}
	return d.timeValues(t)
}

// timeValues are the column values of t, which is zero or within the years TimeArgs takes.
func (d Dialect) timeValues(t time.Time) []any {
	if d != Postgres {
		if t.IsZero() {
			return []any{nil}
		}
		return []any{t.UnixNano()}
	}
	at, ns := micros(t)
	if at == nil {
		return []any{nil, ns}
	}
	return []any{*at, ns}
}

// Micros is t as PostgreSQL's two columns keep it, for a store that passes them as arrays: to
// the microsecond (nil for the zero time) and the nanoseconds past it. A time outside the years
// 1678 to 2262 is intake.ErrInvalid.
func Micros(name string, t time.Time) (*time.Time, int16, error) {
	if _, err := Postgres.TimeArgs(name, t); err != nil {
		return nil, 0, err
	}
	at, ns := micros(t)
	return at, ns, nil
}

func micros(t time.Time) (*time.Time, int16) {
	if t.IsZero() {
		return nil, 0
	}
	ns := t.Nanosecond() % 1000
	at := t.Add(-time.Duration(ns)).UTC()
	return &at, int16(ns)
}

// when receives a time from its column, or columns, of a row.
type when struct {
	nanos *int64     // SQLite
	at    *time.Time // PostgreSQL, to the microsecond
	ns    int16      // PostgreSQL, the nanoseconds past at
}

// Stored is t as it comes back from the database: in UTC, with no monotonic reading (both
// dialects keep nanoseconds), the zero time as it is.
func (d Dialect) Stored(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.Unix(0, t.UnixNano()).UTC()
}

// dest are w's scan destinations for the columns of Time.
func (d Dialect) dest(w *when) []any {
	if d == Postgres {
		return []any{&w.at, &w.ns}
	}
	return []any{&w.nanos}
}

// time is the time read, in UTC, or the zero time for NULL.
func (w when) time() time.Time {
	switch {
	case w.nanos != nil:
		return time.Unix(0, *w.nanos).UTC()
	case w.at != nil:
		return w.at.UTC().Add(time.Duration(w.ns))
	}
	return time.Time{}
}

// orUnset is w's time, but the zero time for SQLite's 0: the SQLite columns declared NOT NULL
// DEFAULT 0 (conversations.handoff_at, canned_replies.updated) hold 0 where PostgreSQL's hold NULL.
func (w when) orUnset() time.Time {
	if w.nanos != nil && *w.nanos == 0 {
		return time.Time{}
	}
	return w.time()
}
