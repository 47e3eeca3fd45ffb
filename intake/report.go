package intake

import (
	"cmp"
	"context"
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
