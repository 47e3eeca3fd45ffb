package bot

import (
	"regexp"
	"regexp/syntax"
	"strings"
)

// A cue is a regular expression split into its top-level alternatives, each with the runes one of
// which every match of it contains: an alternative whose runes the text lacks is passed over
// without running it. Most messages hold none of a danger pattern's words, and the patterns are
// long alternations that are slow to try whole.
type cue struct {
	re    *regexp.Regexp // the whole expression
	parts []part
}

type part struct {
	re    *regexp.Regexp
	runes []rune // nil: no such set is known, always run it
}

// scan is a text with the set of its runes, made once and asked by every part.
type scan struct {
	text  string
	han   [(cjkLast - cjkFirst + 64) / 64]uint64 // the CJK Unified Ideographs the text holds
	other map[rune]bool                          // and the rest
}

const cjkFirst, cjkLast = 0x4E00, 0x9FFF

func newScan(text string) *scan {
	sc := &scan{text: text}
	for _, r := range text {
		if r >= cjkFirst && r <= cjkLast {
			sc.han[(r-cjkFirst)/64] |= 1 << ((r - cjkFirst) % 64)
		} else {
			if sc.other == nil {
				sc.other = map[rune]bool{}
			}
			sc.other[r] = true
		}
	}
	return sc
}

func (sc *scan) has(r rune) bool {
	if r >= cjkFirst && r <= cjkLast {
		return sc.han[(r-cjkFirst)/64]&(1<<((r-cjkFirst)%64)) != 0
	}
	return sc.other[r]
}

func newCue(expr string) cue {
	c := cue{re: regexp.MustCompile(expr)}
	for _, alt := range splitTop(expr) {
		p := part{re: regexp.MustCompile(alt)}
		if t, err := syntax.Parse(alt, syntax.Perl); err == nil {
			if rs, ok := required(t.Simplify()); ok {
				p.runes = rs
			}
		}
		c.parts = append(c.parts, p)
	}
	return c
}

// may reports whether the part can match the scanned text at all.
func (p part) may(sc *scan) bool {
	if p.runes == nil {
		return true
	}
	for _, r := range p.runes {
		if sc.has(r) {
			return true
		}
	}
	return false
}

// match reports whether the expression matches text.
func (c cue) match(text string) bool { return c.matchIn(newScan(text)) }

// matchIn is match on a scanned text.
func (c cue) matchIn(sc *scan) bool {
	for _, p := range c.parts {
		if p.may(sc) && p.re.MatchString(sc.text) {
			return true
		}
	}
	return false
}

// replace replaces every match of each alternative in text with repl, alternative by alternative.
func (c cue) replace(text, repl string) string {
	sc := newScan(text)
	for _, p := range c.parts {
		if p.may(sc) {
			text = p.re.ReplaceAllString(text, repl)
		}
	}
	return text
}

// splitTop splits a pattern at its top-level alternations: a|b(c|d) is a and b(c|d).
func splitTop(expr string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(expr); i++ {
		switch expr[i] {
		case '\\':
			i++
		case '(', '[':
			depth++
		case ')', ']':
			depth--
		case '|':
			if depth == 0 {
				out = append(out, expr[start:i])
				start = i + 1
			}
		}
	}
	return append(out, expr[start:])
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
