package intake_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/search"
)

// memStore is an in-memory Store with the contract of intake.Store: Create numbers by day and
// honours idempotency keys, Update only over the version before t's. It hands out copies, so a
// caller's changes reach it only through Update. Users are not needed here (nil: they panic).
type memStore struct {
	intake.Users

	mu      sync.Mutex
	tickets map[string]*intake.Ticket
	events  map[string][]intake.Event
	idem    map[string]string
	perDay  map[string]int
	order   []string
	fails   map[string][]time.Time // failed proofs by ticket, oldest first
}

func newMemStore() *memStore {
	return &memStore{
		tickets: map[string]*intake.Ticket{}, events: map[string][]intake.Event{},
		idem: map[string]string{}, perDay: map[string]int{},
	}
}

func (s *memStore) FollowFailures(_ context.Context, number string, since time.Time, limit int) ([]time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []time.Time
	ts := s.fails[number]
	for i := len(ts) - 1; i >= 0 && len(out) < limit; i-- {
		if ts[i].After(since) {
			out = append(out, ts[i])
		}
	}
	return out, nil
}

func (s *memStore) FollowFailed(_ context.Context, number string, at, forget time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fails == nil {
		s.fails = map[string][]time.Time{}
	}
	s.fails[number] = append(s.fails[number], at)
	return nil
}

func (s *memStore) Create(_ context.Context, t *intake.Ticket, events []intake.Event, idemKey string) (*intake.Ticket, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if idemKey != "" {
		if n, ok := s.idem[idemKey]; ok {
			return clone(s.tickets[n]), false, nil
		}
	}
	day := t.Created.In(intake.Beijing).Format("20060102")
	s.perDay[day]++
	c := clone(t)
	c.Number = fmt.Sprintf("%s-%04d", day, s.perDay[day])
	s.tickets[c.Number] = c
	s.order = append(s.order, c.Number)
	for _, ev := range events {
		ev.Number = c.Number
		s.events[c.Number] = append(s.events[c.Number], ev)
	}
	if idemKey != "" {
		s.idem[idemKey] = c.Number
	}
	return clone(c), true, nil
}

func (s *memStore) Get(_ context.Context, number string) (*intake.Ticket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tickets[number]
	if !ok {
		return nil, fmt.Errorf("ticket %s: %w", number, intake.ErrNotFound)
	}
	return clone(t), nil
}

func (s *memStore) Update(_ context.Context, t *intake.Ticket, ev intake.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.tickets[t.Number]
	if !ok {
		return fmt.Errorf("ticket %s: %w", t.Number, intake.ErrNotFound)
	}
	if old.Version != t.Version-1 {
		return fmt.Errorf("ticket %s is at version %d, not %d: %w", t.Number, old.Version, t.Version-1, intake.ErrConflict)
	}
	s.tickets[t.Number] = clone(t)
	s.events[t.Number] = append(s.events[t.Number], ev)
	return nil
}

func (s *memStore) List(_ context.Context, _ intake.Filter) ([]*intake.Ticket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*intake.Ticket
	for _, n := range s.order {
		out = append(out, clone(s.tickets[n]))
	}
	return out, nil
}

func (s *memStore) Events(_ context.Context, number string) ([]intake.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]intake.Event(nil), s.events[number]...), nil
}

func (s *memStore) Late(_ context.Context, now time.Time) ([]*intake.Ticket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*intake.Ticket
	for _, n := range s.order {
		t := s.tickets[n]
		if t.Status.Open() && (t.Status == intake.Dispatched && t.SignBy.Before(now) || !t.Overdue && t.DueBy.Before(now)) {
			out = append(out, clone(t))
		}
	}
	return out, nil
}

func (s *memStore) Close() error { return nil }

// clock is a Now the test moves by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

var (
	guideOnce sync.Once
	guideDir  intake.GuideDirectory
	guideErr  error
)

