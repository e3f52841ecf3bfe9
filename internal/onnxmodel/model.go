package onnxmodel

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/tlserve/tlserve/internal/onnxpb"
)

// Options configures a Model. The zero value is valid.
type Options struct {
	// Threads is the number of goroutines one run uses; 0 means
	// runtime.NumCPU().
	Threads int
	// Embedding names the tensor used as the embedding, overriding the
	// automatic choice (the input of the final classifier).
	Embedding string
}

// Tensor is a dense row-major tensor passed to and returned by Run.
type Tensor struct {
	Shape []int
	Data  []float32
	Int64 []int64 // set instead of Data for int64 tensors
}

// IOInfo describes a graph input or output. Shape holds -1 for the dynamic
// batch dimension.
type IOInfo struct {
	Name  string
	Shape []int
	DType DType
}

// Features holds what one forward pass over a batch yields for transfer
// learning: the embeddings and the class probabilities of N images.
type Features struct {
	N         int
	Embedding []float32 // N*EmbeddingDim(), row-major
	Probs     []float32 // N*NumClasses(), row-major
}

// Model is a loaded ONNX model. It is safe for concurrent use.
type Model struct {
	g       *graph
	id      string
	threads int
	pins    map[string]bool
	cache   *loadCache
	workers *workerPool
	closed  atomic.Bool

	inputs, outputs []IOInfo
	image           []int // C, H, W

	emb         string
	embSpatial  bool // global-average-pool the embedding at run time
	embDim      int
	probs       string
	needSoftmax bool
	classes     int

	mu     sync.RWMutex
	plans  map[int]*planEntry
	serial *planEntry // batch 1, one thread: Extract's per-image plan
}

type planEntry struct {
	p   *plan
	err error
}

// Load reads and parses an ONNX file; see Parse.
func Load(path string, o Options) (*Model, error) {
	if o.Threads < 0 {
		return nil, fmt.Errorf("onnxmodel: Options.Threads is %d", o.Threads)
	}
	// The file buffer lives only inside readGraph: a buffer held by this
	// frame during the call below stayed reachable through the whole load
	// (measured: 100 MB more peak RSS for ResNet50).
	g, sum, big, err := readGraph(path)
	if err != nil {
		return nil, err
	}
	return newModel(g, sum, big, o)
}

// readGraph reads and decodes the file at path.
func readGraph(path string) (*graph, [sha256.Size]byte, bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, [sha256.Size]byte{}, false, fmt.Errorf("onnxmodel: %w", err)
	}
	sum := sha256.Sum256(b)
	g, err := decodeGraph(b)
	if err != nil {
		return nil, sum, false, fmt.Errorf("onnxmodel: %w", err)
	}
	return g, sum, len(b) >= bigModel, nil
}

// Parse decodes an ONNX model, simplifies its graph and compiles the plan
// for batch size 1. Every error wraps ErrInvalidModel; unsupported
// operators, opsets and features also wrap ErrUnsupported.
//
// The model keeps nothing that aliases b, and the raw weights of
// convolutions are dropped once their packed form exists, so a loaded
// model holds its weights about once (plus b, while the caller holds it).
func Parse(b []byte, o Options) (*Model, error) {
	if o.Threads < 0 {
		return nil, fmt.Errorf("onnxmodel: Options.Threads is %d", o.Threads)
	}
	sum := sha256.Sum256(b)
	g, err := decodeGraph(b)
	if err != nil {
		return nil, fmt.Errorf("onnxmodel: %w", err)
	}
	return newModel(g, sum, len(b) >= bigModel, o)
}

// newModel prepares a decoded graph and compiles its load-time plan. big
// says that the file was large enough to collect garbage at two points of
// the load (a few milliseconds each): once before packing, so that the
// packed weights reuse the file buffer's pages instead of raising the peak
// RSS, and once after releasing the raw weights.
func newModel(g *graph, sum [sha256.Size]byte, big bool, o Options) (*Model, error) {
	if big {
		runtime.GC()
	}
	m := &Model{g: g, id: hex.EncodeToString(sum[:]), threads: o.Threads, plans: map[int]*planEntry{}}
	if m.threads == 0 {
		m.threads = runtime.NumCPU()
	}
	if err := m.prepare(o); err != nil {
		return nil, fmt.Errorf("onnxmodel: %w", err)
	}
	if m.threads > 1 {
		m.workers = newWorkerPool(m.threads - 1)
	}
	m.markReleasable()
	if _, err := m.plan(m.loadBatch()); err != nil {
		m.Close()
		return nil, fmt.Errorf("onnxmodel: %w", err)
	}
	if big {
		runtime.GC()
	}
	return m, nil
}

