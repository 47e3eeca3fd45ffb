// Package bleve is the embedded search.Index: two in-memory bleve indexes, one of guide entries
// and intents, one of places (communities and compounds), scored with BM25.
//
// Chinese text is analysed in Go before it reaches bleve (search/zh): each field holds
// space-separated tokens — gse words, character bigrams, the canonical words of synonym groups —
// and bleve's whitespace tokenizer indexes them as they are. A separate field holds fuzzy pinyin
// bigrams, so a homophone typo the corrector missed still meets the word it sounds like.
package bleve

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/whitespace"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"
	bindex "github.com/blevesearch/bleve_index_api"

	"github.com/bayannur/hotline/search"
	"github.com/bayannur/hotline/search/zh"
)

// Field boosts: a keyword or title is worth more than a word in an example question, and a
// sound-alike is worth least.
const (
	boostKeywords = 3.0
	boostExamples = 1.0
	boostPinyin   = 0.6
)

// Index is the embedded search.Index.
type Index struct {
	an *zh.Analyzer

	mu      sync.RWMutex
	entries bleve.Index
	places  bleve.Index
	kinds   map[string]string
	placeOf map[string]search.ContactHit
	// terms holds every token indexed, per index: a query keeps only tokens some document has,
	// so a long message opens a few term searchers rather than hundreds.
	entryTerms, placeTerms map[string]bool
	// genericPlaces rewrites place names to what kind of place they are (金桥社区 → 社区,
	// 虹亚小区 → 小区, 临河 → nothing) before entries are indexed or searched: a place says where,
	// not what about, and 临河 in one example question must not pull every 临河 message to it.
	genericPlaces *strings.Replacer
	regions       []string
}

// placeKinds strips the words that say what kind of place a name is (社区, 小区, 家属院…) from
// the names in the places index: only the distinctive part of a name (金桥, 虹亚) says which place
// a resident means, and "俺们小区的网格员" names none.
var placeKinds = strings.NewReplacer(
	"社区居委会", " ", "居委会", " ", "党群服务中心", " ", "社区", " ", "小区", " ", "家属院", " ", "家属楼", " ",
	"生活区", " ", "平房区", " ", "那片", " ", "城区", " ", "县城", " ",
)

// placeReplacer builds the rewriting of place names described at Index.genericPlaces.
func placeReplacer(towns []search.Town, regions []string) *strings.Replacer {
	to := map[string]string{}
	add := func(generic string, names ...string) {
		for _, n := range names {
			if n = zh.Fold(n); len([]rune(n)) >= 2 {
				if _, dup := to[n]; !dup {
					to[n] = generic
				}
			}
		}
	}
	add("", regions...)
	for _, t := range towns {
		add("", t.Name)
		add("", t.Aliases...)
		for _, c := range t.Communities {
			add(" 社区 ", c.Name)
			add(" 社区 ", c.Aliases...)
			add("", c.Streets...)
			for _, cp := range c.Compounds {
				add(" 小区 ", cp.Name)
				add(" 小区 ", cp.Aliases...)
			}
		}
	}
	names := make([]string, 0, len(to))
	for n := range to {
		names = append(names, n)
	}
	// Longest first: the replacer tries its pairs in order.
	sort.Slice(names, func(i, j int) bool {
		if li, lj := len(names[i]), len(names[j]); li != lj {
			return li > lj
		}
		return names[i] < names[j]
	})
	pairs := make([]string, 0, 2*len(names))
	for _, n := range names {
		pairs = append(pairs, n, to[n])
	}
	return strings.NewReplacer(pairs...)
}

var _ search.Index = (*Index)(nil)

// New returns an empty index that analyses text with an.
func New(an *zh.Analyzer) *Index { return &Index{an: an} }

const tokenAnalyzer = "tokens"

func newMapping() (*mapping.IndexMappingImpl, error) {
	m := bleve.NewIndexMapping()
	if err := m.AddCustomAnalyzer(tokenAnalyzer, map[string]any{
		"type":      custom.Name,
		"tokenizer": whitespace.Name,
	}); err != nil {
		return nil, err
	}
	m.DefaultAnalyzer = tokenAnalyzer
	m.ScoringModel = bindex.BM25Scoring
	m.StoreDynamic = false
	m.DocValuesDynamic = false
	return m, nil
}

// Tokens returns the word tokens of text: gse words of two or more characters, character
// bigrams, and the canonical words of the synonyms it contains.
func Tokens(an *zh.Analyzer, text string) []string {
	var out []string
	for _, w := range an.Words(text) {
		if len([]rune(w)) >= 2 {
			out = append(out, w)
		}
	}
	out = append(out, zh.Bigrams(text)...)
	out = append(out, an.Canonicals(text)...)
	return out
}

