package bot

import (
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
)

// A guide pattern is a regular expression, most of them long alternations of Chinese words that
// most messages hold none of. Each is run only on a text that holds one of the literals every
// match of it contains (found from the expression's syntax tree: 没事了, 灭了, 怕 …), and all the
// patterns' literals are looked for in one pass over the text, so that a message is not run
// through every pattern's backtracking for nothing. (Runes alone, as before, let a third of the
// messages through to the expressions: their alternations share 了, 天, 上 ….)

// patternSet matches the guide's patterns on a text.
type patternSet struct {
	res    []*regexp.Regexp
	always []int          // the patterns without literals: run on every text
	first  map[rune][]lit // the literals by their first rune
	han    [(cjkLast - cjkFirst + 64) / 64]uint64
}

// lit is a literal of pattern p.
type lit struct {
	s string
	p int
}

const cjkFirst, cjkLast = 0x4E00, 0x9FFF

func newPatternSet(res []*regexp.Regexp) *patternSet {
	ps := &patternSet{res: res, first: map[rune][]lit{}}
	for i, re := range res {
		lits, ok := literalsOf(re)
		if !ok {
			ps.always = append(ps.always, i)
			continue
		}
		for _, s := range lits {
			r, _ := utf8.DecodeRuneInString(s)
			ps.first[r] = append(ps.first[r], lit{s, i})
			if r >= cjkFirst && r <= cjkLast {
				ps.han[(r-cjkFirst)/64] |= 1 << ((r - cjkFirst) % 64)
			}
		}
	}
	return ps
}

// literalsOf returns the literals one of which every match of re contains; false when there are
// none to be sure of.
func literalsOf(re *regexp.Regexp) ([]string, bool) {
	t, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return nil, false
	}
	return literals(t.Simplify())
}

// match calls yield with the index of each pattern that matches text, in order.
func (ps *patternSet) match(text string, yield func(i int)) {
	var seen [64]bool // the patterns to run (up to 64 patterns; past that all run)
	cand := seen[:0]
	if len(ps.res) <= len(seen) {
		cand = seen[:len(ps.res)]
		ps.mark(text, cand)
	}
	for i, re := range ps.res {
		if (len(cand) == 0 || cand[i]) && re.MatchString(text) {
			yield(i)
		}
	}
}

// mark sets cand[i] for each pattern i that text must be run through: those without literals,
// and those one of whose literals text holds.
func (ps *patternSet) mark(text string, cand []bool) {
	for _, i := range ps.always {
		cand[i] = true
	}
	for i, r := range text {
		if r >= cjkFirst && r <= cjkLast && ps.han[(r-cjkFirst)/64]&(1<<((r-cjkFirst)%64)) == 0 {
			continue // most characters begin no literal: no map lookup for them
		}
		for _, l := range ps.first[r] {
			if !cand[l.p] && strings.HasPrefix(text[i:], l.s) {
				cand[l.p] = true
			}
		}
	}
}

// maxSet bounds the strings a finite set of them is kept with (a class, a product of parts).
const maxSet = 64

// exact returns every string re matches, when they are at most maxSet; false otherwise.
// Assertions of position (^, $, \b) match the empty string.
func exact(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return []string{""}, true
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil, false
		}
		return []string{string(re.Rune)}, true
	case syntax.OpCharClass:
		var ss []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if ss = append(ss, string(r)); len(ss) > maxSet {
					return nil, false
				}
			}
		}
		return ss, len(ss) > 0
	case syntax.OpCapture:
		return exact(re.Sub[0])
	case syntax.OpQuest:
		ss, ok := exact(re.Sub[0])
		return append(ss, ""), ok
	case syntax.OpConcat:
		ss := []string{""}
		for _, sub := range re.Sub {
			next, ok := exact(sub)
			if !ok {
				return nil, false
			}
			if ss = product(ss, next); ss == nil {
				return nil, false
			}
		}
		return ss, true
	case syntax.OpAlternate:
		var ss []string
		for _, sub := range re.Sub {
			next, ok := exact(sub)
			if !ok {
				return nil, false
			}
			if ss = append(ss, next...); len(ss) > maxSet {
				return nil, false
			}
		}
		return ss, true
	}
	return nil, false
}

// product is every a followed by every b; nil past maxSet.
func product(a, b []string) []string {
	if len(a)*len(b) > maxSet {
		return nil
	}
	out := make([]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = append(out, x+y)
		}
	}
	return out
}

// literals returns strings, none empty, one of which every match of re contains; false when
// there are none to be sure of (re can match the empty string, or anything: a wildcard, a wide
// class).
func literals(re *syntax.Regexp) ([]string, bool) {
	if ss, ok := exact(re); ok {
		if slices.Contains(ss, "") {
			return nil, false
		}
		slices.Sort(ss)
		return slices.Compact(ss), true
	}
	switch re.Op {
	case syntax.OpCapture, syntax.OpPlus:
		return literals(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return literals(re.Sub[0])
		}
	case syntax.OpConcat:
		// Every part is in every match, and so is each run of parts whose strings are few
		// (容易(着|起|漏) is 容易着, 容易起, 容易漏): the best of them will do.
		var best []string
		found := false
		consider := func(ss []string, ok bool) {
			if ok && !slices.Contains(ss, "") && (!found || better(ss, best)) {
				best, found = ss, true
			}
		}
		run := []string{""}
		for _, sub := range re.Sub {
			if ss, ok := exact(sub); ok {
				if next := product(run, ss); next != nil {
					run = next
					continue
				}
				consider(run, true)
				run = ss
				continue
			}
			consider(run, true)
			run = []string{""}
			consider(literals(sub))
		}
		consider(run, true)
		if found {
			slices.Sort(best)
			return slices.Compact(best), true
		}
	case syntax.OpAlternate:
		// A match is a match of one alternative: one of all their literals.
		var all []string
		for _, sub := range re.Sub {
			ss, ok := literals(sub)
			if !ok {
				return nil, false
			}
			all = append(all, ss...)
		}
		slices.Sort(all)
		return slices.Compact(all), true
	}
	return nil, false
}

// better reports whether literals a let fewer texts through than b: a longer shortest literal,
// or as long and fewer literals.
func better(a, b []string) bool {
	la, lb := shortest(a), shortest(b)
	return la > lb || la == lb && len(a) < len(b)
}

func shortest(ss []string) int {
	n := -1
	for _, s := range ss {
		if c := utf8.RuneCountInString(s); n < 0 || c < n {
			n = c
		}
	}
	return n
}