func sampleDirectory(t *testing.T) intake.GuideDirectory {
	t.Helper()
	guideOnce.Do(func() {
		spec, err := search.LoadSpec(search.SpecFS())
		if err != nil {
			guideErr = err
			return
		}
		g, problems := search.Load(search.SampleGuide(), spec)
		if len(problems) > 0 {
			guideErr = problems
			return
		}
		guideDir = intake.GuideDirectory{Spec: spec, Guide: g}
	})
	if guideErr != nil {
		t.Fatalf("sample guide: %v", guideErr)
	}
	return guideDir
}

// Monday 2026-11-23 09:00 Beijing: far from any holiday, so deadlines stay simple.
var svcStart = time.Date(2026, 11, 23, 9, 0, 0, 0, intake.Beijing)

func newService(t *testing.T) (*intake.Service, *memStore, *clock) {
	t.Helper()
	st := newMemStore()
	clk := &clock{now: svcStart}
	return &intake.Service{
		Store: st, SLA: intake.DefaultSLA(intake.DefaultCalendar()), Dir: sampleDirectory(t), Now: clk.Now,
	}, st, clk
}

func streetlight() intake.NewTicket {
	return intake.NewTicket{
		Topic: "report-streetlight", Community: "wy-jinqiao", Address: "虹亚小区3号楼东侧",
		Description: "3号楼东侧路灯一周不亮了，晚上很黑", Name: "王女士", Phone: "138 1234 5678",
		Channel: intake.ChannelChat, ConversationID: "conv-1",
	}
}

func TestCreateRoutesByAddress(t *testing.T) {
	svc, _, _ := newService(t)
	n := streetlight()
	n.Community = ""
	tk, _, err := svc.Create(context.Background(), n, "")
	if err != nil || tk.Community != "wy-jinqiao" || tk.Grid != "wy-jinqiao-g2" || tk.Status != intake.Dispatched || tk.Assignee != "网格员 廖某凤" {
		t.Errorf("a report naming 虹亚小区 without a community: %+v, %v; want dispatched to wy-jinqiao-g2's 网格员", tk, err)
	}
	n.Address = "城外的某个地方"
	if tk, _, err = svc.Create(context.Background(), n, ""); err != nil || tk.Community != "" || tk.Status != intake.Received {
		t.Errorf("an address naming no place: %+v, %v; want received, for the dispatcher", tk, err)
	}
}

func TestCreateDispatchesToTheGrid(t *testing.T) {
	svc, st, _ := newService(t)
	dir := sampleDirectory(t)
	c, ok := dir.Guide.Community("wy-jinqiao")
	if !ok {
		t.Fatal("sample guide has no wy-jinqiao")
	}
	grid := c.GridFor("虹亚小区")
	if grid == nil || grid == c.TopGrid() {
		t.Fatalf("sample guide: 虹亚小区 has no grid of its own (%v)", grid)
	}
	var worker string
	for _, p := range grid.People {
		if p.Role == "网格员" {
			worker = "网格员 " + p.Name
		}
	}
	if worker == "" {
		t.Fatalf("sample guide: grid %s has no 网格员", grid.ID)
	}

	tk, created, err := svc.Create(context.Background(), streetlight(), "")
	if err != nil {
		t.Fatal(err)
	}
	if !created {
		t.Error("created = false for a new ticket")
	}
	if tk.Number != "20261123-0001" {
		t.Errorf("number = %q", tk.Number)
	}
	if tk.Category != "municipal" {
		t.Errorf("category = %q; want municipal, the topic's", tk.Category)
	}
	if tk.Status != intake.Dispatched || tk.Tier != intake.TierGrid {
		t.Errorf("status %s, tier %s; want dispatched at the grid", tk.Status, tk.Tier)
	}
	if tk.Grid != grid.ID || tk.Assignee != worker {
		t.Errorf("grid %q, assignee %q; want %q, %q", tk.Grid, tk.Assignee, grid.ID, worker)
	}
	if !tk.SignBy.Equal(svcStart.Add(2 * time.Hour)) {
		t.Errorf("sign by %v; want %v", tk.SignBy, svcStart.Add(2*time.Hour))
	}
	if want := intake.DefaultCalendar().AddWorkingDays(svcStart, 5); !tk.DueBy.Equal(want) || !want.Equal(endOfDay(2026, 11, 30)) {
		t.Errorf("due by %v; want %v", tk.DueBy, want)
	}
	if tk.Version != 1 || tk.Urgency != intake.Normal || tk.Phone.Full() != "13812345678" {
		t.Errorf("version %d, urgency %s, phone %q", tk.Version, tk.Urgency, tk.Phone.Full())
	}
	if !tk.Steps[intake.Received].Equal(svcStart) || !tk.Steps[intake.Dispatched].Equal(svcStart) || !tk.Created.Equal(svcStart) {
		t.Errorf("steps %v, created %v", tk.Steps, tk.Created)
	}
	evs, _ := st.Events(context.Background(), tk.Number)
	if len(evs) != 2 || evs[0].Action != intake.ActCreate || evs[0].To != intake.Received || evs[0].Actor != "resident" ||
		evs[1].Action != intake.ActDispatch || evs[1].From != intake.Received || evs[1].To != intake.Dispatched || evs[1].Actor != "system" {
		t.Errorf("events = %+v; want create by the resident, then dispatch by the system", evs)
	}

	// Stored as returned: the next Apply starts from version 1.
	got, err := svc.Get(context.Background(), tk.Number)
	if err != nil || got.Version != 1 || got.Assignee != worker {
		t.Errorf("stored %+v, %v", got, err)
	}
}

