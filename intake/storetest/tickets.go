package storetest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
)

var ticketTests = []test{
	{"RoundTrip", testRoundTrip},
	{"Numbering", testNumbering},
	{"NumberingPast9999", testNumberingPast9999},
	{"NumberingConcurrent", testNumberingConcurrent},
	{"Idempotency", testIdempotency},
	{"IdempotencyConcurrent", testIdempotencyConcurrent},
	{"CreateCanceled", testCreateCanceled},
	{"ConcurrentCreates", testConcurrentCreates},
	{"CreatesSurviveReopen", testCreatesSurviveReopen},
	{"List", testList},
	{"ListLimit", testListLimit},
	{"Late", testLate},
	{"UpdateAndEvents", testUpdateAndEvents},
	{"UpdateRace", testUpdateRace},
}

// fullTicket sets every field but Number.
func fullTicket(created time.Time) *intake.Ticket {
	lat, lng, solved, signedOK, resolvedOK := 40.7435, 107.3877, false, true, false
	return &intake.Ticket{
		Category: "市政设施", Topic: "路灯", Community: "幸福社区", Grid: "网格3", Tier: intake.TierCommunity,
		Urgency: intake.Urgent, Description: "路灯不亮已经三天了", Address: "临河区幸福路12号",
		Lat: &lat, Lng: &lng, Name: "王女士", Phone: "13812345678", AccessCode: "042917", Channel: intake.ChannelChat,
		ConversationID: "conv-7", Assignee: "li.wei", Status: intake.InProgress,
		Steps: map[intake.Status]time.Time{
			intake.Received: created, intake.Dispatched: created.Add(time.Minute), intake.Signed: created.Add(time.Hour),
		},
		Deadlines: intake.Deadlines{SignBy: created.Add(2 * time.Hour), DueBy: created.Add(72 * time.Hour),
			Extension: &intake.Extension{State: intake.ExtensionRequested, Until: created.Add(96 * time.Hour),
				Reason: "需要采购灯具", Requested: created.Add(3 * time.Hour)}},
		Marks: intake.Marks{Urged: 2, Overdue: true, Reopened: 1}, Reply: "已更换灯泡",
		Evaluation: intake.Evaluation{Rating: intake.BasicallySatisfied,
			Solved: &solved, RatingNote: "来得挺快", RatedAt: created.Add(5 * time.Hour)},
		Created: created, Updated: created.Add(4 * time.Hour), Version: 3,
		Timeliness: intake.Timeliness{SignedOnTime: &signedOK,
			ResolvedOnTime: &resolvedOK, ResolvedAt: created.Add(4 * time.Hour)},
		Ratings: []intake.RatingRecord{{Rating: intake.Dissatisfied, At: created.Add(2 * time.Hour)},
			{Rating: intake.BasicallySatisfied, Solved: &solved, At: created.Add(5 * time.Hour)}},
	}
}

// inUTC returns a copy of t with every time in UTC, as the store gives them back.
func inUTC(t *intake.Ticket) *intake.Ticket {
	c := *t
	c.SignBy, c.DueBy, c.Created, c.Updated = t.SignBy.UTC(), t.DueBy.UTC(), t.Created.UTC(), t.Updated.UTC()
	c.RatedAt, c.ResolvedAt = t.RatedAt.UTC(), t.ResolvedAt.UTC()
	c.Ratings = nil
	for _, r := range t.Ratings {
		r.At = r.At.UTC()
		c.Ratings = append(c.Ratings, r)
	}
	if t.Steps != nil {
		c.Steps = map[intake.Status]time.Time{}
		for k, v := range t.Steps {
			c.Steps[k] = v.UTC()
		}
	}
	if t.Extension != nil {
		e := *t.Extension
		e.Until, e.Requested = e.Until.UTC(), e.Requested.UTC()
		c.Extension = &e
	}
	return &c
}

