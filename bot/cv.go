package bot

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/bayannur/hotline/bot/model"
	"github.com/bayannur/hotline/search"
	"github.com/bayannur/hotline/search/zh"
)

// CrossValidate measures the bot on messages its model has not seen: the guide's labelled sets
// (training/) are cut into k folds; each fold is decided by a model trained on the others (and on
// every entry's and intent's examples, which are never held out). The held-out scores then choose
// the calibration: the softmax temperature that makes them most likely, the emergency threshold
// below every emergency's probability (so that every emergency of cross-validation gets the
// numbers), and the answer threshold that does best when a right answer counts +1, a wrong one
// -1 and a question 0. The report is of the decisions made with that calibration.
func CrossValidate(ctx context.Context, g *search.Guide, idx search.Index, an *zh.Analyzer, k int) (CVReport, error) {
	if k < 2 {
		return CVReport{}, fmt.Errorf("cross-validation needs at least 2 folds, not %d", k)
	}
	all := trainingSet(g, an)
	var fixed, held []example
	for _, ex := range all {
		if ex.group == "entries" || ex.group == "intents" {
			fixed = append(fixed, ex)
		} else {
			held = append(held, ex)
		}
	}
	if len(held) < k {
		return CVReport{}, fmt.Errorf("cross-validation needs at least %d labelled messages in training/, the guide has %d", k, len(held))
	}
	// Folds by a fixed shuffle: the same guide always gives the same folds.
	perm := rand.New(rand.NewPCG(20261202, uint64(k))).Perm(len(held))
	fold := make([]int, len(held))
	for i, p := range perm {
		fold[p] = i % k
	}
	l := newLearner(g, an, all)
	type out struct {
		scores []float64
		labels []string // the fold model's labels, in its order
	}
	results := make([]out, len(held))
	models := make([]*model.Model, k)
	for f := range k {
		if err := ctx.Err(); err != nil {
			return CVReport{}, err
		}
		train := append([]example{}, fixed...)
		for i, ex := range held {
			if fold[i] != f {
				train = append(train, ex)
			}
		}
		m, err := l.train(train)
		if err != nil {
			return CVReport{}, err
		}
		models[f] = m
		for i, ex := range held {
			if fold[i] == f {
				results[i] = out{scores: m.Scores(l.feat.doc(ex.text)), labels: m.Labels}
			}
		}
	}
	// Temperature: on every held-out message whose label its fold's model knows.
	var scores [][]float64
	var truth []int
	for i, ex := range held {
		for j, lab := range results[i].labels {
			if lab == ex.label {
				scores, truth = append(scores, results[i].scores), append(truth, j)
			}
		}
	}
	temp, err := model.FitTemperature(scores, truth)
	if err != nil {
		return CVReport{}, fmt.Errorf("fitting the temperature: %w", err)
	}
	cal := Calibration{Temperature: temp}
	// Emergency threshold: below the emergency probability of every held-out emergency.
	emergencyOf := func(i int) float64 {
		p := model.Softmax(results[i].scores, temp)
		sum := 0.0
		for j, lab := range results[i].labels {
			if e, ok := g.Entry(lab); ok && e.Kind == search.KindEmergency {
				sum += p[j]
			}
		}
		return sum
	}
	cal.Emergency = 1
	var faint []Faint
	for i, ex := range held {
		if e, ok := g.Entry(ex.label); ok && e.Kind == search.KindEmergency {
			p := emergencyOf(i)
			cal.Emergency = min(cal.Emergency, p)
			faint = append(faint, Faint{Q: ex.text, Label: ex.label, P: p})
		}
	}
	cal.Emergency = floor3(cal.Emergency)
	sort.SliceStable(faint, func(a, b int) bool { return faint[a].P < faint[b].P })
	faint = faint[:min(5, len(faint))]
	// What each of them costs: the other held-out messages at least as likely to be an emergency
	// as a bar just under it, so that a guide's author sees what writing for the faintest buys.
	var others []float64
	for i, ex := range held {
		if e, ok := g.Entry(ex.label); !ok || e.Kind != search.KindEmergency {
			others = append(others, emergencyOf(i))
		}
	}
	sort.Float64s(others)
	// A margin for the emergencies no set has shown yet: where the faintest leaves room, the bar
	// goes lower, as far as NumbersBudget of the other messages getting the numbers allows.
	if n := int(NumbersBudget * float64(len(others))); n < len(others) {
		cal.Emergency = min(cal.Emergency, ceil3(others[len(others)-1-n]))
	}
	for i := range faint {
		bar := floor3(faint[i].P)
		faint[i].Others = len(others) - sort.SearchFloat64s(others, bar)
	}
	// Answer threshold: the best of +1 right, -1 wrong, 0 asked, over the held-out messages whose
	// most probable label is not an emergency (emergencies are never asked about).
	type cand struct {
		p     float64
		right bool
	}
	var cands []cand
	for i, ex := range held {
		p := model.Softmax(results[i].scores, temp)
		best := 0
		for j := range p {
			if p[j] > p[best] {
				best = j
			}
		}
		if e, ok := g.Entry(results[i].labels[best]); ok && e.Kind == search.KindEmergency {
			continue
		}
		cands = append(cands, cand{p[best], results[i].labels[best] == ex.label})
	}
	sort.Slice(cands, func(a, b int) bool { return cands[a].p < cands[b].p })
	// Answering everything from cands[i] up scores the sum of their gains.
	gain, bestGain, bestAt := 0.0, math.Inf(-1), 0
	for i := len(cands) - 1; i >= 0; i-- {
		if cands[i].right {
			gain++
		} else {
			gain--
		}
		// Strictly better only: among thresholds that score the same, the highest, so that
		// where answering is right as often as wrong the bot asks (a question costs the resident
		// a tap; a wrong answer costs a wrong trip).
		if gain > bestGain {
			bestGain, bestAt = gain, i
		}
	}
	cal.Answer = 0.5
	if len(cands) > 0 {
		cal.Answer = floor3(cands[bestAt].p)
	}
	// The decisions, as each fold's bot makes them with this calibration.
	rep := CVReport{Folds: k, Calibration: cal, Messages: len(held), Faintest: faint}
	items := make([]Labelled, len(held))
	for i, ex := range held {
		items[i] = Labelled{Q: ex.text, Label: ex.label}
	}
	bots := make([]*Bot, k)
	for f, m := range models {
		bots[f] = newBot(g, idx, an, l.feat, m, cal)
	}
	rep.EvalReport = newEvalReport()
	for i, it := range items {
		b := bots[fold[i]]
		d := b.decide(ctx, Message{Text: it.Q}, b.analyse(it.Q))
		rep.add(g, it, d)
	}
	return rep, nil
}

