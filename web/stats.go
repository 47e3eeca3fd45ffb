package web

import (
	"cmp"
	"encoding/csv"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bayannur/hotline/intake"
)

// GET /api/v1/stats and its CSV tables (docs/rates.md): the four rates of a period's tickets,
// overall and by community, category and tier; the daily satisfaction; the overdue list; what
// the bot settled alone and the topics residents found least helpful.

const maxStatsDays = 366

type statsGroup struct {
	Key     string        `json:"key"`
	Label   string        `json:"label"`
	Tickets int           `json:"tickets"`
	Rates   []intake.Rate `json:"rates"`
}

type statsDay struct {
	Day                string   `json:"day"`
	Satisfied          int      `json:"satisfied"`
	BasicallySatisfied int      `json:"basically_satisfied"`
	Dissatisfied       int      `json:"dissatisfied"`
	Rate               *float64 `json:"rate"`
}

type statsOverdue struct {
	Number    string        `json:"number"`
	Category  string        `json:"category"`
	Community string        `json:"community"`
	Tier      intake.Tier   `json:"tier"`
	Status    intake.Status `json:"status"`
	DueBy     time.Time     `json:"due_by"`
	Assignee  string        `json:"assignee"`
}

type statsBot struct {
	intake.ChatStats
	Share     *float64 `json:"share"`
	Votes     int      `json:"votes"` // 这个回答有帮助吗 votes: helpful + unhelpful
	Helpful   int      `json:"helpful"`
	Unhelpful int      `json:"unhelpful"`
}

type statsTopic struct {
	intake.TopicFeedback
	Title string  `json:"title"`
	Share float64 `json:"share"` // of votes that were helpful
}

type statsReport struct {
	From            string         `json:"from"`
	To              string         `json:"to"`
	Tickets         int            `json:"tickets"`
	Rates           []intake.Rate  `json:"rates"`
	ByCommunity     []statsGroup   `json:"by_community"`
	ByCategory      []statsGroup   `json:"by_category"`
	ByTier          []statsGroup   `json:"by_tier"`
	Daily           []statsDay     `json:"daily"`
	Overdue         []statsOverdue `json:"overdue"`
	Bot             statsBot       `json:"bot"`
	UnhelpfulTopics []statsTopic   `json:"unhelpful_topics"`
}

// period reads from and to (dates in Beijing time, to exclusive; default the last 30 days).
func (s *Server) period(r *http.Request) (from, to time.Time, fe *intake.FieldError) {
	today := s.now().In(intake.Beijing)
	to = time.Date(today.Year(), today.Month(), today.Day()+1, 0, 0, 0, 0, intake.Beijing)
	from = to.AddDate(0, 0, -30)
	q := r.URL.Query()
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(p.name); v != "" {
			d, err := time.ParseInLocation(time.DateOnly, v, intake.Beijing)
			if err != nil {
				return from, to, &intake.FieldError{Field: p.name, Reason: "want a date like 2026-11-01"}
			}
			*p.dst = d
		}
	}
	switch {
	case !from.Before(to):
		return from, to, &intake.FieldError{Field: "to", Reason: "must be after from"}
	case to.Sub(from) > maxStatsDays*24*time.Hour:
		return from, to, &intake.FieldError{Field: "from", Reason: "a period is at most 366 days"}
	}
	return from, to, nil
}

