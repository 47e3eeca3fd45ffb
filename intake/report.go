package intake

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"
	"time"
)

// The dashboard's report of a period (docs/rates.md): the four rates of the period's tickets,
// overall and by community, category and tier; the daily satisfaction; the overdue list; what
// the bot settled alone and the topics residents found least helpful. web serves it as JSON and
// CSV tables.

// ReportPeriod is the period a report covers: tickets created in [From, To), with the rates'
// clocks read at Now.
type ReportPeriod struct{ From, To, Now time.Time }

// ReportNames gives the report's keys their names: a community's town and name, a category's
// Chinese name, a guide topic's title.
type ReportNames interface {
	Community(id string) string
	Category(code string) string
	Topic(id string) string
}

// ReportGroup is the rates of one community, category or tier.
type ReportGroup struct {
	Key     string `json:"key"`
	Label   string `json:"label"`
	Tickets int    `json:"tickets"`
	Rates   []Rate `json:"rates"`
}

// ReportDay is one day's ratings and its satisfaction rate (nil when nobody rated).
type ReportDay struct {
	Day                string   `json:"day"`
	Satisfied          int      `json:"satisfied"`
	BasicallySatisfied int      `json:"basically_satisfied"`
	Dissatisfied       int      `json:"dissatisfied"`
	Rate               *float64 `json:"rate"`
}

// ReportOverdue is an open ticket past its deadline.
type ReportOverdue struct {
	Number    string    `json:"number"`
	Category  string    `json:"category"`
	Community string    `json:"community"`
	Tier      Tier      `json:"tier"`
	Status    Status    `json:"status"`
	DueBy     time.Time `json:"due_by"`
	Assignee  string    `json:"assignee"`
}

// ReportBot is what the bot settled alone and how residents voted on its answers.
type ReportBot struct {
	ChatStats
	Share     *float64 `json:"share"`
	Votes     int      `json:"votes"` // 这个回答有帮助吗 votes: helpful + unhelpful
	Helpful   int      `json:"helpful"`
	Unhelpful int      `json:"unhelpful"`
}

// ReportTopic is a guide topic some residents found unhelpful.
type ReportTopic struct {
	TopicFeedback
	Title string  `json:"title"`
	Share float64 `json:"share"` // of votes that were helpful
}

// Report is a period's figures, as GET /api/v1/stats returns them.
type Report struct {
	From            string          `json:"from"`
	To              string          `json:"to"`
	Tickets         int             `json:"tickets"`
	Rates           []Rate          `json:"rates"`
	ByCommunity     []ReportGroup   `json:"by_community"`
	ByCategory      []ReportGroup   `json:"by_category"`
	ByTier          []ReportGroup   `json:"by_tier"`
	Daily           []ReportDay     `json:"daily"`
	Overdue         []ReportOverdue `json:"overdue"`
	Bot             ReportBot       `json:"bot"`
	UnhelpfulTopics []ReportTopic   `json:"unhelpful_topics"`
	Chat            ReportChat      `json:"chat"`
}