func TestCreateWithoutCommunityWaits(t *testing.T) {
	svc, _, _ := newService(t)
	n := streetlight()
	n.Community, n.Address = "", "3号楼东侧" // no community, and an address that names none
	n.Urgency = intake.Urgent
	tk, _, err := svc.Create(context.Background(), n, "")
	if err != nil {
		t.Fatal(err)
	}
	if tk.Status != intake.Received || tk.Grid != "" || tk.Assignee != "" || tk.Tier != intake.TierGrid {
		t.Errorf("status %s, grid %q, assignee %q, tier %s; want received, with nobody", tk.Status, tk.Grid, tk.Assignee, tk.Tier)
	}
	if !tk.SignBy.IsZero() {
		t.Errorf("sign by %v before any dispatch", tk.SignBy)
	}
	if !tk.DueBy.Equal(svcStart.Add(24 * time.Hour)) {
		t.Errorf("urgent due by %v; want +24h", tk.DueBy)
	}
}

func TestCreateIdempotent(t *testing.T) {
	svc, st, _ := newService(t)
	var logs strings.Builder
	svc.Log = slog.New(slog.NewTextHandler(&logs, nil))
	first, created, err := svc.Create(context.Background(), streetlight(), "key-1")
	if err != nil || !created {
		t.Fatalf("first: %v, created %v", err, created)
	}
	again, created, err := svc.Create(context.Background(), streetlight(), "key-1")
	if err != nil || created || again.Number != first.Number || again.Description != first.Description {
		t.Errorf("again: %+v, created %v, %v; want the first ticket back", again, created, err)
	}
	// The same key for another report is refused, and shows nothing of the first ticket.
	n := streetlight()
	n.Description = "另一件事"
	if other, _, err := svc.Create(context.Background(), n, "key-1"); !errors.Is(err, intake.ErrConflict) || other != nil {
		t.Errorf("key reused for another request: %v, %v; want ErrConflict", other, err)
	}
	other, created, err := svc.Create(context.Background(), streetlight(), "key-2")
	if err != nil || !created || other.Number != "20261123-0002" {
		t.Errorf("another key: %v, created %v, %v", other, created, err)
	}
	if all, _ := st.List(context.Background(), intake.Filter{}); len(all) != 2 {
		t.Errorf("%d tickets stored; want 2", len(all))
	}
	// One line per ticket actually created, and never the phone.
	if n := strings.Count(logs.String(), "ticket created"); n != 2 {
		t.Errorf("%d creations logged; want 2:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "5678") || !strings.Contains(logs.String(), first.Number) {
		t.Errorf("log = %s; want the number and no phone", logs.String())
	}
}

func TestCreateRefuses(t *testing.T) {
	lat := 41.0
	badLat, lng := 91.0, 108.0
	for _, tc := range []struct {
		name  string
		edit  func(*intake.NewTicket)
		field string
	}{
		{"unknown topic", func(n *intake.NewTicket) { n.Topic = "report-ufo" }, "topic"},
		{"unknown category", func(n *intake.NewTicket) { n.Topic, n.Category = "", "astrology" }, "category"},
		{"no topic or category", func(n *intake.NewTicket) { n.Topic = "" }, "category"},
		{"topic and category disagree", func(n *intake.NewTicket) { n.Category = "welfare" }, "category"},
		{"unknown community", func(n *intake.NewTicket) { n.Community = "wy-atlantis" }, "community"},
		{"empty description", func(n *intake.NewTicket) { n.Description = "" }, "description"},
		{"blank description", func(n *intake.NewTicket) { n.Description = " \n\t " }, "description"},
		{"4001 characters", func(n *intake.NewTicket) { n.Description = strings.Repeat("灯", intake.MaxDescription+1) }, "description"},
		{"invalid UTF-8", func(n *intake.NewTicket) { n.Description = "路灯\xff\xfe不亮" }, "description"},
		{"bad phone", func(n *intake.NewTicket) { n.Phone = "12345" }, "phone"},
		{"phone required", func(n *intake.NewTicket) { n.Phone, n.PhoneRequired = "", true }, "phone"},
		{"lat without lng", func(n *intake.NewTicket) { n.Lat = &lat }, "lat"},
		{"lng without lat", func(n *intake.NewTicket) { n.Lng = &lng }, "lat"},
		{"lat out of range", func(n *intake.NewTicket) { n.Lat, n.Lng = &badLat, &lng }, "lat"},
		{"unknown urgency", func(n *intake.NewTicket) { n.Urgency = "asap" }, "urgency"},
		{"unknown channel", func(n *intake.NewTicket) { n.Channel = "fax" }, "channel"},
		{"no channel", func(n *intake.NewTicket) { n.Channel = "" }, "channel"},
		{"address too long", func(n *intake.NewTicket) { n.Address = strings.Repeat("街", 501) }, "address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc, st, _ := newService(t)
			n := streetlight()
			tc.edit(&n)
			tk, _, err := svc.Create(context.Background(), n, "")
			if tk != nil {
				t.Errorf("returned a ticket: %+v", tk)
			}
			var fe *intake.FieldError
			if !errors.As(err, &fe) || !errors.Is(err, intake.ErrInvalid) {
				t.Fatalf("err = %v; want a *FieldError that is ErrInvalid", err)
			}
			if fe.Field != tc.field {
				t.Errorf("field = %q (%v); want %q", fe.Field, err, tc.field)
			}
			if all, _ := st.List(context.Background(), intake.Filter{}); len(all) != 0 {
				t.Errorf("a refused ticket was stored")
			}
		})
	}

	// At the limits, accepted.
	svc, _, _ := newService(t)
	n := streetlight()
	n.Description = strings.Repeat("灯", intake.MaxDescription)
	n.Category = "municipal"
	n.Lat, n.Lng = &lat, &lng
	n.Phone = ""
	if _, _, err := svc.Create(context.Background(), n, ""); err != nil {
		t.Errorf("a %d-character description, matching category, no phone: %v", intake.MaxDescription, err)
	}
}

