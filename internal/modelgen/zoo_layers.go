package modelgen

import (
	"encoding/binary"
	"math"

	"github.com/tlserve/tlserve/internal/onnxpb"
)

// zooBuilder extends the ResNet builder with what the other ImageNet
// families need: grouped (depthwise) convolutions, ReLU6 as Clip, SiLU as
// Sigmoid and Mul, squeeze-excitation, and convolutions with BN folded into
// their weights the way torch.onnx.export writes them.
type zooBuilder struct {
	*builder
	folded bool // fold BatchNormalization into the preceding conv
}

// activation is the non-linearity after a conv block.
type activation uint8

const (
	actNone activation = iota
	actReLU
	actReLU6
	actSiLU
)

// Mean squares after each activation, relative to a zero-mean input of unit
// mean square: ReLU keeps half; ReLU6 clips almost nothing of a unit-variance
// input; SiLU, E[(xσ(x))²] for x ~ N(0,1), keeps about 0.356.
const (
	reluKeep = 0.5
	siluKeep = 0.356
)

// groupConvWeights returns He-uniform weights [cout, cin/group, k, k] with
// variance gain/fan_in and the output's estimated mean square.
func (z *zooBuilder) groupConvWeights(name string, x act, cout, k, group int, gain float64) ([]float64, float64) {
	fanIn := float64(x.c / group * k * k)
	a := math.Sqrt(3 * gain / fanIn)
	return z.uniform(name, cout*x.c/group*k*k, -a, a), gain * x.q
}

// gconv emits a Conv with group and "same" padding (k-1)/2, optional bias
// stored under bias name bn.
func (z *zooBuilder) gconv(nodeName, wName, bn string, x act, cout, k, stride, group int, w, bias []float64, q float64) act {
	cin := x.c / group
	ins := []string{x.name, z.initializer(wName, []int64{int64(cout), int64(cin), int64(k), int64(k)}, w)}
	if bias != nil {
		ins = append(ins, z.initializer(bn, []int64{int64(cout)}, bias))
	}
	p := int64((k - 1) / 2)
	out := z.node("Conv", nodeName, ins,
		attrInts("dilations", 1, 1),
		attrInt("group", int64(group)),
		attrInts("kernel_shape", int64(k), int64(k)),
		attrInts("pads", p, p, p, p),
		attrInts("strides", int64(stride), int64(stride)),
	)
	return act{name: out, c: cout, q: q}
}

// convBN emits conv (no bias) → BatchNormalization → activation, with the
// BN folded into the conv when z.folded. The conv is named prefix+".0" and
// the BN prefix+".1", as in torchvision's Conv2dNormActivation.
func (z *zooBuilder) convBN(path, prefix string, x act, cout, k, stride, group int, a activation) act {
	conv, bn := prefix+".0", prefix+".1"
	w, v := z.groupConvWeights(conv+".weight", x, cout, k, group, 2)
	p := z.bnStats(bn, cout, v, gammaLo, gammaHi)
	var y act
	if z.folded {
		bias := p.fold(w, cout)
		y = z.gconv(path+"/Conv", conv+".weight", conv+".bias", x, cout, k, stride, group, w, bias,
			meanSquare(p.gamma)+meanSquare(p.beta))
	} else {
		y = z.gconv(path+"/Conv", conv+".weight", "", x, cout, k, stride, group, w, nil, v)
		y = z.batchNorm(path+"/BatchNormalization", bn, y, p)
	}
	return z.activate(path, y, a)
}

// bn emits a standalone BatchNormalization (one that no conv precedes,
// as in DenseNet's pre-activation layers) normalizing x.
func (z *zooBuilder) bn(path, prefix string, x act) act {
	return z.batchNorm(path+"/BatchNormalization", prefix, x, z.bnStats(prefix, x.c, x.q, gammaLo, gammaHi))
}

// activate applies a to x.
func (z *zooBuilder) activate(path string, x act, a activation) act {
	switch a {
	case actReLU:
		return z.relu(path+"/Relu", x)
	case actReLU6:
		return z.relu6(path+"/Clip", x)
	case actSiLU:
		return z.silu(path, x)
	}
	return x
}

