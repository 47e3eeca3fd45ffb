package model

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// toy makes documents of three classes, each drawn from its own words plus shared noise.
func toy(n int, seed uint64) []Example {
	rng := rand.New(rand.NewPCG(seed, 1))
	words := map[string][]string{"fire": {"火", "烟", "烧"}, "gas": {"气", "味", "漏"}, "light": {"灯", "黑", "亮"}}
	noise := []string{"了", "俺", "咋", "的", "快"}
	var out []Example
	for i := 0; i < n; i++ {
		for _, label := range []string{"fire", "gas", "light"} {
			var d Doc
			for range 3 {
				d = append(d, Hash('c', words[label][rng.IntN(3)]))
			}
			d = append(d, Hash('c', noise[rng.IntN(len(noise))]), Hash('c', noise[rng.IntN(len(noise))]))
			out = append(out, Example{Doc: d, Label: label})
		}
	}
	return out
}

func argmax(s []float64) int {
	best := 0
	for i := range s {
		if s[i] > s[best] {
			best = i
		}
	}
	return best
}

func TestTrainSeparatesClasses(t *testing.T) {
	m, err := Train(toy(40, 1), DefaultConfig)
	if err != nil {
		t.Fatal(err)
	}
	test := toy(20, 2)
	right := 0
	for _, ex := range test {
		if m.Labels[argmax(m.Scores(ex.Doc))] == ex.Label {
			right++
		}
	}
	if right != len(test) {
		t.Errorf("%d of %d held-out toy documents right, want all", right, len(test))
	}
	// A document of words never seen scores the bias alone: no class is sure of it.
	p := Softmax(m.Scores(Doc{Hash('c', "鱼")}), 0.1)
	if p[argmax(p)] > 0.9 {
		t.Errorf("an unknown document got probability %.2f", p[argmax(p)])
	}
	if m.Known(Doc{Hash('c', "鱼"), Hash('c', "火")}) != 1 {
		t.Error("Known should count the one feature seen in training")
	}
}

func TestTrainIsDeterministic(t *testing.T) {
	data := toy(30, 3)
	cfg := DefaultConfig
	cfg.Workers = 1
	a, err := Train(data, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Workers = 4
	b, err := Train(data, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range toy(5, 4) {
		if !slices.Equal(a.Scores(ex.Doc), b.Scores(ex.Doc)) {
			t.Fatal("the same examples gave different models")
		}
	}
}

func TestWeightsCount(t *testing.T) {
	// The same document labelled both ways: the heavier label wins.
	d := Doc{Hash('c', "火"), Hash('c', "气")}
	m, err := Train([]Example{{Doc: d, Label: "fire", Weight: 3}, {Doc: d, Label: "gas", Weight: 0.5}}, DefaultConfig)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Labels[argmax(m.Scores(d))]; got != "fire" {
		t.Errorf("got %s, want the heavier label fire", got)
	}
}

func TestTrainNeedsTwoLabels(t *testing.T) {
	if _, err := Train([]Example{{Doc: Doc{Hash('c', "火")}, Label: "fire"}}, DefaultConfig); !errors.Is(err, ErrNoExamples) {
		t.Errorf("err %v, want ErrNoExamples", err)
	}
	if _, err := Train(nil, DefaultConfig); !errors.Is(err, ErrNoExamples) {
		t.Errorf("err %v, want ErrNoExamples", err)
	}
}

func TestSoftmax(t *testing.T) {
	p := Softmax([]float64{1, 2, 3}, 1)
	sum := p[0] + p[1] + p[2]
	if math.Abs(sum-1) > 1e-12 || !(p[2] > p[1] && p[1] > p[0]) {
		t.Errorf("softmax %v", p)
	}
	// Large scores do not overflow; a low temperature sharpens.
	if p := Softmax([]float64{1000, 0}, 0.01); math.IsNaN(p[0]) || p[0] < 0.999 {
		t.Errorf("softmax of large scores %v", p)
	}
}

// FitTemperature recovers the temperature the labels were drawn with.
func TestFitTemperature(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	const want = 0.3
	var scores [][]float64
	var truth []int
	for range 4000 {
		s := []float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
		p := Softmax(s, want)
		u, k := rng.Float64(), 0
		for u > p[k] && k < 2 {
			u -= p[k]
			k++
		}
		scores, truth = append(scores, s), append(truth, k)
	}
	got, err := FitTemperature(scores, truth)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-want) > 0.05 {
		t.Errorf("fitted temperature %.3f, want about %.2f", got, want)
	}
}
