package modelgen

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/tlserve/tlserve/internal/manifest"
	"github.com/tlserve/tlserve/internal/onnxpb"
)

// Names of the other ImageNet families Zoo builds.
const (
	// ZooMobileNetV2Opset13 is torchvision's MobileNetV2 as torch.onnx.export
	// writes it: BN folded into conv biases, ReLU6 as Clip with Constant
	// min/max inputs, GlobalAveragePool → Flatten → Gemm.
	ZooMobileNetV2Opset13 = "mobilenetv2-opset13"
	// ZooMobileNetV2FP16Opset13 is ZooMobileNetV2Opset13 converted to
	// float16 as onnxconverter_common's convert_float_to_float16 does:
	// float16 initializers, Constants, graph input and outputs.
	ZooMobileNetV2FP16Opset13 = "mobilenetv2-fp16-opset13"
	// ZooMobileNetV2Opset7 is the model zoo's mobilenetv2-7 (MXNet Gluon,
	// IR 3): BN nodes kept, Clip with min/max attributes, and a bias-free
	// 1x1 conv classifier on the pooled features followed by Flatten.
	ZooMobileNetV2Opset7 = "mobilenetv2-opset7"
	// ZooEfficientNetB0Opset11 is torchvision's EfficientNet-B0: SiLU as
	// Sigmoid and Mul, depthwise 3x3 and 5x5 convs (some stride 2),
	// squeeze-excitation, BN folded, Dropout before the Gemm.
	ZooEfficientNetB0Opset11 = "efficientnet-b0-opset11"
	// ZooDenseNet121Opset13 is torchvision's DenseNet-121 with its BN
	// nodes kept: Concat along channels, AveragePool transitions.
	ZooDenseNet121Opset13 = "densenet121-opset13"
	// ZooInceptionOpset7 is a GoogLeNet-style network as the model zoo's
	// caffe2 exports look (IR 3): LRN, parallel branches joined by Concat,
	// MaxPool 3x3 stride 1 and AveragePool with and without
	// count_include_pad, a final Softmax.
	ZooInceptionOpset7 = "inception-opset7"
)

// ErrZooName is returned for a name ZooNames does not list.
var ErrZooName = errors.New("modelgen: unknown zoo model")

// ZooNames returns the names Zoo accepts, in a stable order.
func ZooNames() []string {
	return []string{ZooMobileNetV2Opset13, ZooMobileNetV2FP16Opset13, ZooMobileNetV2Opset7,
		ZooEfficientNetB0Opset11, ZooDenseNet121Opset13, ZooInceptionOpset7}
}

// ZooOptions sizes a zoo model. The zero value is the small test size:
// reduced width and depth, 64x64 input, 1000 classes, seed 0.
type ZooOptions struct {
	// Full selects the real network's width and depth (torchvision's
	// sizes; GoogLeNet's first modules) and a 224x224 default input.
	Full bool
	// InputSize is the input height and width (0 means 64, or 224 with
	// Full); at least 32, the networks' total stride.
	InputSize int
	// Classes is the number of scores (0 means 1000).
	Classes int
	// Seed selects the weights.
	Seed uint64
	// ExposeEmbedding adds EmbeddingName as a second graph output: [N,C]
	// after the flatten, or the pooled [N,C,1,1] for ZooMobileNetV2Opset7,
	// whose classifier is a conv.
	ExposeEmbedding bool
}

// zooFamily describes a zoo name.
type zooFamily struct {
	opset   int64
	fp16    bool
	folded  bool
	softmax bool // the graph ends in Softmax: scores are probabilities
	build   func(z *zooBuilder, x act, o ZooOptions) (emb act, scores string)
}

// Small sizes: half the width and depth of MobileNetV2 and EfficientNet
// (MobileNetV2 keeps its 1280-wide head, as torchvision does below width
// 1), a DenseNet with growth 8 and 2+3+4+2 layers, a quarter-width GoogLeNet.
var zooFamilies = map[string]zooFamily{
	ZooMobileNetV2Opset13:     {opset: 13, folded: true, build: buildMobileNetV2Torch},
	ZooMobileNetV2FP16Opset13: {opset: 13, folded: true, fp16: true, build: buildMobileNetV2Torch},
	ZooMobileNetV2Opset7: {opset: 7, build: func(z *zooBuilder, x act, o ZooOptions) (act, string) {
		w, d := zooScale(o, 0.5, 0.5)
		return z.mobileNetV2Gluon(x, w, d, o.Classes)
	}},
	ZooEfficientNetB0Opset11: {opset: 11, folded: true, build: func(z *zooBuilder, x act, o ZooOptions) (act, string) {
		w, d := zooScale(o, 0.5, 0.5)
		return z.efficientNetB0(x, w, d, o.Classes)
	}},
	ZooDenseNet121Opset13: {opset: 13, build: func(z *zooBuilder, x act, o ZooOptions) (act, string) {
		cfg := denseNet121
		if !o.Full {
			cfg = denseNetConfig{growth: 8, blocks: []int{2, 3, 4, 2}, init: 16, bnSize: 4}
		}
		emb := z.denseNet(x, cfg)
		return emb, z.fc(emb, o.Classes, false)
	}},
	ZooInceptionOpset7: {opset: 7, softmax: true, build: func(z *zooBuilder, x act, o ZooOptions) (act, string) {
		w, _ := zooScale(o, 0.25, 1)
		emb := z.inception(x, o.InputSize, w)
		return emb, z.fc(emb, o.Classes, true)
	}},
}

