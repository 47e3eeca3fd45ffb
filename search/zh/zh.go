// Package zh prepares residents' Chinese text for matching: it folds traditional characters and
// full-width forms, corrects pinyin-IME homophone typos against the guide's vocabulary, segments
// words with gse and produces the character n-grams and pinyin keys the index matches on.
//
// The word dictionary is a trimmed copy of gse's simplified-Chinese dictionary (words seen at least
// ten times), embedded gzip-compressed so that a segmenter is ready in a fraction of a second rather
// than the four seconds the full dictionary takes. Regenerate it with `go generate ./search/zh`.
package zh

//go:generate sh -c "awk '$2>=10 && length($1)<=12 {print $1, $2}' $(go list -m -f {{.Dir}} github.com/go-ego/gse)/data/dict/zh/s_1.txt | gzip -9 > dict.txt.gz"

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/go-ego/gse"
	"github.com/longbridgeapp/opencc"
	"github.com/mozillazg/go-pinyin"
)

//go:embed dict.txt.gz
var dictGz []byte

var (
	baseDictOnce sync.Once
	baseDict     string
	baseDictErr  error

	t2sOnce sync.Once
	t2s     *opencc.OpenCC
	t2sErr  error
	// t2sChanges holds each character that some entry of t2s's dictionaries changes (at a place
	// where the entry's key and value differ): text with none of them converts to itself, and
	// is not run through the converter, which looks every character up (most residents write
	// simplified characters).
	t2sChanges map[rune]bool
)

// loadT2S makes the converter and the characters it changes.
func loadT2S() {
	t2s, t2sErr = opencc.New("t2s")
	if t2sErr != nil {
		return
	}
	t2sChanges = map[rune]bool{}
	for _, grp := range t2s.DictChains {
		for _, d := range grp.Dicts {
			for _, id := range d.Trie.PrefixPredict(nil, 0) {
				key, err := d.Trie.Key(id)
				if err != nil {
					continue
				}
				v, err := d.Trie.Value(id)
				if err != nil || v < 0 || v >= len(d.Values) || len(d.Values[v]) == 0 {
					continue
				}
				k, to := []rune(string(key)), []rune(d.Values[v][0])
				for i, r := range k {
					if len(k) != len(to) || to[i] != r {
						t2sChanges[r] = true
					}
				}
			}
		}
	}
}

// traditional reports whether t2s may change s.
func traditional(s string) bool {
	for _, r := range s {
		if r >= 0x80 && t2sChanges[r] {
			return true
		}
	}
	return false
}

func loadBaseDict() (string, error) {
	baseDictOnce.Do(func() {
		r, err := gzip.NewReader(bytes.NewReader(dictGz))
		if err != nil {
			baseDictErr = err
			return
		}
		b, err := io.ReadAll(r)
		baseDict, baseDictErr = string(b), err
	})
	return baseDict, baseDictErr
}

// Fold turns text into the form every other step expects: simplified characters, half-width
// letters and digits, lower case, and every run of punctuation, symbols or spaces as one space.
// Emoji and other symbols are dropped. Invalid UTF-8 bytes are dropped too.
func Fold(s string) string {
	t2sOnce.Do(loadT2S)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "")
	}
	if t2sErr == nil && traditional(s) {
		if conv, err := t2s.Convert(s); err == nil {
			s = conv
		}
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E: // full-width ASCII
			r -= 0xFEE0
		case r == 0x3000:
			r = ' '
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
			space = false
			continue
		}
		if !space && b.Len() > 0 {
			b.WriteByte(' ')
			space = true
		}
	}
	return strings.TrimSpace(b.String())
}

// IsHan reports whether r is a Chinese character.
func IsHan(r rune) bool { return unicode.Is(unicode.Han, r) }

// HanCount counts the Chinese characters in s.
func HanCount(s string) int {
	n := 0
	for _, r := range s {
		if IsHan(r) {
			n++
		}
	}
	return n
}

