package modelgen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/tlserve/tlserve/internal/onnxpb"
)

// Variant names, also used as file names by cmd/genmodels.
const (
	VariantV1BNOpset11     = "resnet50-v1-bn-opset11"
	VariantV1BNOpset13     = "resnet50-v1-bn-opset13"
	VariantV1FoldedOpset13 = "resnet50-v1-folded-opset13"
	VariantV2Opset7        = "resnet50-v2-opset7"
	VariantV2SoftmaxOpset7 = "resnet50-v2-softmax-opset7"
)

// Graph input and output names.
const (
	InputName = "data"
	// OutputName is the [N,classes] output: logits, or probabilities for
	// VariantV2SoftmaxOpset7.
	OutputName = "scores"
	// EmbeddingName is the [N,C] tensor feeding the final Gemm (global
	// average pool, flattened). It is a graph output only with
	// Options.ExposeEmbedding.
	EmbeddingName = "embedding"
)

// ErrVariant is returned for an unknown Options.Variant.
var ErrVariant = errors.New("modelgen: unknown variant")

// ErrOptions is returned for out-of-range options.
var ErrOptions = errors.New("modelgen: invalid options")

// Variants returns the variant names in a stable order.
func Variants() []string {
	return []string{VariantV1BNOpset11, VariantV1BNOpset13, VariantV1FoldedOpset13, VariantV2Opset7, VariantV2SoftmaxOpset7}
}

// Options selects and sizes a model. The zero value of every field but
// Variant is a safe default: full width, 224x224 input, 1000 classes, seed 0.
type Options struct {
	Variant string
	// Width multiplies every channel count (0 means 1); 0.125 gives a
	// 256-wide embedding for fast tests.
	Width float64
	// InputSize is the height and width of the input (0 means 224); at
	// least 32, the network's total stride.
	InputSize int
	// Classes is the number of outputs of the final Gemm (0 means 1000).
	Classes int
	// Seed selects the weights.
	Seed uint64
	// ExposeEmbedding adds EmbeddingName as a second graph output, so that
	// an engine that only returns graph outputs (ONNX Runtime) reports it.
	ExposeEmbedding bool
}

// variant describes what a variant name selects.
type variant struct {
	opset     int64
	v2        bool
	folded    bool
	shapeTail bool
	softmax   bool
}

var variants = map[string]variant{
	VariantV1BNOpset11:     {opset: 11, shapeTail: true},
	VariantV1BNOpset13:     {opset: 13},
	VariantV1FoldedOpset13: {opset: 13, folded: true},
	VariantV2Opset7:        {opset: 7, v2: true},
	VariantV2SoftmaxOpset7: {opset: 7, v2: true, softmax: true},
}

// withDefaults validates o and fills in its defaults.
func (o Options) withDefaults() (Options, variant, error) {
	v, ok := variants[o.Variant]
	if !ok {
		return o, v, fmt.Errorf("%w %q (have %v)", ErrVariant, o.Variant, Variants())
	}
	if o.Width == 0 {
		o.Width = 1
	}
	if o.InputSize == 0 {
		o.InputSize = 224
	}
	if o.Classes == 0 {
		o.Classes = 1000
	}
	switch {
	case !(o.Width > 0 && o.Width <= 4):
		return o, v, fmt.Errorf("%w: width %v not in (0, 4]", ErrOptions, o.Width)
	case o.InputSize < 32 || o.InputSize > 1024:
		return o, v, fmt.Errorf("%w: input size %d not in [32, 1024]", ErrOptions, o.InputSize)
	case o.Classes < 1 || o.Classes > 100000:
		return o, v, fmt.Errorf("%w: classes %d not in [1, 100000]", ErrOptions, o.Classes)
	}
	return o, v, nil
}

// EmbeddingDim returns the length of the embedding of the model o describes
// (2048 at full width), or 0 if o is invalid.
func EmbeddingDim(o Options) int {
	o, _, err := o.withDefaults()
	if err != nil {
		return 0
	}
	return 4 * channels(512, o.Width)
}

// channels scales a torchvision channel count by width, keeping at least 1.
func channels(c int, width float64) int {
	return max(1, int(math.Round(float64(c)*width)))
}