// Every field of a ticket and its events comes back as it was given, times in UTC; Create numbers
// the ticket and the events it was given.
func testRoundTrip(t *testing.T, s Store) {
	ctx := t.Context()
	created := time.Date(2026, 3, 2, 9, 30, 15, 123456789, intake.Beijing)
	in := fullTicket(created)
	evs := []intake.Event{
		{At: created, Actor: "resident", Action: intake.ActCreate, To: intake.Received, Note: "受理"},
		{At: created.Add(time.Minute), Actor: "operator1", Action: intake.ActDispatch, From: intake.Received, To: intake.Dispatched, Note: "派至 网格3"},
	}
	stored, ok, err := s.Create(ctx, in, evs, "")
	if err != nil || !ok {
		t.Fatalf("Create: %v, %v", ok, err)
	}
	if stored != in || in.Number != "20260302-0001" {
		t.Fatalf("Create returned %p numbered %q; want the ticket given, numbered 20260302-0001", stored, in.Number)
	}
	got, err := s.Get(ctx, in.Number)
	if err != nil {
		t.Fatal(err)
	}
	v := reflect.ValueOf(*got)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("field %s came back zero; the fixture sets every field", v.Type().Field(i).Name)
		}
	}
	if want := inUTC(in); !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
	// The phone is kept in full; only its JSON (and String) mask it.
	if got.Phone.Full() != "13812345678" {
		t.Errorf("phone %q; want it kept in full", got.Phone.Full())
	}
	b, _ := json.Marshal(got)
	if !strings.Contains(string(b), `"phone":"138****5678"`) || strings.Contains(string(b), "13812345678") {
		t.Errorf("JSON %s; want the phone masked", b)
	}

	stored2 := events(t, s, in.Number)
	if len(stored2) != 2 {
		t.Fatalf("%d events; want 2", len(stored2))
	}
	for i, ev := range stored2 {
		want := evs[i]
		want.At = want.At.UTC()
		if want.Number != in.Number || want.ID == 0 {
			t.Errorf("event %d given to Create: number %q id %d; want them set", i, want.Number, want.ID)
		}
		if ev != want {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, ev, want)
		}
	}

	// Zero and nil fields stay zero and nil.
	bare := &intake.Ticket{Status: intake.Received, Created: created}
	if _, _, err := s.Create(ctx, bare, nil, ""); err != nil {
		t.Fatal(err)
	}
	got, err = s.Get(ctx, bare.Number)
	if err != nil {
		t.Fatal(err)
	}
	if want := inUTC(bare); !reflect.DeepEqual(got, want) {
		t.Errorf("bare ticket:\n got %+v\nwant %+v", got, want)
	}
	if bare.Version != 1 {
		t.Errorf("version %d; want 1 for a ticket given with 0", bare.Version)
	}

	if _, err := s.Get(ctx, "20260302-9999"); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("Get of an unknown number: %v; want ErrNotFound", err)
	}
	// A time the store cannot keep is refused, never stored wrong.
	farAt := time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
	far := Ticket(farAt)
	if _, _, err := s.Create(ctx, far, nil, ""); err != nil {
		if !errors.Is(err, intake.ErrInvalid) {
			t.Errorf("Create in 2300: %v; want ErrInvalid or success", err)
		}
	} else if got, err := s.Get(ctx, far.Number); err != nil || !got.Created.Equal(farAt) {
		t.Errorf("created in 2300, stored as %v (%v); want it kept or refused", got, err)
	}
}

