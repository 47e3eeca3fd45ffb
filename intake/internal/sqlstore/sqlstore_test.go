package sqlstore

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
)

var dialects = []Dialect{SQLite, Postgres}

func TestRebind(t *testing.T) {
	for _, c := range []struct{ in, lite, pg string }{
		{"SELECT 1", "SELECT 1", "SELECT 1"},
		{"a = ? AND b IN (?, ?)", "a = ? AND b IN (?, ?)", "a = $1 AND b IN ($2, $3)"},
		{"?", "?", "$1"},
		{"x = $1", "x = $1", "x = $1"}, // PostgreSQL's own SQL passes as it is
	} {
		if got := SQLite.Rebind(c.in); got != c.lite {
			t.Errorf("SQLite.Rebind(%q) = %q; want %q", c.in, got, c.lite)
		}
		if got := Postgres.Rebind(c.in); got != c.pg {
			t.Errorf("Postgres.Rebind(%q) = %q; want %q", c.in, got, c.pg)
		}
	}
	if got := Placeholders("a, b, c"); got != "?, ?, ?" {
		t.Errorf("Placeholders = %q", got)
	}
	if got := Assignments("a, b"); got != "a = ?, b = ?" {
		t.Errorf("Assignments = %q", got)
	}
}

// scanned is what a driver would scan from the columns of values.
func scanned(d Dialect, values []any) when {
	var w when
	if d == Postgres {
		if values[0] != nil {
			at := values[0].(time.Time)
			w.at = &at
		}
		w.ns = values[1].(int16)
	} else if values[0] != nil {
		n := values[0].(int64)
		w.nanos = &n
	}
	return w
}

// Every time the stores take comes back exactly, in UTC; the zero time is NULL.
func TestTimesRoundTrip(t *testing.T) {
	for _, d := range dialects {
		for _, at := range []time.Time{
			{},
			time.Date(2025, 3, 1, 9, 30, 0, 123456789, intake.Beijing),
			time.Unix(0, 1),
			time.Unix(0, -1),
			minTime, maxTime,
		} {
			args, err := d.TimeArgs("t", at)
			if err != nil {
				t.Fatalf("%s %v: %v", d, at, err)
			}
			if n := strings.Count(d.Time("t"), ",") + 1; len(args) != n {
				t.Errorf("%s: %d values for %d columns", d, len(args), n)
			}
			got := scanned(d, args).time()
			if !got.Equal(at) || (!at.IsZero() && got.Location() != time.UTC) || got.IsZero() != at.IsZero() {
				t.Errorf("%s: %v came back as %v", d, at, got)
			}
		}
		for _, far := range []time.Time{minTime.Add(-1), maxTime.Add(1), time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)} {
			if _, err := d.TimeArgs("t", far); !errors.Is(err, intake.ErrInvalid) {
				t.Errorf("%s: %v taken (%v); want ErrInvalid", d, far, err)
			}
		}
	}
	// Bound takes any time, as the smallest or the largest it can store.
	if got := SQLite.Bound(time.Time{}); got[0] != int64(math.MinInt64) {
		t.Errorf("SQLite.Bound(zero) = %v", got)
	}
	if got := scanned(Postgres, Postgres.Bound(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC))).time(); !got.Equal(maxTime) {
		t.Errorf("Postgres.Bound(3000) = %v; want %v", got, maxTime)
	}
	// SQLite's 0 is unset where its column cannot be NULL.
	zero := int64(0)
	if got := (when{nanos: &zero}).orUnset(); !got.IsZero() {
		t.Errorf("SQLite 0 = %v; want the zero time", got)
	}
}

// counter counts the destinations a scan is given.
type counter struct{ n int }

func (c *counter) Scan(dest ...any) error { c.n = len(dest); return errors.New("counted") }

// The column lists, the values and the scans agree in number in both dialects.
func TestColumnsAgree(t *testing.T) {
	cols := func(list string) int { return strings.Count(list, ",") + 1 }
	solved := true
	tk := &intake.Ticket{Number: "20250301-0001", Status: intake.Received, Created: time.Now(),
		Evaluation: intake.Evaluation{Solved: &solved}, Steps: map[intake.Status]time.Time{intake.Received: time.Now()}}
	for _, d := range dialects {
		args, err := d.TicketArgs(tk)
		if err != nil {
			t.Fatal(err)
		}
		if cols(d.TicketColumns()) != len(args) {
			t.Errorf("%s: %d ticket columns, %d values", d, cols(d.TicketColumns()), len(args))
		}
		var c counter
		d.ScanTicket(&c)
		if c.n != cols(d.TicketSelect()) {
			t.Errorf("%s: ScanTicket scans %d columns of %d", d, c.n, cols(d.TicketSelect()))
		}
		ev, err := d.EventArgs(intake.Event{Number: tk.Number, At: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if cols("number, "+d.EventColumns()) != len(ev) {
			t.Errorf("%s: %d event columns, %d values", d, cols(d.EventColumns())+1, len(ev))
		}
		d.scanEvent(&c)
		if c.n != cols("id, number, "+d.EventColumns()) {
			t.Errorf("%s: scanEvent scans %d columns", d, c.n)
		}
		if p := d.Rebind(d.TicketUpdate()); d == Postgres && !strings.HasSuffix(p, "$"+strconv.Itoa(len(args)+1)+" AND version = $"+strconv.Itoa(len(args)+2)) {
			t.Errorf("%s: TicketUpdate %q; want the number and version after the values", d, p)
		}
		d.scanConversation(&c)
		if want := cols(strings.TrimPrefix(strings.TrimSuffix(conversationSelect[d], " FROM conversations"), "SELECT ")); c.n != want {
			t.Errorf("%s: scanConversation scans %d columns of %d", d, c.n, want)
		}
		d.scanUser(&c)
		if want := cols(strings.TrimSuffix(userSelect[d], " FROM users")); c.n != want {
			t.Errorf("%s: scanUser scans %d columns of %d", d, c.n, want)
		}
	}
}
