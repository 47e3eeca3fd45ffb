package intake

import (
	"cmp"
	"fmt"
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
)

// transitions: for each action, the statuses it may start from and the status it leads to ("" =
// the status does not change).
var transitions = map[Action]struct {
	from []Status
	to   Status
}{
	ActDispatch:         {[]Status{Received, Returned, Dispatched}, Dispatched},
	ActSign:             {[]Status{Dispatched}, Signed},
	ActStart:            {[]Status{Signed}, InProgress},
	ActResolve:          {[]Status{Signed, InProgress}, Resolved},
	ActRate:             {[]Status{Resolved, Rated}, Rated},
	ActClose:            {[]Status{Resolved, Rated}, Closed},
	ActReturn:           {[]Status{Dispatched, Signed, InProgress}, Returned},
	ActRequestExtension: {[]Status{Signed, InProgress}, ""},
	ActApproveExtension: {[]Status{Signed, InProgress}, ""},
	ActRefuseExtension:  {[]Status{Signed, InProgress}, ""},
	ActUrge:             {[]Status{Received, Dispatched, Signed, InProgress, Returned}, ""},
	ActReopen:           {[]Status{Resolved, Rated}, Dispatched},
	ActEscalate:         {[]Status{Received, Dispatched, Signed, InProgress, Returned}, Dispatched},
	ActNote:             {Statuses, ""},
	ActOverdue:          {[]Status{Received, Dispatched, Signed, InProgress, Returned}, ""},
}

