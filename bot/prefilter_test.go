package bot

import (
	"regexp"
	"testing"

	"github.com/bayannur/hotline/search"
)

// The prefilter never changes what a pattern matches: every guide pattern, on its own examples
// and on every labelled message of the guide, matches exactly as its expression does.
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
	skipped := 0
	for _, p := range g.Patterns {
		pf := newPrefiltered(p.Re)
		for _, text := range texts {
			sc := newScan(text)
			if got, want := pf.match(sc), p.Re.MatchString(text); got != want {
				t.Errorf("pattern %s on %q: prefiltered %v, expression %v", p.Name, text, got, want)
			}
		}
		if pf.runes != nil {
			skipped++
		}
	}
	if skipped < len(g.Patterns)-1 {
		t.Errorf("only %d of %d patterns have runes to look for first", skipped, len(g.Patterns))
	}
	// An expression that can match without any rune it names is always run.
	if pf := newPrefiltered(regexp.MustCompile(`a*|火`)); pf.runes != nil {
		t.Errorf("a*|火 has required runes %q, want none", string(pf.runes))
	}
}
