package intake

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The four rates of the 12345 hotline over a cohort of tickets (docs/rates.md).

// Rate names.
const (
	RateSignedOnTime   = "signed_on_time"   // 及时签收率
	RateResolvedOnTime = "resolved_on_time" // 按时办结率
	RateSolved         = "solved"           // 问题解决率
	RateSatisfied      = "satisfied"        // 群众满意率
)

// RateNames lists the rates in the order they are shown.
var RateNames = []string{RateSignedOnTime, RateResolvedOnTime, RateSolved, RateSatisfied}

// RateLabels are the rates' Chinese names.
var RateLabels = map[string]string{
	RateSignedOnTime: "及时签收率", RateResolvedOnTime: "按时办结率", RateSolved: "问题解决率", RateSatisfied: "群众满意率",
}

// Targets are what each rate should reach, as fractions.
type Targets map[string]float64

// DefaultTargets: 95 %, 90 %, 85 %, 90 %.
func DefaultTargets() Targets {
	return Targets{RateSignedOnTime: 0.95, RateResolvedOnTime: 0.90, RateSolved: 0.85, RateSatisfied: 0.90}
}

// ParseTargets reads "signed_on_time=0.95,satisfied=0.9" over the defaults.
func ParseTargets(s string) (Targets, error) {
	t := DefaultTargets()
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		name, v, ok := strings.Cut(kv, "=")
		if _, known := RateLabels[name]; !ok || !known {
			return nil, fmt.Errorf("targets: %q is not rate=fraction with a rate of %s", kv, strings.Join(RateNames, ", "))
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			return nil, fmt.Errorf("targets: %s: want a fraction between 0 and 1, got %q", name, v)
		}
		t[name] = f
	}
	return t, nil
}

// Rate is one rate: numerator ÷ denominator, nil when there is nothing to divide.
type Rate struct {
	Rate        string   `json:"rate"`
	Label       string   `json:"label"`
	Numerator   int      `json:"numerator"`
	Denominator int      `json:"denominator"`
	Value       *float64 `json:"value"`
	Target      float64  `json:"target"`
}

// ComputeRates counts the four rates over tickets, as they stand at now:
//   - 及时签收率: tickets whose first signature met the sign deadline ÷ tickets dispatched whose
//     signature is decided (signed, marked late, or still unsigned past the deadline);
//   - 按时办结率: tickets whose latest resolution met the finish deadline ÷ tickets due (resolved,
//     or open past the finish deadline);
//   - 问题解决率: ratings saying solved ÷ ratings that answered 问题解决了吗;
//   - 群众满意率: ratings 满意 or 基本满意 ÷ ratings.
//
// Ratings are every resolution's (Ticket.Ratings): a 不满意 that reopened a ticket still counts.
func ComputeRates(tickets []*Ticket, now time.Time, targets Targets) []Rate {
	var num, den [4]int
	for _, t := range tickets {
		if _, dispatched := t.Steps[Dispatched]; dispatched {
			switch {
			case t.SignedOnTime != nil:
				den[0]++
				if *t.SignedOnTime {
					num[0]++
				}
			case t.Status == Dispatched && now.After(t.SignBy):
				den[0]++ // still unsigned, and late already
			}
		}
		switch {
		case t.ResolvedOnTime != nil:
			den[1]++
			if *t.ResolvedOnTime {
				num[1]++
			}
		case t.Status.Open() && !t.DueBy.IsZero() && now.After(t.DueBy):
			den[1]++
		}
		for _, r := range t.Ratings {
			if r.Solved != nil {
				den[2]++
				if *r.Solved {
					num[2]++
				}
			}
			den[3]++
			if r.Rating == Satisfied || r.Rating == BasicallySatisfied {
				num[3]++
			}
		}
	}
	out := make([]Rate, len(RateNames))
	for i, name := range RateNames {
		out[i] = Rate{Rate: name, Label: RateLabels[name], Numerator: num[i], Denominator: den[i], Target: targets[name]}
		if den[i] > 0 {
			v := float64(num[i]) / float64(den[i])
			out[i].Value = &v
		}
	}
	return out
}
