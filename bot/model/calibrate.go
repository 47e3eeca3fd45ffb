package model

import (
	"math"

	"gonum.org/v1/gonum/optimize"
)

// FitTemperature returns the softmax temperature that makes held-out scores most likely: the
// one minimising the negative log-likelihood of the true classes (temperature scaling, Guo et
// al., "On Calibration of Modern Neural Networks", 2017). scores[i] are the class scores of a
// held-out document whose class is truth[i].
func FitTemperature(scores [][]float64, truth []int) (float64, error) {
	nll := func(logT float64) float64 {
		t := math.Exp(logT)
		sum := 0.0
		for i, s := range scores {
			p := Softmax(s, t)[truth[i]]
			sum -= math.Log(max(p, 1e-300))
		}
		return sum / float64(len(scores))
	}
	p := optimize.Problem{
		Func: func(x []float64) float64 { return nll(x[0]) },
	}
	res, err := optimize.Minimize(p, []float64{math.Log(0.1)}, &optimize.Settings{}, &optimize.NelderMead{})
	if err != nil {
		return 0, err
	}
	return math.Exp(res.X[0]), nil
}
