package intake_test

import (
	"errors"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
)

var (
	openStatuses = []intake.Status{intake.Received, intake.Dispatched, intake.Signed, intake.InProgress, intake.Returned}
	allStatuses  = []intake.Status{intake.Received, intake.Dispatched, intake.Signed, intake.InProgress, intake.Resolved, intake.Rated, intake.Closed, intake.Returned}
)

// lifecycle is the 12345 lifecycle as the package documents it, written out independently of
// the implementation's table: for each action, where it may start and where it leads ("" = the
// status does not change).
var lifecycle = map[intake.Action]struct {
	from []intake.Status
	to   intake.Status
}{
	intake.ActDispatch:         {[]intake.Status{intake.Received, intake.Returned, intake.Dispatched}, intake.Dispatched},
	intake.ActSign:             {[]intake.Status{intake.Dispatched}, intake.Signed},
	intake.ActStart:            {[]intake.Status{intake.Signed}, intake.InProgress},
	intake.ActResolve:          {[]intake.Status{intake.Signed, intake.InProgress}, intake.Resolved},
	intake.ActRate:             {[]intake.Status{intake.Resolved, intake.Rated}, intake.Rated},
	intake.ActClose:            {[]intake.Status{intake.Resolved, intake.Rated}, intake.Closed},
	intake.ActReturn:           {[]intake.Status{intake.Dispatched, intake.Signed, intake.InProgress}, intake.Returned},
	intake.ActRequestExtension: {[]intake.Status{intake.Signed, intake.InProgress}, ""},
	intake.ActApproveExtension: {[]intake.Status{intake.Signed, intake.InProgress}, ""},
	intake.ActRefuseExtension:  {[]intake.Status{intake.Signed, intake.InProgress}, ""},
	intake.ActUrge:             {openStatuses, ""},
	intake.ActReopen:           {[]intake.Status{intake.Resolved, intake.Rated}, intake.Dispatched},
	intake.ActEscalate:         {openStatuses, intake.Dispatched},
	intake.ActNote:             {allStatuses, ""},
	intake.ActOverdue:          {openStatuses, ""},
}

