package intake

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Action is something done to a ticket.
type Action string

// Actions. Each is allowed only from the statuses listed in transitions.
const (
	ActCreate           Action = "create"            // 受理
	ActDispatch         Action = "dispatch"          // 派单
	ActSign             Action = "sign"              // 签收
	ActStart            Action = "start"             // 办理
	ActResolve          Action = "resolve"           // 办结, with a reply to the resident
	ActRate             Action = "rate"              // 回访/评价
	ActClose            Action = "close"             // 结案
	ActReturn           Action = "return"            // 退单, with a reason
	ActRequestExtension Action = "request_extension" // 延期申请
	ActApproveExtension Action = "approve_extension" // 延期批准: moves the deadline
	ActRefuseExtension  Action = "refuse_extension"  // 延期驳回
	ActUrge             Action = "urge"              // 催办
	ActReopen           Action = "reopen"            // 重办
	ActEscalate         Action = "escalate"          // up one tier
	ActNote             Action = "note"              // a note in the audit trail
	ActOverdue          Action = "overdue"           // the SLA job marks the finish deadline missed
	ActReveal           Action = "reveal"            // 查看号码: staff saw the phones in the free text, with a reason
)

// transition is one action of the lifecycle: the statuses it may start from, the status it leads
// to ("" = the status does not change), and what else it does to the ticket (nil: nothing).
type transition struct {
	from  []Status
	to    Status
	apply func(*applying) error
}

// transitions is the lifecycle, one row an action.
var transitions = map[Action]transition{
	ActDispatch:         {[]Status{Received, Returned, Dispatched}, Dispatched, applyDispatch},
	ActSign:             {[]Status{Dispatched}, Signed, applySign},
	ActStart:            {[]Status{Signed}, InProgress, nil},
	ActResolve:          {[]Status{Signed, InProgress}, Resolved, applyResolve},
	ActRate:             {[]Status{Resolved, Rated}, Rated, applyRate},
	ActClose:            {[]Status{Resolved, Rated}, Closed, nil},
	ActReturn:           {[]Status{Dispatched, Signed, InProgress}, Returned, applyReturn},
	ActRequestExtension: {[]Status{Signed, InProgress}, "", applyRequestExtension},
	ActApproveExtension: {[]Status{Signed, InProgress}, "", applyApproveExtension},
	ActRefuseExtension:  {[]Status{Signed, InProgress}, "", applyRefuseExtension},
	ActUrge:             {[]Status{Received, Dispatched, Signed, InProgress, Returned}, "", applyUrge},
	ActReopen:           {[]Status{Resolved, Rated}, Dispatched, applyReopen},
	ActEscalate:         {[]Status{Received, Dispatched, Signed, InProgress, Returned}, Dispatched, applyEscalate},
	ActNote:             {Statuses, "", applyNote},
	ActOverdue:          {[]Status{Received, Dispatched, Signed, InProgress, Returned}, "", applyOverdue},
	ActReveal:           {Statuses, "", func(a *applying) error { return a.need("the reason") }},
}