// bigModel is the file size from which newModel collects garbage.
const bigModel = 16 << 20

// decodeGraph decodes b and builds the graph, copying the few attribute
// bytes that alias b so that b can be collected.
func decodeGraph(b []byte) (*graph, error) {
	pm, err := onnxpb.DecodeModel(b)
	if err != nil {
		return nil, fmt.Errorf("%w: decode: %w", ErrInvalidModel, err)
	}
	g, err := buildGraph(pm)
	if err != nil {
		return nil, err
	}
	for _, n := range g.nodes {
		for name, a := range n.attrs {
			c := *a
			c.S = bytes.Clone(a.S)
			c.Strings = cloneBytes(a.Strings)
			if a.T != nil {
				t := *a.T
				t.RawData = bytes.Clone(a.T.RawData)
				t.StringData = cloneBytes(a.T.StringData)
				c.T = &t
			}
			n.attrs[name] = &c
		}
	}
	return g, nil
}

func cloneBytes(s [][]byte) [][]byte {
	if s == nil {
		return nil
	}
	out := make([][]byte, len(s))
	for i, v := range s {
		out[i] = bytes.Clone(v)
	}
	return out
}

// markReleasable tells buildConv which Conv weights it may drop once their
// load-time form (packed or Winograd-transformed, kept in m.cache) exists:
// constant weights that nothing else reads. Every later plan takes the
// cached form, so the weights are held once instead of twice, and since
// each is dropped as soon as it is packed, the garbage collector reuses
// its memory for the next ones during the load.
func (m *Model) markReleasable() {
	cons := consumers(m.g, m.pins)
	for _, n := range m.g.nodes {
		if n.opType != "Conv" || len(n.inputs) < 2 || len(n.outputs) != 1 {
			continue
		}
		if c := m.g.consts[n.inputs[1]]; c != nil && cons[n.inputs[1]] == 1 {
			m.cache.release[n.outputs[0]] = true
		}
	}
}

// loadBatch is the batch size checked at load: the declared one, or 1.
func (m *Model) loadBatch() int {
	if len(m.g.inputs) == 0 {
		return 1
	}
	if s := m.g.inputs[0].shape; len(s) > 0 && s[0] > 0 {
		return s[0]
	}
	return 1
}

// prepare runs the graph passes and picks the embedding and scores.
func (m *Model) prepare(o Options) error {
	g := m.g
	if err := topoSort(g); err != nil {
		return err
	}
	m.pins = map[string]bool{}
	if err := m.chooseFeatures(o.Embedding); err != nil {
		return err
	}
	eliminateDead(g, m.pins)
	foldBatchNorm(g, m.pins)
	// The unfused batch-1 plan checks shapes and tells the fusion pass which
	// Adds are same-shape residuals.
	check, err := compile(g, m.loadBatch(), 1, nil, m.pins, nil)
	if err != nil {
		return err
	}
	shapes := map[string]info{}
	for name, id := range check.ids {
		shapes[name] = check.infos[id]
	}
	fuseConv(g, m.pins, shapes)
	fuseSiLU(g, m.pins)
	if err := topoSort(g); err != nil {
		return err
	}
	m.cache = newLoadCache()

	for _, in := range g.inputs {
		m.inputs = append(m.inputs, IOInfo{Name: in.name, Shape: append([]int(nil), in.shape...), DType: in.dtype})
	}
	dynamic := len(g.inputs) > 0 && len(g.inputs[0].shape) > 0 && g.inputs[0].shape[0] < 0
	for _, out := range g.outputs {
		in := shapes[out.name]
		s := append([]int(nil), in.shape...)
		if dynamic && len(s) > 0 && s[0] == 1 {
			s[0] = -1
		}
		m.outputs = append(m.outputs, IOInfo{Name: out.name, Shape: s, DType: in.dtype})
	}
	if len(g.inputs) > 0 && len(g.inputs[0].shape) == 4 && g.inputs[0].dtype == Float32 {
		m.image = append([]int(nil), g.inputs[0].shape[1:]...)
	}
	// Graphs that are not image classifiers (the ONNX node tests) still
	// load and Run; only Extract needs features.
	emb, probs := shapes[m.emb], shapes[m.probs]
	b := m.loadBatch()
	switch {
	case m.image == nil || emb.dtype != Float32 || probs.dtype != Float32 ||
		len(emb.shape) == 0 || emb.shape[0] != b || len(probs.shape) == 0 || probs.shape[0] != b:
		if o.Embedding != "" {
			return invalidf("embedding %q has shape %v, want [%d, ...] floats from an image input", m.emb, emb.shape, b)
		}
		m.emb, m.probs = "", ""
	case len(emb.shape) == 4:
		m.embSpatial, m.embDim = true, emb.shape[1]
	default:
		m.embDim = shapeSize(emb.shape) / b
	}
	if m.probs != "" {
		m.classes = shapeSize(probs.shape) / b
	}
	return nil
}

