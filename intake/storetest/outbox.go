package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
)

// The webhook outbox (intake.Webhooks): events written with the changes they report, claimed by
// leases, settled, logged and replayed.

var outboxTests = []test{
	{"WrittenWithTheChange", testOutboxWithChange},
	{"NothingWithoutSubscribers", testOutboxNoSubscribers},
	{"NoEventWithoutTheChange", testOutboxNoChangeNoEvent},
	{"MaskedUnlessTrusted", testOutboxMasked},
	{"HandoffAndEmergency", testOutboxHandoffEmergency},
	{"OrderedPerSubject", testOutboxOrdered},
	{"Lease", testOutboxLease},
	{"RetryFailReplay", testOutboxRetryFailReplay},
	{"ConcurrentClaimsOnce", testOutboxConcurrentClaims},
	{"DeleteAndPrune", testOutboxDeletePrune},
}

func webhooks(t *testing.T, s Store) intake.Webhooks {
	t.Helper()
	w, ok := s.(intake.Webhooks)
	if !ok {
		t.Skip("the store does not implement intake.Webhooks")
	}
	return w
}

var (
	outboxT0  = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	outboxSLA = intake.DefaultSLA(intake.DefaultCalendar())
)

// subscribe stores a subscription to events (none: all).
func subscribe(t *testing.T, w intake.Webhooks, trusted bool, events ...string) *intake.Subscription {
	t.Helper()
	if len(events) == 0 {
		events = []string{"*"}
	}
	sub, err := intake.NewSubscription("https://receiver.example/hook", events, "", trusted, "admin", outboxT0)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.AddSubscription(t.Context(), sub); err != nil {
		t.Fatalf("AddSubscription: %v", err)
	}
	return sub
}

// claim claims every due delivery at now (far ahead of the deliveries' times by default).
func claim(t *testing.T, w intake.Webhooks, lease string, now time.Time) []intake.Delivery {
	t.Helper()
	ds, err := w.ClaimDeliveries(t.Context(), lease, now, time.Minute, 100)
	if err != nil {
		t.Fatalf("ClaimDeliveries: %v", err)
	}
	return ds
}

func finish(t *testing.T, w intake.Webhooks, d intake.Delivery, status intake.DeliveryStatus, next time.Time) {
	t.Helper()
	ok, err := w.FinishDelivery(t.Context(), intake.DeliveryResult{SubscriptionID: d.SubscriptionID, EventID: d.EventID,
		Lease: d.Lease, Status: status, NextAt: next, Code: 503, Error: "status 503", At: time.Now()})
	if err != nil || !ok {
		t.Fatalf("FinishDelivery(%d, %s) = %v, %v; want true", d.EventID, status, ok, err)
	}
}

func kinds(ds []intake.Delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, string(d.Kind)+" "+d.Subject)
	}
	return out
}

// later is a time past every delivery's next attempt in these tests.
func later() time.Time { return time.Now().Add(time.Hour) }

// apply applies c to ticket number and stores it as the service does.
func apply(t *testing.T, s Store, number string, c intake.Change, at time.Time) *intake.Ticket {
	t.Helper()
	tk, err := s.Get(t.Context(), number)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := tk.Apply(c, at, outboxSLA)
	if err != nil {
		t.Fatalf("Apply %s: %v", c.Action, err)
	}
	if err := s.Update(t.Context(), tk, ev); err != nil {
		t.Fatalf("Update %s: %v", c.Action, err)
	}
	return tk
}

func newTicket(t *testing.T, s Store) *intake.Ticket {
	t.Helper()
	tk := Ticket(outboxT0)
	if _, _, err := s.Create(t.Context(), tk, CreateEvent(outboxT0), ""); err != nil {
		t.Fatalf("Create: %v", err)
	}
	return tk
}