// Numbers are YYYYMMDD-NNNN by the Beijing date of Created, counting from 1 each day.
func testNumbering(t *testing.T, s Store) {
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, intake.Beijing)
	for _, c := range []struct {
		created time.Time
		want    string
	}{
		{day.Add(9 * time.Hour), "20260302-0001"},
		{day.Add(23*time.Hour + 59*time.Minute), "20260302-0002"},
		{day.Add(24 * time.Hour), "20260303-0001"},                          // the next day starts again
		{day.Add(10 * time.Hour), "20260302-0003"},                          // a late arrival for the day before
		{time.Date(2026, 11, 25, 15, 59, 59, 0, time.UTC), "20261125-0001"}, // 23:59:59 in Beijing
		{time.Date(2026, 11, 25, 17, 0, 0, 0, time.UTC), "20261126-0001"},   // 01:00 the next day in Beijing
	} {
		if got := create(t, s, Ticket(c.created)); got != c.want {
			t.Errorf("ticket created %s numbered %s; want %s", c.created.Format(time.RFC3339), got, c.want)
		}
	}
}

// After a day's 9,999th ticket the numbers grow a digit.
func testNumberingPast9999(t *testing.T, s Store) {
	ctx := t.Context()
	jan1 := time.Date(2027, 1, 1, 8, 0, 0, 0, intake.Beijing)
	if h, ok := s.(DayCounterSetter); ok {
		if err := h.SetDayCounter(ctx, "20270101", 9998); err != nil {
			t.Fatal(err)
		}
	} else {
		if testing.Short() {
			t.Skip("creates 9,998 tickets without a DayCounterSetter")
		}
		const workers = 32
		var wg sync.WaitGroup
		for g := range workers {
			wg.Go(func() {
				for i := g; i < 9998; i += workers {
					if _, _, err := s.Create(ctx, Ticket(jan1), nil, ""); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
	}
	for _, want := range []string{"20270101-9999", "20270101-10000", "20270101-10001"} {
		if got := create(t, s, Ticket(jan1)); got != want {
			t.Errorf("got %s; want %s", got, want)
		}
	}
}

// Callers creating tickets of one day at once, on several nodes, with keys and without: each
// number once, of that day, each caller's increasing, and every event kept; a Gapless store skips
// none.
func testNumberingConcurrent(t *testing.T, s Store) {
	day := time.Date(2026, 3, 2, 9, 0, 0, 123456789, intake.Beijing)
	const workers, each = 12, 10
	numbers := createConcurrently(t, nodes(t, s, 3), workers, each, day, func(k int) string {
		if k%2 == 0 {
			return fmt.Sprint("k-", k)
		}
		return ""
	})
	seqs := make([]int, len(numbers))
	for k, n := range numbers {
		rest, ok := strings.CutPrefix(n, "20260302-")
		seq, err := strconv.Atoi(rest)
		if !ok || err != nil || seq < 1 || len(rest) < 4 {
			t.Fatalf("ticket %d numbered %q; want 20260302-NNNN", k, n)
		}
		seqs[k] = seq
		// createConcurrently's caller g made keys g*each … g*each+each-1, in that order.
		if k%each > 0 && seq <= seqs[k-1] {
			t.Errorf("one caller got %s after %s; want its numbers increasing", n, numbers[k-1])
		}
	}
	sort.Strings(numbers)
	for i := 1; i < len(numbers); i++ {
		if numbers[i] == numbers[i-1] {
			t.Fatalf("number %s given twice", numbers[i])
		}
	}
	if _, ok := s.(Gapless); ok {
		for i, n := range numbers {
			if want := fmt.Sprintf("20260302-%04d", i+1); n != want {
				t.Fatalf("numbers %v; want 20260302-0001 to -%04d, each once", numbers, len(numbers))
			}
		}
	}
	evs := 0
	for _, n := range numbers {
		evs += len(events(t, s, n))
	}
	if evs != workers*each {
		t.Errorf("%d events; want %d", evs, workers*each)
	}
}

// A key given again returns the ticket it made, writes nothing and takes no number.
func testIdempotency(t *testing.T, s Store) {
	ctx := t.Context()
	now := time.Date(2026, 5, 6, 10, 0, 0, 0, intake.Beijing)
	first := Ticket(now)
	st, created, err := s.Create(ctx, first, CreateEvent(now), "req-1")
	if err != nil || !created || st.Number != "20260506-0001" {
		t.Fatalf("first: %v %v %v", st, created, err)
	}
	retry := Ticket(now.Add(time.Second))
	retry.Description = "the same request, sent again"
	retryEvents := CreateEvent(now)
	st, created, err = s.Create(ctx, retry, retryEvents, "req-1")
	if err != nil || created {
		t.Fatalf("retry: created %v, %v; want false, nil", created, err)
	}
	if st.Number != first.Number || st.Description != first.Description {
		t.Errorf("retry returned %s %q; want the stored ticket %s %q", st.Number, st.Description, first.Number, first.Description)
	}
	if retry.Number != "" || retryEvents[0].Number != "" {
		t.Errorf("retry numbered its arguments (%q, %q); want them untouched", retry.Number, retryEvents[0].Number)
	}
	if n := len(all(t, s)); n != 1 {
		t.Errorf("%d tickets; want 1", n)
	}
	if n := len(events(t, s, first.Number)); n != 1 {
		t.Errorf("%d events; want 1: the retry's are not written", n)
	}
	// The retry took no number.
	other := Ticket(now)
	if _, _, err := s.Create(ctx, other, nil, "req-2"); err != nil || other.Number != "20260506-0002" {
		t.Errorf("next ticket %q, %v; want 20260506-0002", other.Number, err)
	}
	// No key: no deduplication.
	for range 2 {
		if _, created, err := s.Create(ctx, Ticket(now), nil, ""); err != nil || !created {
			t.Errorf("without a key: created %v, %v", created, err)
		}
	}
}

// The same key from many callers at once (on several nodes) makes one ticket and takes one
// number (in a Gapless store, the next one of the day); the others' tickets and events are not
// written.
func testIdempotencyConcurrent(t *testing.T, s Store) {
	ns := nodes(t, s, 2)
	ctx := t.Context()
	now := time.Date(2026, 5, 6, 10, 0, 0, 0, intake.Beijing)
	for round := range 5 {
		key := fmt.Sprint("same-", round)
		var mu sync.Mutex
		numbers, createdN := map[string]bool{}, 0
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				<-start
				st, created, err := ns[i%len(ns)].Create(ctx, Ticket(now), CreateEvent(now), key)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				numbers[st.Number] = true
				if created {
					createdN++
				}
			})
		}
		close(start)
		wg.Wait()
		if len(numbers) != 1 || createdN != 1 {
			t.Errorf("round %d: numbers %v, %d created; want one number, created once", round, numbers, createdN)
		}
		if _, gapless := s.(Gapless); gapless {
			if want := fmt.Sprintf("20260506-%04d", round+1); !numbers[want] {
				t.Errorf("round %d: numbers %v; want %s", round, numbers, want)
			}
		}
	}
	tickets, evs := all(t, s), 0
	for _, tk := range tickets {
		evs += len(events(t, s, tk.Number))
	}
	if len(tickets) != 5 || evs != 5 {
		t.Errorf("%d tickets, %d events; want 5 and 5: the losers' are not written", len(tickets), evs)
	}
}

// A Create whose ctx has ended writes nothing, its key included, and numbers nothing.
func testCreateCanceled(t *testing.T, s Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	tk := Ticket(time.Now())
	evs := CreateEvent(time.Now())
	if _, _, err := s.Create(ctx, tk, evs, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v; want context.Canceled", err)
	}
	if tk.Number != "" || evs[0].Number != "" {
		t.Errorf("a canceled Create numbered the ticket (%q) or its event (%q)", tk.Number, evs[0].Number)
	}
	if n := len(all(t, s)); n != 0 {
		t.Errorf("%d tickets after a canceled Create; want none", n)
	}
	again := Ticket(time.Now())
	if _, created, err := s.Create(t.Context(), again, CreateEvent(time.Now()), "k"); err != nil || !created {
		t.Errorf("the key again: created %v, %v; want a new ticket: the canceled Create kept no key", created, err)
	} else if n := len(events(t, s, again.Number)); n != 1 {
		t.Errorf("%d events; want 1", n)
	}
}

// createConcurrently creates workers×each tickets, each with its create event, from workers
// goroutines at once spread over the nodes, created at created (now when zero) with the keys key
// gives (c-0, c-1, … when nil), and returns their numbers in the keys' order.
func createConcurrently(t *testing.T, ns []Store, workers, each int, created time.Time, key func(k int) string) []string {
	t.Helper()
	ctx := t.Context()
	if key == nil {
		key = func(k int) string { return fmt.Sprintf("c-%d", k) }
	}
	numbers := make([]string, workers*each)
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			s := ns[g%len(ns)]
			for i := range each {
				k := g*each + i
				at := cmp.Or(created, time.Now())
				st, ok, err := s.Create(ctx, Ticket(at), CreateEvent(at), key(k))
				if err != nil || !ok {
					t.Errorf("create %d: created %v, %v", k, ok, err)
					return
				}
				numbers[k] = st.Number
			}
		})
	}
	wg.Wait()
	return numbers
}

