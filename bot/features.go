package bot

import (
	"regexp"
	"strings"

	"github.com/bayannur/hotline/bot/model"
	"github.com/bayannur/hotline/search"
	"github.com/bayannur/hotline/search/zh"
)

// Feature kinds, the first byte of every feature key.
const (
	featChar     = 'c' // one character
	featBigram   = 'b' // two adjacent characters
	featSyllable = 'p' // a character's fuzzy pinyin syllable, or a pinyin syllable typed in letters
	featSylPair  = 'q' // two adjacent syllables
	featToken    = 'l' // a run of letters or digits, by its shape
	featPattern  = 'f' // a guide pattern that matched
	featLength   = 'n' // how long the message is, in buckets
)

// featurizer turns normalised text into the model's features.
type featurizer struct {
	an       *zh.Analyzer
	patterns *patternSet // the guide's patterns
	keys     []model.Key // and their features
}

func newFeaturizer(an *zh.Analyzer, ps []search.Pattern) *featurizer {
	f := &featurizer{an: an}
	var res []*regexp.Regexp
	for _, p := range ps {
		res = append(res, p.Re)
		f.keys = append(f.keys, model.Hash(featPattern, p.Name))
	}
	f.patterns = newPatternSet(res)
	return f
}

// features returns the features of a normalised text; the first nText are of its characters,
// syllables and words in letters (what it says), the rest of its numbers and codes by their
// shape, patterns and length.
func (f *featurizer) features(text string) (doc model.Doc, nText int) {
	doc = make(model.Doc, 0, 6*len(text)/3+8)
	var words, tokens model.Doc
	var sylls []string
	for _, part := range strings.Fields(text) {
		runes := []rune(part)
		pinyinOnly := true
		// Runs of Chinese characters: characters, bigrams and their sounds; runs of
		// letters: pinyin syllables if they read as pinyin, else the token by its shape.
		start := 0
		for start < len(runes) {
			end := start + 1
			han := zh.IsHan(runes[start])
			for end < len(runes) && zh.IsHan(runes[end]) == han {
				end++
			}
			run := runes[start:end]
			if han {
				pinyinOnly = false
				for i := range run {
					doc = append(doc, model.Hash(featChar, string(run[i])))
					if i+1 < len(run) {
						doc = append(doc, model.Hash(featBigram, string(run[i:i+2])))
					}
				}
				sylls = append(sylls, f.an.Sounds(string(run))...)
			} else {
				tok := string(run)
				if ss, ok := f.an.SplitPinyin(tok); ok {
					sylls = append(sylls, ss...)
				} else {
					pinyinOnly = false
					if sh := shape(tok); sh == tok && len(tok) > 1 {
						words = append(words, model.Hash(featToken, sh)) // a word in letters says something
					} else {
						tokens = append(tokens, model.Hash(featToken, sh))
					}
				}
			}
			start = end
		}
		// No syllable pair across a space, except between words typed in pinyin: "zhao wang ge
		// yuan" pairs as 找网格员 does.
		if !pinyinOnly {
			sylls = append(sylls, "")
		}
	}
	prev := ""
	for _, s := range sylls {
		if s == "" {
			prev = ""
			continue
		}
		doc = append(doc, model.Hash(featSyllable, s))
		if prev != "" {
			doc = append(doc, model.Hash(featSylPair, prev+" "+s))
		}
		prev = s
	}
	doc = append(doc, words...)
	nText = len(doc)
	doc = append(doc, tokens...)
	f.patterns.match(text, func(i int) { doc = append(doc, f.keys[i]) })
	doc = append(doc, model.Hash(featLength, lengthBucket(zh.HanCount(text))))
	return doc, nText
}

// doc returns the features of a normalised text.
func (f *featurizer) doc(text string) model.Doc {
	d, _ := f.features(text)
	return d
}

// lengthBucket: very short messages say less, and the model may learn to trust them less.
func lengthBucket(n int) string {
	switch {
	case n <= 2:
		return "1-2"
	case n <= 4:
		return "3-4"
	case n <= 8:
		return "5-8"
	case n <= 20:
		return "9-20"
	}
	return "21+"
}

// shape writes a token of letters and digits by its kind and length: 20261125 is d8, a phone
// number d11, wifi is "wifi" (words in letters are kept as they are).
func shape(tok string) string {
	digits := 0
	for _, r := range tok {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	if digits == len(tok) {
		return "d" + string(rune('0'+min(len(tok), 12)/10)) + string(rune('0'+min(len(tok), 12)%10))
	}
	if digits > 0 {
		return "x"
	}
	return tok
}