func testOutboxWithChange(t *testing.T, s Store) {
	w := webhooks(t, s)
	sub := subscribe(t, w, false)
	tk := newTicket(t, s)
	ds := claim(t, w, "a", later())
	if got := kinds(ds); !slices.Equal(got, []string{"ticket.created ticket:" + tk.Number}) {
		t.Fatalf("claimed %q; want the ticket's created event", got)
	}
	d := ds[0]
	if d.SubscriptionID != sub.ID || d.URL != sub.URL || d.Secret != sub.Secret || d.Attempts != 0 || d.Lease != "a" || !d.Created.Equal(outboxT0) {
		t.Errorf("delivery %+v; want subscription %s, attempts 0, lease a, created %v", d, sub.ID, outboxT0)
	}
	var data struct {
		Ticket struct {
			Number string `json:"number"`
			Status string `json:"status"`
		} `json:"ticket"`
		Event struct {
			Action string `json:"action"`
			To     string `json:"to"`
		} `json:"event"`
	}
	if err := json.Unmarshal(d.Data, &data); err != nil {
		t.Fatalf("data %s: %v", d.Data, err)
	}
	if data.Ticket.Number != tk.Number || data.Event.Action != "create" || data.Event.To != "received" {
		t.Errorf("data %s; want ticket %s, event create to received", d.Data, tk.Number)
	}
	finish(t, w, d, intake.DeliveryDelivered, time.Time{})

	// A dispatch is an event; a note is none.
	apply(t, s, tk.Number, intake.Change{Action: intake.ActNote, Actor: "op", Note: "看过了"}, outboxT0.Add(time.Minute))
	apply(t, s, tk.Number, intake.Change{Action: intake.ActDispatch, Actor: "op", Assignee: "grid1"}, outboxT0.Add(2*time.Minute))
	ds = claim(t, w, "b", later())
	if got := kinds(ds); !slices.Equal(got, []string{"ticket.dispatched ticket:" + tk.Number}) {
		t.Fatalf("claimed %q; want the dispatch alone", got)
	}
}

func testOutboxNoSubscribers(t *testing.T, s Store) {
	w := webhooks(t, s)
	newTicket(t, s)
	sub := subscribe(t, w, false)
	if ds := claim(t, w, "a", later()); len(ds) != 0 {
		t.Errorf("claimed %q; a subscription gets no events written before it", kinds(ds))
	}
	// A subscription to other kinds gets nothing either.
	if err := w.DeleteSubscription(t.Context(), sub.ID); err != nil {
		t.Fatal(err)
	}
	subscribe(t, w, false, "ticket.resolved")
	newTicket(t, s)
	if ds := claim(t, w, "b", later()); len(ds) != 0 {
		t.Errorf("claimed %q; want nothing for a subscription to ticket.resolved", kinds(ds))
	}
	l, err := w.Deliveries(t.Context(), "wh_none", "", 10)
	if !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("Deliveries of an unknown subscription = %v, %v; want ErrNotFound", l, err)
	}
}

func testOutboxNoChangeNoEvent(t *testing.T, s Store) {
	w := webhooks(t, s)
	tk := newTicket(t, s)
	subscribe(t, w, false)
	stale, err := s.Get(t.Context(), tk.Number)
	if err != nil {
		t.Fatal(err)
	}
	apply(t, s, tk.Number, intake.Change{Action: intake.ActDispatch, Actor: "op", Assignee: "grid1"}, outboxT0.Add(time.Minute))
	ev, err := stale.Apply(intake.Change{Action: intake.ActDispatch, Actor: "op2", Assignee: "grid2"}, outboxT0.Add(2*time.Minute), outboxSLA)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(t.Context(), stale, ev); !errors.Is(err, intake.ErrConflict) {
		t.Fatalf("Update of a stale version = %v; want ErrConflict", err)
	}
	ds := claim(t, w, "a", later())
	if got := kinds(ds); !slices.Equal(got, []string{"ticket.dispatched ticket:" + tk.Number}) {
		t.Errorf("claimed %q; want one dispatch: the refused update wrote no event", got)
	}
}