func TestApplyStaleVersion(t *testing.T) {
	svc, st, clk := newService(t)
	ctx := context.Background()
	tk, _, err := svc.Create(ctx, streetlight(), "")
	if err != nil {
		t.Fatal(err)
	}
	clk.Set(svcStart.Add(10 * time.Minute))
	signed, err := svc.Apply(ctx, tk.Number, 1, intake.Change{Action: intake.ActSign, Actor: "w1"})
	if err != nil || signed.Status != intake.Signed || signed.Version != 2 {
		t.Fatalf("sign: %+v, %v", signed, err)
	}
	_, err = svc.Apply(ctx, tk.Number, 1, intake.Change{Action: intake.ActNote, Actor: "op1", Note: "看过了"})
	if !errors.Is(err, intake.ErrConflict) {
		t.Errorf("a change to version 1 of a version-2 ticket: err = %v; want ErrConflict", err)
	}
	if now, _ := st.Get(ctx, tk.Number); now.Version != 2 {
		t.Errorf("version %d after a conflict; want 2", now.Version)
	}
	if evs, _ := st.Events(ctx, tk.Number); len(evs) != 3 {
		t.Errorf("%d events; want create, dispatch, sign", len(evs))
	}
	if _, err := svc.Apply(ctx, "20990101-0001", 0, intake.Change{Action: intake.ActNote, Note: "x"}); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("unknown ticket: err = %v; want ErrNotFound", err)
	}
	if _, err := svc.Apply(ctx, tk.Number, 0, intake.Change{Action: intake.ActClose}); !errors.Is(err, intake.ErrTransition) {
		t.Errorf("closing a signed ticket: err = %v; want ErrTransition", err)
	}
}