// Many callers creating at once each get their own number, and every ticket and event is kept.
func testConcurrentCreates(t *testing.T, s Store) {
	ctx := t.Context()
	const workers, each = 20, 10
	numbers := createConcurrently(t, nodes(t, s, 2), workers, each, time.Time{}, nil)
	seen := map[string]bool{}
	for k, n := range numbers {
		if seen[n] {
			t.Errorf("number %q given twice", n)
		}
		seen[n] = true
		got, err := s.Get(ctx, n)
		if err != nil {
			t.Errorf("ticket %d (%q): %v", k, n, err)
			continue
		}
		if got.Number != n {
			t.Errorf("Get(%q).Number = %q", n, got.Number)
		}
		if evs := events(t, s, n); len(evs) != 1 || evs[0].Number != n {
			t.Errorf("ticket %s: events %+v; want its one create event", n, evs)
		}
	}
	if n := len(all(t, s)); n != workers*each {
		t.Errorf("%d tickets; want %d", n, workers*each)
	}
}

// Tickets created at once (in a store that commits in batches, committed together) are all there
// after the store is closed and opened again, with their events and their keys. Needs Reopener.
func testCreatesSurviveReopen(t *testing.T, s Store) {
	r := reopener(t, s)
	const workers, each = 20, 10
	numbers := createConcurrently(t, nodes(t, s, 2), workers, each, time.Time{}, nil)
	s = r.Reopen(t)
	ctx := t.Context()
	for k, n := range numbers {
		got, err := s.Get(ctx, n)
		if err != nil {
			t.Errorf("ticket %d (%q) after reopen: %v", k, n, err)
			continue
		}
		if got.Number != n {
			t.Errorf("Get(%q).Number = %q", n, got.Number)
		}
		// The same key again finds it.
		if st, created, err := s.Create(ctx, Ticket(time.Now()), nil, fmt.Sprintf("c-%d", k)); err != nil || created || st.Number != n {
			t.Errorf("key c-%d after reopen: created %v, %v, %v; want %s", k, created, st, err, n)
		}
	}
	tickets, evs := all(t, s), 0
	for _, tk := range tickets {
		evs += len(events(t, s, tk.Number))
	}
	if len(tickets) != workers*each {
		t.Errorf("%d tickets; want %d", len(tickets), workers*each)
	}
	if evs != workers*each {
		t.Errorf("%d events; want %d", evs, workers*each)
	}
}