// relu6 emits Clip(0, 6): with min and max attributes before opset 11, as
// the model zoo's mobilenetv2-7 has them, and as two scalar Constant node
// inputs from opset 11, as torch.onnx.export writes them.
func (z *zooBuilder) relu6(name string, x act) act {
	q := x.q * reluKeep
	if z.opset < 11 {
		return act{name: z.node("Clip", name, []string{x.name}, attrFloat("min", 0), attrFloat("max", 6)), c: x.c, q: q}
	}
	lo := z.floatConstant(name+"_min", 0)
	hi := z.floatConstant(name+"_max", 6)
	return act{name: z.node("Clip", name, []string{x.name, lo, hi}), c: x.c, q: q}
}

// silu emits x·Sigmoid(x), torch's export of SiLU.
func (z *zooBuilder) silu(path string, x act) act {
	s := z.node("Sigmoid", path+"/Sigmoid", []string{x.name})
	return act{name: z.node("Mul", path+"/Mul", []string{x.name, s}), c: x.c, q: x.q * siluKeep}
}

// floatConstant emits a Constant node holding a float32 scalar.
func (z *zooBuilder) floatConstant(name string, v float32) string {
	raw := binary.LittleEndian.AppendUint32(nil, math.Float32bits(v))
	t := &onnxpb.Tensor{DataType: onnxpb.Float, RawData: raw}
	return z.node("Constant", name, nil, &onnxpb.Attribute{Name: "value", Type: onnxpb.AttrTensor, T: t})
}

// squeezeExcite emits torchvision's SqueezeExcitation: GlobalAveragePool →
// 1x1 conv → SiLU → 1x1 conv → Sigmoid, and x times that [N,C,1,1] scale.
func (z *zooBuilder) squeezeExcite(path, prefix string, x act, squeeze int) act {
	// The pooled mean of SiLU outputs is small; a larger gain on fc1 keeps
	// the gate's input spread over the sigmoid's curved part.
	s := act{name: z.node("GlobalAveragePool", path+"/avgpool/GlobalAveragePool", []string{x.name}), c: x.c, q: x.q / 2}
	w, v := z.groupConvWeights(prefix+".fc1.weight", s, squeeze, 1, 1, 4)
	h := z.gconv(path+"/fc1/Conv", prefix+".fc1.weight", prefix+".fc1.bias", s, squeeze, 1, 1, 1,
		w, z.uniform(prefix+".fc1.bias", squeeze, -0.1, 0.1), v)
	h = z.silu(path+"/activation", h)
	w, v = z.groupConvWeights(prefix+".fc2.weight", h, x.c, 1, 1, 4)
	g := z.gconv(path+"/fc2/Conv", prefix+".fc2.weight", prefix+".fc2.bias", h, x.c, 1, 1, 1,
		w, z.uniform(prefix+".fc2.bias", x.c, 0.5, 1.5), v)
	gate := z.node("Sigmoid", path+"/scale_activation/Sigmoid", []string{g.name})
	// A gate mostly in (0.5, 0.9) scales the mean square by about 0.5.
	return act{name: z.node("Mul", path+"/Mul", []string{gate, x.name}), c: x.c, q: x.q * 0.5}
}

// makeDivisible is torchvision's _make_divisible: v rounded to a multiple
// of div, at least div, and never more than 10% below v.
func makeDivisible(v float64, div int) int {
	n := max(div, int(v+float64(div)/2)/div*div)
	if float64(n) < 0.9*v {
		n += div
	}
	return n
}

// toFloat16 converts a float32 model the way onnxconverter_common's
// convert_float_to_float16(keep_io_types=False) does for a CNN: every float
// initializer, Constant node and graph input and output becomes float16.
func toFloat16(m *onnxpb.Model) {
	g := m.Graph
	conv := func(t *onnxpb.Tensor) {
		if t == nil || t.DataType != onnxpb.Float {
			return
		}
		raw := make([]byte, len(t.RawData)/2)
		for i := range len(t.RawData) / 4 {
			f := math.Float32frombits(binary.LittleEndian.Uint32(t.RawData[4*i:]))
			binary.LittleEndian.PutUint16(raw[2*i:], onnxpb.Float32ToFloat16(f))
		}
		t.DataType, t.RawData = onnxpb.Float16, raw
	}
	for _, t := range g.Initializer {
		conv(t)
	}
	for _, n := range g.Nodes {
		for _, a := range n.Attribute {
			conv(a.T)
		}
	}
	for _, vi := range append(append([]*onnxpb.ValueInfo(nil), g.Input...), g.Output...) {
		if vi.ElemType == onnxpb.Float {
			vi.ElemType = onnxpb.Float16
		}
	}
}