func floor3(x float64) float64 { return math.Floor(x*1000) / 1000 }

// ceil3 is x rounded up to three decimals, and above x when x has more: a bar at ceil3(x) leaves
// x under it.
func ceil3(x float64) float64 {
	c := math.Ceil(x*1000) / 1000
	if c == x {
		c += 0.001
	}
	return c
}

// CVReport is what cross-validation found.
type CVReport struct {
	EvalReport
	Folds, Messages int
	Calibration     Calibration
	// Faintest are the held-out emergencies the model found least likely to be one: the lowest
	// of them caps the emergency threshold (NumbersBudget may set it lower).
	Faintest []Faint
}

// NumbersBudget is the share of the other held-out messages the numbers' bar may give the
// numbers for margin: the bar is just under the faintest held-out emergency, or lower, down to
// where this share of the other messages reach it, so that an emergency a little fainter than
// any of cross-validation's still gets the numbers.
const NumbersBudget = 0.025

// MaxOthersGivenNumbers is the share of the other held-out messages that the numbers' bar may
// give the emergency numbers. The bar is set by the faintest held-out emergency alone, and one
// emergency the model cannot learn from its folds pulls it to nothing: past this share the
// calibration is not one to ship (hotline eval --cv --write refuses it).
const MaxOthersGivenNumbers = 0.05

// TooManyGivenNumbers reports whether more than MaxOthersGivenNumbers of the other messages got
// the numbers.
func (r CVReport) TooManyGivenNumbers() bool {
	return float64(r.FalseNumbers) > MaxOthersGivenNumbers*float64(r.Total-r.Emergencies)
}

// Faint is a held-out emergency with the probability its fold's model gave it of being one, and
// how many other held-out messages reach the emergency bar when it is set just under P.
type Faint struct {
	Q, Label string
	P        float64
	Others   int
}

// Print writes the report for a person.
func (r CVReport) Print(w io.Writer) {
	fmt.Fprintf(w, "%d-fold cross-validation over %d labelled messages (entries' and intents' examples always trained on)\n", r.Folds, r.Messages)
	fmt.Fprintf(w, "calibration: temperature %.4f, answer from %.3f, emergency numbers from %.3f\n",
		r.Calibration.Temperature, r.Calibration.Answer, r.Calibration.Emergency)
	fmt.Fprintf(w, "faintest emergencies (the threshold is just under the first, or lower, down to where %.1f%% of the other messages get the numbers; others: messages as likely to be one):\n", NumbersBudget*100)
	for _, f := range r.Faintest {
		fmt.Fprintf(w, "  %.4f %-22s others %4d  %s\n", f.P, f.Label, f.Others, f.Q)
	}
	r.EvalReport.Print(w, true)
}
