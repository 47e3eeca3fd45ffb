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
type Labelled struct {
	Q     string `json:"q"`
	Label string `json:"label"`
}

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
	Hits     []search.EntryHit // the index's best candidates, for tuning
}

// EvalReport sums up an evaluation.
type EvalReport struct {
	Total, Right int
	PerLabel     map[string][2]int // label → right, total
	Confusions   []Confusion
	// OutOfScopeAnswered counts `none` messages answered as if in scope (answer, report,
	// emergency, contact or status); EmergenciesMissed counts emergencies not decided as such.
	OutOfScopeAnswered, OutOfScope int
	EmergenciesMissed, Emergencies int
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
	case Contact, Status, Handoff, Smalltalk:
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

// Evaluate runs every message through the bot and compares with its label.
func (b *Bot) Evaluate(ctx context.Context, items []Labelled) (EvalReport, error) {
	r := EvalReport{PerLabel: map[string][2]int{}}
	for _, it := range items {
		d, err := b.Decide(ctx, Message{Text: it.Q})
		if err != nil {
			d = Decision{Decision: "error", Text: err.Error()}
		}
		wantDecision, wantTopic := Expect(b.guide, it.Label)
		ok := d.Decision == wantDecision && (wantTopic == "" || d.Topic == wantTopic)
		pl := r.PerLabel[it.Label]
		pl[1]++
		r.Total++
		if ok {
			pl[0]++
			r.Right++
		} else {
			r.Confusions = append(r.Confusions, Confusion{Q: it.Q, Label: it.Label, Decision: d.Decision, Topic: d.Topic, Score: d.Score, Hits: d.Hits})
		}
		r.PerLabel[it.Label] = pl
		if it.Label == "none" {
			r.OutOfScope++
			switch d.Decision {
			case Answer, Report, Emergency, Contact, Status:
				r.OutOfScopeAnswered++
			}
		}
		if wantDecision == Emergency {
			r.Emergencies++
			if d.Decision != Emergency {
				r.EmergenciesMissed++
			}
		}
	}
	return r, nil
}

// Print writes the report for a person; with hits, each confusion also lists the index's best
// three candidates and their raw scores.
func (r EvalReport) Print(w io.Writer, hits bool) {
	fmt.Fprintf(w, "strict accuracy: %.1f%% (%d/%d)\n", 100*r.Accuracy(), r.Right, r.Total)
	fmt.Fprintf(w, "out of scope answered as in scope: %d/%d\n", r.OutOfScopeAnswered, r.OutOfScope)
	fmt.Fprintf(w, "emergencies missed: %d/%d\n", r.EmergenciesMissed, r.Emergencies)
	fmt.Fprintln(w, "\nper label:")
	labels := make([]string, 0, len(r.PerLabel))
	for l := range r.PerLabel {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	for _, l := range labels {
		c := r.PerLabel[l]
		fmt.Fprintf(w, "  %-28s %5.1f%% (%d/%d)\n", l, 100*float64(c[0])/float64(c[1]), c[0], c[1])
	}
	fmt.Fprintf(w, "\nconfusions (%d):\n", len(r.Confusions))
	for _, c := range r.Confusions {
		got := c.Decision
		if c.Topic != "" {
			got += "/" + c.Topic
		}
		fmt.Fprintf(w, "  want %-26s got %-36s %.3f  %s\n", c.Label, got, c.Score, c.Q)
		if hits {
			fmt.Fprint(w, "      hits:")
			for _, h := range c.Hits[:min(3, len(c.Hits))] {
				fmt.Fprintf(w, " %s %.3f", h.ID, h.Score)
			}
			fmt.Fprintln(w)
		}
	}
}