// staffAllowed is what Allowed(s) should say: the staff actions (not the SLA job's overdue)
// whose from-list contains s, sorted.
func staffAllowed(s intake.Status) []intake.Action {
	var out []intake.Action
	for a, tr := range lifecycle {
		if a != intake.ActOverdue && slices.Contains(tr.from, s) {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

var (
	t0  = time.Date(2026, 11, 23, 9, 0, 0, 0, intake.Beijing) // a Monday morning
	sla = intake.DefaultSLA(intake.DefaultCalendar())
)

// ticketIn is a plausible ticket that has reached status s.
func ticketIn(s intake.Status) *intake.Ticket {
	lat, lng := 41.09, 108.27
	t := &intake.Ticket{
		Number: "20261123-0001", Category: "municipal", Topic: "report-streetlight",
		Community: "wy-jinqiao", Grid: "wy-jinqiao-g2", Tier: intake.TierGrid, Urgency: intake.Normal,
		Description: "虹亚小区3号楼门口路灯不亮", Address: "虹亚小区3号楼", Lat: &lat, Lng: &lng,
		Phone: "13812345678", Channel: intake.ChannelAPI, Assignee: "网格员 廖某凤",
		Status: s, Steps: map[intake.Status]time.Time{intake.Received: t0},
		Deadlines: intake.Deadlines{
			SignBy: t0.Add(2 * time.Hour), DueBy: sla.Calendar.AddWorkingDays(t0, 5)},
		Created: t0, Updated: t0.Add(10 * time.Minute), Version: 4,
	}
	path := map[intake.Status][]intake.Status{
		intake.Dispatched: {intake.Dispatched},
		intake.Signed:     {intake.Dispatched, intake.Signed},
		intake.InProgress: {intake.Dispatched, intake.Signed, intake.InProgress},
		intake.Resolved:   {intake.Dispatched, intake.Signed, intake.InProgress, intake.Resolved},
		intake.Rated:      {intake.Dispatched, intake.Signed, intake.InProgress, intake.Resolved, intake.Rated},
		intake.Closed:     {intake.Dispatched, intake.Signed, intake.InProgress, intake.Resolved, intake.Rated, intake.Closed},
		intake.Returned:   {intake.Dispatched, intake.Returned},
	}[s]
	for i, st := range path {
		t.Steps[st] = t0.Add(time.Duration(i+1) * time.Minute)
	}
	switch s {
	case intake.Resolved, intake.Rated, intake.Closed:
		t.Reply = "已更换灯泡"
		if s != intake.Resolved {
			yes := true
			t.Rating, t.Solved = intake.Satisfied, &yes
		}
	case intake.Returned:
		t.Assignee = ""
	}
	return t
}

// clone deep-copies t so that a later comparison sees any change, through pointers too.
func clone(t *intake.Ticket) *intake.Ticket {
	c := *t
	if t.Steps != nil {
		c.Steps = make(map[intake.Status]time.Time, len(t.Steps))
		for k, v := range t.Steps {
			c.Steps[k] = v
		}
	}
	if t.Extension != nil {
		e := *t.Extension
		c.Extension = &e
	}
	if t.Lat != nil {
		v := *t.Lat
		c.Lat = &v
	}
	if t.Lng != nil {
		v := *t.Lng
		c.Lng = &v
	}
	if t.Solved != nil {
		v := *t.Solved
		c.Solved = &v
	}
	return &c
}

// goodChange is a change for a that satisfies everything a needs, with setup applied to the
// ticket first (a pending extension for approve and refuse).
func goodChange(a intake.Action, t *intake.Ticket) intake.Change {
	c := intake.Change{Action: a, Actor: "op1", Note: "说明 " + string(a)}
	switch a {
	case intake.ActDispatch:
		c.Assignee, c.Grid = "网格员 范某丽", "wy-jinqiao-g1"
	case intake.ActEscalate, intake.ActReopen:
		c.Assignee = "网格长 冯某海"
	case intake.ActRate:
		c.Rating = intake.BasicallySatisfied
	case intake.ActRequestExtension:
		c.Until = t.DueBy.Add(72 * time.Hour)
	case intake.ActApproveExtension, intake.ActRefuseExtension:
		t.Extension = &intake.Extension{State: intake.ExtensionRequested, Until: t.DueBy.Add(48 * time.Hour), Reason: "需协调供电局", Requested: t0}
	}
	return c
}

// assertUnchanged fails unless t still equals before.
func assertUnchanged(t *testing.T, got, before *intake.Ticket) {
	t.Helper()
	if !reflect.DeepEqual(got, before) {
		t.Errorf("a refused change altered the ticket:\n got  %+v\n want %+v", got, before)
	}
}

func TestEveryActionFromEveryStatus(t *testing.T) {
	now := t0.Add(3 * time.Hour)
	for a, tr := range lifecycle {
		for _, s := range allStatuses {
			t.Run(string(a)+"/"+string(s), func(t *testing.T) {
				tk := ticketIn(s)
				c := goodChange(a, tk)
				before := clone(tk)
				ev, err := tk.Apply(c, now, sla)
				if !slices.Contains(tr.from, s) {
					if !errors.Is(err, intake.ErrTransition) {
						t.Fatalf("err = %v; want ErrTransition", err)
					}
					var names []string
					for _, x := range staffAllowed(s) {
						names = append(names, string(x))
					}
					if want := "allowed now: " + strings.Join(names, ", "); !strings.Contains(err.Error(), want) {
						t.Errorf("err = %q; want it to list %q", err, want)
					}
					if ev != (intake.Event{}) {
						t.Errorf("a refused change returned event %+v", ev)
					}
					assertUnchanged(t, tk, before)
					return
				}
				if err != nil {
					t.Fatalf("err = %v; want the change allowed from %s", err, s)
				}
				want := tr.to
				if want == "" {
					want = s
				}
				if tk.Status != want {
					t.Errorf("status = %s; want %s", tk.Status, want)
				}
				if tk.Version != before.Version+1 {
					t.Errorf("version = %d; want %d", tk.Version, before.Version+1)
				}
				if !tk.Updated.Equal(now) {
					t.Errorf("updated = %v; want %v", tk.Updated, now)
				}
				// Steps: earlier steps kept as they were; a status reached for the first time
				// is recorded at now.
				for st, at := range before.Steps {
					if !tk.Steps[st].Equal(at) {
						t.Errorf("steps[%s] = %v; want it kept at %v", st, tk.Steps[st], at)
					}
				}
				if _, seen := before.Steps[want]; !seen && !tk.Steps[want].Equal(now) {
					t.Errorf("steps[%s] = %v; want %v, the first time it got there", want, tk.Steps[want], now)
				}
				if len(tk.Steps) > len(before.Steps)+1 {
					t.Errorf("steps = %v; grew by more than one", tk.Steps)
				}
				wantEv := intake.Event{Number: before.Number, At: now, Actor: "op1", Action: a, From: s, To: want, Note: c.Note}
				if ev != wantEv {
					t.Errorf("event = %+v\nwant    %+v", ev, wantEv)
				}
			})
		}
	}
}

func TestStepsKeepTheFirstTime(t *testing.T) {
	tk := ticketIn(intake.Dispatched)
	firstDispatch := tk.Steps[intake.Dispatched]
	at := t0.Add(time.Hour)
	steps := []intake.Change{
		{Action: intake.ActReturn, Note: "不属于本网格"},
		{Action: intake.ActDispatch, Grid: "wy-jinqiao-g1"},
		{Action: intake.ActSign},
		{Action: intake.ActResolve, Note: "已修复"},
		{Action: intake.ActReopen, Note: "灯又灭了"},
	}
	for i, c := range steps {
		if _, err := tk.Apply(c, at.Add(time.Duration(i)*time.Hour), sla); err != nil {
			t.Fatalf("%s: %v", c.Action, err)
		}
	}
	if !tk.Steps[intake.Dispatched].Equal(firstDispatch) {
		t.Errorf("steps[dispatched] = %v; want the first dispatch, %v", tk.Steps[intake.Dispatched], firstDispatch)
	}
	if !tk.Steps[intake.Returned].Equal(at) || !tk.Steps[intake.Signed].Equal(at.Add(2*time.Hour)) {
		t.Errorf("steps = %v", tk.Steps)
	}
	if tk.Version != 4+len(steps) {
		t.Errorf("version = %d; want %d", tk.Version, 4+len(steps))
	}
}

func TestActionsAndAllowed(t *testing.T) {
	var want []intake.Action
	for a := range lifecycle {
		if a != intake.ActOverdue {
			want = append(want, a)
		}
	}
	sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
	if got := intake.Actions(); !slices.Equal(got, want) {
		t.Errorf("Actions() = %v; want %v", got, want)
	}
	for _, s := range allStatuses {
		if got := intake.Allowed(s); !slices.Equal(got, staffAllowed(s)) {
			t.Errorf("Allowed(%s) = %v; want %v", s, got, staffAllowed(s))
		}
		if slices.Contains(intake.Allowed(s), intake.ActOverdue) {
			t.Errorf("Allowed(%s) offers overdue, which only the SLA job takes", s)
		}
	}
	if got := intake.Allowed(intake.Closed); !slices.Equal(got, []intake.Action{intake.ActNote}) {
		t.Errorf("Allowed(closed) = %v; want only note", got)
	}
}

func TestUnknownAction(t *testing.T) {
	for _, a := range []intake.Action{"", "delete", intake.ActCreate} {
		tk := ticketIn(intake.Signed)
		before := clone(tk)
		_, err := tk.Apply(intake.Change{Action: a, Note: "x"}, t0, sla)
		if !errors.Is(err, intake.ErrInvalid) || errors.Is(err, intake.ErrTransition) {
			t.Errorf("Apply(%q) err = %v; want ErrInvalid", a, err)
		}
		assertUnchanged(t, tk, before)
	}
}

// refused applies c to tk and checks that it fails with want and leaves tk as it was.
func refused(t *testing.T, tk *intake.Ticket, c intake.Change, now time.Time, want error) {
	t.Helper()
	before := clone(tk)
	if _, err := tk.Apply(c, now, sla); !errors.Is(err, want) {
		t.Errorf("%s: err = %v; want %v", c.Action, err, want)
	}
	assertUnchanged(t, tk, before)
}

func TestNeedsText(t *testing.T) {
	for _, tc := range []struct {
		action intake.Action
		from   intake.Status
	}{
		{intake.ActResolve, intake.Signed},
		{intake.ActResolve, intake.InProgress},
		{intake.ActReturn, intake.Dispatched},
		{intake.ActRequestExtension, intake.InProgress},
		{intake.ActReopen, intake.Resolved},
		{intake.ActReopen, intake.Rated},
		{intake.ActNote, intake.Closed},
	} {
		for _, note := range []string{"", "  \n\t"} {
			tk := ticketIn(tc.from)
			refused(t, tk, intake.Change{Action: tc.action, Note: note, Until: tk.DueBy.Add(time.Hour)}, t0, intake.ErrInvalid)
		}
	}
}

func TestResolveStoresReply(t *testing.T) {
	tk := ticketIn(intake.InProgress)
	ev, err := tk.Apply(intake.Change{Action: intake.ActResolve, Actor: "w1", Note: "  已更换灯泡，恢复照明 \n"}, t0, sla)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Reply != "已更换灯泡，恢复照明" || ev.Note != tk.Reply {
		t.Errorf("reply = %q, event note = %q; want the trimmed reply in both", tk.Reply, ev.Note)
	}
}

func TestReturnClearsAssignee(t *testing.T) {
	for _, s := range []intake.Status{intake.Dispatched, intake.Signed, intake.InProgress} {
		tk := ticketIn(s)
		if _, err := tk.Apply(intake.Change{Action: intake.ActReturn, Note: "不归我们管"}, t0, sla); err != nil {
			t.Fatal(err)
		}
		if tk.Status != intake.Returned || tk.Assignee != "" {
			t.Errorf("from %s: status %s, assignee %q; want returned with no assignee", s, tk.Status, tk.Assignee)
		}
		if tk.Grid != "wy-jinqiao-g2" {
			t.Errorf("from %s: grid = %q; want it kept", s, tk.Grid)
		}
	}
}

func TestExtension(t *testing.T) {
	now := t0.Add(24 * time.Hour)
	tk := ticketIn(intake.InProgress)
	due := tk.DueBy

	refused(t, tk, intake.Change{Action: intake.ActApproveExtension}, now, intake.ErrTransition)
	refused(t, tk, intake.Change{Action: intake.ActRefuseExtension}, now, intake.ErrTransition)
	refused(t, tk, intake.Change{Action: intake.ActRequestExtension, Note: "等配件", Until: due}, now, intake.ErrInvalid)
	refused(t, tk, intake.Change{Action: intake.ActRequestExtension, Note: "等配件", Until: due.Add(-time.Hour)}, now, intake.ErrInvalid)
	refused(t, tk, intake.Change{Action: intake.ActRequestExtension, Note: "等配件"}, now, intake.ErrInvalid)

	until := due.Add(5 * 24 * time.Hour)
	if _, err := tk.Apply(intake.Change{Action: intake.ActRequestExtension, Note: " 等配件 ", Until: until}, now, sla); err != nil {
		t.Fatal(err)
	}
	want := intake.Extension{State: intake.ExtensionRequested, Until: until, Reason: "等配件", Requested: now}
	if tk.Extension == nil || *tk.Extension != want {
		t.Fatalf("extension = %+v; want %+v", tk.Extension, want)
	}
	if !tk.DueBy.Equal(due) || tk.Status != intake.InProgress {
		t.Errorf("a request alone moved the ticket: due %v, status %s", tk.DueBy, tk.Status)
	}
	// A second request while one waits.
	refused(t, tk, intake.Change{Action: intake.ActRequestExtension, Note: "再等等", Until: until.Add(time.Hour)}, now, intake.ErrTransition)

	// Refused: the deadline stays. A copy of the ticket taken before keeps its own extension.
	refusedTk := clone(tk)
	shallow := *refusedTk
	if _, err := refusedTk.Apply(intake.Change{Action: intake.ActRefuseExtension, Note: "不予延期"}, now, sla); err != nil {
		t.Fatal(err)
	}
	if !refusedTk.DueBy.Equal(due) || refusedTk.Extension.State != intake.ExtensionRefused {
		t.Errorf("after refuse: due %v, extension %+v; want due %v and refused", refusedTk.DueBy, refusedTk.Extension, due)
	}
	if tk.Extension.State != intake.ExtensionRequested || shallow.Extension.State != intake.ExtensionRequested {
		t.Errorf("refusing changed an earlier copy's extension to %s, %s", tk.Extension.State, shallow.Extension.State)
	}
	refused(t, refusedTk, intake.Change{Action: intake.ActApproveExtension}, now, intake.ErrTransition)
	// After a refusal a new request may be made.
	if _, err := refusedTk.Apply(intake.Change{Action: intake.ActRequestExtension, Note: "补充材料", Until: until}, now, sla); err != nil {
		t.Errorf("a new request after a refusal: %v", err)
	}

	// Approved while already overdue: the deadline moves and, being in the future, overdue clears.
	tk.Overdue = true
	if _, err := tk.Apply(intake.Change{Action: intake.ActApproveExtension, Note: "同意"}, now, sla); err != nil {
		t.Fatal(err)
	}
	if !tk.DueBy.Equal(until) || tk.Extension.State != intake.ExtensionApproved || tk.Overdue {
		t.Errorf("after approve: due %v, extension %+v, overdue %v; want due %v, approved, not overdue", tk.DueBy, tk.Extension, tk.Overdue, until)
	}
	refused(t, tk, intake.Change{Action: intake.ActApproveExtension}, now, intake.ErrTransition)
	refused(t, tk, intake.Change{Action: intake.ActRefuseExtension}, now, intake.ErrTransition)

	// Approved only after the new deadline itself has passed: still overdue.
	late := ticketIn(intake.Signed)
	late.Extension = &intake.Extension{State: intake.ExtensionRequested, Until: late.DueBy.Add(time.Hour), Reason: "x", Requested: t0}
	if _, err := late.Apply(intake.Change{Action: intake.ActApproveExtension}, late.DueBy.Add(2*time.Hour), sla); err != nil {
		t.Fatal(err)
	}
	if !late.Overdue {
		t.Error("approving a deadline already past left the ticket not overdue")
	}
}

func TestUrge(t *testing.T) {
	tk := ticketIn(intake.Dispatched)
	for i := 1; i <= 3; i++ {
		if _, err := tk.Apply(intake.Change{Action: intake.ActUrge}, t0, sla); err != nil {
			t.Fatal(err)
		}
		if tk.Urged != i || tk.Status != intake.Dispatched {
			t.Fatalf("after %d urges: urged %d, status %s", i, tk.Urged, tk.Status)
		}
	}
}

func TestReopen(t *testing.T) {
	now := time.Date(2026, 11, 27, 19, 30, 0, 0, intake.Beijing) // a Friday evening
	for _, s := range []intake.Status{intake.Resolved, intake.Rated} {
		tk := ticketIn(s)
		tk.Overdue = true
		ev, err := tk.Apply(intake.Change{Action: intake.ActReopen, Actor: "op2", Note: "居民反映灯又灭了", Assignee: "网格长 冯某海"}, now, sla)
		if err != nil {
			t.Fatal(err)
		}
		if tk.Status != intake.Dispatched || ev.From != s || ev.To != intake.Dispatched {
			t.Errorf("from %s: status %s, event %+v; want dispatched", s, tk.Status, ev)
		}
		if tk.Tier != intake.TierCommunity || tk.Assignee != "网格长 冯某海" {
			t.Errorf("from %s: tier %s, assignee %q; want community, 网格长 冯某海", s, tk.Tier, tk.Assignee)
		}
		if tk.Reopened != 1 {
			t.Errorf("from %s: reopened = %d; want 1", s, tk.Reopened)
		}
		if tk.Reply != "" || tk.Rating != "" || tk.Solved != nil {
			t.Errorf("from %s: reply %q, rating %q, solved %v; want all cleared", s, tk.Reply, tk.Rating, tk.Solved)
		}
		if !tk.SignBy.Equal(now.Add(2 * time.Hour)) {
			t.Errorf("from %s: sign by %v; want %v", s, tk.SignBy, now.Add(2*time.Hour))
		}
		if want := time.Date(2026, 12, 4, 23, 59, 59, 0, intake.Beijing); !tk.DueBy.Equal(want) {
			t.Errorf("from %s: due by %v; want %v, 5 working days from now", s, tk.DueBy, want)
		}
		if tk.Overdue {
			t.Errorf("from %s: still overdue after the deadlines were reset", s)
		}
	}

	// A second reopen goes up again, and no higher than the town.
	tk := ticketIn(intake.Resolved)
	for i, want := range []intake.Tier{intake.TierCommunity, intake.TierTown, intake.TierTown} {
		if i > 0 {
			for _, c := range []intake.Change{{Action: intake.ActSign}, {Action: intake.ActResolve, Note: "已处理"}} {
				if _, err := tk.Apply(c, now, sla); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := tk.Apply(intake.Change{Action: intake.ActReopen, Note: "没修好"}, now, sla); err != nil {
			t.Fatal(err)
		}
		if tk.Tier != want || tk.Reopened != i+1 {
			t.Errorf("reopen %d: tier %s, reopened %d; want %s, %d", i+1, tk.Tier, tk.Reopened, want, i+1)
		}
	}
}

func TestEscalate(t *testing.T) {
	now := t0.Add(5 * time.Hour)
	tk := ticketIn(intake.Received)
	tk.Assignee = ""
	for i, want := range []intake.Tier{intake.TierCommunity, intake.TierTown} {
		assignee := map[intake.Tier]string{intake.TierCommunity: "网格长 冯某海", intake.TierTown: "隆兴昌镇"}[want]
		ev, err := tk.Apply(intake.Change{Action: intake.ActEscalate, Actor: "system", Assignee: assignee}, now, sla)
		if err != nil {
			t.Fatal(err)
		}
		if tk.Tier != want || tk.Assignee != assignee || tk.Status != intake.Dispatched {
			t.Errorf("escalation %d: tier %s, assignee %q, status %s; want %s, %q, dispatched", i+1, tk.Tier, tk.Assignee, tk.Status, want, assignee)
		}
		if !tk.SignBy.Equal(now.Add(2 * time.Hour)) {
			t.Errorf("escalation %d: sign by %v; want the clock restarted at %v", i+1, tk.SignBy, now.Add(2*time.Hour))
		}
		wantNote := map[intake.Tier]string{intake.TierCommunity: "升级至社区", intake.TierTown: "升级至镇"}[want]
		if ev.Note != wantNote {
			t.Errorf("escalation %d: note %q; want %q", i+1, ev.Note, wantNote)
		}
	}
	refused(t, tk, intake.Change{Action: intake.ActEscalate, Assignee: "x"}, now, intake.ErrTransition)
}

func TestDispatch(t *testing.T) {
	now := t0.Add(30 * time.Minute)
	tk := ticketIn(intake.Received)
	tk.Grid, tk.Assignee = "", ""
	refused(t, tk, intake.Change{Action: intake.ActDispatch, Note: "派"}, now, intake.ErrInvalid)
	refused(t, tk, intake.Change{Action: intake.ActDispatch, Grid: "wy-jinqiao-g1", Tier: "province"}, now, intake.ErrInvalid)

	ev, err := tk.Apply(intake.Change{Action: intake.ActDispatch, Grid: "wy-jinqiao-g1"}, now, sla)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Grid != "wy-jinqiao-g1" || tk.Status != intake.Dispatched || tk.Tier != intake.TierGrid {
		t.Errorf("grid %q, status %s, tier %s", tk.Grid, tk.Status, tk.Tier)
	}
	if !tk.SignBy.Equal(now.Add(2 * time.Hour)) {
		t.Errorf("sign by %v; want %v", tk.SignBy, now.Add(2*time.Hour))
	}
	if ev.Note != "派至 wy-jinqiao-g1" {
		t.Errorf("default note %q", ev.Note)
	}

	// Re-dispatch to a person: the grid is kept, the tier set when given.
	later := now.Add(time.Hour)
	tk.Urgency = intake.Urgent
	if _, err := tk.Apply(intake.Change{Action: intake.ActDispatch, Assignee: "网格长 冯某海", Tier: intake.TierCommunity}, later, sla); err != nil {
		t.Fatal(err)
	}
	if tk.Grid != "wy-jinqiao-g1" || tk.Assignee != "网格长 冯某海" || tk.Tier != intake.TierCommunity {
		t.Errorf("grid %q, assignee %q, tier %s", tk.Grid, tk.Assignee, tk.Tier)
	}
	if !tk.SignBy.Equal(later.Add(30 * time.Minute)) {
		t.Errorf("urgent sign by %v; want %v", tk.SignBy, later.Add(30*time.Minute))
	}
}

func TestRate(t *testing.T) {
	for _, bad := range []string{"", "good", "SATISFIED", "满意"} {
		refused(t, ticketIn(intake.Resolved), intake.Change{Action: intake.ActRate, Rating: bad}, t0, intake.ErrInvalid)
	}
	for _, r := range []string{intake.Satisfied, intake.BasicallySatisfied, intake.Dissatisfied} {
		tk := ticketIn(intake.Resolved)
		no := false
		ev, err := tk.Apply(intake.Change{Action: intake.ActRate, Actor: "resident", Rating: r, Solved: &no}, t0, sla)
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		if tk.Rating != r || tk.Solved == nil || *tk.Solved || tk.Status != intake.Rated || ev.Note != r {
			t.Errorf("%s: rating %q, solved %v, status %s, note %q", r, tk.Rating, tk.Solved, tk.Status, ev.Note)
		}
	}
}

func TestOverdueOnce(t *testing.T) {
	tk := ticketIn(intake.InProgress)
	if _, err := tk.Apply(intake.Change{Action: intake.ActOverdue, Actor: "system"}, t0, sla); err != nil {
		t.Fatal(err)
	}
	if !tk.Overdue || tk.Status != intake.InProgress {
		t.Fatalf("overdue %v, status %s", tk.Overdue, tk.Status)
	}
	refused(t, tk, intake.Change{Action: intake.ActOverdue, Actor: "system"}, t0, intake.ErrTransition)
}

func TestTierUp(t *testing.T) {
	for from, want := range map[intake.Tier]intake.Tier{intake.TierGrid: intake.TierCommunity, intake.TierCommunity: intake.TierTown} {
		if got, ok := from.Up(); !ok || got != want {
			t.Errorf("%s.Up() = %s, %v; want %s", from, got, ok, want)
		}
	}
	if got, ok := intake.TierTown.Up(); ok || got != intake.TierTown {
		t.Errorf("town.Up() = %s, %v; want town and false: there is nothing above the town", got, ok)
	}
}