// Of several staff changing the same version at once, exactly one wins.
func TestApplyRacingChanges(t *testing.T) {
	svc, st, _ := newService(t)
	ctx := context.Background()
	tk, _, err := svc.Create(ctx, streetlight(), "")
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = svc.Apply(ctx, tk.Number, 1, intake.Change{Action: intake.ActNote, Actor: fmt.Sprint("op", i), Note: "备注"})
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, intake.ErrConflict):
			t.Errorf("err = %v; want nil or ErrConflict", err)
		}
	}
	if won != 1 {
		t.Errorf("%d changes won; want exactly 1", won)
	}
	if got, _ := st.Get(ctx, tk.Number); got.Version != 2 {
		t.Errorf("version %d; want 2", got.Version)
	}
}

func TestApplyEscalateFillsAssignee(t *testing.T) {
	svc, _, clk := newService(t)
	ctx := context.Background()
	tk, _, err := svc.Create(ctx, streetlight(), "")
	if err != nil {
		t.Fatal(err)
	}
	clk.Set(svcStart.Add(time.Hour))
	up, err := svc.Apply(ctx, tk.Number, 0, intake.Change{Action: intake.ActEscalate, Actor: "op1"})
	if err != nil {
		t.Fatal(err)
	}
	if want := communityHead(t); up.Tier != intake.TierCommunity || up.Assignee != want {
		t.Errorf("tier %s, assignee %q; want community, %q", up.Tier, up.Assignee, want)
	}
	// An assignee given by staff is kept.
	up, err = svc.Apply(ctx, tk.Number, 0, intake.Change{Action: intake.ActEscalate, Actor: "op1", Assignee: "镇城管办 李某"})
	if err != nil || up.Tier != intake.TierTown || up.Assignee != "镇城管办 李某" {
		t.Errorf("tier %s, assignee %q, %v", up.Tier, up.Assignee, err)
	}
}

