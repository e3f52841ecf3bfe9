package head

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"
)

// blobs returns n examples per class of k Gaussian clusters in dim
// dimensions, centred on well-separated random points.
func blobs(seed uint64, k, n, dim int, spread float64) ([][]float32, []int) {
	rng := rand.New(rand.NewPCG(seed, 1))
	centres := make([][]float64, k)
	for c := range centres {
		centres[c] = make([]float64, dim)
		for j := range centres[c] {
			centres[c][j] = rng.NormFloat64() * 3
		}
	}
	var x [][]float32
	var y []int
	for c := range k {
		for range n {
			row := make([]float32, dim)
			for j := range row {
				row[j] = float32(centres[c][j] + rng.NormFloat64()*spread)
			}
			x = append(x, row)
			y = append(y, c)
		}
	}
	return x, y
}

func names(k int) []string {
	s := make([]string, k)
	for i := range s {
		s[i] = string(rune('a' + i))
	}
	return s
}

func TestTrainSeparable(t *testing.T) {
	x, y := blobs(1, 4, 40, 32, 1)
	h := DefaultHyper()
	h.Epochs = 40
	var seen []EpochMetrics
	hd, res, err := Train(context.Background(), x, y, names(4), h, func(m EpochMetrics) { seen = append(seen, m) })
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(res.History) || len(seen) == 0 {
		t.Fatalf("progress called %d times, history has %d epochs", len(seen), len(res.History))
	}
	if res.Metrics.On != "validation" || res.Metrics.ValSize != 32 || res.Metrics.TrainSize != 128 {
		t.Errorf("metrics on %q with %d/%d val/train, want validation with 32/128", res.Metrics.On, res.Metrics.ValSize, res.Metrics.TrainSize)
	}
	if res.Metrics.ValAccuracy < 0.97 {
		t.Errorf("validation accuracy %.3f, want >= 0.97 on separable blobs", res.Metrics.ValAccuracy)
	}
	if first, last := res.History[0].Loss, res.History[len(res.History)-1].Loss; !(last < first) {
		t.Errorf("training loss went from %.4f to %.4f", first, last)
	}
	total := 0
	for _, row := range res.Metrics.Confusion {
		for _, v := range row {
			total += v
		}
	}
	if total != res.Metrics.ValSize {
		t.Errorf("confusion matrix counts %d examples, want %d", total, res.Metrics.ValSize)
	}
	p := make([]float32, 4)
	hd.Predict(p, x[0])
	sum := float32(0)
	for _, v := range p {
		sum += v
	}
	if math.Abs(float64(sum)-1) > 1e-5 {
		t.Errorf("probabilities sum to %v", sum)
	}
}

// xor returns a problem no linear classifier separates: the class is the
// parity of the signs of the first two coordinates.
func xor(seed uint64, n, dim int) ([][]float32, []int) {
	rng := rand.New(rand.NewPCG(seed, 2))
	var x [][]float32
	var y []int
	for range n {
		row := make([]float32, dim)
		for j := range row {
			row[j] = float32(rng.NormFloat64() * 0.1)
		}
		a, b := rng.IntN(2), rng.IntN(2)
		row[0] += float32(2*a-1) * 2
		row[1] += float32(2*b-1) * 2
		x = append(x, row)
		y = append(y, a^b)
	}
	return x, y
}

