package bot

import (
	"regexp"
	"regexp/syntax"
	"strings"
)

// A cue is a regular expression with the runes one of which every match of it contains: a text
// with none of them is passed over without running the expression. Most messages hold none of a
// danger pattern's runes, and the patterns are long alternations that are slow to try.
type cue struct {
	re    *regexp.Regexp
	runes string // "": no such set is known, always run the expression
}

func newCue(expr string) cue {
	re := regexp.MustCompile(expr)
	c := cue{re: re}
	if p, err := syntax.Parse(expr, syntax.Perl); err == nil {
		if rs, ok := required(p.Simplify()); ok {
			c.runes = string(rs)
		}
	}
	return c
}

// match reports whether the expression matches text.
func (c cue) match(text string) bool {
	if c.runes != "" && !strings.ContainsAny(text, c.runes) {
		return false
	}
	return c.re.MatchString(text)
}

// replace replaces every match in text with repl.
func (c cue) replace(text, repl string) string {
	if c.runes != "" && !strings.ContainsAny(text, c.runes) {
		return text
	}
	return c.re.ReplaceAllString(text, repl)
}

// worse reports whether runes a pass over fewer texts than b would: more common runes, or as many
// and more runes.
func worse(a, b []rune) bool {
	ca, cb := common(a), common(b)
	return ca > cb || ca == cb && len(a) > len(b)
}

func common(rs []rune) int {
	n := 0
	for _, r := range rs {
		if strings.ContainsRune(commonRunes, r) {
			n++
		}
	}
	return n
}

// commonRunes are characters most messages hold, poor runes to look for.
const commonRunes = "的了是不我你他她它们有没在人这那上下大小中来去到出说要会能就也都还和把被给让叫打开看想做好多少个一二三四家里外前后天时候快正刚动往"

// maxClass bounds the character classes whose runes are listed.
const maxClass = 16

// required returns runes one of which every match of re contains, or false when there are none
// to be sure of (re can match without any rune it names: an empty match, a wildcard).
func required(re *syntax.Regexp) ([]rune, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 || len(re.Rune) == 0 {
			return nil, false
		}
		// Any rune of a literal is in every match; one that few texts hold passes over more.
		for i, r := range re.Rune {
			if !strings.ContainsRune(commonRunes, r) {
				return re.Rune[i : i+1], true
			}
		}
		return re.Rune[:1], true
	case syntax.OpCharClass:
		var rs []rune
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if rs = append(rs, r); len(rs) > maxClass {
					return nil, false
				}
			}
		}
		return rs, len(rs) > 0
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min < 1 {
			return nil, false
		}
		return required(re.Sub[0])
	case syntax.OpConcat:
		// Every part is in every match: the part with the fewest common runes, then the fewest
		// runes, will do.
		var best []rune
		found := false
		for _, sub := range re.Sub {
			if rs, ok := required(sub); ok && (!found || worse(best, rs)) {
				best, found = rs, true
			}
		}
		return best, found
	case syntax.OpAlternate:
		// A match is a match of one alternative: one of all their runes.
		var all []rune
		for _, sub := range re.Sub {
			rs, ok := required(sub)
			if !ok {
				return nil, false
			}
			all = append(all, rs...)
		}
		return all, true
	}
	return nil, false
}