// Analyzer holds what matching needs: a segmenter that knows the guide's own words, and the
// vocabulary the homophone corrector may rewrite typos into. It is safe for concurrent use once
// built.
type Analyzer struct {
	seg   gse.Segmenter
	vocab map[string]bool
	// byKey maps a fuzzy pinyin key of a vocabulary word to the word(s) with that key.
	byKey  map[string][]string
	maxLen int
	pyArgs pinyin.Args
	// canon maps each member of a synonym group to the group's first word; canonMax is the
	// longest member, in runes.
	canon    map[string]string
	canonMax int
	// syllable holds the toneless pinyin of each character of the CJK Unified Ideographs block,
	// so that the hot path does no pinyin lookups.
	syllable []string
	// pinyinSet holds every toneless syllable, for reading pinyin typed in letters.
	pinyinOnce sync.Once
	pinyinSet  map[string]bool
}

const cjkFirst, cjkLast = 0x4E00, 0x9FFF

// NewAnalyzer builds an analyzer whose segmenter and homophone corrector know vocab (the guide's
// keywords and synonyms) in addition to the general dictionary, and which maps each member of a
// synonym group to the group's first word. names (places) are kept whole by the segmenter; typos
// are corrected towards names of three characters or more (虹压小区 → 虹亚小区), never towards
// two-character ones, which are everyday words too (翻墙进 is no typo of the community 前进).
func NewAnalyzer(vocab []string, synonyms [][]string, names ...string) (*Analyzer, error) {
	// The syllable table and the dictionary are made at the same time; both are made once a
	// process and shared.
	table := make(chan []string, 1)
	go func() { table <- syllableTable() }()
	dict, err := loadBaseDict()
	if err != nil {
		<-table
		return nil, fmt.Errorf("zh: reading the embedded dictionary: %w", err)
	}
	a := &Analyzer{vocab: map[string]bool{}, byKey: map[string][]string{}, pyArgs: pinyin.NewArgs(), canon: map[string]string{}}
	vocab = slices.Clip(vocab) // appending below must never write into the caller's array
	for _, grp := range synonyms {
		for _, w := range grp {
			if w = Fold(w); w != "" {
				a.canon[w] = Fold(grp[0])
				a.canonMax = max(a.canonMax, utf8.RuneCountInString(w))
				vocab = append(vocab, w)
			}
		}
	}
	a.pyArgs.Fallback = func(r rune, _ pinyin.Args) []string { return []string{string(r)} }
	a.seg.SkipLog = true
	// Words are cut by the dictionary alone (no HMM), and gse loads its HMM model into
	// package-level maps, which races when two analyzers are built at once.
	a.seg.NotLoadHMM = true
	var extra strings.Builder
	var targets []string // typo targets: guide words of 2 to 6, names of 3 to 6 characters
	for _, w := range vocab {
		w = Fold(w)
		if w == "" || strings.Contains(w, " ") || a.vocab[w] {
			continue
		}
		a.vocab[w] = true
		// Guide words get a high frequency so that segmentation keeps them whole.
		fmt.Fprintf(&extra, "%s 2000\n", w)
		if n := utf8.RuneCountInString(w); n >= 2 && n <= 6 && HanCount(w) == n {
			targets = append(targets, w)
		}
	}
	for _, w := range names {
		if w = Fold(w); w != "" && !strings.Contains(w, " ") && !a.vocab[w] {
			a.vocab[w] = true
			fmt.Fprintf(&extra, "%s 2000\n", w)
			// A whole name (虹亚小区) is a typo target; a two-character one (前进, 新华) is an
			// everyday word too.
			if n := utf8.RuneCountInString(w); n >= 3 && n <= 6 && HanCount(w) == n {
				targets = append(targets, w)
			}
		}
	}
	loaded := make(chan error, 1)
	go func() { loaded <- a.seg.LoadDictStr(dict + extra.String()) }()
	a.syllable = <-table
	for _, w := range targets {
		key := a.fuzzyKey(w)
		a.byKey[key] = append(a.byKey[key], w)
		a.maxLen = max(a.maxLen, utf8.RuneCountInString(w))
	}
	if err := <-loaded; err != nil {
		return nil, fmt.Errorf("zh: loading dictionary: %w", err)
	}
	return a, nil
}