// Build returns the model o describes. It returns ErrVariant or ErrOptions
// (wrapped) for bad options.
func Build(o Options) (*onnxpb.Model, error) {
	o, v, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	b := &builder{
		g:     &onnxpb.Graph{Name: o.Variant},
		seed:  o.Seed,
		opset: v.opset,
	}
	batch := onnxpb.Dim{Value: -1, Param: "N"}
	b.g.Input = []*onnxpb.ValueInfo{{
		Name: InputName, ElemType: onnxpb.Float, HasShape: true,
		Shape: []onnxpb.Dim{batch, {Value: 3}, {Value: int64(o.InputSize)}, {Value: int64(o.InputSize)}},
	}}
	x := act{name: InputName, c: 3, q: 1}
	var emb act
	if v.v2 {
		emb = b.resnetV2(x, o.Width)
	} else {
		emb = b.resnetV1(x, o.Width, v.folded, v.shapeTail)
	}
	scores := b.fc(emb, o.Classes, v.softmax)
	b.g.Output = []*onnxpb.ValueInfo{{
		Name: scores, ElemType: onnxpb.Float, HasShape: true,
		Shape: []onnxpb.Dim{batch, {Value: int64(o.Classes)}},
	}}
	if irVersion[v.opset] < 4 {
		b.initializersAsInputs()
	}
	if o.ExposeEmbedding {
		b.g.Output = append(b.g.Output, &onnxpb.ValueInfo{
			Name: EmbeddingName, ElemType: onnxpb.Float, HasShape: true,
			Shape: []onnxpb.Dim{batch, {Value: int64(emb.c)}},
		})
	}
	return &onnxpb.Model{
		IRVersion:       irVersion[v.opset],
		OpsetImports:    []onnxpb.OperatorSetID{{Version: v.opset}},
		ProducerName:    "tlserve-modelgen",
		ProducerVersion: "1",
		DocString: fmt.Sprintf("Synthetic %s, width %g, input %d, %d classes, seed %d: deterministic random weights, not a trained network.",
			o.Variant, o.Width, o.InputSize, o.Classes, o.Seed),
		Graph: b.g,
	}, nil
}

// dims converts tensor dimensions to a ValueInfo shape.
func dims(d []int64) []onnxpb.Dim {
	s := make([]onnxpb.Dim, len(d))
	for i, v := range d {
		s[i].Value = v
	}
	return s
}

// irVersion is the IR version the ONNX release that introduced each opset
// wrote, as exporters do.
var irVersion = map[int64]int64{7: 3, 11: 6, 13: 7}

// Generate builds the model o describes and encodes it. It returns the
// errors of Build.
func Generate(o Options) ([]byte, error) {
	m, err := Build(o)
	if err != nil {
		return nil, err
	}
	return onnxpb.EncodeModel(m), nil
}

// act is an activation while building: its tensor name, channel count and
// an estimate q of the mean of its squared elements, which sets the
// BatchNormalization statistics of the layers that read it.
type act struct {
	name string
	c    int
	q    float64
}

// builder accumulates the graph.
type builder struct {
	g     *onnxpb.Graph
	seed  uint64
	opset int64
}

// node appends a node named name with one output name+"_output_0", as
// PyTorch names them, and returns the output name.
func (b *builder) node(op, name string, inputs []string, attrs ...*onnxpb.Attribute) string {
	out := name + "_output_0"
	b.g.Nodes = append(b.g.Nodes, &onnxpb.Node{
		Name: name, OpType: op, Input: inputs, Output: []string{out}, Attribute: attrs,
	})
	return out
}

// initializer adds a float32 initializer stored as raw little-endian data.
func (b *builder) initializer(name string, dims []int64, data []float64) string {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(float32(v)))
	}
	b.g.Initializer = append(b.g.Initializer, &onnxpb.Tensor{
		Name: name, Dims: dims, DataType: onnxpb.Float, RawData: raw,
	})
	return name
}

// int64Initializer adds an int64 initializer.
func (b *builder) int64Initializer(name string, dims []int64, data []int64) string {
	b.g.Initializer = append(b.g.Initializer, &onnxpb.Tensor{
		Name: name, Dims: dims, DataType: onnxpb.Int64, Int64Data: slices.Clone(data),
	})
	return name
}

// uniform returns n values uniform in [lo, hi) from the stream of name.
func (b *builder) uniform(name string, n int, lo, hi float64) []float64 {
	r := NewRand(seedFor(b.seed, name))
	v := make([]float64, n)
	for i := range v {
		v[i] = r.Uniform(lo, hi)
	}
	return v
}

func attrInt(name string, v int64) *onnxpb.Attribute {
	return &onnxpb.Attribute{Name: name, Type: onnxpb.AttrInt, I: v}
}

func attrFloat(name string, v float32) *onnxpb.Attribute {
	return &onnxpb.Attribute{Name: name, Type: onnxpb.AttrFloat, F: v}
}

func attrInts(name string, v ...int64) *onnxpb.Attribute {
	return &onnxpb.Attribute{Name: name, Type: onnxpb.AttrInts, Ints: v}
}

// convWeights returns He-scaled weights [cout, cin, k, k] drawn uniformly
// with variance gain/fan_in, and the output's estimated mean square.
func (b *builder) convWeights(name string, x act, cout, k int, gain float64) ([]float64, float64) {
	fanIn := float64(x.c * k * k)
	a := math.Sqrt(3 * gain / fanIn)
	return b.uniform(name, cout*x.c*k*k, -a, a), gain * x.q
}