func testOutboxMasked(t *testing.T, s Store) {
	w := webhooks(t, s)
	plain := subscribe(t, w, false)
	trusted := subscribe(t, w, true)
	tk := Ticket(outboxT0)
	tk.Description = "路灯不亮，打13900001111找我"
	if _, _, err := s.Create(t.Context(), tk, CreateEvent(outboxT0), ""); err != nil {
		t.Fatal(err)
	}
	ds := claim(t, w, "a", later())
	if len(ds) != 2 {
		t.Fatalf("claimed %q; want one delivery to each subscription", kinds(ds))
	}
	for _, d := range ds {
		data := string(d.Data)
		switch d.SubscriptionID {
		case plain.ID:
			if strings.Contains(data, "13812345678") || strings.Contains(data, "13900001111") || !strings.Contains(data, "138****5678") {
				t.Errorf("untrusted data %s; want the phones masked", data)
			}
		case trusted.ID:
			if !strings.Contains(data, `"phone":"13812345678"`) || !strings.Contains(data, "13900001111") {
				t.Errorf("trusted data %s; want the phones whole", data)
			}
		default:
			t.Errorf("delivery to %s", d.SubscriptionID)
		}
	}
}

func testOutboxHandoffEmergency(t *testing.T, s Store) {
	w := webhooks(t, s)
	subscribe(t, w, false)
	c := conversation("c-webhook", chatT0)
	createConversation(t, s, c)
	setHandoff(t, s, c.ID, []string{intake.HandoffNone}, "", intake.HandoffChange{State: intake.HandoffWaiting, Guess: "streetlight", At: chatT0.Add(time.Second)}, true)
	setHandoff(t, s, c.ID, []string{intake.HandoffNone}, "", intake.HandoffChange{State: intake.HandoffWaiting, At: chatT0.Add(2 * time.Second)}, false)
	setHandoff(t, s, c.ID, []string{intake.HandoffWaiting}, "", intake.HandoffChange{State: intake.HandoffLive, Operator: "lin", At: chatT0.Add(3 * time.Second)}, true)
	setHandoff(t, s, c.ID, []string{intake.HandoffLive}, "lin", intake.HandoffChange{State: intake.HandoffNone, At: chatT0.Add(4 * time.Second)}, true)
	reply := botReply("请立即拨打119")
	reply.Decision = "emergency"
	if err := s.AppendTurns(t.Context(), c, []intake.Turn{
		{At: chatT0.Add(5 * time.Second), From: "resident", Text: "楼道着火了 我电话13812345678"},
		{At: chatT0.Add(5 * time.Second), From: "bot", Text: reply.Text, Reply: reply},
	}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 4 { // one subject: one at a time, in order
		ds := claim(t, w, fmt.Sprint("l", len(got)), later())
		if len(ds) > 1 {
			t.Fatalf("claimed %q at once; want one event of a conversation at a time", kinds(ds))
		}
		if len(ds) == 0 {
			break
		}
		got = append(got, string(ds[0].Kind))
		if ds[0].Kind == intake.KindEmergencyDecided && (!strings.Contains(string(ds[0].Data), "138****5678") || strings.Contains(string(ds[0].Data), "13812345678")) {
			t.Errorf("emergency data %s; want the resident's message with the phone masked", ds[0].Data)
		}
		if ds[0].Kind == intake.KindHandoffTaken && !strings.Contains(string(ds[0].Data), `"operator":"lin"`) {
			t.Errorf("handoff.taken data %s; want the operator", ds[0].Data)
		}
		finish(t, w, ds[0], intake.DeliveryDelivered, time.Time{})
	}
	if want := []string{"handoff.waiting", "handoff.taken", "emergency.decided"}; !slices.Equal(got, want) {
		t.Errorf("events %q; want %q", got, want)
	}
}

func testOutboxOrdered(t *testing.T, s Store) {
	w := webhooks(t, s)
	subscribe(t, w, false)
	a, b := newTicket(t, s), newTicket(t, s)
	apply(t, s, a.Number, intake.Change{Action: intake.ActDispatch, Actor: "op", Assignee: "grid1"}, outboxT0.Add(time.Minute))
	ds := claim(t, w, "x", later())
	if got, want := kinds(ds), []string{"ticket.created ticket:" + a.Number, "ticket.created ticket:" + b.Number}; !slices.Equal(got, want) {
		t.Fatalf("claimed %q; want %q: the dispatch waits for a's creation", got, want)
	}
	// a's creation to be retried: its dispatch still waits, even once the retry is due.
	finish(t, w, ds[0], intake.DeliveryPending, time.Now())
	finish(t, w, ds[1], intake.DeliveryDelivered, time.Time{})
	ds = claim(t, w, "y", later())
	if got := kinds(ds); !slices.Equal(got, []string{"ticket.created ticket:" + a.Number}) || ds[0].Attempts != 1 {
		t.Fatalf("claimed %q (%+v); want a's creation again, after 1 attempt", got, ds)
	}
	finish(t, w, ds[0], intake.DeliveryDelivered, time.Time{})
	ds = claim(t, w, "z", later())
	if got := kinds(ds); !slices.Equal(got, []string{"ticket.dispatched ticket:" + a.Number}) {
		t.Fatalf("claimed %q; want a's dispatch now", got)
	}
}

func testOutboxLease(t *testing.T, s Store) {
	w := webhooks(t, s)
	subscribe(t, w, false)
	newTicket(t, s)
	now := later()
	first := claim(t, w, "first", now)
	if len(first) != 1 {
		t.Fatalf("claimed %d; want 1", len(first))
	}
	if ds := claim(t, w, "second", now.Add(30*time.Second)); len(ds) != 0 {
		t.Fatalf("claimed %q while another lease holds it", kinds(ds))
	}
	// The first worker stalled past its lease: another claims the delivery, and the first may
	// no longer settle it.
	second := claim(t, w, "second", now.Add(2*time.Minute))
	if len(second) != 1 || second[0].EventID != first[0].EventID {
		t.Fatalf("claimed %q after the lease ran out; want the same delivery", kinds(second))
	}
	ok, err := w.FinishDelivery(t.Context(), intake.DeliveryResult{SubscriptionID: first[0].SubscriptionID, EventID: first[0].EventID,
		Lease: "first", Status: intake.DeliveryDelivered, At: time.Now()})
	if err != nil || ok {
		t.Errorf("FinishDelivery with a lost lease = %v, %v; want false", ok, err)
	}
	finish(t, w, second[0], intake.DeliveryDelivered, time.Time{})
	if ds := claim(t, w, "third", now.Add(time.Hour)); len(ds) != 0 {
		t.Errorf("claimed %q after delivery", kinds(ds))
	}
}

func testOutboxRetryFailReplay(t *testing.T, s Store) {
	w := webhooks(t, s)
	sub := subscribe(t, w, false)
	tk := newTicket(t, s)
	apply(t, s, tk.Number, intake.Change{Action: intake.ActDispatch, Actor: "op", Assignee: "grid1"}, outboxT0.Add(time.Minute))
	now := time.Now()
	ds := claim(t, w, "a", now)
	if len(ds) != 1 {
		t.Fatalf("claimed %q; want the creation", kinds(ds))
	}
	finish(t, w, ds[0], intake.DeliveryPending, now.Add(time.Hour))
	if got := claim(t, w, "b", now.Add(30*time.Minute)); len(got) != 0 {
		t.Fatalf("claimed %q before the retry is due", kinds(got))
	}
	ds = claim(t, w, "c", now.Add(time.Hour))
	if len(ds) != 1 || ds[0].Attempts != 1 {
		t.Fatalf("claimed %+v; want the creation's second attempt", ds)
	}
	created := ds[0].EventID
	finish(t, w, ds[0], intake.DeliveryFailed, time.Time{})
	// Failed: the ticket's next event goes on.
	ds = claim(t, w, "d", now.Add(time.Hour))
	if got := kinds(ds); !slices.Equal(got, []string{"ticket.dispatched ticket:" + tk.Number}) {
		t.Fatalf("claimed %q; want the dispatch once the creation failed", got)
	}
	finish(t, w, ds[0], intake.DeliveryDelivered, time.Time{})

	log, err := w.Deliveries(t.Context(), sub.ID, intake.DeliveryFailed, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || log[0].EventID != created || log[0].Attempts != 2 || log[0].LastCode != 503 || log[0].LastError != "status 503" ||
		log[0].Kind != intake.KindTicketCreated || log[0].Subject != "ticket:"+tk.Number {
		t.Fatalf("failed deliveries %+v; want the creation, 2 attempts, 503", log)
	}
	all, err := w.Deliveries(t.Context(), sub.ID, "", 10)
	if err != nil || len(all) != 2 || all[0].Status != intake.DeliveryDelivered || all[1].Status != intake.DeliveryFailed {
		t.Fatalf("deliveries %+v, %v; want the dispatch delivered, then the creation failed", all, err)
	}

	if err := w.ReplayDelivery(t.Context(), sub.ID, created+1000, now); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("ReplayDelivery of an unknown event = %v; want ErrNotFound", err)
	}
	if err := w.ReplayDelivery(t.Context(), sub.ID, created, now.Add(2*time.Hour)); err != nil {
		t.Fatalf("ReplayDelivery: %v", err)
	}
	if err := w.ReplayDelivery(t.Context(), sub.ID, created, now.Add(2*time.Hour)); !errors.Is(err, intake.ErrConflict) {
		t.Errorf("ReplayDelivery of a pending delivery = %v; want ErrConflict", err)
	}
	ds = claim(t, w, "e", now.Add(2*time.Hour))
	if len(ds) != 1 || ds[0].EventID != created || ds[0].Attempts != 0 || !ds[0].FirstAt.Equal(now.Add(2*time.Hour).UTC()) {
		t.Fatalf("claimed %+v after the replay; want the creation afresh", ds)
	}
}

func testOutboxConcurrentClaims(t *testing.T, s Store) {
	w := webhooks(t, s)
	subscribe(t, w, false)
	subscribe(t, w, true)
	const tickets = 40
	for range tickets {
		newTicket(t, s)
	}
	stores := nodes(t, s, 3)
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	now := later()
	for i, n := range stores {
		nw := n.(intake.Webhooks)
		for j := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; ; k++ {
					ds, err := nw.ClaimDeliveries(t.Context(), fmt.Sprintf("n%d-%d-%d", i, j, k), now, time.Hour, 3)
					if err != nil {
						t.Error(err)
						return
					}
					if len(ds) == 0 {
						return
					}
					mu.Lock()
					for _, d := range ds {
						seen[fmt.Sprint(d.SubscriptionID, d.EventID)]++
					}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if len(seen) != 2*tickets {
		t.Errorf("claimed %d deliveries; want %d", len(seen), 2*tickets)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("delivery %s claimed %d times", k, n)
		}
	}
}

func testOutboxDeletePrune(t *testing.T, s Store) {
	w := webhooks(t, s)
	a, b := subscribe(t, w, false), subscribe(t, w, false)
	newTicket(t, s)
	if err := w.DeleteSubscription(t.Context(), a.ID); err != nil {
		t.Fatal(err)
	}
	if err := w.DeleteSubscription(t.Context(), a.ID); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("DeleteSubscription again = %v; want ErrNotFound", err)
	}
	subs, err := w.Subscriptions(t.Context())
	if err != nil || len(subs) != 1 || subs[0].ID != b.ID || subs[0].Secret != b.Secret || !slices.Equal(subs[0].Events, []intake.EventKind{"*"}) {
		t.Fatalf("Subscriptions = %+v, %v; want b alone", subs, err)
	}
	ds := claim(t, w, "a", later())
	if len(ds) != 1 || ds[0].SubscriptionID != b.ID {
		t.Fatalf("claimed %+v; want b's delivery alone", ds)
	}
	finish(t, w, ds[0], intake.DeliveryDelivered, time.Time{})
	if n, err := w.PruneDeliveries(t.Context(), time.Now().Add(time.Hour)); err != nil || n != 1 {
		t.Errorf("PruneDeliveries = %d, %v; want 1", n, err)
	}
	if l, err := w.Deliveries(t.Context(), b.ID, "", 10); err != nil || len(l) != 0 {
		t.Errorf("deliveries after pruning: %+v, %v", l, err)
	}
}
