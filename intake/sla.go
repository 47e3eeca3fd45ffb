package intake

import (
	"bufio"
	_ "embed"
	"fmt"
	"io"
	"strings"
	"time"
)

// Calendar knows which days are working days: Monday to Friday, except public holidays, plus the
// weekend days the State Council declares working days (调休).
type Calendar struct {
	loc      *time.Location
	holidays map[string]bool
	workdays map[string]bool
}

// Beijing is the hotline's time zone.
var Beijing = time.FixedZone("CST", 8*3600)

//go:embed holidays.txt
var defaultHolidays string

// DefaultCalendar is the calendar of the embedded holidays file.
func DefaultCalendar() *Calendar {
	c, err := ParseCalendar(strings.NewReader(defaultHolidays))
	if err != nil {
		panic(err) // the embedded file is tested
	}
	return c
}

// ParseCalendar reads a holidays file: one date a line, `2026-10-01 holiday 国庆节` or
// `2026-10-10 workday 国庆调休`; blank lines and # comments are skipped.
func ParseCalendar(r io.Reader) (*Calendar, error) {
	c := &Calendar{loc: Beijing, holidays: map[string]bool{}, workdays: map[string]bool{}}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			return nil, fmt.Errorf("holidays:%d: want DATE holiday|workday [name]", n)
		}
		if _, err := time.ParseInLocation(time.DateOnly, f[0], Beijing); err != nil {
			return nil, fmt.Errorf("holidays:%d: %v", n, err)
		}
		switch f[1] {
		case "holiday":
			c.holidays[f[0]] = true
		case "workday":
			c.workdays[f[0]] = true
		default:
			return nil, fmt.Errorf("holidays:%d: %q is neither holiday nor workday", n, f[1])
		}
	}
	return c, sc.Err()
}

// Working reports whether the day of t (in Beijing time) is a working day.
func (c *Calendar) Working(t time.Time) bool {
	d := t.In(c.loc).Format(time.DateOnly)
	if c.workdays[d] {
		return true
	}
	if c.holidays[d] {
		return false
	}
	wd := t.In(c.loc).Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// AddWorkingDays returns the end (23:59:59) of the n-th working day after the day of t: "within
// 5 working days" of a Friday-evening ticket ends on the next Friday night, and a ticket received
// on a holiday starts counting after it.
func (c *Calendar) AddWorkingDays(t time.Time, n int) time.Time {
	local := t.In(c.loc)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, c.loc)
	for n > 0 {
		day = day.AddDate(0, 0, 1)
		if c.Working(day) {
			n--
		}
	}
	return day.Add(24*time.Hour - time.Second)
}

// Limits are the deadlines of one kind of ticket.
type Limits struct {
	Sign       time.Duration // to sign after dispatch, wall-clock
	FinishDays int           // working days to finish, when Finish is 0
	Finish     time.Duration // wall-clock time to finish (urgent tickets: hours; emergencies: minutes)
}

// SLA holds the deadlines by urgency, with overrides by category.
type SLA struct {
	Calendar   *Calendar
	ByUrgency  map[Urgency]Limits
	ByCategory map[string]map[Urgency]Limits
}

// DefaultSLA: sign within 2 hours (urgent: 30 minutes; emergency: 10 minutes), finish within 5
// working days (urgent: 24 hours; emergency: 2 hours) — an emergency's clock runs in minutes,
// day and night.
func DefaultSLA(cal *Calendar) *SLA {
	return &SLA{
		Calendar: cal,
		ByUrgency: map[Urgency]Limits{
			Normal:    {Sign: 2 * time.Hour, FinishDays: 5},
			Urgent:    {Sign: 30 * time.Minute, Finish: 24 * time.Hour},
			Emergency: {Sign: 10 * time.Minute, Finish: 2 * time.Hour},
		},
		ByCategory: map[string]map[Urgency]Limits{},
	}
}

func (s *SLA) limits(u Urgency, category string) Limits {
	if byU, ok := s.ByCategory[category]; ok {
		if l, ok := byU[u]; ok {
			return l
		}
	}
	if l, ok := s.ByUrgency[u]; ok {
		return l
	}
	return s.ByUrgency[Normal]
}

// SignBy is when a ticket dispatched at now must be signed.
func (s *SLA) SignBy(u Urgency, category string, now time.Time) time.Time {
	return now.Add(s.limits(u, category).Sign)
}

// DueBy is when a ticket received at now must be finished.
func (s *SLA) DueBy(u Urgency, category string, now time.Time) time.Time {
	l := s.limits(u, category)
	if l.Finish > 0 {
		return now.Add(l.Finish)
	}
	return s.Calendar.AddWorkingDays(now, l.FinishDays)
}