// bnParams are one BatchNormalization's parameters.
type bnParams struct {
	gamma, beta, mean, variance []float64
}

const bnEpsilon = 1e-5

// bnStats draws BatchNormalization parameters for c channels whose input has
// estimated variance inVar: running statistics near the truth, so each BN
// roughly normalizes, and gamma in [gLo, gHi) sets the output scale.
// initializersAsInputs declares every initializer as a graph input too, as
// IR 3 requires and the model zoo's opset-7 models do; engines must treat
// those inputs as constants.
func (b *builder) initializersAsInputs() {
	for _, init := range b.g.Initializer {
		b.g.Input = append(b.g.Input, &onnxpb.ValueInfo{
			Name: init.Name, ElemType: init.DataType, HasShape: true, Shape: dims(init.Dims),
		})
	}
}

// fold folds the BatchNormalization p into the weights w of the cout
// output channels of the conv before it: it scales w in place and returns
// the conv's bias.
func (p bnParams) fold(w []float64, cout int) []float64 {
	per := len(w) / cout
	bias := make([]float64, cout)
	for o := range cout {
		s := p.gamma[o] / math.Sqrt(p.variance[o]+bnEpsilon)
		for i := o * per; i < (o+1)*per; i++ {
			w[i] *= s
		}
		bias[o] = p.beta[o] - p.mean[o]*s
	}
	return bias
}

func (b *builder) bnStats(prefix string, c int, inVar, gLo, gHi float64) bnParams {
	sd := math.Sqrt(inVar)
	p := bnParams{
		gamma:    b.uniform(prefix+".weight", c, gLo, gHi),
		beta:     b.uniform(prefix+".bias", c, -0.1, 0.1),
		mean:     b.uniform(prefix+".running_mean", c, -0.1*sd, 0.1*sd),
		variance: b.uniform(prefix+".running_var", c, 0.8*inVar, 1.25*inVar),
	}
	return p
}

// batchNorm emits a BatchNormalization node for the opset and returns its
// output with estimated mean square q.
func (b *builder) batchNorm(nodeName, prefix string, x act, p bnParams) act {
	c := int64(x.c)
	ins := []string{
		x.name,
		b.initializer(prefix+".weight", []int64{c}, p.gamma),
		b.initializer(prefix+".bias", []int64{c}, p.beta),
		b.initializer(prefix+".running_mean", []int64{c}, p.mean),
		b.initializer(prefix+".running_var", []int64{c}, p.variance),
	}
	attrs := []*onnxpb.Attribute{attrFloat("epsilon", bnEpsilon), attrFloat("momentum", 0.9)}
	if b.opset < 9 {
		attrs = append(attrs, attrInt("spatial", 1))
	}
	out := b.node("BatchNormalization", nodeName, ins, attrs...)
	return act{name: out, c: x.c, q: meanSquare(p.gamma) + meanSquare(p.beta)}
}

func meanSquare(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	return s / float64(len(v))
}

// conv emits a Conv node with optional bias.
func (b *builder) conv(nodeName, wName string, x act, cout, k, stride, pad int, w, bias []float64, q float64) act {
	ins := []string{x.name, b.initializer(wName, []int64{int64(cout), int64(x.c), int64(k), int64(k)}, w)}
	if bias != nil {
		ins = append(ins, b.initializer(bName(wName), []int64{int64(cout)}, bias))
	}
	p := int64(pad)
	out := b.node("Conv", nodeName, ins,
		attrInts("dilations", 1, 1),
		attrInt("group", 1),
		attrInts("kernel_shape", int64(k), int64(k)),
		attrInts("pads", p, p, p, p),
		attrInts("strides", int64(stride), int64(stride)),
	)
	return act{name: out, c: cout, q: q}
}

// bName turns "x.weight" into "x.bias".
func bName(w string) string {
	const suf = ".weight"
	if len(w) > len(suf) && w[len(w)-len(suf):] == suf {
		return w[:len(w)-len(suf)] + ".bias"
	}
	return w + ".bias"
}

func (b *builder) relu(name string, x act) act {
	return act{name: b.node("Relu", name, []string{x.name}), c: x.c, q: x.q / 2}
}

func (b *builder) add(name string, x, y act) act {
	return act{name: b.node("Add", name, []string{x.name, y.name}), c: x.c, q: x.q + y.q}
}

func (b *builder) maxPool(name string, x act) act {
	attrs := []*onnxpb.Attribute{
		attrInts("kernel_shape", 3, 3), attrInts("pads", 1, 1, 1, 1), attrInts("strides", 2, 2),
	}
	if b.opset >= 10 {
		attrs = append(attrs, attrInt("ceil_mode", 0))
	}
	// The max of 9 non-negative values has roughly twice their mean square.
	return act{name: b.node("MaxPool", name, []string{x.name}, attrs...), c: x.c, q: 2 * x.q}
}
