package bot

import (
	"regexp"
	"regexp/syntax"
	"strings"
)

// A guide pattern is a regular expression, most of them long alternations of Chinese words that
// most messages hold none of. Each is matched only when the message holds one of the runes every
// match of it must contain (found from the expression's syntax tree), so that a message is not run
// through every pattern's backtracking for nothing.

// prefiltered is a pattern with the runes one of which every match contains.
type prefiltered struct {
	re    *regexp.Regexp
	runes []rune // nil: no such set is known, always run it
}

func newPrefiltered(re *regexp.Regexp) prefiltered {
	p := prefiltered{re: re}
	if t, err := syntax.Parse(re.String(), syntax.Perl); err == nil {
		if rs, ok := required(t.Simplify()); ok {
			p.runes = rs
		}
	}
	return p
}

// match reports whether the pattern matches the scanned text.
func (p prefiltered) match(sc *scan) bool {
	if p.runes != nil {
		found := false
		for _, r := range p.runes {
			if sc.has(r) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return p.re.MatchString(sc.text)
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
