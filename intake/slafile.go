package intake

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// slaFile is the YAML form of deadlines read by ParseSLA:
//
//	default:
//	  normal:    {sign: 2h,  finish: 5d}    # finish: working days (5d) or wall-clock time (24h, 90m)
//	  urgent:    {sign: 30m, finish: 24h}
//	  emergency: {sign: 10m, finish: 2h}
//	categories:
//	  heating:
//	    normal:  {sign: 1h,  finish: 2d}
type slaFile struct {
	Default    map[string]limitsYAML            `yaml:"default"`
	Categories map[string]map[string]limitsYAML `yaml:"categories"`
}

type limitsYAML struct {
	Sign   string `yaml:"sign"`
	Finish string `yaml:"finish"`
}

// ParseSLA reads deadlines from YAML over the defaults of DefaultSLA: what the file names replaces
// the default, what it leaves out is kept; a category limit given only for some urgencies applies
// to those. knownCategory vets category codes. Every problem is reported, one a line.
func ParseSLA(r io.Reader, cal *Calendar, knownCategory func(string) bool) (*SLA, error) {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	var f slaFile
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("sla: %w", err)
	}
	s := DefaultSLA(cal)
	var problems []string
	read := func(path string, byU map[string]limitsYAML, into map[Urgency]Limits) {
		for _, u := range sortedKeys(byU) {
			where := path + "." + u
			if !Urgency(u).Valid() {
				problems = append(problems, where+": unknown urgency (normal, urgent, emergency)")
				continue
			}
			l, err := byU[u].limits()
			if err != nil {
				problems = append(problems, where+"."+err.Error())
				continue
			}
			into[Urgency(u)] = l
		}
	}
	read("default", f.Default, s.ByUrgency)
	for _, cat := range sortedKeys(f.Categories) {
		if !knownCategory(cat) {
			problems = append(problems, "categories."+cat+": unknown category")
			continue
		}
		m := map[Urgency]Limits{}
		read("categories."+cat, f.Categories[cat], m)
		s.ByCategory[cat] = m
	}
	if len(problems) > 0 {
		return nil, errors.New("sla: " + strings.Join(problems, "\nsla: "))
	}
	return s, nil
}

func (y limitsYAML) limits() (Limits, error) {
	var l Limits
	sign, err := time.ParseDuration(strings.TrimSpace(y.Sign))
	if err != nil || sign <= 0 {
		return l, fmt.Errorf("sign: %q: want a duration such as 30m or 2h", y.Sign)
	}
	l.Sign = sign
	fin := strings.TrimSpace(y.Finish)
	if days, ok := strings.CutSuffix(fin, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 {
			return l, fmt.Errorf("finish: %q: want working days such as 5d, or hours such as 24h", y.Finish)
		}
		l.FinishDays = n
		return l, nil
	}
	d, err := time.ParseDuration(fin)
	if err != nil || d < time.Minute || d%time.Minute != 0 {
		return l, fmt.Errorf("finish: %q: want working days such as 5d, or whole minutes or hours such as 90m or 24h", y.Finish)
	}
	if d < sign {
		return l, fmt.Errorf("finish: %q: sooner than the sign deadline %q", y.Finish, y.Sign)
	}
	l.Finish = d
	return l, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
