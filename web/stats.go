package web

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bayannur/hotline/intake"
	"github.com/bayannur/hotline/internal/i18n"
	"github.com/bayannur/hotline/search"
)

// GET /api/v1/stats and its CSV tables (docs/rates.md): the four rates of a period's tickets,
// overall and by community, category and tier; the daily satisfaction; the overdue list; what
// the bot settled alone and the topics residents found least helpful.

const maxStatsDays = 366

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

func (s *Server) report(r *http.Request) (*intake.Report, *intake.FieldError, error) {
	from, to, fe := s.period(r)
	if fe != nil {
		return nil, fe, nil
	}
	rep, err := intake.BuildReport(r.Context(), s.reports, intake.ReportPeriod{From: from, To: to, Now: s.now()}, s.targets, reportNames{s.guide.Load()})
	return rep, nil, err
}

// reportNames names the report's communities, categories and topics from the guide and the spec.
type reportNames struct{ g *search.Guide }

func (n reportNames) Community(id string) string {
	if c, ok := n.g.Community(id); ok && id != "" {
		return c.TownName + " " + c.Name
	}
	return i18n.T(i18n.Zh, "community.none")
}

func (n reportNames) Category(code string) string { return categoryName(code) }

func (n reportNames) Topic(id string) string {
	if e, ok := n.g.Entry(id); ok {
		return e.Title
	}
	return ""
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
var statsTables = map[string]func(*intake.Report) ([]string, [][]string){
	"rates": func(r *intake.Report) ([]string, [][]string) {
		return rateHeader(nil), [][]string{rateCells(nil, r.Rates)}
	},
	"communities": groupTable("community"),
	"categories":  groupTable("category"),
	"tiers":       groupTable("tier"),
	"daily": func(r *intake.Report) ([]string, [][]string) {
		var rows [][]string
		for _, d := range r.Daily {
			rows = append(rows, []string{d.Day, strconv.Itoa(d.Satisfied), strconv.Itoa(d.BasicallySatisfied),
				strconv.Itoa(d.Dissatisfied), fraction(d.Rate)})
		}
		return []string{"day", "satisfied", "basically_satisfied", "dissatisfied", "satisfaction_rate"}, rows
	},
	"overdue": func(r *intake.Report) ([]string, [][]string) {
		var rows [][]string
		for _, o := range r.Overdue {
			rows = append(rows, []string{o.Number, o.Category, o.Community, string(o.Tier), string(o.Status),
				o.DueBy.In(intake.Beijing).Format("2006-01-02 15:04"), csvSafe(o.Assignee)})
		}
		return []string{"number", "category", "community", "tier", "status", "due_by", "assignee"}, rows
	},
	"topics": func(r *intake.Report) ([]string, [][]string) {
		var rows [][]string
		for _, t := range r.UnhelpfulTopics {
			rows = append(rows, []string{t.Topic, t.Title, strconv.Itoa(t.Helpful), strconv.Itoa(t.Unhelpful),
				strconv.FormatFloat(t.Share, 'f', 4, 64)})
		}
		return []string{"topic", "title", "helpful", "unhelpful", "helpful_share"}, rows
	},
	"chat": func(r *intake.Report) ([]string, [][]string) {
		c := r.Chat
		return []string{"conversations", "answered", "resolved", "resolution", "handoffs", "taken", "abandoned", "waiting",
				"abandoned_share", "wait_p50_seconds", "wait_p90_seconds", "first_response_p50_seconds", "first_response_p90_seconds"},
			[][]string{{strconv.Itoa(c.Conversations), strconv.Itoa(c.Answered), strconv.Itoa(c.Resolved), fraction(c.Resolution),
				strconv.Itoa(c.Handoffs), strconv.Itoa(c.Taken), strconv.Itoa(c.Abandoned), strconv.Itoa(c.Waiting),
				fraction(c.AbandonedShare), seconds(c.WaitP50), seconds(c.WaitP90), seconds(c.FirstResponseP50), seconds(c.FirstResponseP90)}}
	},
	"emergencies": func(r *intake.Report) ([]string, [][]string) {
		var rows [][]string
		for _, d := range r.Chat.Emergencies {
			rows = append(rows, []string{d.Day, strconv.Itoa(d.Emergencies), strconv.Itoa(d.Taken), seconds(d.ToOperatorP50), seconds(d.ToOperatorMax)})
		}
		return []string{"day", "emergencies", "taken", "to_operator_p50_seconds", "to_operator_max_seconds"}, rows
	},
}

// seconds is a duration in seconds for a spreadsheet: empty when there is none.
func seconds(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', 0, 64)
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

func groupTable(key string) func(*intake.Report) ([]string, [][]string) {
	return func(r *intake.Report) ([]string, [][]string) {
		gs := map[string][]intake.ReportGroup{"community": r.ByCommunity, "category": r.ByCategory, "tier": r.ByTier}[key]
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
		writeError(w, http.StatusNotFound, "not_found", "no such table: rates, communities, categories, tiers, daily, overdue, topics, chat or emergencies")
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