// Actions lists the actions staff can take through Apply, sorted.
func Actions() []Action {
	var out []Action
	for a := range transitions {
		if a != ActOverdue {
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
	allowed := false
	for _, f := range tr.from {
		allowed = allowed || f == t.Status
	}
	if !allowed {
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
	note := strings.TrimSpace(CleanText(c.Note))
	need := func(what string) error {
		if note == "" {
			return fmt.Errorf("%w: %s needs %s in its note", ErrInvalid, c.Action, what)
		}
		return nil
	}
	switch c.Action {
	case ActDispatch:
		if c.Assignee == "" && c.Grid == "" {
			return Event{}, fmt.Errorf("%w: dispatch needs an assignee or a grid", ErrInvalid)
		}
		next.Assignee, next.Grid = c.Assignee, cmp.Or(c.Grid, t.Grid)
		if c.Tier != "" {
			if !c.Tier.Valid() {
				return Event{}, fmt.Errorf("%w: unknown tier %q", ErrInvalid, c.Tier)
			}
			next.Tier = c.Tier
		}
		next.SignBy = sla.SignBy(next.Urgency, next.Category, now)
		if note == "" {
			note = fmt.Sprintf("派至 %s", cmp.Or(c.Assignee, c.Grid))
		}
	case ActEscalate:
		up, ok := t.Tier.Up()
		if !ok {
			return Event{}, fmt.Errorf("%w: the ticket is already at the town, the top tier", ErrTransition)
		}
		if t.Status == Dispatched && t.SignedOnTime == nil && now.After(t.SignBy) {
			late := false // moved up unsigned after its sign deadline: the signature came too late
			next.SignedOnTime = &late
		}
		next.Tier, next.Assignee = up, c.Assignee
		next.SignBy = sla.SignBy(next.Urgency, next.Category, now)
		if note == "" {
			note = fmt.Sprintf("升级至%s", map[Tier]string{TierCommunity: "社区", TierTown: "镇"}[up])
		}
	case ActSign:
		if t.SignedOnTime == nil {
			onTime := !now.After(t.SignBy)
			next.SignedOnTime = &onTime
		}
	case ActResolve:
		if err := need("a reply to the resident"); err != nil {
			return Event{}, err
		}
		next.Reply = note
		onTime := !now.After(t.DueBy)
		next.ResolvedOnTime, next.ResolvedAt = &onTime, now
		if t.Extension != nil && t.Extension.State == ExtensionRequested {
			ext := *t.Extension
			ext.State = ExtensionRefused // moot once the work is done
			next.Extension = &ext
		}
	case ActReturn:
		if err := need("a reason"); err != nil {
			return Event{}, err
		}
		next.Assignee = ""
	case ActRequestExtension:
		if err := need("a reason"); err != nil {
			return Event{}, err
		}
		if t.Extension != nil && t.Extension.State == ExtensionRequested {
			return Event{}, fmt.Errorf("%w: an extension is already waiting for approval", ErrTransition)
		}
		if !c.Until.After(t.DueBy) {
			return Event{}, fmt.Errorf("%w: the new deadline must be later than the current one (%s)", ErrInvalid, t.DueBy.Format(time.RFC3339))
		}
		next.Extension = &Extension{State: ExtensionRequested, Until: c.Until, Reason: note, Requested: now}
	case ActApproveExtension, ActRefuseExtension:
		if t.Extension == nil || t.Extension.State != ExtensionRequested {
			return Event{}, fmt.Errorf("%w: no extension is waiting for approval", ErrTransition)
		}
		ext := *t.Extension
		if c.Action == ActApproveExtension {
			ext.State = ExtensionApproved
			next.DueBy = ext.Until
			next.Overdue = !now.Before(next.DueBy)
		} else {
			ext.State = ExtensionRefused
		}
		next.Extension = &ext
	case ActUrge:
		next.Urged++
		if t.Status == Dispatched && now.After(t.SignBy) {
			// Urged while unsigned past its deadline: it is late, and has a new sign deadline
			// (at the town, where it cannot move up, the deadline job urges it again then).
			if t.SignedOnTime == nil {
				late := false
				next.SignedOnTime = &late
			}
			next.SignBy = sla.SignBy(next.Urgency, next.Category, now)
		}
	case ActReopen:
		if err := need("a reason"); err != nil {
			return Event{}, err
		}
		next.Reopened++
		next.Reply, next.Rating, next.Solved, next.RatingNote, next.RatedAt = "", "", nil, "", time.Time{}
		next.ResolvedOnTime, next.ResolvedAt = nil, time.Time{}
		next.SignBy = sla.SignBy(next.Urgency, next.Category, now)
		next.DueBy = sla.DueBy(next.Urgency, next.Category, now)
		next.Overdue = false
		next.Extension = nil // a new round, with its own deadline
		if up, ok := t.Tier.Up(); ok {
			next.Tier = up
		}
		next.Assignee = cmp.Or(c.Assignee, t.Assignee)
	case ActRate:
		switch c.Rating {
		case Satisfied, BasicallySatisfied, Dissatisfied:
		default:
			return Event{}, fmt.Errorf("%w: rating must be %s, %s or %s", ErrInvalid, Satisfied, BasicallySatisfied, Dissatisfied)
		}
		switch {
		case c.Amend && t.RatedAt.IsZero():
			return Event{}, ErrNotRated
		case c.Amend && now.Sub(t.RatedAt) > RatingChangeWindow:
			return Event{}, ErrTooLate
		case !c.Amend && !t.RatedAt.IsZero():
			return Event{}, ErrAlreadyRated
		}
		next.Rating, next.Solved, next.RatingNote = c.Rating, c.Solved, note
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
		if note == "" {
			note = c.Rating
		}
	case ActNote:
		if err := need("text"); err != nil {
			return Event{}, err
		}
	case ActOverdue:
		if t.Overdue {
			return Event{}, fmt.Errorf("%w: already marked overdue", ErrTransition)
		}
		next.Overdue = true
	}
	if tr.to != "" {
		next.Status = tr.to
		if _, seen := next.Steps[tr.to]; !seen {
			next.Steps[tr.to] = now
		}
	}
	next.Updated = now
	next.Version = t.Version + 1
	ev := Event{Number: t.Number, At: now, Actor: c.Actor, Action: c.Action, From: t.Status, To: next.Status, Note: note}
	*t = next
	return ev, nil
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
