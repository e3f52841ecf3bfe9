package modelgen

import (
	"math"

	"github.com/tlserve/tlserve/internal/onnxpb"
)

// inceptionBlock holds the branch widths of a GoogLeNet inception module:
// 1x1; 1x1 reduce → 3x3; 1x1 reduce → 5x5; pool → 1x1 projection.
type inceptionBlock struct {
	name                     string
	c1, r3, c3, r5, c5, proj int
	pool                     string // "max", "avg" (count_include_pad 0) or "avgpad" (1)
}

// googLeNetBlocks are the first three modules of GoogLeNet (3a, 3b, 4a),
// with a different pool branch each so that the three pooling forms occur.
var googLeNetBlocks = []inceptionBlock{
	{"inception_3a", 64, 96, 128, 16, 32, 32, "max"},
	{"inception_3b", 128, 128, 192, 32, 96, 64, "avg"},
	{"inception_4a", 192, 96, 208, 16, 48, 64, "avgpad"},
}

// LRN parameters of the caffe GoogLeNet.
const (
	lrnSize  = 5
	lrnAlpha = 1e-4
	lrnBeta  = 0.75
)

// inception emits a GoogLeNet-style network the way the model zoo's
// caffe2 exports look (opset 7, convs with bias and no BN): 7x7 stride-2
// conv, ReLU, 3x3 stride-2 MaxPool with caffe's ceil rounding as extra end
// padding, LRN, 1x1 and 3x3 convs, LRN, MaxPool, inception 3a and 3b,
// MaxPool, inception 4a, an AveragePool over the whole remaining map,
// Dropout, and Reshape [0,-1] into EmbeddingName. size is the input's
// height and width; activations are scaled like a caffe net fed 0..255
// pixels (values around 100), where LRN really divides.
func (z *zooBuilder) inception(x act, size int, width float64) act {
	ch := func(c int) int { return channels(c, width) }
	// The stem's gain makes the ReLU output's mean square about 1e4.
	x = z.convBias("conv1/7x7_s2", x, ch(64), 7, 2, 3, 2e4)
	x = z.relu("conv1/relu_7x7", x)
	h := (size+6-7)/2 + 1
	x, h = z.caffeMaxPool("pool1/3x3_s2", x, h)
	x = z.lrn("pool1/norm1", x)
	x = z.convBias("conv2/3x3_reduce", x, ch(64), 1, 1, 0, 2)
	x = z.relu("conv2/relu_3x3_reduce", x)
	x = z.convBias("conv2/3x3", x, ch(192), 3, 1, 1, 2)
	x = z.relu("conv2/relu_3x3", x)
	x = z.lrn("conv2/norm2", x)
	x, h = z.caffeMaxPool("pool2/3x3_s2", x, h)
	for i, blk := range googLeNetBlocks {
		if i == 2 {
			x, h = z.caffeMaxPool("pool3/3x3_s2", x, h)
		}
		x = z.inceptionModule(blk, x, ch)
	}
	pool := z.node("AveragePool", "pool5/7x7_s1", []string{x.name},
		attrInts("kernel_shape", int64(h), int64(h)), attrInts("pads", 0, 0, 0, 0), attrInts("strides", 1, 1))
	// The spatial mean keeps about half the mean square of rectified maps.
	q := x.q / 2
	drop := z.node("Dropout", "pool5/drop_7x7_s1", []string{pool}, attrFloat("ratio", 0.4))
	shape := z.int64Initializer("OC2_DUMMY_1", []int64{2}, []int64{0, -1})
	z.g.Nodes = append(z.g.Nodes, &onnxpb.Node{
		Name: "OC2_DUMMY_0", OpType: "Reshape", Input: []string{drop, shape}, Output: []string{EmbeddingName},
	})
	return act{name: EmbeddingName, c: x.c, q: q}
}

// inceptionModule emits the four branches of blk and their Concat.
func (z *zooBuilder) inceptionModule(blk inceptionBlock, x act, ch func(int) int) act {
	p := blk.name + "/"
	b1 := z.relu(p+"relu_1x1", z.convBias(p+"1x1", x, ch(blk.c1), 1, 1, 0, 2))
	b3 := z.relu(p+"relu_3x3_reduce", z.convBias(p+"3x3_reduce", x, ch(blk.r3), 1, 1, 0, 2))
	b3 = z.relu(p+"relu_3x3", z.convBias(p+"3x3", b3, ch(blk.c3), 3, 1, 1, 2))
	b5 := z.relu(p+"relu_5x5_reduce", z.convBias(p+"5x5_reduce", x, ch(blk.r5), 1, 1, 0, 2))
	b5 = z.relu(p+"relu_5x5", z.convBias(p+"5x5", b5, ch(blk.c5), 5, 1, 2, 2))
	attrs := []*onnxpb.Attribute{attrInts("kernel_shape", 3, 3), attrInts("pads", 1, 1, 1, 1), attrInts("strides", 1, 1)}
	op := "MaxPool"
	switch blk.pool {
	case "avg":
		op = "AveragePool"
		attrs = append(attrs, attrInt("count_include_pad", 0))
	case "avgpad":
		op = "AveragePool"
		attrs = append(attrs, attrInt("count_include_pad", 1))
	}
	bp := act{name: z.node(op, p+"pool", []string{x.name}, attrs...), c: x.c, q: x.q}
	bp = z.relu(p+"relu_pool_proj", z.convBias(p+"pool_proj", bp, ch(blk.proj), 1, 1, 0, 2))
	return z.concat(p+"output", []act{b1, b3, b5, bp})
}

// convBias emits a caffe-style Conv with bias, weights named name+"_w" and
// name+"_b", He-uniform with the given gain.
func (z *zooBuilder) convBias(name string, x act, cout, k, stride, pad int, gain float64) act {
	w, q := z.groupConvWeights(name+"_w", x, cout, k, 1, gain)
	b := z.uniform(name+"_b", cout, -0.1*math.Sqrt(q), 0.1*math.Sqrt(q))
	ins := []string{x.name,
		z.initializer(name+"_w", []int64{int64(cout), int64(x.c), int64(k), int64(k)}, w),
		z.initializer(name+"_b", []int64{int64(cout)}, b),
	}
	p := int64(pad)
	out := z.node("Conv", name, ins,
		attrInts("dilations", 1, 1), attrInt("group", 1), attrInts("kernel_shape", int64(k), int64(k)),
		attrInts("pads", p, p, p, p), attrInts("strides", int64(stride), int64(stride)))
	return act{name: out, c: cout, q: q}
}

// caffeMaxPool emits a 3x3 stride-2 MaxPool whose extra end padding
// reproduces caffe's ceil rounding, and returns the new height.
func (z *zooBuilder) caffeMaxPool(name string, x act, h int) (act, int) {
	out := z.node("MaxPool", name, []string{x.name},
		attrInts("kernel_shape", 3, 3), attrInts("pads", 0, 0, 1, 1), attrInts("strides", 2, 2))
	// The max of 9 rectified values has about twice their mean square.
	return act{name: out, c: x.c, q: 2 * x.q}, (h+1-3)/2 + 1
}

// lrn emits caffe's cross-channel LRN. Every value is divided by about
// (1 + α·q)^β, the mean square accordingly.
func (z *zooBuilder) lrn(name string, x act) act {
	out := z.node("LRN", name, []string{x.name},
		attrInt("size", lrnSize), attrFloat("alpha", lrnAlpha), attrFloat("beta", lrnBeta), attrFloat("bias", 1))
	return act{name: out, c: x.c, q: x.q / math.Pow(1+lrnAlpha*x.q, 2*lrnBeta)}
}