func (s *Server) report(r *http.Request) (*statsReport, *intake.FieldError, error) {
	from, to, fe := s.period(r)
	if fe != nil {
		return nil, fe, nil
	}
	ctx := r.Context()
	now := s.now()
	ts, err := s.reports.TicketsCreated(ctx, from, to)
	if err != nil {
		return nil, nil, err
	}
	out := &statsReport{From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), Tickets: len(ts),
		Rates: intake.ComputeRates(ts, now, s.targets)}
	group := func(key func(*intake.Ticket) string, label func(string) string) []statsGroup {
		by := map[string][]*intake.Ticket{}
		for _, t := range ts {
			by[key(t)] = append(by[key(t)], t)
		}
		var gs []statsGroup
		for k, list := range by {
			gs = append(gs, statsGroup{Key: k, Label: label(k), Tickets: len(list), Rates: intake.ComputeRates(list, now, s.targets)})
		}
		slices.SortFunc(gs, func(a, b statsGroup) int { return cmp.Or(b.Tickets-a.Tickets, strings.Compare(a.Key, b.Key)) })
		return append([]statsGroup{}, gs...)
	}
	out.ByCommunity = group(func(t *intake.Ticket) string { return t.Community }, func(k string) string {
		if c, ok := s.guide.Community(k); ok && k != "" {
			return c.TownName + " " + c.Name
		}
		return "未指定社区"
	})
	out.ByCategory = group(func(t *intake.Ticket) string { return t.Category }, categoryName)
	tierNames := map[string]string{string(intake.TierGrid): "网格", string(intake.TierCommunity): "社区", string(intake.TierTown): "镇"}
	out.ByTier = group(func(t *intake.Ticket) string { return string(t.Tier) }, func(k string) string { return cmp.Or(tierNames[k], k) })

	days := map[string]*statsDay{}
	for _, t := range ts {
		for _, rec := range t.Ratings {
			d := rec.At.In(intake.Beijing).Format(time.DateOnly)
			if days[d] == nil {
				days[d] = &statsDay{Day: d}
			}
			switch rec.Rating {
			case intake.Satisfied:
				days[d].Satisfied++
			case intake.BasicallySatisfied:
				days[d].BasicallySatisfied++
			case intake.Dissatisfied:
				days[d].Dissatisfied++
			}
		}
	}
	out.Daily = []statsDay{}
	for _, d := range days {
		if n := d.Satisfied + d.BasicallySatisfied + d.Dissatisfied; n > 0 {
			v := float64(d.Satisfied+d.BasicallySatisfied) / float64(n)
			d.Rate = &v
		}
		out.Daily = append(out.Daily, *d)
	}
	slices.SortFunc(out.Daily, func(a, b statsDay) int { return strings.Compare(a.Day, b.Day) })

	out.Overdue = []statsOverdue{}
	for _, t := range ts {
		if t.Status.Open() && t.Overdue {
			out.Overdue = append(out.Overdue, statsOverdue{Number: t.Number, Category: t.Category, Community: t.Community,
				Tier: t.Tier, Status: t.Status, DueBy: t.DueBy, Assignee: t.Assignee})
		}
	}
	slices.SortFunc(out.Overdue, func(a, b statsOverdue) int { return a.DueBy.Compare(b.DueBy) })

	if out.Bot.ChatStats, err = s.reports.ChatStats(ctx, from, to); err != nil {
		return nil, nil, err
	}
	if out.Bot.Conversations > 0 {
		v := float64(out.Bot.Settled) / float64(out.Bot.Conversations)
		out.Bot.Share = &v
	}
	votes, err := s.reports.FeedbackByTopic(ctx, from, to)
	if err != nil {
		return nil, nil, err
	}
	out.UnhelpfulTopics = []statsTopic{}
	for _, v := range votes {
		out.Bot.Votes += v.Helpful + v.Unhelpful
		out.Bot.Helpful += v.Helpful
		out.Bot.Unhelpful += v.Unhelpful
		if v.Unhelpful > 0 {
			st := statsTopic{TopicFeedback: v, Share: float64(v.Helpful) / float64(v.Helpful+v.Unhelpful)}
			if e, ok := s.guide.Entry(v.Topic); ok {
				st.Title = e.Title
			}
			out.UnhelpfulTopics = append(out.UnhelpfulTopics, st)
		}
	}
	return out, nil, nil
}

func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	rep, fe, err := s.report(r)
	switch {
	case fe != nil:
		s.writeIntakeError(w, fe)
	case err != nil:
		s.internal(w, "stats", err)
	default:
		writeJSON(w, http.StatusOK, rep)
	}
}

