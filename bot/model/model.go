// Package model is a linear text classifier: TF-IDF weighted sparse features, one linear
// support-vector machine per class trained by dual coordinate descent (one-vs-rest, squared hinge
// loss, as LIBLINEAR's default solver: Hsieh et al., "A Dual Coordinate Descent Method for
// Large-scale Linear SVM", ICML 2008), and a softmax over the class scores whose temperature is
// fitted on held-out scores so that its probabilities can be trusted.
//
// It knows nothing of Chinese or of the guide: a document is a bag of feature keys, a label a
// string. Training is deterministic: the same examples in the same order give the same model.
package model

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
)

// Key is a hashed feature (see Hash).
type Key uint64

// Hash returns the key of a feature named by a kind byte and a string: FNV-1a, 64 bits.
func Hash(kind byte, s string) Key {
	h := uint64(14695981039346656037)
	h ^= uint64(kind)
	h *= 1099511628211
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return Key(h)
}

// Doc is one document's features with their counts; a key may repeat (counts add up).
type Doc []Key

// Example is one labelled document. Weight scales its loss (1 when zero): an augmented copy of a
// message counts for less than the message itself.
type Example struct {
	Doc    Doc
	Label  string
	Weight float64
}

// Config sets the trainer.
type Config struct {
	C       float64 // the SVM's cost: higher fits the examples more closely
	Epochs  int     // passes over the examples at most
	Tol     float64 // stop when the projected gradient's spread falls below it
	Seed    uint64  // the order examples are visited in
	Workers int     // classes trained at once; 0 for every core
}

// DefaultConfig is what the bot trains with; the cost was chosen by cross-validation (docs/bot.md).
var DefaultConfig = Config{C: 1, Epochs: 100, Tol: 0.1, Seed: 1}

// Model is a trained classifier. It never changes once trained, and is safe for concurrent use.
type Model struct {
	Labels []string
	cols   map[Key]int32 // feature key → column; column 0 is the bias
	idf    []float32     // per column
	w      []float32     // column-major by feature: w[col*len(Labels)+class]
}

// ErrNoExamples is returned for an empty training set or one with a single label.
var ErrNoExamples = errors.New("model: need examples of at least two labels")

// vector is a sparse, L2-normalised TF-IDF row.
type vector struct {
	cols []int32
	vals []float32
}

// Train fits a model to the examples.
func Train(examples []Example, cfg Config) (*Model, error) {
	labelIndex := map[string]int{}
	var labels []string
	for _, ex := range examples {
		if _, ok := labelIndex[ex.Label]; !ok {
			labelIndex[ex.Label] = len(labels)
			labels = append(labels, ex.Label)
		}
	}
	if len(labels) < 2 {
		return nil, ErrNoExamples
	}
	m := &Model{Labels: labels, cols: map[Key]int32{}}
	// Columns in order of first appearance; document frequencies for the IDF.
	var df []int
	df = append(df, 0) // bias
	for _, ex := range examples {
		seen := map[int32]bool{}
		for _, k := range ex.Doc {
			c, ok := m.cols[k]
			if !ok {
				c = int32(len(df))
				m.cols[k] = c
				df = append(df, 0)
			}
			if !seen[c] {
				seen[c] = true
				df[c]++
			}
		}
	}
	n := float64(len(examples))
	m.idf = make([]float32, len(df))
	m.idf[0] = 1
	for c := 1; c < len(df); c++ {
		m.idf[c] = float32(math.Log((1+n)/(1+float64(df[c]))) + 1)
	}
	xs := make([]vector, len(examples))
	for i, ex := range examples {
		xs[i] = m.vectorize(ex.Doc)
	}
	y := make([]int, len(examples))
	cost := make([]float64, len(examples))
	for i, ex := range examples {
		y[i] = labelIndex[ex.Label]
		wt := ex.Weight
		if wt == 0 {
			wt = 1
		}
		cost[i] = cfg.C * wt
	}
	nc := len(labels)
	m.w = make([]float32, len(df)*nc)
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for k := range next {
				w := trainBinary(xs, y, k, cost, len(df), cfg)
				for c, v := range w {
					m.w[c*nc+k] = float32(v)
				}
			}
		})
	}
	for k := range nc {
		next <- k
	}
	close(next)
	wg.Wait()
	return m, nil
}

