package modelgen

import (
	"fmt"

	"github.com/tlserve/tlserve/internal/onnxpb"
)

// denseNetConfig sizes a DenseNet: growth rate, layers per dense block,
// stem width and bottleneck factor.
type denseNetConfig struct {
	growth int
	blocks []int
	init   int
	bnSize int
}

// denseNet121 is torchvision's densenet121.
var denseNet121 = denseNetConfig{growth: 32, blocks: []int{6, 12, 24, 16}, init: 64, bnSize: 4}

// denseNet emits torchvision's DenseNet as its export looks with BN kept:
// a 7x7 stride-2 stem conv, BN, ReLU and 3x3 stride-2 MaxPool; dense
// blocks whose layers each Concat all earlier features along channels
// (the first layer's Concat has a single input, as torch exports
// torch.cat of a one-element list) and apply BN → ReLU → 1x1 conv → BN →
// ReLU → 3x3 conv; transitions BN → ReLU → 1x1 conv halving the width →
// AveragePool 2x2 stride 2; then BN → ReLU → GlobalAveragePool → Flatten
// into EmbeddingName.
func (z *zooBuilder) denseNet(x act, cfg denseNetConfig) act {
	x = z.convBN("/features/conv0", "features.conv0", x, cfg.init, 7, 2, 1, actNone)
	// convBN names the BN "features.conv0.1"; torchvision's norm0 has no
	// conv sibling name, which only matters for readability.
	x = z.relu("/features/relu0/Relu", x)
	x = z.maxPool("/features/pool0/MaxPool", x)
	for bi, n := range cfg.blocks {
		feats := []act{x}
		for li := range n {
			name := fmt.Sprintf("features.denseblock%d.denselayer%d", bi+1, li+1)
			path := fmt.Sprintf("/features/denseblock%d/denselayer%d", bi+1, li+1)
			in := z.concat(path+"/Concat", feats)
			h := z.bn(path+"/norm1", name+".norm1", in)
			h = z.relu(path+"/relu1/Relu", h)
			w, v := z.groupConvWeights(name+".conv1.weight", h, cfg.bnSize*cfg.growth, 1, 1, 2)
			h = z.gconv(path+"/conv1/Conv", name+".conv1.weight", "", h, cfg.bnSize*cfg.growth, 1, 1, 1, w, nil, v)
			h = z.bn(path+"/norm2", name+".norm2", h)
			h = z.relu(path+"/relu2/Relu", h)
			w, v = z.groupConvWeights(name+".conv2.weight", h, cfg.growth, 3, 1, 2)
			h = z.gconv(path+"/conv2/Conv", name+".conv2.weight", "", h, cfg.growth, 3, 1, 1, w, nil, v)
			feats = append(feats, h)
		}
		x = z.concat(fmt.Sprintf("/features/denseblock%d/Concat", bi+1), feats)
		if bi == len(cfg.blocks)-1 {
			break
		}
		name := fmt.Sprintf("features.transition%d", bi+1)
		path := fmt.Sprintf("/features/transition%d", bi+1)
		x = z.bn(path+"/norm", name+".norm", x)
		x = z.relu(path+"/relu/Relu", x)
		w, v := z.groupConvWeights(name+".conv.weight", x, x.c/2, 1, 1, 2)
		x = z.gconv(path+"/conv/Conv", name+".conv.weight", "", x, x.c/2, 1, 1, 1, w, nil, v)
		attrs := []*onnxpb.Attribute{attrInts("kernel_shape", 2, 2), attrInts("pads", 0, 0, 0, 0), attrInts("strides", 2, 2)}
		if z.opset >= 10 {
			attrs = append(attrs, attrInt("ceil_mode", 0))
		}
		attrs = append(attrs, attrInt("count_include_pad", 1))
		x = act{name: z.node("AveragePool", path+"/pool/AveragePool", []string{x.name}, attrs...), c: x.c, q: x.q / 2}
	}
	x = z.bn("/features/norm5", "features.norm5", x)
	x = z.relu("/Relu", x)
	return z.poolFlatten(x, false)
}

// concat emits a channel Concat of xs; its mean square is the
// channel-weighted mean of theirs.
func (z *zooBuilder) concat(name string, xs []act) act {
	ins := make([]string, len(xs))
	var c int
	var q float64
	for i, x := range xs {
		ins[i] = x.name
		c += x.c
		q += float64(x.c) * x.q
	}
	return act{name: z.node("Concat", name, ins, attrInt("axis", 1)), c: c, q: q / float64(c)}
}