// passThrough lists the operators the embedding search walks back through.
var passThrough = map[string]bool{
	"Softmax": true, "LogSoftmax": true, "Flatten": true, "Reshape": true, "Squeeze": true,
	"Identity": true, "Dropout": true, "Relu": true, "GlobalAveragePool": true, "AveragePool": true,
	"Add": true, "Mul": true,
}

// reshapeLike lists the operators that may follow a final Softmax.
var reshapeLike = map[string]bool{"Flatten": true, "Reshape": true, "Squeeze": true, "Identity": true, "Dropout": true}

// chooseFeatures picks the scores (the first float graph output), whether
// they still need a softmax, and the embedding: the data input of the final
// classifier (Gemm, MatMul, or Conv with constant weights) found by walking
// back from the scores through pass-through operators, then back through
// any Identity or Dropout so that it names the tensor that carries the
// values (beforeIdentities). Without a classifier the scores themselves
// serve as the embedding.
func (m *Model) chooseFeatures(override string) error {
	g := m.g
	producer := map[string]*node{}
	for _, n := range g.nodes {
		for _, o := range n.outputs {
			producer[o] = n
		}
	}
	m.probs = g.outputs[0].name
	m.needSoftmax = true
	for t := m.probs; ; {
		n := producer[t]
		if n == nil || len(n.inputs) == 0 {
			break
		}
		if n.opType == "Softmax" {
			m.needSoftmax = false
			break
		}
		if !reshapeLike[n.opType] {
			break
		}
		t = n.inputs[0]
	}
	isConst := func(name string) bool { return g.consts[name] != nil }
	if override != "" {
		if producer[override] == nil {
			return invalidf("embedding tensor %q is not computed by any node", override)
		}
		m.emb = override
	} else {
		m.emb = m.probs
	walk:
		for t := m.probs; ; {
			n := producer[t]
			if n == nil || len(n.inputs) == 0 {
				break
			}
			switch {
			case n.opType == "Gemm":
				m.emb = n.inputs[0]
				break walk
			case n.opType == "MatMul" && len(n.inputs) == 2:
				m.emb = n.inputs[0]
				if isConst(n.inputs[0]) {
					m.emb = n.inputs[1]
				}
				break walk
			case n.opType == "Conv" && len(n.inputs) >= 2 && isConst(n.inputs[1]):
				m.emb = n.inputs[0]
				break walk
			case (n.opType == "Add" || n.opType == "Mul") && len(n.inputs) == 2:
				switch {
				case isConst(n.inputs[1]):
					t = n.inputs[0]
				case isConst(n.inputs[0]):
					t = n.inputs[1]
				default:
					break walk
				}
			case passThrough[n.opType]:
				t = n.inputs[0]
			default:
				break walk
			}
		}
		m.emb = beforeIdentities(producer, m.emb)
	}
	m.pins[m.emb] = true
	m.pins[m.probs] = true
	return nil
}

// plan returns the plan for batch size n, compiling it on first use.
func (m *Model) plan(n int) (*plan, error) {
	m.mu.RLock()
	e := m.plans[n]
	m.mu.RUnlock()
	if e == nil {
		m.mu.Lock()
		if e = m.plans[n]; e == nil {
			p, err := compile(m.g, n, m.threads, m.cache, m.pins, m.workers)
			e = &planEntry{p: p, err: err}
			m.plans[n] = e
		}
		m.mu.Unlock()
	}
	return e.p, e.err
}

// Inputs describes the non-constant graph inputs.
func (m *Model) Inputs() []IOInfo { return cloneIO(m.inputs) }

// Outputs describes the graph outputs.
func (m *Model) Outputs() []IOInfo { return cloneIO(m.outputs) }

func cloneIO(s []IOInfo) []IOInfo {
	out := make([]IOInfo, len(s))
	for i, v := range s {
		out[i] = IOInfo{Name: v.Name, Shape: append([]int(nil), v.Shape...), DType: v.DType}
	}
	return out
}

// EmbeddingDim returns the length of one image's embedding, or 0 when the
// model is not an image classifier (Extract then fails).
func (m *Model) EmbeddingDim() int { return m.embDim }

// NumClasses returns the number of class probabilities per image, or 0.
func (m *Model) NumClasses() int { return m.classes }

