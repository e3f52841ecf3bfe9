package head

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Train fits a head on the embeddings x (one row per example, all of the
// same dimension) with labels y, indices into labels. progress, when not
// nil, is called after every epoch.
//
// It returns an error wrapping ErrInvalidHyper, ErrNoData, ErrDimMismatch or
// ErrTooFewClasses for bad input, and ctx's error, wrapped, when ctx is done:
// ctx is checked before every mini-batch.
func Train(ctx context.Context, x [][]float32, y []int, labels []string, h Hyper, progress func(EpochMetrics)) (*Head, *Result, error) {
	if err := h.Validate(); err != nil {
		return nil, nil, err
	}
	if len(x) == 0 {
		return nil, nil, ErrNoData
	}
	if len(y) != len(x) {
		return nil, nil, fmt.Errorf("head: %d embeddings but %d labels", len(x), len(y))
	}
	dim := len(x[0])
	if dim == 0 || dim > maxDim {
		return nil, nil, fmt.Errorf("%w: dimension %d out of range [1, %d]", ErrDimMismatch, dim, maxDim)
	}
	k := len(labels)
	if k > maxClasses {
		return nil, nil, fmt.Errorf("head: %d labels, at most %d", k, maxClasses)
	}
	counts := make([]int, k)
	for i, row := range x {
		if len(row) != dim {
			return nil, nil, fmt.Errorf("%w: example %d has %d values, example 0 has %d", ErrDimMismatch, i, len(row), dim)
		}
		if y[i] < 0 || y[i] >= k {
			return nil, nil, fmt.Errorf("head: label index %d of example %d out of range [0, %d)", y[i], i, k)
		}
		counts[y[i]]++
	}
	present := 0
	for _, c := range counts {
		if c > 0 {
			present++
		}
	}
	if present < 2 || k < 2 {
		return nil, nil, fmt.Errorf("%w: got %d", ErrTooFewClasses, present)
	}

	rng := rand.New(rand.NewPCG(uint64(h.Seed), 0x746c7365727665))
	train, val := stratifiedSplit(y, k, h.ValidationSplit, rng)
	mean, std := standardization(x, train, dim)

	t, err := newTrainer(dim, h.HiddenUnits, k, min(h.BatchSize, len(train)), h.LearningRate, rng)
	if err != nil {
		return nil, nil, fmt.Errorf("head: build training graph: %w", err)
	}
	snapshot := func() *Head {
		hd := &Head{Labels: labels, InputDim: dim, Hidden: h.HiddenUnits, Mean: mean, Std: std}
		hd.W1, hd.B1, hd.W2, hd.B2 = t.weights()
		return hd
	}

	res := &Result{}
	var best *Head
	bestLoss, bestEpoch := math.Inf(1), 0
	for epoch := 1; epoch <= h.Epochs; epoch++ {
		rng.Shuffle(len(train), func(i, j int) { train[i], train[j] = train[j], train[i] })
		for lo := 0; lo < len(train); lo += t.bs {
			if err := ctx.Err(); err != nil {
				return nil, nil, fmt.Errorf("head: training stopped at epoch %d: %w", epoch, err)
			}
			if err := t.step(x, y, train[lo:min(lo+t.bs, len(train))], mean, std); err != nil {
				return nil, nil, fmt.Errorf("head: epoch %d: %w", epoch, err)
			}
		}
		cur := snapshot()
		em := EpochMetrics{Epoch: epoch}
		em.Loss, em.Accuracy, _ = evaluate(cur, x, y, train)
		score := em.Loss
		if len(val) > 0 {
			em.ValLoss, em.ValAccuracy, _ = evaluate(cur, x, y, val)
			score = em.ValLoss
		}
		res.History = append(res.History, em)
		if progress != nil {
			progress(em)
		}
		// Without a validation split the training loss decides, which in
		// practice keeps the last epoch.
		if score < bestLoss {
			bestLoss, bestEpoch, best = score, epoch, cur
		} else if h.Patience > 0 && len(val) > 0 && epoch-bestEpoch >= h.Patience {
			break
		}
	}

	on := val
	res.Metrics.On = "validation"
	if len(val) == 0 {
		on, res.Metrics.On = train, "train"
	}
	loss, acc, conf := evaluate(best, x, y, on)
	res.Metrics.PerClass, _ = classMetrics(labels, conf)
	res.Metrics.Confusion = conf
	res.Metrics.Accuracy = acc
	if len(val) > 0 {
		res.Metrics.ValAccuracy, res.Metrics.ValLoss = acc, loss
	}
	res.Metrics.TrainSize, res.Metrics.ValSize, res.Metrics.BestEpoch = len(train), len(val), bestEpoch
	return best, res, nil
}

// stratifiedSplit shuffles each class's examples and keeps round(split*n)
// of them for validation, leaving at least one for training.
func stratifiedSplit(y []int, k int, split float64, rng *rand.Rand) (train, val []int) {
	byClass := make([][]int, k)
	for i, c := range y {
		byClass[c] = append(byClass[c], i)
	}
	for _, idx := range byClass {
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		nv := int(math.Round(split * float64(len(idx))))
		nv = min(nv, len(idx)-1)
		val = append(val, idx[:max(nv, 0)]...)
		train = append(train, idx[max(nv, 0):]...)
	}
	return train, val
}

// standardization returns the per-dimension mean and standard deviation of
// the training rows; a constant dimension gets a deviation of 1.
func standardization(x [][]float32, rows []int, dim int) (mean, std []float32) {
	sum := make([]float64, dim)
	sq := make([]float64, dim)
	for _, r := range rows {
		for j, v := range x[r] {
			sum[j] += float64(v)
			sq[j] += float64(v) * float64(v)
		}
	}
	n := float64(len(rows))
	mean, std = make([]float32, dim), make([]float32, dim)
	for j := range dim {
		m := sum[j] / n
		v := sq[j]/n - m*m
		mean[j] = float32(m)
		std[j] = 1
		if s := math.Sqrt(max(v, 0)); s > 1e-6 {
			std[j] = float32(s)
		}
	}
	return mean, std
}

// evaluate returns the mean cross-entropy, the accuracy and the confusion
// matrix of hd on the given rows.
func evaluate(hd *Head, x [][]float32, y []int, rows []int) (loss, acc float64, conf [][]int) {
	k := len(hd.Labels)
	conf = make([][]int, k)
	for i := range conf {
		conf[i] = make([]int, k)
	}
	p := make([]float32, k)
	correct := 0
	for _, r := range rows {
		hd.Predict(p, x[r])
		arg := 0
		for j, v := range p {
			if v > p[arg] {
				arg = j
			}
		}
		conf[y[r]][arg]++
		if arg == y[r] {
			correct++
		}
		loss -= math.Log(max(float64(p[y[r]]), 1e-12))
	}
	if len(rows) > 0 {
		loss /= float64(len(rows))
		acc = float64(correct) / float64(len(rows))
	}
	return loss, acc, conf
}

// trainer holds the gorgonia graph of one mini-batch. The last, partial
// batch of an epoch is zero-padded: padded rows have an all-zero one-hot
// target, so they add nothing to the loss, whose sum is divided by the
// number of real rows.
type trainer struct {
	bs, dim, k     int
	xb, yb         []float32 // backing of the input and one-hot nodes
	inv            *G.Node
	loss           *G.Node
	w1, b1, w2, b2 *G.Node
	learn          G.Nodes
	vm             G.VM
	solver         G.Solver
}

func newTrainer(dim, hidden, k, bs int, lr float64, rng *rand.Rand) (t *trainer, err error) {
	// gorgonia reports some construction errors by panicking.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	t = &trainer{bs: bs, dim: dim, k: k}
	g := G.NewGraph()
	t.xb = make([]float32, bs*dim)
	t.yb = make([]float32, bs*k)
	x := G.NewMatrix(g, tensor.Float32, G.WithShape(bs, dim), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithShape(bs, dim), tensor.WithBacking(t.xb))))
	yoh := G.NewMatrix(g, tensor.Float32, G.WithShape(bs, k), G.WithName("y"),
		G.WithValue(tensor.New(tensor.WithShape(bs, k), tensor.WithBacking(t.yb))))
	t.inv = G.NewScalar(g, tensor.Float32, G.WithName("inv"), G.WithValue(float32(1)))

	dense := func(name string, in, out int) (*G.Node, *G.Node) {
		a := math.Sqrt(6 / float64(in+out)) // Glorot uniform
		w := make([]float32, in*out)
		for i := range w {
			w[i] = float32((rng.Float64()*2 - 1) * a)
		}
		wn := G.NewMatrix(g, tensor.Float32, G.WithShape(in, out), G.WithName("w"+name),
			G.WithValue(tensor.New(tensor.WithShape(in, out), tensor.WithBacking(w))))
		bn := G.NewVector(g, tensor.Float32, G.WithShape(out), G.WithName("b"+name),
			G.WithValue(tensor.New(tensor.WithShape(out), tensor.WithBacking(make([]float32, out)))))
		return wn, bn
	}
	in := x
	last := dim
	if hidden > 0 {
		t.w1, t.b1 = dense("1", dim, hidden)
		in = G.Must(G.Rectify(G.Must(G.BroadcastAdd(G.Must(G.Mul(x, t.w1)), t.b1, nil, []byte{0}))))
		last = hidden
		t.learn = append(t.learn, t.w1, t.b1)
	}
	t.w2, t.b2 = dense("2", last, k)
	t.learn = append(t.learn, t.w2, t.b2)
	logits := G.Must(G.BroadcastAdd(G.Must(G.Mul(in, t.w2)), t.b2, nil, []byte{0}))
	logp := G.Must(G.LogSoftMax(logits))
	t.loss = G.Must(G.Neg(G.Must(G.Mul(G.Must(G.Sum(G.Must(G.HadamardProd(yoh, logp)))), t.inv))))
	if _, err := G.Grad(t.loss, t.learn...); err != nil {
		return nil, err
	}
	t.vm = G.NewTapeMachine(g, G.BindDualValues(t.learn...))
	t.solver = G.NewAdamSolver(G.WithLearnRate(lr))
	return t, nil
}

// step runs one mini-batch of the given rows and updates the weights.
func (t *trainer) step(x [][]float32, y []int, rows []int, mean, std []float32) error {
	clear(t.yb)
	for i := range t.bs {
		dst := t.xb[i*t.dim : (i+1)*t.dim]
		if i >= len(rows) {
			clear(dst)
			continue
		}
		for j, v := range x[rows[i]] {
			dst[j] = (v - mean[j]) / std[j]
		}
		t.yb[i*t.k+y[rows[i]]] = 1
	}
	if err := G.Let(t.inv, float32(1)/float32(len(rows))); err != nil {
		return err
	}
	defer t.vm.Reset()
	if err := t.vm.RunAll(); err != nil {
		return err
	}
	return t.solver.Step(G.NodesToValueGrads(t.learn))
}

// weights returns copies of the current weights.
func (t *trainer) weights() (w1, b1, w2, b2 []float32) {
	get := func(n *G.Node) []float32 {
		if n == nil {
			return nil
		}
		return append([]float32(nil), n.Value().Data().([]float32)...)
	}
	return get(t.w1), get(t.b1), get(t.w2), get(t.b2)
}