type entryDoc struct {
	Keywords string `json:"kw"`
	Examples string `json:"ex"`
	Pinyin   string `json:"py"`
}

type placeDoc struct {
	Name   string `json:"name"` // tokens of the distinctive part of each name
	Full   string `json:"full"` // each whole name as one token: 金桥小区 is the compound, 金桥社区 the community
	Pinyin string `json:"py"`
}

// SetRegions sets the wider area's names (search.Guide.Regions), which Replace strips from
// entries like the names of places: they say where, not what about.
func (x *Index) SetRegions(names []string) { x.regions = names }

// Replace rebuilds both indexes from entries and towns.
func (x *Index) Replace(ctx context.Context, entries []search.Entry, towns []search.Town) error {
	m, err := newMapping()
	if err != nil {
		return err
	}
	ei, err := newMemIndex(m)
	if err != nil {
		return err
	}
	kinds := map[string]string{}
	entryTerms, placeTerms := map[string]bool{}, map[string]bool{}
	generic := placeReplacer(towns, x.regions)
	batch := ei.NewBatch()
	for _, e := range entries {
		kw := generic.Replace(x.an.Normalize(strings.Join(append([]string{e.Title}, e.Keywords...), " ")))
		ex := generic.Replace(x.an.Normalize(strings.Join(e.Examples, " ")))
		doc := entryDoc{
			Keywords: strings.Join(Tokens(x.an, kw), " "),
			Examples: strings.Join(Tokens(x.an, ex), " "),
			Pinyin:   strings.Join(x.an.PinyinBigrams(kw), " "),
		}
		if err := batch.Index(e.ID, doc); err != nil {
			return err
		}
		addTerms(entryTerms, doc.Keywords, doc.Examples, doc.Pinyin)
		kinds[e.ID] = e.Kind
	}
	if err := ei.Batch(batch); err != nil {
		return err
	}

	pi, err := newMemIndex(m)
	if err != nil {
		return err
	}
	placeOf := map[string]search.ContactHit{}
	batch = pi.NewBatch()
	addPlace := func(id string, hit search.ContactHit, names []string) error {
		full := make([]string, 0, len(names))
		for _, n := range names {
			if n = x.an.Normalize(n); n != "" && !strings.Contains(n, " ") {
				full = append(full, n)
			}
		}
		text := placeKinds.Replace(strings.Join(full, " "))
		placeOf[id] = hit
		doc := placeDoc{
			Name:   strings.Join(Tokens(x.an, text), " "),
			Full:   strings.Join(full, " "),
			Pinyin: strings.Join(x.an.PinyinBigrams(text), " "),
		}
		addTerms(placeTerms, doc.Name, doc.Full, doc.Pinyin)
		return batch.Index(id, doc)
	}
	for _, t := range towns {
		for _, c := range t.Communities {
			names := append([]string{c.Name}, c.Aliases...)
			names = append(names, c.Streets...)
			top := ""
			if g := c.TopGrid(); g != nil {
				top = g.ID
			}
			if err := addPlace("c/"+c.ID, search.ContactHit{CommunityID: c.ID, GridID: top}, names); err != nil {
				return err
			}
			for i, cp := range c.Compounds {
				names := append([]string{cp.Name}, cp.Aliases...)
				names = append(names, cp.Buildings...)
				hit := search.ContactHit{CommunityID: c.ID, Compound: cp.Name, GridID: cp.Grid}
				if err := addPlace(fmt.Sprintf("p/%s/%d", c.ID, i), hit, names); err != nil {
					return err
				}
			}
		}
	}
	if err := pi.Batch(batch); err != nil {
		return err
	}

	x.mu.Lock()
	old := []bleve.Index{x.entries, x.places}
	x.entries, x.places, x.kinds, x.placeOf = ei, pi, kinds, placeOf
	x.entryTerms, x.placeTerms, x.genericPlaces = entryTerms, placeTerms, generic
	x.mu.Unlock()
	for _, o := range old {
		if o != nil {
			o.Close()
		}
	}
	return nil
}

func addTerms(terms map[string]bool, fields ...string) {
	for _, f := range fields {
		for _, t := range strings.Fields(f) {
			terms[t] = true
		}
	}
}

