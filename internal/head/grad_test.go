package head

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
)

// TestGradientFiniteDifference checks gorgonia's gradients of the training
// loss against central finite differences of the same loss computed in plain
// Go through Predict.
func TestGradientFiniteDifference(t *testing.T) {
	for _, hidden := range []int{0, 4} {
		x, y := blobs(21, 3, 4, 5, 1)
		rows := make([]int, len(x))
		for i := range rows {
			rows[i] = i
		}
		mean, std := standardization(x, rows, 5)
		rng := rand.New(rand.NewPCG(1, 2))
		tr, err := newTrainer(5, hidden, 3, len(rows), 0.01, rng)
		if err != nil {
			t.Fatal(err)
		}
		// One forward and backward pass without the solver step.
		clear(tr.yb)
		for i, r := range rows {
			for j, v := range x[r] {
				tr.xb[i*5+j] = (v - mean[j]) / std[j]
			}
			tr.yb[i*3+y[r]] = 1
		}
		if err := G.Let(tr.inv, float32(1)/float32(len(rows))); err != nil {
			t.Fatal(err)
		}
		if err := tr.vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		hd := &Head{Labels: names(3), InputDim: 5, Hidden: hidden, Mean: mean, Std: std}
		hd.W1, hd.B1, hd.W2, hd.B2 = tr.weights()
		gorgonLoss := float64(tr.loss.Value().Data().(float32))
		goLoss, _, _ := evaluate(hd, x, y, rows)
		if math.Abs(gorgonLoss-goLoss) > 1e-5 {
			t.Fatalf("hidden=%d: gorgonia loss %.6f, Go loss %.6f", hidden, gorgonLoss, goLoss)
		}
		params := []struct {
			name string
			node *G.Node
			w    []float32
		}{{"w2", tr.w2, hd.W2}, {"b2", tr.b2, hd.B2}}
		if hidden > 0 {
			params = append(params, struct {
				name string
				node *G.Node
				w    []float32
			}{"w1", tr.w1, hd.W1}, struct {
				name string
				node *G.Node
				w    []float32
			}{"b1", tr.b1, hd.B1})
		}
		for _, p := range params {
			gv, err := p.node.Grad()
			if err != nil {
				t.Fatal(err)
			}
			grad := gv.Data().([]float32)
			for i := range p.w {
				const eps = 1e-2
				orig := p.w[i]
				p.w[i] = orig + eps
				lp, _, _ := evaluate(hd, x, y, rows)
				p.w[i] = orig - eps
				lm, _, _ := evaluate(hd, x, y, rows)
				p.w[i] = orig
				fd := (lp - lm) / (2 * eps)
				if math.Abs(fd-float64(grad[i])) > 2e-3+0.02*math.Abs(fd) {
					t.Errorf("hidden=%d %s[%d]: gorgonia %.5f, finite difference %.5f", hidden, p.name, i, grad[i], fd)
				}
			}
		}
		tr.vm.Reset()
	}
}