// statsTables are the CSV tables: their header and rows.
var statsTables = map[string]func(*statsReport) ([]string, [][]string){
	"rates": func(r *statsReport) ([]string, [][]string) {
		return rateHeader(nil), [][]string{rateCells(nil, r.Rates)}
	},
	"communities": groupTable("community"),
	"categories":  groupTable("category"),
	"tiers":       groupTable("tier"),
	"daily": func(r *statsReport) ([]string, [][]string) {
		var rows [][]string
		for _, d := range r.Daily {
			rows = append(rows, []string{d.Day, strconv.Itoa(d.Satisfied), strconv.Itoa(d.BasicallySatisfied),
				strconv.Itoa(d.Dissatisfied), fraction(d.Rate)})
		}
		return []string{"day", "satisfied", "basically_satisfied", "dissatisfied", "satisfaction_rate"}, rows
	},
	"overdue": func(r *statsReport) ([]string, [][]string) {
		var rows [][]string
		for _, o := range r.Overdue {
			rows = append(rows, []string{o.Number, o.Category, o.Community, string(o.Tier), string(o.Status),
				o.DueBy.In(intake.Beijing).Format("2006-01-02 15:04"), csvSafe(o.Assignee)})
		}
		return []string{"number", "category", "community", "tier", "status", "due_by", "assignee"}, rows
	},
	"topics": func(r *statsReport) ([]string, [][]string) {
		var rows [][]string
		for _, t := range r.UnhelpfulTopics {
			rows = append(rows, []string{t.Topic, t.Title, strconv.Itoa(t.Helpful), strconv.Itoa(t.Unhelpful),
				strconv.FormatFloat(t.Share, 'f', 4, 64)})
		}
		return []string{"topic", "title", "helpful", "unhelpful", "helpful_share"}, rows
	},
}

func rateHeader(first []string) []string {
	h := append([]string{}, first...)
	for _, name := range intake.RateNames {
		h = append(h, name+"_numerator", name+"_denominator", name, name+"_target")
	}
	return h
}

func rateCells(first []string, rates []intake.Rate) []string {
	row := append([]string{}, first...)
	for _, r := range rates {
		row = append(row, strconv.Itoa(r.Numerator), strconv.Itoa(r.Denominator), fraction(r.Value),
			strconv.FormatFloat(r.Target, 'f', 4, 64))
	}
	return row
}

func groupTable(key string) func(*statsReport) ([]string, [][]string) {
	return func(r *statsReport) ([]string, [][]string) {
		gs := map[string][]statsGroup{"community": r.ByCommunity, "category": r.ByCategory, "tier": r.ByTier}[key]
		var rows [][]string
		for _, g := range gs {
			rows = append(rows, rateCells([]string{g.Key, g.Label, strconv.Itoa(g.Tickets)}, g.Rates))
		}
		return rateHeader([]string{key, "name", "tickets"}), rows
	}
}

// fraction is a rate for a spreadsheet: empty when there is nothing to divide.
func fraction(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', 4, 64)
}

func (s *Server) statsCSV(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutSuffix(r.PathValue("table"), ".csv")
	table := statsTables[name]
	if !ok || table == nil {
		writeError(w, http.StatusNotFound, "not_found", "no such table: rates, communities, categories, tiers, daily, overdue or topics")
		return
	}
	rep, fe, err := s.report(r)
	switch {
	case fe != nil:
		s.writeIntakeError(w, fe)
		return
	case err != nil:
		s.internal(w, "stats csv", err)
		return
	}
	header, rows := table(rep)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+"-"+rep.From+"-"+rep.To+`.csv"`)
	w.Write([]byte("\ufeff"))
	cw := csv.NewWriter(w)
	cw.Write(header)
	for _, row := range rows {
		cw.Write(row)
	}
	cw.Flush()
}