func TestHiddenLayerLearnsXOR(t *testing.T) {
	x, y := xor(3, 400, 8)
	for _, tc := range []struct {
		hidden int
		check  func(acc float64) bool
		want   string
	}{
		{0, func(a float64) bool { return a < 0.75 }, "< 0.75 without a hidden layer"},
		{32, func(a float64) bool { return a > 0.95 }, "> 0.95 with 32 hidden units"},
	} {
		h := DefaultHyper()
		h.Epochs, h.HiddenUnits, h.LearningRate, h.Patience = 60, tc.hidden, 0.01, 0
		_, res, err := Train(context.Background(), x, y, names(2), h, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !tc.check(res.Metrics.ValAccuracy) {
			t.Errorf("hidden=%d: validation accuracy %.3f, want %s", tc.hidden, res.Metrics.ValAccuracy, tc.want)
		}
	}
}

func TestDeterministic(t *testing.T) {
	x, y := blobs(5, 3, 20, 16, 2)
	h := DefaultHyper()
	h.Epochs, h.HiddenUnits = 8, 8
	a, ra, err := Train(context.Background(), x, y, names(3), h, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, rb, err := Train(context.Background(), x, y, names(3), h, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(ra, rb) {
		t.Error("two runs with the same seed differ")
	}
	h.Seed = 2
	c, _, err := Train(context.Background(), x, y, names(3), h, nil)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(a.W2, c.W2) {
		t.Error("runs with different seeds gave identical weights")
	}
}

func TestEarlyStoppingRestoresBest(t *testing.T) {
	// Labels are noise: validation loss bottoms out early and rises.
	x, _ := blobs(7, 1, 120, 64, 1)
	rng := rand.New(rand.NewPCG(9, 9))
	y := make([]int, len(x))
	for i := range y {
		y[i] = rng.IntN(2)
	}
	h := DefaultHyper()
	h.Epochs, h.Patience, h.HiddenUnits, h.LearningRate = 200, 3, 64, 0.01
	_, res, err := Train(context.Background(), x, y, names(2), h, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := len(res.History)
	if n == h.Epochs {
		t.Fatalf("ran all %d epochs; early stopping never triggered", n)
	}
	best := res.Metrics.BestEpoch
	if n-best != h.Patience {
		t.Errorf("stopped at epoch %d with best epoch %d, want patience %d", n, best, h.Patience)
	}
	for _, e := range res.History {
		if e.ValLoss < res.History[best-1].ValLoss {
			t.Errorf("epoch %d has val loss %.4f below the restored epoch %d's %.4f", e.Epoch, e.ValLoss, best, res.History[best-1].ValLoss)
		}
	}
	if math.Abs(res.Metrics.ValLoss-res.History[best-1].ValLoss) > 1e-9 {
		t.Errorf("final metrics val loss %.6f, best epoch's %.6f: best weights not restored", res.Metrics.ValLoss, res.History[best-1].ValLoss)
	}
}

func TestCancel(t *testing.T) {
	x, y := blobs(11, 5, 400, 256, 1)
	h := DefaultHyper()
	h.Epochs, h.Patience = 1000, 0
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	started := make(chan struct{}, 1)
	go func() {
		_, _, err := Train(ctx, x, y, names(5), h, func(EpochMetrics) {
			select {
			case started <- struct{}{}:
			default:
			}
		})
		done <- err
	}()
	<-started
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Train did not return after cancellation")
	}
}

func TestTrainErrors(t *testing.T) {
	x, y := blobs(1, 2, 5, 4, 1)
	ok := DefaultHyper()
	for _, tc := range []struct {
		name   string
		x      [][]float32
		y      []int
		labels []string
		h      Hyper
		want   error
	}{
		{"no data", nil, nil, names(2), ok, ErrNoData},
		{"one class", x[:5], y[:5], names(2), ok, ErrTooFewClasses},
		{"one label", x, make([]int, len(x)), names(1), ok, ErrTooFewClasses},
		{"ragged", append([][]float32{{1, 2}}, x[1:]...), y, names(2), ok, ErrDimMismatch},
		{"bad hyper", x, y, names(2), Hyper{}, ErrInvalidHyper},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Train(context.Background(), tc.x, tc.y, tc.labels, tc.h, nil)
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if _, _, err := Train(context.Background(), x, append(y[:len(y)-1:len(y)-1], 7), names(2), ok, nil); err == nil {
		t.Error("label index out of range accepted")
	}
}

func TestValidate(t *testing.T) {
	mod := func(f func(*Hyper)) Hyper { h := DefaultHyper(); f(&h); return h }
	for _, tc := range []struct {
		name string
		h    Hyper
		ok   bool
	}{
		{"defaults", DefaultHyper(), true},
		{"epochs 0", mod(func(h *Hyper) { h.Epochs = 0 }), false},
		{"epochs 1001", mod(func(h *Hyper) { h.Epochs = 1001 }), false},
		{"lr 0", mod(func(h *Hyper) { h.LearningRate = 0 }), false},
		{"lr NaN", mod(func(h *Hyper) { h.LearningRate = math.NaN() }), false},
		{"lr 1", mod(func(h *Hyper) { h.LearningRate = 1 }), true},
		{"batch 0", mod(func(h *Hyper) { h.BatchSize = 0 }), false},
		{"split 0", mod(func(h *Hyper) { h.ValidationSplit = 0 }), true},
		{"split 0.9", mod(func(h *Hyper) { h.ValidationSplit = 0.9 }), false},
		{"split negative", mod(func(h *Hyper) { h.ValidationSplit = -0.1 }), false},
		{"hidden negative", mod(func(h *Hyper) { h.HiddenUnits = -1 }), false},
		{"patience negative", mod(func(h *Hyper) { h.Patience = -1 }), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.h.Validate()
			if (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidHyper) {
				t.Errorf("error %v does not wrap ErrInvalidHyper", err)
			}
		})
	}
}

func TestClassMetrics(t *testing.T) {
	// True class rows, predicted columns. Class c is never predicted.
	conf := [][]int{
		{3, 1, 0},
		{2, 4, 0},
		{1, 0, 0},
	}
	got, acc := classMetrics([]string{"a", "b", "c"}, conf)
	want := []ClassMetrics{
		{"a", 3.0 / 6, 3.0 / 4, 2 * (0.5 * 0.75) / 1.25, 4},
		{"b", 4.0 / 5, 4.0 / 6, 2 * (0.8 * 4.0 / 6) / (0.8 + 4.0/6), 6},
		{"c", 0, 0, 0, 1},
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Label != w.Label || g.Support != w.Support || math.Abs(g.Precision-w.Precision) > 1e-12 ||
			math.Abs(g.Recall-w.Recall) > 1e-12 || math.Abs(g.F1-w.F1) > 1e-12 {
			t.Errorf("class %d: got %+v, want %+v", i, g, w)
		}
	}
	if math.Abs(acc-7.0/11) > 1e-12 {
		t.Errorf("accuracy %v, want 7/11", acc)
	}
}

func trainedHead(t *testing.T, hidden int) *Head {
	t.Helper()
	x, y := blobs(13, 3, 10, 6, 1)
	h := DefaultHyper()
	h.Epochs, h.HiddenUnits = 3, hidden
	hd, _, err := Train(context.Background(), x, y, names(3), h, nil)
	if err != nil {
		t.Fatal(err)
	}
	return hd
}

func TestMarshalRoundTrip(t *testing.T) {
	for _, hidden := range []int{0, 5} {
		hd := trainedHead(t, hidden)
		b, err := hd.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got Head
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(&got, hd) {
			t.Errorf("hidden=%d: round trip changed the head", hidden)
		}
	}
}

func TestUnmarshalCorrupt(t *testing.T) {
	b, err := trainedHead(t, 4).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	flip := append([]byte(nil), b...)
	flip[len(flip)/2] ^= 1
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"magic", append([]byte("NOTAHEAD"), b[8:]...)},
		{"truncated", b[:len(b)-10]},
		{"bit flip", flip},
		{"header only", b[:20]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h Head
			if err := h.UnmarshalBinary(tc.b); !errors.Is(err, ErrCorrupt) {
				t.Errorf("err = %v, want ErrCorrupt", err)
			}
		})
	}
}