func buildMobileNetV2Torch(z *zooBuilder, x act, o ZooOptions) (act, string) {
	w, d := zooScale(o, 0.5, 0.5)
	return z.mobileNetV2Torch(x, w, d, o.Classes)
}

// zooScale returns width and depth multipliers: 1 with Full, else the
// family's small ones.
func zooScale(o ZooOptions, width, depth float64) (float64, float64) {
	if o.Full {
		return 1, 1
	}
	return width, depth
}

// withDefaults validates o and fills in its defaults.
func (o ZooOptions) withDefaults() (ZooOptions, error) {
	if o.InputSize == 0 {
		o.InputSize = 64
		if o.Full {
			o.InputSize = 224
		}
	}
	if o.Classes == 0 {
		o.Classes = 1000
	}
	switch {
	case o.InputSize < 32 || o.InputSize > 1024:
		return o, fmt.Errorf("%w: input size %d not in [32, 1024]", ErrOptions, o.InputSize)
	case o.Classes < 1 || o.Classes > 100000:
		return o, fmt.Errorf("%w: classes %d not in [1, 100000]", ErrOptions, o.Classes)
	}
	return o, nil
}

// Zoo returns the model of the named family (see ZooNames) with weights
// drawn as Build draws them. Every model takes InputName [N,3,S,S] with a
// symbolic batch N and produces OutputName [N,classes]. It returns
// ErrZooName or ErrOptions (wrapped) for bad arguments.
func Zoo(name string, o ZooOptions) (*onnxpb.Model, error) {
	f, ok := zooFamilies[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (have %v)", ErrZooName, name, ZooNames())
	}
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	z := &zooBuilder{builder: &builder{g: &onnxpb.Graph{Name: name}, seed: o.Seed, opset: f.opset}, folded: f.folded}
	batch := onnxpb.Dim{Value: -1, Param: "N"}
	z.g.Input = []*onnxpb.ValueInfo{{
		Name: InputName, ElemType: onnxpb.Float, HasShape: true,
		Shape: []onnxpb.Dim{batch, {Value: 3}, {Value: int64(o.InputSize)}, {Value: int64(o.InputSize)}},
	}}
	emb, scores := f.build(z, act{name: InputName, c: 3, q: 1}, o)
	z.g.Output = []*onnxpb.ValueInfo{{
		Name: scores, ElemType: onnxpb.Float, HasShape: true,
		Shape: []onnxpb.Dim{batch, {Value: int64(o.Classes)}},
	}}
	if irVersion[f.opset] < 4 {
		z.initializersAsInputs()
	}
	if o.ExposeEmbedding {
		shape := []onnxpb.Dim{batch, {Value: int64(emb.c)}}
		if name == ZooMobileNetV2Opset7 {
			shape = append(shape, onnxpb.Dim{Value: 1}, onnxpb.Dim{Value: 1})
		}
		z.g.Output = append(z.g.Output, &onnxpb.ValueInfo{Name: emb.name, ElemType: onnxpb.Float, HasShape: true, Shape: shape})
	}
	m := &onnxpb.Model{
		IRVersion:       irVersion[f.opset],
		OpsetImports:    []onnxpb.OperatorSetID{{Version: f.opset}},
		ProducerName:    "tlserve-modelgen",
		ProducerVersion: "1",
		DocString: fmt.Sprintf("Synthetic %s (full=%v), input %d, %d classes, seed %d: deterministic random weights, not a trained network.",
			name, o.Full, o.InputSize, o.Classes, o.Seed),
		Graph: z.g,
	}
	if f.fp16 {
		toFloat16(m)
	}
	return m, nil
}

// GenerateZoo builds the named zoo model and encodes it. It returns the
// errors of Zoo.
func GenerateZoo(name string, o ZooOptions) ([]byte, error) {
	m, err := Zoo(name, o)
	if err != nil {
		return nil, err
	}
	return onnxpb.EncodeModel(m), nil
}

// WriteZooFiles generates the named zoo model into path and, beside it,
// a manifest with torchvision's preprocessing at the model's input size,
// both written atomically. It returns the errors of Zoo and of the file
// system.
func WriteZooFiles(path, name string, o ZooOptions) error {
	b, err := GenerateZoo(name, o)
	if err != nil {
		return err
	}
	o, _ = o.withDefaults()
	m := manifest.Default(strings.TrimSuffix(filepath.Base(path), ".onnx"))
	m.InputSize = o.InputSize
	m.Resize = int(math.Round(float64(o.InputSize) * 256 / 224))
	if err := writeAtomic(path, b); err != nil {
		return err
	}
	if err := manifest.Write(manifest.Path(path), m); err != nil {
		return fmt.Errorf("modelgen: %w", err)
	}
	return nil
}
