package intake_test

import (
	"strings"
	"testing"
	"time"

	"github.com/bayannur/hotline/intake"
)

func bj(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, intake.Beijing)
}

func endOfDay(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 23, 59, 59, 0, intake.Beijing)
}

func TestDefaultCalendarWorkingDays(t *testing.T) {
	cal := intake.DefaultCalendar()
	for _, tc := range []struct {
		day     time.Time
		working bool
		why     string
	}{
		{bj(2026, 11, 23, 10, 0), true, "an ordinary Monday"},
		{bj(2026, 11, 27, 10, 0), true, "an ordinary Friday"},
		{bj(2026, 11, 28, 10, 0), false, "an ordinary Saturday"},
		{bj(2026, 11, 29, 10, 0), false, "an ordinary Sunday"},
		{bj(2026, 10, 1, 10, 0), false, "National Day, a Thursday"},
		{bj(2026, 10, 7, 23, 59), false, "the last day of the National Day holidays"},
		{bj(2026, 10, 8, 0, 0), true, "the first day back"},
		{bj(2026, 10, 10, 10, 0), true, "a Saturday declared a workday (国庆调休)"},
		{bj(2026, 9, 20, 10, 0), true, "a Sunday declared a workday"},
		{bj(2026, 10, 11, 10, 0), false, "the Sunday after the declared workday"},
		{bj(2026, 2, 18, 10, 0), false, "Spring Festival, a Wednesday"},
		{bj(2027, 1, 1, 10, 0), false, "New Year 2027"},
		// The day is Beijing's, whatever zone the time is given in.
		{time.Date(2026, 9, 30, 16, 30, 0, 0, time.UTC), false, "09-30 in UTC, 10-01 in Beijing"},
		{time.Date(2026, 10, 9, 16, 30, 0, 0, time.UTC), true, "a Friday in UTC, the declared Saturday workday in Beijing"},
		{time.Date(2026, 11, 27, 16, 30, 0, 0, time.UTC), false, "a Friday in UTC, Saturday in Beijing"},
	} {
		if got := cal.Working(tc.day); got != tc.working {
			t.Errorf("Working(%v) = %v; want %v: %s", tc.day, got, tc.working, tc.why)
		}
	}
}

func TestAddWorkingDays(t *testing.T) {
	cal := intake.DefaultCalendar()
	for _, tc := range []struct {
		from time.Time
		n    int
		want time.Time
		why  string
	}{
		{bj(2026, 11, 27, 19, 30), 5, endOfDay(2026, 12, 4), "Friday evening: the next Friday night"},
		{bj(2026, 11, 23, 9, 0), 1, endOfDay(2026, 11, 24), "Monday + 1: Tuesday"},
		{bj(2026, 11, 28, 9, 0), 1, endOfDay(2026, 11, 30), "a Saturday ticket counts from Monday"},
		// 09-30 (Wed) + 5: 10-01..07 holidays; 10-08 Thu 1, 10-09 Fri 2, 10-10 Sat workday 3,
		// 10-11 Sun skipped, 10-12 Mon 4, 10-13 Tue 5.
		{bj(2026, 9, 30, 10, 0), 5, endOfDay(2026, 10, 13), "across National Day and its declared workday"},
		// Received during the holiday: counting starts after it.
		{bj(2026, 10, 3, 10, 0), 1, endOfDay(2026, 10, 8), "received on a holiday"},
		{bj(2026, 11, 25, 15, 0), 0, endOfDay(2026, 11, 25), "0 days: the end of today"},
		// Times given in UTC are counted on Beijing's calendar.
		// 23:30 Beijing Friday 11-27 is 15:30 UTC the same Friday: + 1 = Monday 11-30.
		{time.Date(2026, 11, 27, 15, 30, 0, 0, time.UTC), 1, endOfDay(2026, 11, 30), "23:30 Beijing, 15:30 UTC, same day"},
		// 00:30 Beijing Monday 11-30 is 16:30 UTC Sunday 11-29: + 1 = Tuesday 12-01, not Monday.
		{time.Date(2026, 11, 29, 16, 30, 0, 0, time.UTC), 1, endOfDay(2026, 12, 1), "00:30 Beijing, still yesterday in UTC"},
		// 00:30 Beijing 10-08 is 16:30 UTC 10-07, a holiday in Beijing's calendar: + 1 = 10-09.
		{time.Date(2026, 10, 7, 16, 30, 0, 0, time.UTC), 1, endOfDay(2026, 10, 9), "00:30 Beijing on the first day back"},
	} {
		got := cal.AddWorkingDays(tc.from, tc.n)
		if !got.Equal(tc.want) {
			t.Errorf("AddWorkingDays(%v, %d) = %v; want %v: %s", tc.from, tc.n, got.In(intake.Beijing), tc.want, tc.why)
		}
		if b := got.In(intake.Beijing); b.Hour() != 23 || b.Minute() != 59 || b.Second() != 59 {
			t.Errorf("AddWorkingDays(%v, %d) = %v; want the end of a Beijing day", tc.from, tc.n, b)
		}
	}
}