var (
	syllableOnce sync.Once
	syllables    []string
)

// syllableTable holds the toneless pinyin of each character of the CJK Unified Ideographs block
// (the character itself where it has none).
func syllableTable() []string {
	syllableOnce.Do(func() {
		args := pinyin.NewArgs()
		args.Fallback = func(r rune, _ pinyin.Args) []string { return []string{string(r)} }
		t := make([]string, cjkLast-cjkFirst+1)
		for r := rune(cjkFirst); r <= cjkLast; r++ {
			if py := pinyin.SinglePinyin(r, args); len(py) > 0 {
				t[r-cjkFirst] = py[0]
			}
		}
		syllables = t
	})
	return syllables
}

// fuzzySyllable folds what northern speakers and pinyin typists confuse: the initials zh/z,
// ch/c, sh/s and l/n, and the finals ang/an, eng/en, ing/in.
func fuzzySyllable(s string) string {
	if len(s) > 2 && (s[:2] == "zh" || s[:2] == "ch" || s[:2] == "sh") {
		s = s[:1] + s[2:]
	}
	if strings.HasPrefix(s, "l") {
		s = "n" + s[1:]
	}
	if strings.HasSuffix(s, "ng") && len(s) > 2 && s[len(s)-3] != 'o' { // ong has no -n twin
		s = s[:len(s)-1]
	}
	return s
}

// Syllables returns one toneless pinyin syllable per rune of s (a non-Han rune stands for itself).
func (a *Analyzer) Syllables(s string) []string {
	runes := []rune(s)
	out := make([]string, len(runes))
	for i, r := range runes {
		switch {
		case r >= cjkFirst && r <= cjkLast && a.syllable[r-cjkFirst] != "":
			out[i] = a.syllable[r-cjkFirst]
		case IsHan(r):
			if py := pinyin.SinglePinyin(r, a.pyArgs); len(py) > 0 {
				out[i] = py[0]
				continue
			}
			out[i] = string(r)
		default:
			out[i] = string(r)
		}
	}
	return out
}

// Sounds returns the fuzzy syllable of each rune of s (see FuzzySyllable).
func (a *Analyzer) Sounds(s string) []string { return a.sounds(s) }

// sounds returns the fuzzy syllable of each rune of s.
func (a *Analyzer) sounds(s string) []string {
	syl := a.Syllables(s)
	for i := range syl {
		syl[i] = fuzzySyllable(syl[i])
	}
	return syl
}

func (a *Analyzer) fuzzyKey(w string) string { return strings.Join(a.sounds(w), " ") }

// isWord reports whether w is a word the resident probably meant as written: a guide word, or a
// word of the general dictionary (which holds only words seen at least ten times).
func (a *Analyzer) isWord(w string) bool {
	if a.vocab[w] {
		return true
	}
	_, _, ok := a.seg.Find(w)
	return ok
}

// Correct rewrites pinyin-IME typos of guide words: a run of 2 to 6 Chinese characters that is not
// itself a word, sounds like a guide word (allowing the zh/z, ch/c, sh/s, -ng/-n and l/n
// confusions) and shares at least one character other than a function character in place with it
// is replaced by that word.
// 底保 → 低保, 网个员 → 网格员, 人功 → 人工.
func (a *Analyzer) Correct(s string) string {
	runes := []rune(s)
	if len(runes) < 2 || len(a.byKey) == 0 {
		return s
	}
	t := a.scan(s, runes)
	syl := a.sounds(s)
	var out strings.Builder
	out.Grow(len(s))
	var key []byte
	for i := 0; i < len(runes); {
		replaced := false
		for n := min(a.maxLen, t.han[i]); n >= 2; n-- {
			cand := t.sub(i, n)
			if a.vocab[cand] {
				w := cand
				// A misspelling the guide lists stands for its group's word of the same sound.
				if c, ok := a.canon[cand]; ok && c != cand && a.fuzzyKey(c) == a.fuzzyKey(cand) {
					w = c
				}
				out.WriteString(w)
				i += n
				replaced = true
				break
			}
			key = key[:0]
			for j, sy := range syl[i : i+n] {
				if j > 0 {
					key = append(key, ' ')
				}
				key = append(key, sy...)
			}
			words := a.byKey[string(key)]
			if len(words) == 0 || a.isWord(cand) || a.straddles(t, i, n) {
				continue
			}
			if w, ok := sharesRune(cand, words); ok {
				// A misspelling the guide lists (网个员) stands for its group's word when
				// that sounds the same (网格员): correct to what was meant.
				if c, ok := a.canon[w]; ok && c != w && a.fuzzyKey(c) == a.fuzzyKey(w) {
					w = c
				}
				out.WriteString(w)
				i += n
				replaced = true
				break
			}
		}
		if !replaced {
			out.WriteRune(runes[i])
			i++
		}
	}
	return out.String()
}