// EmbeddingName returns the name of the tensor the embedding comes from,
// or "".
func (m *Model) EmbeddingName() string { return m.emb }

// InputShape returns [C, H, W] of the image input, or nil when the first
// input is not of rank 4.
func (m *Model) InputShape() []int { return append([]int(nil), m.image...) }

// ID returns the hex SHA-256 of the model file, which identifies the
// backbone for embedding caches.
func (m *Model) ID() string { return m.id }

// Close stops the worker goroutines. Runs must not be in flight; later
// calls return ErrClosed.
func (m *Model) Close() error {
	if m.closed.Swap(true) {
		return nil
	}
	if m.workers != nil {
		m.workers.close()
	}
	return nil
}

// Run evaluates every graph output for the given inputs, which must match
// the declared inputs by name, dtype and shape (dimension 0 of the first
// input is the batch size and may vary). It returns new tensors; errors
// about the inputs wrap ErrBadInput.
func (m *Model) Run(ctx context.Context, inputs map[string]*Tensor) (map[string]*Tensor, error) {
	if m.closed.Load() {
		return nil, ErrClosed
	}
	batch := 1
	if len(m.g.inputs) > 0 && len(m.g.inputs[0].shape) > 0 {
		first := inputs[m.g.inputs[0].name]
		if first == nil {
			return nil, badInputf("missing input %q", m.g.inputs[0].name)
		}
		if len(first.Shape) == 0 {
			return nil, badInputf("input %q has no shape", m.g.inputs[0].name)
		}
		batch = first.Shape[0]
	}
	if batch <= 0 {
		return nil, badInputf("batch size %d", batch)
	}
	p, err := m.plan(batch)
	if err != nil {
		return nil, fmt.Errorf("onnxmodel: %w: batch size %d: %w", ErrBadInput, batch, err)
	}
	rs := p.get()
	defer p.put(rs)
	for k, in := range m.g.inputs {
		t := inputs[in.name]
		if t == nil {
			return nil, badInputf("missing input %q", in.name)
		}
		v := &rs.vals[p.inputs[k]]
		if !equalShape(t.Shape, v.shape) {
			return nil, badInputf("input %q has shape %v, want %v", in.name, t.Shape, v.shape)
		}
		n := shapeSize(v.shape)
		if in.dtype == Int64 {
			if len(t.Int64) != n {
				return nil, badInputf("input %q has %d int64 values, want %d", in.name, len(t.Int64), n)
			}
			v.i = t.Int64
		} else {
			if len(t.Data) != n {
				return nil, badInputf("input %q has %d values, want %d", in.name, len(t.Data), n)
			}
			v.f = t.Data
		}
	}
	if len(inputs) != len(m.g.inputs) {
		return nil, badInputf("got %d inputs, model has %d", len(inputs), len(m.g.inputs))
	}
	if err := p.run(ctx, rs); err != nil {
		return nil, err
	}
	out := make(map[string]*Tensor, len(p.outputs))
	for k, id := range p.outputs {
		v := &rs.vals[id]
		t := &Tensor{Shape: append([]int(nil), v.shape...)}
		if v.dtype == Int64 {
			t.Int64 = append([]int64(nil), v.i...)
		} else {
			t.Data = append([]float32(nil), v.f...)
		}
		out[m.g.outputs[k].name] = t
	}
	return out, nil
}

// Extract runs a batch of n images, laid out [n, C, H, W] as InputShape
// says, through the model and stores their embeddings and class
// probabilities in dst, reusing dst's slices when they are large enough.
// Images run one by one through the batch-1 plan: with several threads,
// that many images at a time, one per thread, so the graph needs no
// dynamic batch dimension. Errors about the batch wrap ErrBadInput.
func (m *Model) Extract(ctx context.Context, dst *Features, batch []float32, n int) error {
	if m.closed.Load() {
		return ErrClosed
	}
	if m.probs == "" {
		return fmt.Errorf("onnxmodel: %w: the model has no image input with a batch dimension and a classifier output", ErrUnsupported)
	}
	per := m.image[0] * m.image[1] * m.image[2]
	if n <= 0 || len(batch) != n*per {
		return badInputf("batch of %d images has %d values, want %d", n, len(batch), n*per)
	}
	dst.N = n
	dst.Embedding = grow(dst.Embedding, n*m.embDim)
	dst.Probs = grow(dst.Probs, n*m.classes)
	p, err := m.plan(1)
	if err != nil {
		return fmt.Errorf("onnxmodel: %w", err)
	}
	if n == 1 || m.threads == 1 {
		for i := range n {
			if err := m.extract(ctx, p, batch[i*per:(i+1)*per], 1, dst.Embedding[i*m.embDim:(i+1)*m.embDim], dst.Probs[i*m.classes:(i+1)*m.classes]); err != nil {
				return err
			}
		}
		return nil
	}
	return m.extractParallel(ctx, p, dst, batch, n)
}