// known joins the distinct tokens that occur in terms.
func known(terms map[string]bool, tokens []string) string {
	seen := make(map[string]bool, len(tokens))
	out := tokens[:0:0]
	for _, t := range tokens {
		if terms[t] && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return strings.Join(out, " ")
}

// soundAlikes returns the pinyin keys of the text's character bigrams that match no indexed
// token as written: only a bigram that may be a typo is looked up by its sound, so an exact match
// is not counted twice.
func (x *Index) soundAlikes(terms map[string]bool, text string) []string {
	var out []string
	for _, bg := range zh.Bigrams(text) {
		if !terms[bg] {
			out = append(out, x.an.PinyinBigrams(bg)...)
		}
	}
	return out
}

// newMemIndex opens an unpersisted scorch index: segments live in memory only, and searching
// them is several times faster than the default in-memory key-value store.
func newMemIndex(m mapping.IndexMapping) (bleve.Index, error) {
	return bleve.NewUsing("", m, scorch.Name, scorch.Name, nil)
}

func matchField(field, text string, boost float64) query.Query {
	q := bleve.NewMatchQuery(text)
	q.SetField(field)
	q.Analyzer = tokenAnalyzer
	q.SetBoost(boost)
	return q
}

// SearchEntries finds entries and intents for normalized text.
func (x *Index) SearchEntries(ctx context.Context, text string, limit int) ([]search.EntryHit, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.entries == nil {
		return nil, fmt.Errorf("search: index not built")
	}
	text = x.genericPlaces.Replace(text)
	toks := known(x.entryTerms, Tokens(x.an, text))
	py := known(x.entryTerms, x.soundAlikes(x.entryTerms, text))
	if toks == "" && py == "" {
		return nil, nil
	}
	var qs []query.Query
	if toks != "" {
		qs = append(qs, matchField("kw", toks, boostKeywords), matchField("ex", toks, boostExamples))
	}
	if py != "" {
		qs = append(qs, matchField("py", py, boostPinyin))
	}
	req := bleve.NewSearchRequestOptions(bleve.NewDisjunctionQuery(qs...), limit, 0, false)
	res, err := x.entries.SearchInContext(ctx, req)
	if err != nil {
		return nil, err
	}
	hits := make([]search.EntryHit, 0, len(res.Hits))
	for _, h := range res.Hits {
		hits = append(hits, search.EntryHit{ID: h.ID, Kind: x.kinds[h.ID], Score: h.Score})
	}
	return hits, nil
}

// placeMinScore is the least score at which a place counts as named in the text: below it only
// generic words (社区, 小区) matched. Set on the sample guide's contacts, see docs/bot.md.
const placeMinScore = 0.1

// SearchContacts finds communities and compounds named in normalized text.
func (x *Index) SearchContacts(ctx context.Context, text string, limit int) ([]search.ContactHit, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.places == nil {
		return nil, fmt.Errorf("search: index not built")
	}
	whole := known(x.placeTerms, x.an.Words(text))
	text = placeKinds.Replace(text)
	toks := known(x.placeTerms, Tokens(x.an, text))
	if toks == "" {
		return nil, nil
	}
	qs := []query.Query{matchField("name", toks, 1)}
	if whole != "" {
		qs = append(qs, matchField("full", whole, 1))
	}
	if py := known(x.placeTerms, x.soundAlikes(x.placeTerms, text)); py != "" {
		qs = append(qs, matchField("py", py, boostPinyin))
	}
	req := bleve.NewSearchRequestOptions(bleve.NewDisjunctionQuery(qs...), limit, 0, false)
	res, err := x.places.SearchInContext(ctx, req)
	if err != nil {
		return nil, err
	}
	hits := make([]search.ContactHit, 0, len(res.Hits))
	for _, h := range res.Hits {
		if h.Score < placeMinScore {
			break
		}
		hit := x.placeOf[h.ID]
		hit.Score = h.Score
		hits = append(hits, hit)
	}
	return hits, nil
}

// Close releases the indexes.
func (x *Index) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, i := range []bleve.Index{x.entries, x.places} {
		if i != nil {
			i.Close()
		}
	}
	x.entries, x.places = nil, nil
	return nil
}

// Build makes the analyzer of a guide (its words, synonyms and place names, and extra's keywords)
// and an index of its entries (and extra) and places.
func Build(ctx context.Context, g *search.Guide, extra []search.Entry) (*Index, *zh.Analyzer, error) {
	an, err := Analyzer(g, extra)
	if err != nil {
		return nil, nil, err
	}
	x := New(an)
	if err := x.Load(ctx, g, extra); err != nil {
		return nil, nil, err
	}
	return x, an, nil
}

// Analyzer makes the analyzer of a guide: its words, synonyms and place names, and extra's
// keywords.
func Analyzer(g *search.Guide, extra []search.Entry) (*zh.Analyzer, error) {
	vocab := g.Vocabulary()
	for _, e := range extra {
		vocab = append(vocab, e.Keywords...)
	}
	return zh.NewAnalyzer(vocab, g.Synonyms, g.PlaceNames()...)
}

// Load indexes a guide's entries (and extra) and places.
func (x *Index) Load(ctx context.Context, g *search.Guide, extra []search.Entry) error {
	x.SetRegions(g.Regions)
	return x.Replace(ctx, append(append([]search.Entry{}, g.Entries...), extra...), g.Towns)
}