// scanned is a text cut at its characters: where each begins, and how many Chinese characters
// run from each, so that Correct looks at the runs of its text without copying them.
type scanned struct {
	s    string
	offs []int // offs[i] is where rune i begins in s; offs[len] is len(s)
	han  []int // han[i] is the number of Chinese characters in a row from rune i
}

func (a *Analyzer) scan(s string, runes []rune) scanned {
	t := scanned{s: s, offs: make([]int, 0, len(runes)+1), han: make([]int, len(runes)+1)}
	for off := range s {
		t.offs = append(t.offs, off)
	}
	t.offs = append(t.offs, len(s))
	for i := len(runes) - 1; i >= 0; i-- {
		if IsHan(runes[i]) {
			t.han[i] = t.han[i+1] + 1
		}
	}
	return t
}

// sub is the n characters from rune i.
func (t scanned) sub(i, n int) string { return t.s[t.offs[i]:t.offs[i+n]] }

// straddles reports whether the run of n characters from i cuts through a word written correctly: its
// first character ends a word begun before it, or its last begins a word that goes on after it.
// 上回反映 holds 回反, which sounds like 回访, but 反映 is what was written.
func (a *Analyzer) straddles(t scanned, i, n int) bool {
	for k := 2; k <= 3; k++ {
		if b := i - k + 1; b >= 0 && t.han[b] >= k && a.isWord(t.sub(b, k)) {
			return true
		}
		if j := i + n - 1; j+k < len(t.offs) && t.han[j] >= k && a.isWord(t.sub(j, k)) {
			return true
		}
	}
	return false
}

// sharesRune picks the word that has the most runes in the same place as cand, other than
// function characters, and at least one: 能不能 shares only 不 with 冷不冷 and is no typo of it, and
// 然气味 is 燃气味 (two shared) rather than the listed misspelling 燃期味 (one).
func sharesRune(cand string, words []string) (string, bool) {
	c := []rune(cand)
	best, bestN := "", 0
	for _, w := range words {
		wr := []rune(w)
		n := 0
		for j := range c {
			if j < len(wr) && wr[j] == c[j] && !strings.ContainsRune(functionChars, c[j]) {
				n++
			}
		}
		if n > bestN {
			best, bestN = w, n
		}
	}
	return best, bestN > 0
}

// Normalize folds and corrects s: the text the index is queried with.
func (a *Analyzer) Normalize(s string) string { return a.Correct(Fold(s)) }

// Words segments s into words (gse, dictionary only: a word it does not know is left to the
// bigrams, which cover it anyway).
func (a *Analyzer) Words(s string) []string {
	var out []string
	for _, part := range strings.Fields(s) {
		for _, w := range a.seg.Cut(part, false) {
			if w = strings.TrimSpace(w); w != "" {
				out = append(out, w)
			}
		}
	}
	return out
}