// Filters, the order (overdue, then emergency, urgent, normal, then newest first), limit and
// offset; text matches literally in the number, description or address.
func testList(t *testing.T, s Store) {
	ctx := t.Context()
	base := time.Date(2026, 4, 1, 8, 0, 0, 0, intake.Beijing)
	mk := func(hour int, edit func(*intake.Ticket)) string {
		tk := Ticket(base.Add(time.Duration(hour) * time.Hour))
		edit(tk)
		return create(t, s, tk)
	}
	a := mk(1, func(t *intake.Ticket) {
		t.Community, t.Category, t.Grid, t.Description, t.Address = "c1", "roads", "g1", "路灯坏了", "幸福路1号"
	})
	b := mk(2, func(t *intake.Ticket) {
		t.Community, t.Category, t.Grid, t.Tier, t.Urgency, t.Status = "c1", "water", "g2", intake.TierCommunity, intake.Urgent, intake.Dispatched
	})
	c := mk(3, func(t *intake.Ticket) {
		t.Community, t.Category, t.Grid, t.Urgency, t.Status, t.Overdue = "c2", "roads", "g1", intake.Emergency, intake.InProgress, true
	})
	d := mk(4, func(t *intake.Ticket) {
		t.Community, t.Category, t.Grid, t.Status, t.Description = "c2", "roads", "g3", intake.Closed, "100% done_x"
	})
	e := mk(5, func(t *intake.Ticket) { t.Address = "黄河路" })
	f := mk(0, func(t *intake.Ticket) { t.Urgency, t.Tier = intake.Emergency, intake.TierTown })
	g := mk(6, func(t *intake.Ticket) { t.ConversationID, t.Description = "conv-9", `back\slash` })

	yes, no := true, false
	for _, tc := range []struct {
		name   string
		filter intake.Filter
		want   []string
	}{
		{"all", intake.Filter{}, []string{c, f, b, g, e, d, a}},
		{"status", intake.Filter{Status: intake.Dispatched}, []string{b}},
		{"tier", intake.Filter{Tier: intake.TierTown}, []string{f}},
		{"community", intake.Filter{Community: "c1"}, []string{b, a}},
		{"category", intake.Filter{Category: "roads"}, []string{c, d, a}},
		{"grid", intake.Filter{Grid: "g1"}, []string{c, a}},
		{"category and grid", intake.Filter{Category: "roads", Grid: "g3"}, []string{d}},
		{"conversation", intake.Filter{Conversation: "conv-9"}, []string{g}},
		{"overdue", intake.Filter{Overdue: &yes}, []string{c}},
		{"not overdue", intake.Filter{Overdue: &no}, []string{f, b, g, e, d, a}},
		{"text in description", intake.Filter{Text: "坏了"}, []string{a}},
		{"text in address", intake.Filter{Text: "黄河"}, []string{e}},
		{"text in number", intake.Filter{Text: strings.TrimPrefix(d, "20260401")}, []string{d}},
		{"literal %", intake.Filter{Text: "%"}, []string{d}},
		{"literal _", intake.Filter{Text: "_x"}, []string{d}},
		{`literal \`, intake.Filter{Text: `k\s`}, []string{g}},
		{"_ is no wildcard", intake.Filter{Text: "0_0"}, []string{}},
		{"no match", intake.Filter{Community: "nowhere"}, []string{}},
		{"limit", intake.Filter{Limit: 2}, []string{c, f}},
		{"offset", intake.Filter{Limit: 2, Offset: 2}, []string{b, g}},
		{"past the end", intake.Filter{Offset: 10}, []string{}},
	} {
		got, err := s.List(ctx, tc.filter)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		numbers := []string{}
		for _, tk := range got {
			numbers = append(numbers, tk.Number)
		}
		if !reflect.DeepEqual(numbers, tc.want) {
			t.Errorf("%s: got %v; want %v", tc.name, numbers, tc.want)
		}
	}
}

// Limit is 100 when not given, and at most 1000.
func testListLimit(t *testing.T, s Store) {
	if testing.Short() {
		t.Skip("creates 1,001 tickets")
	}
	ctx := t.Context()
	var wg sync.WaitGroup
	for g := range 13 {
		wg.Go(func() {
			for i := range 77 {
				if _, _, err := s.Create(ctx, Ticket(time.Now()), nil, fmt.Sprint(g, "-", i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for limit, want := range map[int]int{0: 100, -1: 100, 5000: 1000, 1001: 1000, 7: 7} {
		got, err := s.List(ctx, intake.Filter{Limit: limit})
		if err != nil || len(got) != want {
			t.Errorf("Limit %d: %d tickets, %v; want %d", limit, len(got), err, want)
		}
	}
}

// Late: open tickets past their finish deadline and not yet marked overdue, and dispatched ones
// past their sign deadline.
func testLate(t *testing.T, s Store) {
	ctx := t.Context()
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, intake.Beijing)
	past, future := now.Add(-time.Minute), now.Add(time.Minute)
	want := map[string]string{} // number → why it is late
	mk := func(why string, late bool, edit func(*intake.Ticket)) {
		tk := Ticket(now.Add(-48 * time.Hour))
		tk.SignBy, tk.DueBy = future, future
		edit(tk)
		create(t, s, tk)
		if late {
			want[tk.Number] = why
		}
	}
	for _, st := range intake.Statuses {
		mk("past due, "+string(st), st.Open(), func(t *intake.Ticket) { t.Status, t.DueBy = st, past })
		mk("past due, marked overdue, "+string(st), false, func(t *intake.Ticket) { t.Status, t.DueBy, t.Overdue = st, past, true })
		mk("past sign_by, "+string(st), st == intake.Dispatched, func(t *intake.Ticket) { t.Status, t.SignBy = st, past })
	}
	mk("dispatched, past sign_by, overdue", true, func(t *intake.Ticket) {
		t.Status, t.SignBy, t.DueBy, t.Overdue = intake.Dispatched, past, past, true
	})
	mk("due exactly now", false, func(t *intake.Ticket) { t.DueBy = now })
	mk("no deadlines", false, func(t *intake.Ticket) { t.SignBy, t.DueBy, t.Status = time.Time{}, time.Time{}, intake.Dispatched })
	mk("in time", false, func(t *intake.Ticket) { t.Status = intake.Dispatched })

	got, err := s.Late(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, tk := range got {
		if seen[tk.Number] {
			t.Errorf("Late returned %s twice", tk.Number)
		}
		seen[tk.Number] = true
		if _, ok := want[tk.Number]; !ok {
			t.Errorf("Late returned %s (%s, sign_by %s, due_by %s, overdue %v); want it not late",
				tk.Number, tk.Status, tk.SignBy, tk.DueBy, tk.Overdue)
		}
	}
	for n, why := range want {
		if !seen[n] {
			t.Errorf("Late missed %s: %s", n, why)
		}
	}
}

// Update stores the ticket and its event provided the version is the next one; the trail is in
// the order written. A stale, unknown or mismatched update writes nothing.
func testUpdateAndEvents(t *testing.T, s Store) {
	ctx := t.Context()
	now := time.Date(2026, 7, 1, 9, 0, 0, 0, intake.Beijing)
	sla := intake.DefaultSLA(intake.DefaultCalendar())
	tk := Ticket(now)
	if _, _, err := s.Create(ctx, tk, CreateEvent(now), ""); err != nil {
		t.Fatal(err)
	}
	for i, c := range []intake.Change{
		{Action: intake.ActDispatch, Actor: "op", Grid: "g1"},
		{Action: intake.ActSign, Actor: "grid1"},
		{Action: intake.ActNote, Actor: "grid1", Note: "到现场了"},
	} {
		// Older times on purpose: the trail is in the order things were written.
		ev, err := tk.Apply(c, now.Add(time.Duration(10-i)*time.Minute), sla)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Update(ctx, tk, ev); err != nil {
			t.Fatalf("%s: %v", c.Action, err)
		}
	}
	got, err := s.Get(ctx, tk.Number)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, inUTC(tk)) || got.Version != 4 {
		t.Errorf("after updates:\n got %+v\nwant %+v (version 4)", got, inUTC(tk))
	}
	evs := events(t, s, tk.Number)
	var actions []string
	for i, ev := range evs {
		actions = append(actions, string(ev.Action))
		if ev.Number != tk.Number || (i > 0 && ev.ID <= evs[i-1].ID) {
			t.Errorf("event %d: number %s id %d", i, ev.Number, ev.ID)
		}
	}
	if strings.Join(actions, " ") != "create dispatch sign note" {
		t.Errorf("events %v; want create dispatch sign note", actions)
	}

	// A stale copy loses.
	stale := *got
	stale.Version = 3
	if err := s.Update(ctx, &stale, intake.Event{Action: intake.ActNote, Note: "x"}); !errors.Is(err, intake.ErrConflict) {
		t.Errorf("stale update: %v; want ErrConflict", err)
	}
	unknown := Ticket(now)
	unknown.Number, unknown.Version = "20260701-0999", 2
	if err := s.Update(ctx, unknown, intake.Event{Action: intake.ActNote, Note: "x"}); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("update of an unknown number: %v; want ErrNotFound", err)
	}
	if _, err := s.Events(ctx, unknown.Number); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("events of an unknown number: %v; want ErrNotFound", err)
	}
	if err := s.Update(ctx, got, intake.Event{Number: "other", Action: intake.ActNote}); !errors.Is(err, intake.ErrInvalid) {
		t.Errorf("update with another ticket's event: %v; want ErrInvalid", err)
	}
	if n := len(events(t, s, tk.Number)); n != 4 {
		t.Errorf("%d events; want 4: failed updates write none", n)
	}
	if after, err := s.Get(ctx, tk.Number); err != nil || !reflect.DeepEqual(after, got) {
		t.Errorf("after failed updates: %+v, %v; want the ticket unchanged", after, err)
	}
}

// Two staff change the same version at once, on two nodes: exactly one wins, the other gets
// ErrConflict.
func testUpdateRace(t *testing.T, s Store) {
	ns := nodes(t, s, 2)
	ctx := t.Context()
	now := time.Now()
	tk := Ticket(now)
	if _, _, err := s.Create(ctx, tk, CreateEvent(now), ""); err != nil {
		t.Fatal(err)
	}
	sla := intake.DefaultSLA(intake.DefaultCalendar())
	for round := range 20 {
		start := make(chan struct{})
		errs := make([]error, 2)
		copies := make([]intake.Ticket, 2)
		var wg sync.WaitGroup
		for i := range 2 {
			copies[i] = *tk
			ev, err := copies[i].Apply(intake.Change{Action: intake.ActUrge, Actor: fmt.Sprint("staff", i)}, now, sla)
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				<-start
				errs[i] = ns[i%len(ns)].Update(ctx, &copies[i], ev)
			})
		}
		close(start)
		wg.Wait()
		won := -1
		for i, err := range errs {
			switch {
			case err == nil:
				won = i
			case !errors.Is(err, intake.ErrConflict):
				t.Fatalf("round %d: %v; want nil or ErrConflict", round, err)
			}
		}
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("round %d: errors %v; want exactly one ErrConflict", round, errs)
		}
		got, err := ns[round%len(ns)].Get(ctx, tk.Number)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != tk.Version+1 || got.Urged != round+1 {
			t.Fatalf("round %d: version %d urged %d; want %d and %d", round, got.Version, got.Urged, tk.Version+1, round+1)
		}
		evs := events(t, s, tk.Number)
		if last := evs[len(evs)-1]; last.Actor != fmt.Sprint("staff", won) {
			t.Fatalf("round %d: last event by %q; want the winner's, staff%d", round, last.Actor, won)
		}
		tk = &copies[won]
	}
	if got, err := ns[len(ns)-1].Get(ctx, tk.Number); err != nil || got.Version != 21 || got.Urged != 20 {
		t.Errorf("after 20 rounds: %+v, %v; want version 21, urged 20", got, err)
	}
	if n := len(events(t, s, tk.Number)); n != 21 {
		t.Errorf("%d events; want 21: one create, one per round", n)
	}
}
