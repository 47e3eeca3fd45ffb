package bot

import (
	"crypto/sha256"
	"fmt"
	"hash/fnv"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/bayannur/hotline/bot/model"
	"github.com/bayannur/hotline/search"
	"github.com/bayannur/hotline/search/zh"
)

// The bot's decision is a model learned from labelled messages: each guide entry's examples and
// keywords (labelled with its id), each intent's (labelled contact, status, handoff, smalltalk or
// none), and the labelled sets of the guide's training/ directory. Every message also teaches the
// model in the forms residents type it that its examples rarely show: with another sentence-final
// particle (着火啦 for 着火了), in pinyin letters (zhuan rengong), with a homophone typo (底保 for
// 低保). Traditional characters need no copies: every text is folded to simplified first.

// augmentWeight is what an augmented copy counts for, against 1 for the message itself.
const augmentWeight = 0.5

// example is one training message before features.
type example struct {
	text   string // normalised
	label  string
	weight float64
	group  string // where it came from: folds of cross-validation keep a group together
}

// trainingSet lists the guide's labelled messages, normalised, in a fixed order.
func trainingSet(g *search.Guide, an *zh.Analyzer) []example {
	var out []example
	add := func(q, label, group string) {
		if t := an.Normalize(q); t != "" {
			out = append(out, example{text: t, label: label, weight: 1, group: group})
		}
	}
	for _, e := range g.Entries {
		for _, q := range e.Examples {
			add(q, e.ID, "entries")
		}
		for _, q := range e.Keywords {
			add(q, e.ID, "entries")
		}
	}
	for _, in := range g.Intents {
		for _, q := range in.Examples {
			add(q, in.Label, "intents")
		}
		for _, q := range in.Keywords {
			add(q, in.Label, "intents")
		}
	}
	for _, l := range g.Training {
		add(l.Q, l.Label, l.File)
	}
	return out
}

// augmenter makes the typed variants of a training message.
type augmenter struct {
	an *zh.Analyzer
	// alike maps a fuzzy syllable to the characters of the training texts that sound so, in the
	// order first seen: the homophones a pinyin keyboard offers for it.
	alike map[string][]rune
}

func newAugmenter(an *zh.Analyzer, texts []example) *augmenter {
	a := &augmenter{an: an, alike: map[string][]rune{}}
	seen := map[rune]bool{}
	for _, ex := range texts {
		for _, r := range ex.text {
			if !zh.IsHan(r) || seen[r] {
				continue
			}
			seen[r] = true
			s := an.Sounds(string(r))[0]
			a.alike[s] = append(a.alike[s], r)
		}
	}
	return a
}

// particles are the sentence-final particles residents put where the examples say 了.
var particles = []string{"啦", "咯", "嘞", "哇", "呀", "了"}

// functionRunes are never replaced by a homophone: a typo in them changes nothing a model sees.
const functionRunes = "不了的个吗呢啊吧呀哇咧嘞咋么是有没在我你他她它俺们这那哪啥甚能会要就都也还给把被让得地着过一和跟"

// variants returns the typed forms of one normalised message, each different from it.
func (a *augmenter) variants(text string) []string {
	h := fnv.New32a()
	h.Write([]byte(text))
	seed := int(h.Sum32() & 0x7fffffff)
	var out []string
	// Another particle where a clause ends in 了.
	if v := a.particle(text, seed); v != "" {
		out = append(out, v)
	}
	// Pinyin letters, a word at a time, for short messages (long ones are not typed so).
	if n := zh.HanCount(text); n >= 2 && n <= 8 {
		if v := a.pinyin(text); v != "" {
			out = append(out, v)
		}
	}
	// One homophone typo, in every other message.
	if v := a.typo(text, seed); v != "" && seed%2 == 0 {
		out = append(out, v)
	}
	return out
}

func (a *augmenter) particle(text string, seed int) string {
	i := strings.LastIndex(text, "了")
	if i < 0 {
		return ""
	}
	end := i + len("了")
	if end != len(text) && text[end] != ' ' {
		return ""
	}
	p := particles[seed%(len(particles)-1)]
	return text[:i] + p + text[end:]
}

func (a *augmenter) pinyin(text string) string {
	var words []string
	for _, w := range a.an.Words(text) {
		var b strings.Builder
		for _, r := range w {
			if zh.IsHan(r) {
				b.WriteString(a.an.Syllables(string(r))[0])
			} else if r != ' ' {
				b.WriteRune(r)
			}
		}
		if b.Len() > 0 {
			words = append(words, b.String())
		}
	}
	return strings.Join(words, " ")
}

