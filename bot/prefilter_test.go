package bot

import (
	"regexp"
	"slices"
	"testing"

	"github.com/bayannur/hotline/search"
)

// The prefilter never changes what a pattern matches: every guide pattern, on its own examples
// and on every labelled message of the guide, matches exactly as its expression does; and it
// passes over most texts without running the expression.
func TestPrefilterMatchesAsTheExpression(t *testing.T) {
	g, err := search.LoadSample()
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, p := range g.Patterns {
		texts = append(texts, p.Match...)
		texts = append(texts, p.NoMatch...)
	}
	for _, l := range g.Training {
		texts = append(texts, l.Q)
	}
	var res []*regexp.Regexp
	for _, p := range g.Patterns {
		res = append(res, p.Re)
	}
	ps := newPatternSet(res)
	if len(ps.always) > 1 {
		t.Errorf("%d of %d patterns have no literals to look for first", len(ps.always), len(res))
	}
	for _, text := range texts {
		var got []int
		ps.match(text, func(i int) { got = append(got, i) })
		var want []int
		for i, re := range res {
			if re.MatchString(text) {
				want = append(want, i)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%q: prefiltered patterns %v match, expressions %v", text, got, want)
		}
	}
	// The literals let through few texts the expression does not match: at most twice as many
	// as it matches, and a tenth of all (the runes alone let through a third).
	for i, p := range g.Patterns {
		if slices.Contains(ps.always, i) {
			continue
		}
		one := newPatternSet([]*regexp.Regexp{p.Re})
		through, matched := 0, 0
		for _, l := range g.Training {
			cand := []bool{false}
			if one.mark(l.Q, cand); cand[0] {
				through++
			}
			if p.Re.MatchString(l.Q) {
				matched++
			}
		}
		if through > max(2*matched, len(g.Training)/10) {
			t.Errorf("pattern %s: its literals let %d of %d texts through, %d match", p.Name, through, len(g.Training), matched)
		}
	}
}

func TestLiterals(t *testing.T) {
	for _, c := range []struct {
		expr string
		want []string // nil: none
	}{
		{`(盖|扑|浇)灭了`, []string{"扑灭了", "浇灭了", "盖灭了"}},
		{`(^|[^害好可])怕|担心`, []string{"怕", "担心"}},
		{`容易(着|起|出事)`, []string{"容易出事", "容易着", "容易起"}},
		{`打不着(火)?`, []string{"打不着", "打不着火"}},
		{`还在(烧|冒).*快来`, []string{"还在冒", "还在烧"}},
		{`(^|\D)1[3-9]\d{9}($|\D)`, []string{"13", "14", "15", "16", "17", "18", "19"}},
		{`火+`, []string{"火"}},
		// Matches without any literal: an empty match, a wildcard, an optional part alone.
		{`a*|火`, nil},
		{`.+`, nil},
		{`(火)?`, nil},
		{`(?i)fire`, nil},
	} {
		got, ok := literalsOf(regexp.MustCompile(c.expr))
		if !ok {
			got = nil
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("literals of %s = %q, want %q", c.expr, got, c.want)
		}
	}
}

// BenchmarkPatterns: the guide's patterns matched on each labelled message in turn.
func BenchmarkPatterns(b *testing.B) {
	g, err := search.LoadSample()
	if err != nil {
		b.Fatal(err)
	}
	var res []*regexp.Regexp
	for _, p := range g.Patterns {
		res = append(res, p.Re)
	}
	ps := newPatternSet(res)
	n := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ps.match(g.Training[i%len(g.Training)].Q, func(int) { n++ })
	}
}
