package bot

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/bayannur/hotline/search"
)

// Labelled is one labelled resident message: label is a topic id, or one of contact, status,
// handoff, smalltalk, none.
type Labelled = search.Labelled

// ReadLabelled reads a JSON-lines evaluation file.
func ReadLabelled(r io.Reader) ([]Labelled, error) {
	var out []Labelled
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var l Labelled
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if l.Label == "" {
			return nil, fmt.Errorf("line %d: no label", n)
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

// Confusion is one message the bot got wrong.
type Confusion struct {
	Q        string
	Label    string
	Decision string
	Topic    string
	Score    float64
	Labels   []Scored // the model's most probable labels, for tuning
}

// EvalReport sums up an evaluation.
type EvalReport struct {
	Total, Right int
	PerLabel     map[string][2]int // label → right, total
	Predicted    map[string][2]int // what was decided (a topic, or a decision) → right, total
	Confusions   []Confusion
	// OutOfScopeAnswered counts `none` messages answered as if in scope (answer, report,
	// emergency, contact or status); EmergenciesMissed counts emergencies not decided as such.
	OutOfScopeAnswered, OutOfScope int
	EmergenciesMissed, Emergencies int
	// EmergenciesWithNumbers counts emergencies whose first reply gives the numbers (decided as
	// emergencies, or anything else opened by them); FalseEmergencies counts other messages
	// decided as emergencies, FalseNumbers other messages given the numbers.
	EmergenciesWithNumbers, FalseEmergencies, FalseNumbers int
}

// Accuracy is the strict accuracy.
func (r EvalReport) Accuracy() float64 {
	if r.Total == 0 {
		return 0
	}
	return float64(r.Right) / float64(r.Total)
}

// Expect returns the decision (and topic, for guide topics) a label calls for.
func Expect(g *search.Guide, label string) (decision, topic string) {
	switch label {
	case Contact, Status, Handoff, Smalltalk, Clarify:
		return label, ""
	case "none":
		return Decline, ""
	}
	e, ok := g.Entry(label)
	if !ok {
		return "unknown-label", label
	}
	switch e.Kind {
	case search.KindReport:
		return Report, label
	case search.KindEmergency:
		return Emergency, label
	}
	return Answer, label
}

func newEvalReport() EvalReport {
	return EvalReport{PerLabel: map[string][2]int{}, Predicted: map[string][2]int{}}
}

// Evaluate runs every message through the bot and compares with its label.
func (b *Bot) Evaluate(ctx context.Context, items []Labelled) (EvalReport, error) {
	r := newEvalReport()
	for _, it := range items {
		d, err := b.Decide(ctx, Message{Text: it.Q})
		if err != nil {
			d = Decision{Decision: "error", Text: err.Error()}
		}
		r.add(b.guide, it, d)
	}
	return r, nil
}

// add counts one decision against its label.
func (r *EvalReport) add(g *search.Guide, it Labelled, d Decision) {
	wantDecision, wantTopic := Expect(g, it.Label)
	ok := d.Decision == wantDecision && (wantTopic == "" || d.Topic == wantTopic)
	pl := r.PerLabel[it.Label]
	pl[1]++
	r.Total++
	got := d.Decision
	if d.Topic != "" && (d.Decision == Answer || d.Decision == Report || d.Decision == Emergency) {
		got = d.Topic
	}
	if got == Decline {
		got = "none"
	}
	pr := r.Predicted[got]
	pr[1]++
	if ok {
		pl[0]++
		pr[0]++
		r.Right++
	} else {
		r.Confusions = append(r.Confusions, Confusion{Q: it.Q, Label: it.Label, Decision: d.Decision, Topic: d.Topic, Score: d.Score, Labels: d.Labels})
	}
	r.PerLabel[it.Label] = pl
	r.Predicted[got] = pr
	if it.Label == "none" {
		r.OutOfScope++
		switch d.Decision {
		case Answer, Report, Emergency, Contact, Status:
			r.OutOfScopeAnswered++
		}
	}
	numbers := d.Decision == Emergency || strings.HasPrefix(d.Text, emergencyNumbersText)
	if wantDecision == Emergency {
		r.Emergencies++
		if d.Decision != Emergency {
			r.EmergenciesMissed++
		}
		if numbers {
			r.EmergenciesWithNumbers++
		}
	} else {
		if d.Decision == Emergency {
			r.FalseEmergencies++
		}
		if numbers {
			r.FalseNumbers++
		}
	}
}

// Print writes the report for a person: the summary, each label's precision and recall, the most
// frequent confusions and every confused message (with the model's most probable labels when
// labels is set).
func (r EvalReport) Print(w io.Writer, labels bool) {
	fmt.Fprintf(w, "strict accuracy: %.1f%% (%d/%d)\n", 100*r.Accuracy(), r.Right, r.Total)
	fmt.Fprintf(w, "out of scope answered as in scope: %d/%d\n", r.OutOfScopeAnswered, r.OutOfScope)
	fmt.Fprintf(w, "emergencies missed: %d/%d\n", r.EmergenciesMissed, r.Emergencies)
	fmt.Fprintf(w, "emergencies given the numbers in the first reply: %d/%d\n", r.EmergenciesWithNumbers, r.Emergencies)
	other := r.Total - r.Emergencies
	fmt.Fprintf(w, "false emergencies: %d/%d (%.2f%%); other messages given the numbers: %d/%d\n",
		r.FalseEmergencies, other, 100*float64(r.FalseEmergencies)/float64(max(other, 1)), r.FalseNumbers, other)
	fmt.Fprintf(w, "\n%-28s %9s %9s\n", "label", "precision", "recall")
	names := make([]string, 0, len(r.PerLabel))
	for l := range r.PerLabel {
		names = append(names, l)
	}
	sort.Strings(names)
	for _, l := range names {
		rc, pr := r.PerLabel[l], r.Predicted[l]
		prec := "-"
		if pr[1] > 0 {
			prec = fmt.Sprintf("%.1f%%", 100*float64(pr[0])/float64(pr[1]))
		}
		fmt.Fprintf(w, "%-28s %9s %8.1f%%  (%d/%d)\n", l, prec, 100*float64(rc[0])/float64(rc[1]), rc[0], rc[1])
	}
	type pair struct {
		want, got string
		n         int
	}
	counts := map[[2]string]int{}
	for _, c := range r.Confusions {
		got := c.Decision
		if c.Topic != "" {
			got += "/" + c.Topic
		}
		counts[[2]string{c.Label, got}]++
	}
	var pairs []pair
	for k, n := range counts {
		pairs = append(pairs, pair{k[0], k[1], n})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].n != pairs[j].n {
			return pairs[i].n > pairs[j].n
		}
		return pairs[i].want+pairs[i].got < pairs[j].want+pairs[j].got
	})
	fmt.Fprintf(w, "\nworst confusions (want → got, times):\n")
	for _, p := range pairs[:min(15, len(pairs))] {
		fmt.Fprintf(w, "  %-28s → %-40s %d\n", p.want, p.got, p.n)
	}
	fmt.Fprintf(w, "\nconfusions (%d):\n", len(r.Confusions))
	for _, c := range r.Confusions {
		got := c.Decision
		if c.Topic != "" {
			got += "/" + c.Topic
		}
		fmt.Fprintf(w, "  want %-26s got %-36s %.3f  %s\n", c.Label, got, c.Score, c.Q)
		if labels && len(c.Labels) > 0 {
			fmt.Fprint(w, "      labels:")
			for _, l := range c.Labels {
				fmt.Fprintf(w, " %s %.3f", l.Label, l.P)
			}
			fmt.Fprintln(w)
		}
	}
}