func TestParseCalendar(t *testing.T) {
	cal, err := intake.ParseCalendar(strings.NewReader("# comment\n\n2026-11-25 holiday 测试 # trailing comment\n2026-11-28 workday\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cal.Working(bj(2026, 11, 25, 12, 0)) || !cal.Working(bj(2026, 11, 28, 12, 0)) {
		t.Error("the parsed holiday or workday was not honoured")
	}
	if !cal.Working(bj(2026, 10, 1, 12, 0)) {
		t.Error("a calendar without National Day treats 10-01 (a Thursday) as a holiday")
	}

	for _, tc := range []struct {
		text, want string
	}{
		{"2026-10-01\n", "holidays:1:"},
		{"# header\n\n2026-10-01 holiday\n2026-10-02 vacation\n", "holidays:4:"},
		{"2026-10-01 holiday\n2026-13-01 holiday\n", "holidays:2:"},
		{"2026-10-01 holiday\n\n\n10/03/2026 holiday\n", "holidays:4:"},
		{"2026-10-01 Holiday\n", "holidays:1:"},
	} {
		_, err := intake.ParseCalendar(strings.NewReader(tc.text))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("ParseCalendar(%q) err = %v; want one starting %q", tc.text, err, tc.want)
		}
	}
}

func TestDefaultSLA(t *testing.T) {
	cal := intake.DefaultCalendar()
	s := intake.DefaultSLA(cal)
	now := bj(2026, 11, 27, 19, 30) // Friday evening
	if got := s.SignBy(intake.Normal, "municipal", now); !got.Equal(now.Add(2 * time.Hour)) {
		t.Errorf("normal sign by %v; want +2h", got)
	}
	if got := s.DueBy(intake.Normal, "municipal", now); !got.Equal(endOfDay(2026, 12, 4)) {
		t.Errorf("normal due by %v; want 5 working days, 2026-12-04 23:59:59", got)
	}
	if got := s.SignBy(intake.Urgent, "municipal", now); !got.Equal(now.Add(30 * time.Minute)) {
		t.Errorf("urgent sign by %v; want +30m", got)
	}
	// 24 wall-clock hours, weekend or not.
	if got := s.DueBy(intake.Urgent, "municipal", now); !got.Equal(now.Add(24 * time.Hour)) {
		t.Errorf("urgent due by %v; want +24h", got)
	}
	// An emergency's own clock, in minutes: signed within 10, done within 120, on a Friday
	// evening as on a Tuesday morning.
	if got := s.SignBy(intake.Emergency, "municipal", now); !got.Equal(now.Add(10 * time.Minute)) {
		t.Errorf("emergency sign by %v; want +10m", got)
	}
	if got := s.DueBy(intake.Emergency, "municipal", now); !got.Equal(now.Add(2 * time.Hour)) {
		t.Errorf("emergency due by %v; want +2h", got)
	}
	// An unknown urgency gets the normal limits.
	if got := s.SignBy("whenever", "municipal", now); !got.Equal(now.Add(2 * time.Hour)) {
		t.Errorf("unknown urgency sign by %v; want the normal +2h", got)
	}

	s.ByCategory["housing"] = map[intake.Urgency]intake.Limits{intake.Normal: {Sign: time.Hour, FinishDays: 2}}
	if got := s.SignBy(intake.Normal, "housing", now); !got.Equal(now.Add(time.Hour)) {
		t.Errorf("housing override sign by %v; want +1h", got)
	}
	if got := s.DueBy(intake.Normal, "housing", now); !got.Equal(endOfDay(2026, 12, 1)) {
		t.Errorf("housing override due by %v; want 2 working days, 2026-12-01", got)
	}
	// The override is for its category and urgency only.
	if got := s.SignBy(intake.Normal, "municipal", now); !got.Equal(now.Add(2 * time.Hour)) {
		t.Errorf("municipal sign by %v after a housing override; want +2h", got)
	}
	if got := s.SignBy(intake.Urgent, "housing", now); !got.Equal(now.Add(30 * time.Minute)) {
		t.Errorf("urgent housing sign by %v; want the urgent +30m", got)
	}
}