// Bigrams returns the overlapping two-character grams of each run of Chinese characters in s, and
// each run of letters or digits as one token. A lone Chinese character yields itself.
func Bigrams(s string) []string {
	var out []string
	for _, part := range strings.Fields(s) {
		var run []rune
		flush := func() {
			switch {
			case len(run) == 1:
				out = append(out, string(run))
			case len(run) > 1:
				for i := 0; i+1 < len(run); i++ {
					out = append(out, string(run[i:i+2]))
				}
			}
			run = run[:0]
		}
		var other []rune
		for _, r := range part {
			if IsHan(r) {
				if len(other) > 0 {
					out = append(out, string(other))
					other = other[:0]
				}
				run = append(run, r)
				continue
			}
			flush()
			other = append(other, r)
		}
		flush()
		if len(other) > 0 {
			out = append(out, string(other))
		}
	}
	return out
}

// functionChars are characters too common to say anything by their sound: a bigram with one of
// them gets no pinyin key (能不 would otherwise sound like 冷不).
const functionChars = "不了的个吗呢啊吧呀哇咧嘞咋么是有没在我你他她它俺们这那哪啥甚能会要就都也还给把被让得地着过一和跟"

// PinyinBigrams returns fuzzy pinyin keys of each pair of adjacent Chinese characters in s
// ("di_bao" for 低保 and for 底保), so that a homophone typo the corrector did not catch still
// meets the word it sounds like.
func (a *Analyzer) PinyinBigrams(s string) []string {
	var out []string
	for _, part := range strings.Fields(s) {
		runes := []rune(part)
		syl := a.sounds(part)
		for i := 0; i+1 < len(runes); i++ {
			if IsHan(runes[i]) && IsHan(runes[i+1]) &&
				!strings.ContainsRune(functionChars, runes[i]) && !strings.ContainsRune(functionChars, runes[i+1]) {
				out = append(out, syl[i]+"_"+syl[i+1])
			}
		}
	}
	return out
}

// Canonicals returns the canonical word of every synonym-group member that occurs in s, once
// each: for 俺家暖器不热 it returns 暖气. The index adds them to both sides of a match, so 取暖
// finds an entry that only says 供暖.
func (a *Analyzer) Canonicals(s string) []string {
	// Every run of up to canonMax runes is looked up: a few hundred map lookups for a message,
	// rather than a search of the message for each of the synonyms.
	starts := make([]int, 0, len(s)+1)
	for i := range s {
		starts = append(starts, i)
	}
	starts = append(starts, len(s))
	var out []string
	seen := map[string]bool{}
	for i := 0; i+1 < len(starts); i++ {
		for n := 1; n <= a.canonMax && i+n < len(starts); n++ {
			if c, ok := a.canon[s[starts[i]:starts[i+n]]]; ok && !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	sort.Strings(out)
	return out
}

// SplitPinyin reads a run of letters typed as toneless pinyin (rengong, zhaohuole) as its
// syllables, fuzzy-folded like Sounds; ok is false when the letters are not pinyin (wifi, ok).
func (a *Analyzer) SplitPinyin(tok string) (syllables []string, ok bool) {
	a.pinyinOnce.Do(func() {
		a.pinyinSet = map[string]bool{}
		for _, s := range a.syllable {
			if s != "" {
				a.pinyinSet[s] = true
			}
		}
	})
	n := len(tok)
	if n == 1 && strings.Contains("aoe", tok) { // 啊, 哦, 呃: the only syllables of one letter
		return []string{tok}, true
	}
	if n < 2 || n > 64 {
		return nil, false
	}
	// Fewest syllables that spell the whole run, each at most six letters (zhuang).
	best := make([]int, n+1)
	from := make([]int, n+1)
	for i := 1; i <= n; i++ {
		best[i] = -1
		for j := max(0, i-6); j < i; j++ {
			if best[j] >= 0 && a.pinyinSet[tok[j:i]] && (best[i] < 0 || best[j]+1 < best[i]) {
				best[i], from[i] = best[j]+1, j
			}
		}
	}
	if best[n] < 0 {
		return nil, false
	}
	syllables = make([]string, best[n])
	for i, k := n, best[n]-1; i > 0; i, k = from[i], k-1 {
		syllables[k] = fuzzySyllable(tok[from[i]:i])
	}
	return syllables, true
}