// extractParallel runs the images of a batch at the same time, each on
// one thread through the single-threaded batch-1 plan; the last
// n%threads images run one by one on all threads through p. Running
// whole images per thread measured faster than splitting each layer of
// a batch plan across threads (see docs/decisions.md "onnxmodel: speed
// work"): no synchronisation per layer, and one image's activations stay
// in the caches.
func (m *Model) extractParallel(ctx context.Context, p *plan, dst *Features, batch []float32, n int) error {
	sp, err := m.serialPlan()
	if err != nil {
		return fmt.Errorf("onnxmodel: %w", err)
	}
	rs := p.get()
	defer p.put(rs)
	whole := n / m.threads * m.threads
	ib := &rs.images
	*ib = imageBatch{m: m, p: sp, ctx: ctx, dst: dst, batch: batch}
	rs.x.split(whole, extractImages, ib, nil, nil)
	err = ib.err
	*ib = imageBatch{}
	if err != nil {
		return err
	}
	per := len(batch) / n
	for i := whole; i < n; i++ {
		if err := m.extract(ctx, p, batch[i*per:(i+1)*per], 1, dst.Embedding[i*m.embDim:(i+1)*m.embDim], dst.Probs[i*m.classes:(i+1)*m.classes]); err != nil {
			return err
		}
	}
	return nil
}

// imageBatch is the state of extractParallel's loop over images; it lives
// in a pooled runState so that the loop allocates nothing.
type imageBatch struct {
	m     *Model
	p     *plan
	ctx   context.Context
	dst   *Features
	batch []float32
	mu    sync.Mutex
	err   error
}

// extractImages runs images [lo,hi) of an imageBatch.
func extractImages(j *job, _, lo, hi int) {
	ib := j.arg.(*imageBatch)
	m := ib.m
	per := len(ib.batch) / ib.dst.N
	for i := lo; i < hi; i++ {
		err := m.extract(ib.ctx, ib.p, ib.batch[i*per:(i+1)*per], 1, ib.dst.Embedding[i*m.embDim:(i+1)*m.embDim], ib.dst.Probs[i*m.classes:(i+1)*m.classes])
		if err != nil {
			ib.mu.Lock()
			if ib.err == nil {
				ib.err = err
			}
			ib.mu.Unlock()
			return
		}
	}
}

// serialPlan returns the single-threaded batch-1 plan, compiling it on
// first use. It shares the load-time weights with every other plan.
func (m *Model) serialPlan() (*plan, error) {
	m.mu.RLock()
	e := m.serial
	m.mu.RUnlock()
	if e == nil {
		m.mu.Lock()
		if e = m.serial; e == nil {
			p, err := compile(m.g, 1, 1, m.cache, m.pins, nil)
			e = &planEntry{p: p, err: err}
			m.serial = e
		}
		m.mu.Unlock()
	}
	return e.p, e.err
}

func (m *Model) extract(ctx context.Context, p *plan, batch []float32, n int, emb, probs []float32) error {
	rs := p.get()
	defer p.put(rs)
	rs.vals[p.inputs[0]].f = batch
	if err := p.run(ctx, rs); err != nil {
		return err
	}
	e := rs.vals[p.ids[m.emb]].f
	if m.embSpatial {
		hw := len(e) / (n * m.embDim)
		for i := range emb {
			s := float32(0)
			for _, v := range e[i*hw : (i+1)*hw] {
				s += v
			}
			emb[i] = s / float32(hw)
		}
	} else {
		copy(emb, e)
	}
	copy(probs, rs.vals[p.ids[m.probs]].f)
	if m.needSoftmax {
		for i := range n {
			softmaxRow(probs[i*m.classes : (i+1)*m.classes])
		}
	}
	return nil
}

// softmaxRow replaces s by its softmax, computed stably.
func softmaxRow(s []float32) {
	mx := float32(math.Inf(-1))
	for _, v := range s {
		mx = max(mx, v)
	}
	sum := 0.0
	for i, v := range s {
		e := math.Exp(float64(v - mx))
		s[i] = float32(e)
		sum += e
	}
	for i := range s {
		s[i] = float32(float64(s[i]) / sum)
	}
}

// grow returns s resliced to n, or a new slice when s is too small.
func grow(s []float32, n int) []float32 {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]float32, n)
}