// trainBinary fits class k against the rest: the dual coordinate descent of an L2-regularised,
// L2-loss SVM, each example with its own cost.
//
// It is left out of the race detector's instrumentation (go:norace): it reads the examples, which no
// one writes while training runs, and writes only its own vectors, and instrumented it is ten
// times slower, for every test that starts a bot.
//
//go:norace
func trainBinary(xs []vector, y []int, k int, cost []float64, dim int, cfg Config) []float64 {
	w := make([]float64, dim)
	alpha := make([]float64, len(xs))
	diag := make([]float64, len(xs))
	qii := make([]float64, len(xs))
	sign := make([]float64, len(xs))
	for i, x := range xs {
		diag[i] = 0.5 / cost[i]
		q := diag[i]
		for _, v := range x.vals {
			q += float64(v) * float64(v)
		}
		qii[i] = q
		sign[i] = -1
		if y[i] == k {
			sign[i] = 1
		}
	}
	// Examples whose multiplier stays at zero with a gradient past the last pass's largest are
	// set aside (shrinking, as LIBLINEAR does); when the rest has converged, every example is
	// checked once more. In one-vs-rest most examples are far on the right side of their class's
	// margin, and after the first pass only the few near it are visited.
	order := make([]int, len(xs))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(k)))
	active := len(order)
	oldMax, oldMin := math.Inf(1), math.Inf(-1)
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		rng.Shuffle(active, func(a, b int) { order[a], order[b] = order[b], order[a] })
		newMax, newMin := math.Inf(-1), math.Inf(1)
		for s := 0; s < active; s++ {
			i := order[s]
			x := xs[i]
			dot := 0.0
			for j, c := range x.cols {
				dot += w[c] * float64(x.vals[j])
			}
			g := sign[i]*dot - 1 + diag[i]*alpha[i]
			pg := g
			if alpha[i] == 0 {
				if g > oldMax {
					active--
					order[s], order[active] = order[active], order[s]
					s--
					continue
				}
				pg = min(g, 0)
			}
			newMax, newMin = max(newMax, pg), min(newMin, pg)
			if math.Abs(pg) < 1e-12 {
				continue
			}
			old := alpha[i]
			alpha[i] = max(old-g/qii[i], 0)
			if d := (alpha[i] - old) * sign[i]; d != 0 {
				for j, c := range x.cols {
					w[c] += d * float64(x.vals[j])
				}
			}
		}
		if newMax-newMin <= cfg.Tol {
			if active == len(order) {
				break
			}
			active, oldMax, oldMin = len(order), math.Inf(1), math.Inf(-1)
			continue
		}
		oldMax, oldMin = newMax, newMin
		if oldMax <= 0 {
			oldMax = math.Inf(1)
		}
		if oldMin >= 0 {
			oldMin = math.Inf(-1)
		}
	}
	return w
}

// vectorize turns a document into its L2-normalised TF-IDF row ((1 + log tf) · idf), with the
// bias column first. Features the model has never seen are dropped.
func (m *Model) vectorize(d Doc) vector {
	// The bias, then the document's known columns, sorted: a column's count is its run.
	cols := make([]int32, 1, len(d)+1)
	for _, k := range d {
		if c, ok := m.cols[k]; ok {
			cols = append(cols, c)
		}
	}
	slices.Sort(cols[1:])
	v := vector{cols: cols[:1], vals: make([]float32, 1, len(cols))}
	v.vals[0] = 1
	norm := 0.0
	for i := 1; i < len(cols); {
		c, j := cols[i], i+1
		for j < len(cols) && cols[j] == c {
			j++
		}
		x := (1 + math.Log(float64(j-i))) * float64(m.idf[c])
		v.cols = append(v.cols, c) // in place: never past i
		v.vals = append(v.vals, float32(x))
		norm += x * x
		i = j
	}
	if norm > 0 {
		s := float32(1 / math.Sqrt(norm))
		for j := 1; j < len(v.vals); j++ {
			v.vals[j] *= s
		}
	}
	return v
}

// Scores returns each class's decision value for a document, in the order of Labels.
func (m *Model) Scores(d Doc) []float64 {
	v := m.vectorize(d)
	nc := len(m.Labels)
	out := make([]float64, nc)
	for j, c := range v.cols {
		x := float64(v.vals[j])
		row := m.w[int(c)*nc : int(c)*nc+nc]
		for k, wk := range row {
			out[k] += x * float64(wk)
		}
	}
	return out
}

// Known reports how many of a document's features the model has seen in training.
func (m *Model) Known(d Doc) int {
	n := 0
	for _, k := range d {
		if _, ok := m.cols[k]; ok {
			n++
		}
	}
	return n
}

// Softmax returns exp(s/t) normalised to sum to one.
func Softmax(scores []float64, t float64) []float64 {
	out := make([]float64, len(scores))
	top := math.Inf(-1)
	for _, s := range scores {
		top = max(top, s)
	}
	sum := 0.0
	for i, s := range scores {
		out[i] = math.Exp((s - top) / t)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}