// BuildReport reads a period's figures from reports.
func BuildReport(ctx context.Context, reports Reports, p ReportPeriod, targets Targets, names ReportNames) (*Report, error) {
	from, to, now := p.From, p.To, p.Now
	ts, err := reports.TicketsCreated(ctx, from, to)
	if err != nil {
		return nil, err
	}
	out := &Report{From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), Tickets: len(ts),
		Rates: ComputeRates(ts, now, targets)}
	group := func(key func(*Ticket) string, label func(string) string) []ReportGroup {
		by := map[string][]*Ticket{}
		for _, t := range ts {
			by[key(t)] = append(by[key(t)], t)
		}
		var gs []ReportGroup
		for k, list := range by {
			gs = append(gs, ReportGroup{Key: k, Label: label(k), Tickets: len(list), Rates: ComputeRates(list, now, targets)})
		}
		slices.SortFunc(gs, func(a, b ReportGroup) int { return cmp.Or(b.Tickets-a.Tickets, strings.Compare(a.Key, b.Key)) })
		return append([]ReportGroup{}, gs...)
	}
	out.ByCommunity = group(func(t *Ticket) string { return t.Community }, names.Community)
	out.ByCategory = group(func(t *Ticket) string { return t.Category }, names.Category)
	tierNames := map[string]string{string(TierGrid): "网格", string(TierCommunity): "社区", string(TierTown): "镇"}
	out.ByTier = group(func(t *Ticket) string { return string(t.Tier) }, func(k string) string { return cmp.Or(tierNames[k], k) })

	days := map[string]*ReportDay{}
	for _, t := range ts {
		for _, rec := range t.Ratings {
			d := rec.At.In(Beijing).Format(time.DateOnly)
			if days[d] == nil {
				days[d] = &ReportDay{Day: d}
			}
			switch rec.Rating {
			case Satisfied:
				days[d].Satisfied++
			case BasicallySatisfied:
				days[d].BasicallySatisfied++
			case Dissatisfied:
				days[d].Dissatisfied++
			}
		}
	}
	out.Daily = []ReportDay{}
	for _, d := range days {
		if n := d.Satisfied + d.BasicallySatisfied + d.Dissatisfied; n > 0 {
			v := float64(d.Satisfied+d.BasicallySatisfied) / float64(n)
			d.Rate = &v
		}
		out.Daily = append(out.Daily, *d)
	}
	slices.SortFunc(out.Daily, func(a, b ReportDay) int { return strings.Compare(a.Day, b.Day) })

	out.Overdue = []ReportOverdue{}
	for _, t := range ts {
		if t.Status.Open() && t.Overdue {
			out.Overdue = append(out.Overdue, ReportOverdue{Number: t.Number, Category: t.Category, Community: t.Community,
				Tier: t.Tier, Status: t.Status, DueBy: t.DueBy, Assignee: t.Assignee})
		}
	}
	slices.SortFunc(out.Overdue, func(a, b ReportOverdue) int { return a.DueBy.Compare(b.DueBy) })

	if out.Bot.ChatStats, err = reports.ChatStats(ctx, from, to); err != nil {
		return nil, err
	}
	if out.Bot.Conversations > 0 {
		v := float64(out.Bot.Settled) / float64(out.Bot.Conversations)
		out.Bot.Share = &v
	}
	recs, err := reports.ConversationRecords(ctx, from, to)
	if err != nil {
		return nil, err
	}
	out.Chat = ChatFigures(recs)
	votes, err := reports.FeedbackByTopic(ctx, from, to)
	if err != nil {
		return nil, err
	}
	out.UnhelpfulTopics = []ReportTopic{}
	for _, v := range votes {
		out.Bot.Votes += v.Helpful + v.Unhelpful
		out.Bot.Helpful += v.Helpful
		out.Bot.Unhelpful += v.Unhelpful
		if v.Unhelpful > 0 {
			st := ReportTopic{TopicFeedback: v, Share: float64(v.Helpful) / float64(v.Helpful+v.Unhelpful)}
			st.Title = names.Topic(v.Topic)
			out.UnhelpfulTopics = append(out.UnhelpfulTopics, st)
		}
	}
	return out, nil
}

// ReportChat is what the conversations of a period show of the bot and the desk (docs/rates.md):
// how many the bot resolved, how long residents waited for a person and how many gave up, how
// soon the operator first spoke, and each day's emergencies with the time to a person.
type ReportChat struct {
	// Conversations in which the resident said something; Answered those in which the bot
	// answered a question; Resolved those in which an answer was the end of it: no handoff, no
	// emergency and no ticket after it, and not voted 👎.
	Conversations int      `json:"conversations"`
	Answered      int      `json:"answered"`
	Resolved      int      `json:"resolved"`
	Resolution    *float64 `json:"resolution"` // Resolved / Conversations
	// Handoffs: requests for a person that joined the operators' queue; Taken by an operator;
	// Abandoned: ended before anyone took them (the resident went back to the bot, or nobody came
	// within the wait and a ticket was offered); Waiting: still waiting now.
	Handoffs       int      `json:"handoffs"`
	Taken          int      `json:"taken"`
	Abandoned      int      `json:"abandoned"`
	Waiting        int      `json:"waiting"`
	AbandonedShare *float64 `json:"abandoned_share"` // Abandoned / (Taken + Abandoned)
	// Seconds from the request to the operator taking the chat (taken handoffs), and from the
	// request to the operator's first message; nil when there is none.
	WaitP50          *float64 `json:"wait_p50_seconds"`
	WaitP90          *float64 `json:"wait_p90_seconds"`
	FirstResponseP50 *float64 `json:"first_response_p50_seconds"`
	FirstResponseP90 *float64 `json:"first_response_p90_seconds"`
	// Emergencies by the day the bot decided them (Beijing time), oldest first.
	Emergencies []ReportEmergencyDay `json:"emergencies"`
}

// ReportEmergencyDay is one day's emergencies: how many, how many an operator took, and the
// seconds from the bot's decision to the operator taking the chat.
type ReportEmergencyDay struct {
	Day              string   `json:"day"`
	Emergencies      int      `json:"emergencies"`
	Taken            int      `json:"taken"`
	ToOperatorP50    *float64 `json:"to_operator_p50_seconds"`
	ToOperatorMax    *float64 `json:"to_operator_max_seconds"`
	toOperatorSecond []float64
}