// Actions lists the actions staff can take through Apply, sorted.
func Actions() []Action {
	var out []Action
	for a := range transitions {
		if a != ActOverdue && a != ActReveal { // the SLA job's, and Service.Reveal's
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Allowed lists the actions allowed on a ticket in status s.
func Allowed(s Status) []Action {
	var out []Action
	for _, a := range Actions() {
		for _, f := range transitions[a].from {
			if f == s {
				out = append(out, a)
			}
		}
	}
	return out
}

// Change is one action with what it needs.
type Change struct {
	Action   Action
	Actor    string
	Note     string    // the reason, reply, or note text
	Assignee string    // dispatch, escalate
	Grid     string    // dispatch: the grid now responsible
	Tier     Tier      // dispatch: the tier it goes to (default: unchanged)
	Until    time.Time // request_extension: the deadline asked for
	Rating   string    // rate
	Solved   *bool     // rate: 问题解决了吗
	Amend    bool      // rate: change the rating already given (within RatingChangeWindow)
}

// RatingChangeWindow is how long after rating a resident may change the rating.
const RatingChangeWindow = 24 * time.Hour

// Refusals of a rating, as transitions the ticket does not allow now.
var (
	ErrAlreadyRated = fmt.Errorf("%w: this resolution has been rated already", ErrTransition)
	ErrTooLate      = fmt.Errorf("%w: a rating may be changed only within 24 hours", ErrTransition)
	ErrNotRated     = fmt.Errorf("%w: there is no rating to change", ErrTransition)
)

// Apply changes t by c at now, under the deadlines of sla, and returns the audit event. On error
// t is unchanged. The caller stores t and the event together.
func (t *Ticket) Apply(c Change, now time.Time, sla *SLA) (Event, error) {
	tr, ok := transitions[c.Action]
	if !ok {
		return Event{}, fmt.Errorf("%w: unknown action %q", ErrInvalid, c.Action)
	}
	if !slices.Contains(tr.from, t.Status) {
		var names []string
		for _, a := range Allowed(t.Status) {
			names = append(names, string(a))
		}
		return Event{}, fmt.Errorf("%w: cannot %s a ticket that is %s (%s); allowed now: %s",
			ErrTransition, c.Action, t.Status, t.Status.Label(), strings.Join(names, ", "))
	}
	next := *t
	next.Steps = make(map[Status]time.Time, len(t.Steps)+1)
	for k, v := range t.Steps {
		next.Steps[k] = v
	}
	a := &applying{c: c, old: t, next: &next, now: now, sla: sla, note: strings.TrimSpace(CleanText(c.Note))}
	if tr.apply != nil {
		if err := tr.apply(a); err != nil {
			return Event{}, err
		}
	}
	if tr.to != "" {
		next.Status = tr.to
		if _, seen := next.Steps[tr.to]; !seen {
			next.Steps[tr.to] = now
		}
	}
	next.Updated = now
	next.Version = t.Version + 1
	ev := Event{Number: t.Number, At: now, Actor: c.Actor, Action: c.Action, From: t.Status, To: next.Status, Note: a.note}
	*t = next
	return ev, nil
}

// applying is one change under way, as the apply functions of the transitions see it: the
// ticket as it was (read only), the copy being changed, and the note the event will carry, which
// the function may fill in when none was given (派至 网格3).
type applying struct {
	c         Change
	old, next *Ticket
	now       time.Time
	sla       *SLA
	note      string
}

// need refuses a change given without the note it must carry.
func (a *applying) need(what string) error {
	if a.note == "" {
		return fmt.Errorf("%w: %s needs %s in its note", ErrInvalid, a.c.Action, what)
	}
	return nil
}

// signedLate marks a ticket that has not been signed as signed late: it moved up or was urged
// unsigned past its sign deadline.
func (a *applying) signedLate() {
	if a.old.SignedOnTime == nil {
		late := false
		a.next.SignedOnTime = &late
	}
}

// extensionWaiting reports whether t has an extension waiting for approval.
func extensionWaiting(t *Ticket) bool {
	return t.Extension != nil && t.Extension.State == ExtensionRequested
}

func applyDispatch(a *applying) error {
	c, t, next := a.c, a.old, a.next
	if c.Assignee == "" && c.Grid == "" {
		return fmt.Errorf("%w: dispatch needs an assignee or a grid", ErrInvalid)
	}
	next.Assignee, next.Grid = c.Assignee, cmp.Or(c.Grid, t.Grid)
	if c.Tier != "" {
		if !c.Tier.Valid() {
			return fmt.Errorf("%w: unknown tier %q", ErrInvalid, c.Tier)
		}
		next.Tier = c.Tier
	}
	next.SignBy = a.sla.SignBy(next.Urgency, next.Category, a.now)
	if a.note == "" {
		a.note = fmt.Sprintf("派至 %s", cmp.Or(c.Assignee, c.Grid))
	}
	return nil
}

func applyEscalate(a *applying) error {
	t, next := a.old, a.next
	up, ok := t.Tier.Up()
	if !ok {
		return fmt.Errorf("%w: the ticket is already at the town, the top tier", ErrTransition)
	}
	if t.Status == Dispatched && a.now.After(t.SignBy) {
		a.signedLate()
	}
	next.Tier, next.Assignee = up, a.c.Assignee
	next.SignBy = a.sla.SignBy(next.Urgency, next.Category, a.now)
	if a.note == "" {
		a.note = fmt.Sprintf("升级至%s", map[Tier]string{TierCommunity: "社区", TierTown: "镇"}[up])
	}
	return nil
}

func applySign(a *applying) error {
	if a.old.SignedOnTime == nil {
		onTime := !a.now.After(a.old.SignBy)
		a.next.SignedOnTime = &onTime
	}
	return nil
}

func applyResolve(a *applying) error {
	t, next := a.old, a.next
	if err := a.need("a reply to the resident"); err != nil {
		return err
	}
	next.Reply = a.note
	onTime := !a.now.After(t.DueBy)
	next.ResolvedOnTime, next.ResolvedAt = &onTime, a.now
	if extensionWaiting(t) {
		a.decideExtension(ExtensionRefused) // moot once the work is done
	}
	return nil
}

func applyReturn(a *applying) error {
	if err := a.need("a reason"); err != nil {
		return err
	}
	a.next.Assignee = ""
	return nil
}

func applyRequestExtension(a *applying) error {
	t := a.old
	if err := a.need("a reason"); err != nil {
		return err
	}
	if extensionWaiting(t) {
		return fmt.Errorf("%w: an extension is already waiting for approval", ErrTransition)
	}
	if !a.c.Until.After(t.DueBy) {
		return fmt.Errorf("%w: the new deadline must be later than the current one (%s)", ErrInvalid, t.DueBy.Format(time.RFC3339))
	}
	a.next.Extension = &Extension{State: ExtensionRequested, Until: a.c.Until, Reason: a.note, Requested: a.now}
	return nil
}

func applyApproveExtension(a *applying) error {
	ext, err := a.decideExtension(ExtensionApproved)
	if err != nil {
		return err
	}
	a.next.DueBy = ext.Until
	a.next.Overdue = !a.now.Before(a.next.DueBy)
	return nil
}

func applyRefuseExtension(a *applying) error {
	_, err := a.decideExtension(ExtensionRefused)
	return err
}

// decideExtension answers the extension waiting for approval: approved or refused.
func (a *applying) decideExtension(state string) (*Extension, error) {
	if !extensionWaiting(a.old) {
		return nil, fmt.Errorf("%w: no extension is waiting for approval", ErrTransition)
	}
	ext := *a.old.Extension
	ext.State = state
	a.next.Extension = &ext
	return &ext, nil
}

func applyUrge(a *applying) error {
	t, next := a.old, a.next
	next.Urged++
	if t.Status == Dispatched && a.now.After(t.SignBy) {
		// Urged while unsigned past its deadline: it is late, and has a new sign deadline
		// (at the town, where it cannot move up, the deadline job urges it again then).
		a.signedLate()
		next.SignBy = a.sla.SignBy(next.Urgency, next.Category, a.now)
	}
	return nil
}

func applyReopen(a *applying) error {
	t, next := a.old, a.next
	if err := a.need("a reason"); err != nil {
		return err
	}
	next.Reopened++
	next.Reply, next.Evaluation = "", Evaluation{} // the next resolution is replied to and rated afresh
	next.ResolvedOnTime, next.ResolvedAt = nil, time.Time{}
	next.SignBy = a.sla.SignBy(next.Urgency, next.Category, a.now)
	next.DueBy = a.sla.DueBy(next.Urgency, next.Category, a.now)
	next.Overdue = false
	next.Extension = nil // a new round, with its own deadline
	if up, ok := t.Tier.Up(); ok {
		next.Tier = up
	}
	next.Assignee = cmp.Or(a.c.Assignee, t.Assignee)
	return nil
}

func applyRate(a *applying) error {
	c, t, next, now := a.c, a.old, a.next, a.now
	switch c.Rating {
	case Satisfied, BasicallySatisfied, Dissatisfied:
	default:
		return fmt.Errorf("%w: rating must be %s, %s or %s", ErrInvalid, Satisfied, BasicallySatisfied, Dissatisfied)
	}
	switch {
	case c.Amend && t.RatedAt.IsZero():
		return ErrNotRated
	case c.Amend && now.Sub(t.RatedAt) > RatingChangeWindow:
		return ErrTooLate
	case !c.Amend && !t.RatedAt.IsZero():
		return ErrAlreadyRated
	}
	next.Rating, next.Solved, next.RatingNote = c.Rating, c.Solved, a.note
	rec := RatingRecord{Rating: c.Rating, Solved: c.Solved, At: now}
	next.Ratings = append([]RatingRecord(nil), t.Ratings...)
	if c.Amend && len(next.Ratings) > 0 {
		next.Ratings[len(next.Ratings)-1] = rec
	} else {
		next.Ratings = append(next.Ratings, rec)
	}
	if t.RatedAt.IsZero() {
		next.RatedAt = now
	}
	if a.note == "" {
		a.note = c.Rating
	}
	return nil
}

func applyNote(a *applying) error { return a.need("text") }

func applyOverdue(a *applying) error {
	if a.old.Overdue {
		return fmt.Errorf("%w: already marked overdue", ErrTransition)
	}
	a.next.Overdue = true
	return nil
}

// StatusChanges returns the events that moved a ticket to another status, oldest first: the
// steps a resident is shown, a reopened ticket's second dispatch included.
func StatusChanges(events []Event) []Event {
	var out []Event
	for _, ev := range events {
		if ev.To != "" && ev.To != ev.From {
			out = append(out, ev)
		}
	}
	return out
}
