package sqlite

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake/internal/sqlstore"
)

// The tickets' behaviour is tested by the conformance suite (conformance_test.go).

var numberPattern = regexp.MustCompile(`^\d{8}-\d{4,}$`)

// TestQueryPlans checks that List's default order and Late use their indexes rather than
// scanning and sorting the whole table.
func TestQueryPlans(t *testing.T) {
	s, _ := openTemp(t)
	plan := func(q string, args ...any) string {
		rows, err := s.rdb.Query("EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var lines []string
		for rows.Next() {
			var id, parent, notUsed int
			var detail string
			if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, detail)
		}
		return strings.Join(lines, "\n")
	}
	if p := plan("SELECT " + sqlstore.SQLite.TicketSelect() + " FROM tickets " + sqlstore.SQLite.ListOrder() + " LIMIT 100"); !strings.Contains(p, "tickets_queue") || strings.Contains(p, "TEMP B-TREE") {
		t.Errorf("List plan:\n%s\nwant tickets_queue and no sort", p)
	}
	p := plan(lateQuery, time.Now().UnixNano())
	for _, idx := range []string{"tickets_sign_late", "tickets_due_late"} {
		if !strings.Contains(p, idx) {
			t.Errorf("Late plan:\n%s\nwant %s", p, idx)
		}
	}
}