func TestGuideDirectoryRoute(t *testing.T) {
	dir := sampleDirectory(t)
	c, _ := dir.Guide.Community("wy-jinqiao")
	for _, tc := range []struct {
		address, grid, worker string
	}{
		// The compound's grid has both a 网格长 and a 网格员: the 网格员 takes grid tickets.
		{"金桥小区2号楼", "wy-jinqiao-g1", "网格员 范某丽"},
		{"金桥家属院", "wy-jinqiao-g1", "网格员 范某丽"},
		{"虹亚小区4号楼", "wy-jinqiao-g2", "网格员 廖某凤"},
		// No compound named: the 总网格, which has no 网格员.
		{"丰收路边上", "wy-jinqiao-g0", "网格长 冯某海"},
	} {
		r, ok := dir.Route("wy-jinqiao", tc.address)
		if !ok || r.Community != "wy-jinqiao" || r.Grid != tc.grid || r.Assignee[intake.TierGrid] != tc.worker {
			t.Errorf("Route(%q) = %+v, %v; want grid %s, worker %q", tc.address, r, ok, tc.grid, tc.worker)
		}
		if r.Assignee[intake.TierCommunity] != "网格长 冯某海" || r.Assignee[intake.TierTown] != c.TownName || c.TownName == "" {
			t.Errorf("Route(%q) = %+v; want community 网格长 冯某海, town %q", tc.address, r.Assignee, c.TownName)
		}
	}
	if _, ok := dir.Route("wy-atlantis", "x"); ok {
		t.Error("Route found an unknown community")
	}
	// Without a community, the address finds it.
	if r, ok := dir.Route("", "虹亚小区4号楼"); !ok || r.Community != "wy-jinqiao" || r.Grid != "wy-jinqiao-g2" {
		t.Errorf("Route(\"\", 虹亚小区4号楼) = %+v, %v; want wy-jinqiao, grid g2", r, ok)
	}
	if _, ok := dir.Route("", "火星基地"); ok {
		t.Error("Route found a community for an address that names none")
	}
	if cat, ok := dir.Topic("report-streetlight"); !ok || cat != "municipal" {
		t.Errorf("Topic(report-streetlight) = %q, %v", cat, ok)
	}
	if _, ok := dir.Topic("report-ufo"); ok || dir.Category("astrology") || !dir.Category("municipal") || dir.Community("wy-atlantis") || !dir.Community("wy-jinqiao") {
		t.Error("the directory answered an unknown topic, category or community wrongly")
	}
}

// communityHead is who the sample guide says answers for wy-jinqiao at the community tier.
func communityHead(t *testing.T) string {
	t.Helper()
	c, _ := sampleDirectory(t).Guide.Community("wy-jinqiao")
	for _, role := range []string{"网格长", "社区书记"} {
		for _, p := range c.TopGrid().People {
			if p.Role == role {
				return role + " " + p.Name
			}
		}
	}
	t.Fatal("sample guide: wy-jinqiao's 总网格 has no 网格长 or 社区书记")
	return ""
}