func FuzzUnmarshal(f *testing.F) {
	hd := &Head{Labels: []string{"a", "b"}, InputDim: 2, Mean: []float32{0, 0}, Std: []float32{1, 1},
		W2: []float32{1, 2, 3, 4}, B2: []float32{0, 0}}
	b, err := hd.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Head
		if h.UnmarshalBinary(b) == nil {
			p := make([]float32, len(h.Labels))
			h.Predict(p, make([]float32, h.InputDim))
		}
	})
}

func TestPredictConcurrent(t *testing.T) {
	hd := trainedHead(t, 4)
	emb := []float32{1, 2, 3, 4, 5, 6}
	want := make([]float32, 3)
	hd.Predict(want, emb)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := make([]float32, 3)
			for range 1000 {
				hd.Predict(p, emb)
				if !reflect.DeepEqual(p, want) {
					t.Error("concurrent Predict gave a different result")
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestPredictNoAllocs(t *testing.T) {
	hd := trainedHead(t, 4)
	emb := make([]float32, 6)
	p := make([]float32, 3)
	if n := testing.AllocsPerRun(100, func() { hd.Predict(p, emb) }); n != 0 {
		t.Errorf("Predict allocates %v times per call", n)
	}
}

func BenchmarkTrain(b *testing.B) {
	x, y := blobs(17, 10, 50, 512, 2)
	h := DefaultHyper()
	h.Epochs, h.Patience = 10, 0
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Train(context.Background(), x, y, names(10), h, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPredict(b *testing.B) {
	x, y := blobs(17, 10, 5, 2048, 2)
	h := DefaultHyper()
	h.Epochs = 1
	hd, _, err := Train(context.Background(), x, y, names(10), h, nil)
	if err != nil {
		b.Fatal(err)
	}
	p := make([]float32, 10)
	b.ReportAllocs()
	for b.Loop() {
		hd.Predict(p, x[0])
	}
}

// TestPredictWide covers heads whose scratch does not fit on the stack.
func TestPredictWide(t *testing.T) {
	const dim = 5000
	x, y := blobs(19, 2, 6, dim, 1)
	h := DefaultHyper()
	h.Epochs, h.HiddenUnits = 2, 8
	hd, _, err := Train(context.Background(), x, y, names(2), h, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]float32, 2)
	hd.Predict(p, x[0])
	if s := p[0] + p[1]; math.Abs(float64(s)-1) > 1e-5 {
		t.Errorf("probabilities sum to %v", s)
	}
	if n := testing.AllocsPerRun(50, func() { hd.Predict(p, x[0]) }); n != 0 {
		t.Errorf("Predict allocates %v times per call on a wide head", n)
	}
}