func TestParseSLA(t *testing.T) {
	known := func(c string) bool { return c == "heating" || c == "municipal" }
	file := `# deadlines of this city
default:
  normal: {sign: 1h, finish: 3d}
categories:
  heating:
    normal: {sign: 30m, finish: 24h}
`
	s, err := intake.ParseSLA(strings.NewReader(file), intake.DefaultCalendar(), known)
	if err != nil {
		t.Fatal(err)
	}
	fri := bj(2026, 11, 27, 19, 0)
	for _, tc := range []struct {
		u             intake.Urgency
		cat           string
		signBy, dueBy time.Time
		why           string
	}{
		{intake.Normal, "municipal", fri.Add(time.Hour), endOfDay(2026, 12, 2), "the file's default: 1 hour, 3 working days"},
		{intake.Normal, "heating", fri.Add(30 * time.Minute), fri.Add(24 * time.Hour), "the category's own limit"},
		{intake.Urgent, "heating", fri.Add(30 * time.Minute), fri.Add(24 * time.Hour), "urgent is not in the file: the built-in default"},
	} {
		if got := s.SignBy(tc.u, tc.cat, fri); !got.Equal(tc.signBy) {
			t.Errorf("%s: sign by %v, want %v", tc.why, got, tc.signBy)
		}
		if got := s.DueBy(tc.u, tc.cat, fri); !got.Equal(tc.dueBy) {
			t.Errorf("%s: due by %v, want %v", tc.why, got, tc.dueBy)
		}
	}
	if s, err := intake.ParseSLA(strings.NewReader(""), intake.DefaultCalendar(), known); err != nil || !s.DueBy(intake.Normal, "heating", fri).Equal(endOfDay(2026, 12, 4)) {
		t.Errorf("an empty file: %v; want the defaults (5 working days)", err)
	}

	bad := `default:
  normal: {sign: soon, finish: 5d}
  someday: {sign: 1h, finish: 5d}
  urgent: {sign: 30m, finish: 90s}
categories:
  astrology:
    normal: {sign: 1h, finish: 1d}
  heating:
    normal: {sign: 1h, finish: 0d}
`
	_, err = intake.ParseSLA(strings.NewReader(bad), intake.DefaultCalendar(), known)
	for _, want := range []string{
		`default.normal.sign: "soon"`, "default.someday: unknown urgency", `default.urgent.finish: "90s"`,
		"categories.astrology: unknown category", `categories.heating.normal.finish: "0d"`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad file: error %v, want it to say %q", err, want)
		}
	}
	if _, err := intake.ParseSLA(strings.NewReader("default:\n  normal: {sign: 1h, finsh: 2d}\n"), intake.DefaultCalendar(), known); err == nil || !strings.Contains(err.Error(), "finsh") {
		t.Errorf("a misspelt key: %v, want it named", err)
	}
}

// An emergency's clock is set in minutes in the SLA file, by default and by category, and a
// finish sooner than the signature is refused.
func TestParseSLAEmergencyMinutes(t *testing.T) {
	known := func(c string) bool { return c == "safety" || c == "municipal" }
	file := `default:
  emergency: {sign: 5m, finish: 90m}
categories:
  safety:
    emergency: {sign: 3m, finish: 45m}
`
	s, err := intake.ParseSLA(strings.NewReader(file), intake.DefaultCalendar(), known)
	if err != nil {
		t.Fatal(err)
	}
	sat := bj(2026, 11, 28, 3, 0) // a Saturday night: the clock does not wait for Monday
	for _, tc := range []struct {
		cat           string
		signBy, dueBy time.Time
	}{
		{"municipal", sat.Add(5 * time.Minute), sat.Add(90 * time.Minute)},
		{"safety", sat.Add(3 * time.Minute), sat.Add(45 * time.Minute)},
	} {
		if got := s.SignBy(intake.Emergency, tc.cat, sat); !got.Equal(tc.signBy) {
			t.Errorf("%s: sign by %v, want %v", tc.cat, got, tc.signBy)
		}
		if got := s.DueBy(intake.Emergency, tc.cat, sat); !got.Equal(tc.dueBy) {
			t.Errorf("%s: due by %v, want %v", tc.cat, got, tc.dueBy)
		}
	}
	if got := s.DueBy(intake.Urgent, "municipal", sat); !got.Equal(sat.Add(24 * time.Hour)) {
		t.Errorf("urgent left out of the file: due by %v, want the default +24h", got)
	}
	_, err = intake.ParseSLA(strings.NewReader("default:\n  emergency: {sign: 30m, finish: 20m}\n"), intake.DefaultCalendar(), known)
	if err == nil || !strings.Contains(err.Error(), "default.emergency.finish") {
		t.Errorf("a finish before the signature: %v, want it refused", err)
	}
}