func TestCheckDeadlinesEscalatesUnsigned(t *testing.T) {
	svc, st, clk := newService(t)
	ctx := context.Background()
	tk, _, err := svc.Create(ctx, streetlight(), "")
	if err != nil {
		t.Fatal(err)
	}

	// Not yet late: nothing happens.
	clk.Set(tk.SignBy)
	if esc, over, err := svc.CheckDeadlines(ctx); err != nil || esc != 0 || over != 0 {
		t.Fatalf("at the deadline: escalated %d, overdue %d, %v; want nothing", esc, over, err)
	}

	// Past the sign deadline: up to the community, urged once.
	now := tk.SignBy.Add(time.Minute)
	clk.Set(now)
	esc, over, err := svc.CheckDeadlines(ctx)
	if err != nil || esc != 1 || over != 0 {
		t.Fatalf("escalated %d, overdue %d, %v; want 1, 0", esc, over, err)
	}
	got, _ := st.Get(ctx, tk.Number)
	if got.Tier != intake.TierCommunity || got.Urged != 1 || got.Assignee != communityHead(t) || got.Status != intake.Dispatched {
		t.Errorf("tier %s, urged %d, assignee %q, status %s; want community, 1, %q, dispatched", got.Tier, got.Urged, got.Assignee, got.Status, communityHead(t))
	}
	if !got.SignBy.Equal(now.Add(2 * time.Hour)) {
		t.Errorf("sign by %v; want the clock restarted at %v", got.SignBy, now.Add(2*time.Hour))
	}
	if got.Version != 3 {
		t.Errorf("version %d; want 3 (escalate, urge)", got.Version)
	}
	evs, _ := st.Events(ctx, tk.Number)
	if len(evs) != 4 || evs[2].Action != intake.ActEscalate || evs[3].Action != intake.ActUrge || evs[2].Actor != "system" || evs[3].Actor != "system" {
		t.Errorf("events = %+v; want escalate and urge by the system", evs)
	}

	// Run again before the new deadline: nothing.
	if esc, _, _ := svc.CheckDeadlines(ctx); esc != 0 {
		t.Errorf("a second run escalated %d again before the new deadline", esc)
	}

	// Late again: up to the town.
	now = got.SignBy.Add(time.Minute)
	clk.Set(now)
	if esc, _, err := svc.CheckDeadlines(ctx); err != nil || esc != 1 {
		t.Fatalf("escalated %d, %v; want 1", esc, err)
	}
	got, _ = st.Get(ctx, tk.Number)
	c, _ := sampleDirectory(t).Guide.Community("wy-jinqiao")
	town := c.TownName
	if got.Tier != intake.TierTown || got.Urged != 2 || got.Assignee != town {
		t.Errorf("tier %s, urged %d, assignee %q; want town, 2, %q", got.Tier, got.Urged, got.Assignee, town)
	}

	// At the town there is nowhere higher: the ticket is urged, with a new sign deadline, and
	// urged again only when that one passes.
	now = got.SignBy.Add(time.Hour)
	clk.Set(now)
	if esc, over, err := svc.CheckDeadlines(ctx); err != nil || esc != 0 || over != 0 {
		t.Errorf("at the town: escalated %d, overdue %d, %v; want no escalation", esc, over, err)
	}
	after, _ := st.Get(ctx, tk.Number)
	if after.Version != got.Version+1 || after.Urged != 3 || after.Tier != intake.TierTown || !after.SignBy.Equal(now.Add(2*time.Hour)) {
		t.Errorf("at the town: version %d→%d, urged %d, tier %s, sign by %v; want one urge and a sign deadline at %v",
			got.Version, after.Version, after.Urged, after.Tier, after.SignBy, now.Add(2*time.Hour))
	}
	if _, _, err := svc.CheckDeadlines(ctx); err != nil {
		t.Fatal(err)
	}
	if again, _ := st.Get(ctx, tk.Number); again.Version != after.Version {
		t.Errorf("urged again before the new deadline: version %d→%d", after.Version, again.Version)
	}

	// A signed ticket is not escalated however late.
	other, _, err := svc.Create(ctx, streetlight(), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Apply(ctx, other.Number, 0, intake.Change{Action: intake.ActSign, Actor: "w1"}); err != nil {
		t.Fatal(err)
	}
	clk.Set(other.SignBy.Add(time.Hour))
	if _, _, err := svc.CheckDeadlines(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Get(ctx, other.Number); got.Tier != intake.TierGrid || got.Urged != 0 {
		t.Errorf("signed ticket: tier %s, urged %d; want left alone", got.Tier, got.Urged)
	}
}

func TestCheckDeadlinesMarksOverdueOnce(t *testing.T) {
	svc, st, clk := newService(t)
	ctx := context.Background()
	tk, _, err := svc.Create(ctx, streetlight(), "")
	if err != nil {
		t.Fatal(err)
	}
	clk.Set(svcStart.Add(30 * time.Minute))
	if _, err := svc.Apply(ctx, tk.Number, 0, intake.Change{Action: intake.ActSign, Actor: "w1"}); err != nil {
		t.Fatal(err)
	}

	clk.Set(tk.DueBy)
	if esc, over, err := svc.CheckDeadlines(ctx); err != nil || esc != 0 || over != 0 {
		t.Fatalf("at the deadline: escalated %d, overdue %d, %v; want nothing", esc, over, err)
	}

	clk.Set(tk.DueBy.Add(time.Second))
	esc, over, err := svc.CheckDeadlines(ctx)
	if err != nil || esc != 0 || over != 1 {
		t.Fatalf("past the deadline: escalated %d, overdue %d, %v; want 0, 1", esc, over, err)
	}
	got, _ := st.Get(ctx, tk.Number)
	if !got.Overdue || got.Status != intake.Signed || got.Version != 3 {
		t.Errorf("overdue %v, status %s, version %d; want overdue, still signed, version 3", got.Overdue, got.Status, got.Version)
	}

	clk.Set(tk.DueBy.Add(24 * time.Hour))
	if esc, over, err := svc.CheckDeadlines(ctx); err != nil || esc != 0 || over != 0 {
		t.Errorf("second run: escalated %d, overdue %d, %v; want nothing", esc, over, err)
	}
	again, _ := st.Get(ctx, tk.Number)
	if again.Version != got.Version {
		t.Errorf("second run changed the ticket: version %d→%d", got.Version, again.Version)
	}
	evs, _ := st.Events(ctx, tk.Number)
	overdue := 0
	for _, ev := range evs {
		if ev.Action == intake.ActOverdue {
			overdue++
		}
	}
	if overdue != 1 {
		t.Errorf("%d overdue events; want 1", overdue)
	}

	// A closed ticket past its deadline is left alone.
	done, _, _ := svc.Create(ctx, streetlight(), "")
	for _, c := range []intake.Change{{Action: intake.ActSign}, {Action: intake.ActResolve, Note: "已修复"}, {Action: intake.ActClose}} {
		if _, err := svc.Apply(ctx, done.Number, 0, c); err != nil {
			t.Fatal(err)
		}
	}
	clk.Set(done.DueBy.Add(time.Hour))
	if _, over, err := svc.CheckDeadlines(ctx); err != nil || over != 0 {
		t.Errorf("closed ticket: overdue %d, %v", over, err)
	}
}

// A ticket stuck unsigned at the town keeps coming back from Late; once marked overdue it is not
// counted again.
func TestCheckDeadlinesOverdueAtTheTown(t *testing.T) {
	svc, st, clk := newService(t)
	ctx := context.Background()
	tk, _, err := svc.Create(ctx, streetlight(), "")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := svc.Apply(ctx, tk.Number, 0, intake.Change{Action: intake.ActEscalate, Actor: "op1"}); err != nil {
			t.Fatal(err)
		}
	}
	clk.Set(tk.DueBy.Add(time.Hour))
	if esc, over, err := svc.CheckDeadlines(ctx); err != nil || esc != 0 || over != 1 {
		t.Fatalf("first run: escalated %d, overdue %d, %v; want 0, 1", esc, over, err)
	}
	got, _ := st.Get(ctx, tk.Number)
	if !got.Overdue || got.Tier != intake.TierTown || got.Status != intake.Dispatched {
		t.Fatalf("overdue %v, tier %s, status %s", got.Overdue, got.Tier, got.Status)
	}
	clk.Set(tk.DueBy.Add(2 * time.Hour))
	if esc, over, err := svc.CheckDeadlines(ctx); err != nil || esc != 0 || over != 0 {
		t.Errorf("second run: escalated %d, overdue %d, %v; want nothing", esc, over, err)
	}
	if again, _ := st.Get(ctx, tk.Number); again.Version != got.Version {
		t.Errorf("second run changed the ticket: version %d→%d", got.Version, again.Version)
	}
}

func TestControlCharactersAreDropped(t *testing.T) {
	for in, want := range map[string]string{
		"路灯\x00不亮":       "路灯不亮",
		"第一行\n第二行\t缩进\r": "第一行\n第二行\t缩进\r",
		"\x1b[31m红字\x7f": "[31m红字",
		"":               "",
	} {
		if got := intake.CleanText(in); got != want {
			t.Errorf("CleanText(%q) = %q, want %q", in, got, want)
		}
	}
	svc, _, _ := newService(t)
	n := streetlight()
	n.Description, n.Address, n.Name = "3号楼\x00东侧路灯不亮", "虹亚小区\x003号楼", "王\x00女士"
	tk, _, err := svc.Create(context.Background(), n, "")
	if err != nil {
		t.Fatal(err)
	}
	if tk.Description != "3号楼东侧路灯不亮" || tk.Address != "虹亚小区3号楼" || tk.Name != "王女士" {
		t.Errorf("stored %q, %q, %q; want the control characters gone", tk.Description, tk.Address, tk.Name)
	}
	tk, err = svc.Apply(context.Background(), tk.Number, tk.Version, intake.Change{Action: intake.ActNote, Actor: "op", Note: "已\x00联系"})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := svc.Store.Events(context.Background(), tk.Number)
	if err != nil || evs[len(evs)-1].Note != "已联系" {
		t.Errorf("note stored as %q (%v), want 已联系", evs[len(evs)-1].Note, err)
	}
}