// The bot's decisions and the desk's options as stored in a bot turn's reply (bot and chat own
// them; the stored strings are part of the protocol, docs/protocol.md).
const (
	decisionAnswer    = "answer"
	decisionHandoff   = "handoff"
	decisionEmergency = "emergency"
	optionTicket      = "handoff_ticket"
)

// ChatFigures computes a period's chat figures from its conversations. A request for a person is
// the bot's handoff reply that put the resident in the queue (not the out-of-hours offer of a
// ticket, which carries the handoff_ticket option); an emergency puts them there too. The
// operator taking the chat is the system turn that carries their number (chat.Service.Take); a
// bot or system turn before it ends the wait unanswered.
func ChatFigures(recs []ConversationRecord) ReportChat {
	var out ReportChat
	var waits, firsts []float64
	days := map[string]*ReportEmergencyDay{}
	for _, c := range recs {
		out.Conversations++
		if answered, resolved := botResolved(c); answered {
			out.Answered++
			if resolved {
				out.Resolved++
			}
		}
		// The desk: one pending wait at a time.
		var (
			pending   bool
			emergency bool
			since     time.Time
			day       *ReportEmergencyDay
			awaitSay  bool // taken: the operator's first message is still to come
		)
		end := func(taken bool) {
			if !emergency {
				if taken {
					out.Taken++
				} else {
					out.Abandoned++
				}
			}
			pending, emergency = false, false
		}
		for _, t := range c.Turns {
			switch {
			case t.From == "bot" && t.Reply != nil && t.Reply.Decision == decisionEmergency && !pending:
				pending, emergency, since = true, true, t.At
				d := t.At.In(Beijing).Format(time.DateOnly)
				if days[d] == nil {
					days[d] = &ReportEmergencyDay{Day: d}
				}
				day = days[d]
				day.Emergencies++
			case t.From == "bot" && t.Reply != nil && t.Reply.Decision == decisionHandoff && !pending && !hasOption(t.Reply, optionTicket):
				pending, since = true, t.At
				out.Handoffs++
			case t.From == "system" && t.Agent != "" && pending:
				w := t.At.Sub(since).Seconds()
				if emergency {
					day.Taken++
					day.toOperatorSecond = append(day.toOperatorSecond, w)
				} else {
					waits = append(waits, w)
					awaitSay = true
				}
				end(true)
			case t.From == "operator" && awaitSay:
				firsts = append(firsts, t.At.Sub(since).Seconds())
				awaitSay = false
			case pending && !emergency && (t.From == "bot" || t.From == "system"):
				end(false) // back to the bot, or offered a ticket: nobody came
			}
		}
		if pending && !emergency {
			if c.Handoff == HandoffWaiting {
				out.Waiting++ // not decided yet
			} else {
				out.Abandoned++
			}
		}
	}
	if out.Conversations > 0 {
		v := float64(out.Resolved) / float64(out.Conversations)
		out.Resolution = &v
	}
	if n := out.Taken + out.Abandoned; n > 0 {
		v := float64(out.Abandoned) / float64(n)
		out.AbandonedShare = &v
	}
	out.WaitP50, out.WaitP90 = percentile(waits, 0.5), percentile(waits, 0.9)
	out.FirstResponseP50, out.FirstResponseP90 = percentile(firsts, 0.5), percentile(firsts, 0.9)
	out.Emergencies = []ReportEmergencyDay{}
	for _, d := range days {
		d.ToOperatorP50 = percentile(d.toOperatorSecond, 0.5)
		d.ToOperatorMax = percentile(d.toOperatorSecond, 1)
		out.Emergencies = append(out.Emergencies, *d)
	}
	slices.SortFunc(out.Emergencies, func(a, b ReportEmergencyDay) int { return strings.Compare(a.Day, b.Day) })
	return out
}

// botResolved reports whether the bot answered a question in c, and whether its last answer was
// the end of it: nothing after it asked for a person, raised an emergency or opened a ticket, and
// the resident did not vote it unhelpful.
func botResolved(c ConversationRecord) (answered, resolved bool) {
	var last time.Time
	for _, t := range c.Turns {
		if t.From != "bot" || t.Reply == nil {
			continue
		}
		switch t.Reply.Decision {
		case decisionAnswer:
			helpful, voted := c.Votes[t.Reply.ReplyTo]
			answered, resolved, last = true, !voted || helpful, t.At
		case decisionHandoff, decisionEmergency:
			resolved = false
		}
	}
	if resolved && slices.ContainsFunc(c.Tickets, func(at time.Time) bool { return !at.Before(last) }) {
		resolved = false
	}
	return answered, resolved
}

func hasOption(r *Reply, id string) bool {
	return slices.ContainsFunc(r.Options, func(o Option) bool { return o.ID == id })
}

// percentile is the nearest-rank q-quantile of xs (nil when empty).
func percentile(xs []float64, q float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	v := s[max(0, min(i, len(s)-1))]
	return &v
}