func (a *augmenter) typo(text string, seed int) string {
	runes := []rune(text)
	var at []int
	for i, r := range runes {
		if zh.IsHan(r) && !strings.ContainsRune(functionRunes, r) {
			at = append(at, i)
		}
	}
	if len(at) < 3 {
		return ""
	}
	i := at[seed%len(at)]
	alike := a.alike[a.an.Sounds(string(runes[i]))[0]]
	if len(alike) < 2 {
		return ""
	}
	for k := range alike {
		r := alike[(seed/7+k)%len(alike)]
		if r != runes[i] {
			runes[i] = r
			return string(runes)
		}
	}
	return ""
}

// learner trains the bot's model from examples.
type learner struct {
	feat *featurizer
	aug  *augmenter
	cfg  model.Config
	// words are what else the analyzer knows (synonyms, place names): they cut words for the
	// pinyin variants.
	words    string
	patterns []search.Pattern
}

func newLearner(g *search.Guide, an *zh.Analyzer, all []example) *learner {
	return &learner{
		feat:     newFeaturizer(an, g.Patterns),
		aug:      newAugmenter(an, all),
		cfg:      model.DefaultConfig,
		words:    fmt.Sprint(g.Synonyms, g.PlaceNames()),
		patterns: g.Patterns,
	}
}

// trainings counts the models trained, for tests of the cache.
var trainings atomic.Int64

// train fits a model to the examples and their typed variants.
func (l *learner) train(exs []example) (*model.Model, error) {
	trainings.Add(1)
	// Features are made on every core, each worker a stride of the examples; the examples keep
	// their order, so the model is the same however many cores there are.
	per := make([][]model.Example, len(exs))
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(exs); i += workers {
				ex := exs[i]
				out := []model.Example{{Doc: l.feat.doc(ex.text), Label: ex.label, Weight: ex.weight}}
				for _, v := range l.aug.variants(ex.text) {
					out = append(out, model.Example{Doc: l.feat.doc(v), Label: ex.label, Weight: ex.weight * augmentWeight})
				}
				per[i] = out
			}
		})
	}
	wg.Wait()
	data := make([]model.Example, 0, 3*len(exs))
	for _, out := range per {
		data = append(data, out...)
	}
	return model.Train(data, l.cfg)
}

// trained remembers the models this process has trained, by what they were trained from: training
// is deterministic, so a guide loaded again unchanged (a reload, every test that starts a bot)
// gets the same model without training it again, and a guide whose examples, words or patterns
// changed in any way is trained anew.
var trained = &modelCache{byKey: map[[sha256.Size]byte]*model.Model{}}

type modelCache struct {
	mu    sync.Mutex
	byKey map[[sha256.Size]byte]*model.Model
}

// ForgetModels drops the models this process remembers, so that the next bot trains its own:
// for measuring training.
func ForgetModels() {
	trained.mu.Lock()
	clear(trained.byKey)
	trained.mu.Unlock()
}

// maxCachedModels bounds the cache: a process that loads many different guides keeps the latest.
const maxCachedModels = 4

func (c *modelCache) get(l *learner, exs []example, store ModelStore) (*model.Model, error) {
	key := l.key(exs)
	c.mu.Lock()
	m, ok := c.byKey[key]
	c.mu.Unlock()
	if ok {
		return m, nil
	}
	name := fmt.Sprintf("%x", key)
	if store != nil {
		if b, err := store.Load(name); err == nil {
			m, _ = model.Decode(b) // nil when damaged: trained again below, and replaced
		}
	}
	if m == nil {
		var err error
		if m, err = l.train(exs); err != nil {
			return nil, err
		}
		if store != nil {
			// Not kept, it is trained again at the next start: nothing to report.
			if b, err := m.MarshalBinary(); err == nil {
				_ = store.Keep(name, b)
			}
		}
	}
	c.mu.Lock()
	if len(c.byKey) >= maxCachedModels {
		clear(c.byKey)
	}
	c.byKey[key] = m
	c.mu.Unlock()
	return m, nil
}

// key is a digest of everything training reads: the examples as normalised (which covers the
// analyzer's corrections), their labels and weights, the analyzer's other words, the patterns and
// the trainer's configuration.
func (l *learner) key(exs []example) [sha256.Size]byte {
	h := sha256.New()
	fmt.Fprintf(h, "%+v\n%s\n", l.cfg, l.words)
	for _, p := range l.patterns {
		fmt.Fprintf(h, "p %q %q\n", p.Name, p.Expr)
	}
	for _, ex := range exs {
		fmt.Fprintf(h, "e %q %q %g\n", ex.text, ex.label, ex.weight)
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}
