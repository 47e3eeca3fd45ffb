// Package storetest is the conformance suite of the hotline stores: the behaviour every
// implementation of intake.Store, intake.Conversations, intake.CannedReplies, intake.Reports and
// intake.Prober must show, whatever it keeps its data in. A store's own tests run it:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Store { return openEmptyStore(t) })
//	}
//	func TestOutboxConformance(t *testing.T) { storetest.RunOutbox(t, openEmptyStore) } // webhooks
//
// The suite uses only those interfaces. Besides what their comments say, it holds a store to
// what the service relies on:
//
//   - Times come back exactly, to the nanosecond, and in UTC.
//   - Errors wrap the intake errors (intake.ErrNotFound, intake.ErrConflict, intake.ErrInvalid),
//     intake.ErrNoConversation, or the context's error, as each test says.
//   - A new store holds no tickets, users or conversations, but does hold the canned replies
//     that come with the service.
//
// Some states cannot be reached through the interfaces. A store (or a test's wrapper around
// it) that also implements UserDeleter, DayCounterSetter or Reopener gets the tests that need
// them; without UserDeleter that test is skipped, without Reopener the tests that data survives
// closing the store and opening it again are skipped, and without DayCounterSetter the
// numbering test takes the long way round (and is skipped with -short). A store that implements
// SecondNode has the tests of concurrent writes (numbering, idempotency keys, updates of one
// version, appends to one conversation, taking one chat) run across several stores on its data;
// one that implements Gapless has its numbers of a day checked for gaps there too.
//
// Ticket and CreateEvent are fixtures for the stores' own tests as well.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
)

// Store is everything a hotline store implements.
type Store interface {
	intake.Store
	intake.Conversations
	intake.CannedReplies
	intake.Reports
	intake.Prober
}

// UserDeleter is an optional test hook. No interface deletes staff accounts, so the test that
// staff numbers are never given twice, even after the account holding the highest one is gone,
// needs the store's own way of deleting one.
type UserDeleter interface {
	// DeleteUser deletes the account name and everything the store keeps about it (its staff
	// number included), as an administrator might in the database.
	DeleteUser(ctx context.Context, name string) error
}

// DayCounterSetter is an optional test hook that spares the numbering test creating 9,999
// tickets to see what comes after YYYYMMDD-9999.
type DayCounterSetter interface {
	// SetDayCounter makes last the last ticket number given out on day (YYYYMMDD, a Beijing
	// date), as if that many tickets had been created on it.
	SetDayCounter(ctx context.Context, day string, last int) error
}

// Reopener is an optional test hook: a store that can be closed and opened again on the same
// data (the same file, the same database), as a restart of the service does. It gets the tests
// that what was written before survives.
type Reopener interface {
	// Reopen closes the store, failing t if that fails, and returns a new store on the same data,
	// closed when t ends. The new store implements the same test hooks.
	Reopen(t *testing.T) Store
}

// SecondNode is an optional test hook: another store on the same data, open at the same time, as
// a second node of the service on one PostgreSQL database, or a second process on one SQLite
// file. With it the tests of concurrent writes spread their callers over several stores, so that
// what the store settles between its callers (in its queue, its locks, its transactions) must be
// settled by the database across stores too; without it every caller calls the one store.
type SecondNode interface {
	// SecondNode opens another store on the same data, closed when t ends. It need not
	// implement the test hooks.
	SecondNode(t *testing.T) Store
}

// Gapless is an optional hook, a promise rather than a way in: the store numbers the tickets of a
// day without gaps, however many callers and stores create at once (the embedded store, whose
// writer numbers each ticket in the transaction that stores it). Without it the concurrent
// numbering tests ask only what every store owes: each number given once, a caller's numbers
// increasing, and a key's ticket numbered once (intake.Store's Create). Either way, one caller
// alone on one store gets a day's numbers from 0001 without gaps.
type Gapless interface {
	// GaplessNumbers does nothing: implementing it is the promise.
	GaplessNumbers()
}

// Hooks are all the optional test hooks; a store's test wrapper that gives them all can say so
// with var _ storetest.Hooks = wrapper{}.
type Hooks interface {
	UserDeleter
	DayCounterSetter
	Reopener
	SecondNode
}

// nodes returns s and, if s implements SecondNode, n-1 more stores on its data.
func nodes(t *testing.T, s Store, n int) []Store {
	t.Helper()
	out := []Store{s}
	if h, ok := s.(SecondNode); ok {
		for len(out) < n {
			out = append(out, h.SecondNode(t))
		}
	}
	return out
}

// reopener returns s's Reopener, or skips the test if s has none.
func reopener(t *testing.T, s Store) Reopener {
	t.Helper()
	r, ok := s.(Reopener)
	if !ok {
		t.Skip("the store does not implement storetest.Reopener")
	}
	return r
}

// test is one behaviour, run against a new, empty store.
type test struct {
	name string
	run  func(t *testing.T, s Store)
}

// Run runs every conformance test against stores made by open; each call of open returns a new,
// empty store (open registers its own cleanup). The tests are grouped by area: Tickets, Users,
// Conversations, Desk (handoffs), Canned, Reports and Probe.
func Run(t *testing.T, open func(t *testing.T) Store) {
	for _, group := range []struct {
		name  string
		tests []test
	}{
		{"Tickets", ticketTests},
		{"Users", userTests},
		{"Conversations", conversationTests},
		{"Desk", deskTests},
		{"Canned", cannedTests},
		{"Reports", reportTests},
		{"Attachments", attachmentTests},
		{"Probe", probeTests},
	} {
		t.Run(group.name, func(t *testing.T) {
			for _, tc := range group.tests {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t)) })
			}
		})
	}
}

// RunOutbox runs the conformance tests of the webhook outbox (intake.Webhooks, and the outbox
// rows the stores' writes add) against stores made by open. They are apart from Run's so that a
// store's TestOutboxConformance is found by go test -run Outbox; a store runs both.
func RunOutbox(t *testing.T, open func(t *testing.T) Store) {
	for _, tc := range outboxTests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t)) })
	}
}

// Ticket is a minimal valid ticket received at created.
func Ticket(created time.Time) *intake.Ticket {
	return &intake.Ticket{
		Category: "市政设施", Tier: intake.TierGrid, Urgency: intake.Normal, Description: "路灯不亮",
		Phone: "13812345678", Channel: intake.ChannelChat, Status: intake.Received,
		Steps:   map[intake.Status]time.Time{intake.Received: created},
		Created: created, Updated: created,
	}
}

// CreateEvent is the audit trail of a ticket a resident created at at: its one create event.
func CreateEvent(at time.Time) []intake.Event {
	return []intake.Event{{At: at, Actor: "resident", Action: intake.ActCreate, To: intake.Received, Note: "受理"}}
}

// create stores tk with no events and no key, and returns its number.
func create(t *testing.T, s Store, tk *intake.Ticket) string {
	t.Helper()
	if _, _, err := s.Create(t.Context(), tk, nil, ""); err != nil {
		t.Fatalf("Create: %v", err)
	}
	return tk.Number
}

// all returns every ticket in the store (at most 1000), in List's order.
func all(t *testing.T, s Store) []*intake.Ticket {
	t.Helper()
	ts, err := s.List(t.Context(), intake.Filter{Limit: 1000})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return ts
}

// events returns a ticket's audit trail.
func events(t *testing.T, s Store, number string) []intake.Event {
	t.Helper()
	evs, err := s.Events(t.Context(), number)
	if err != nil {
		t.Fatalf("Events(%s): %v", number, err)
	}
	return evs
}
