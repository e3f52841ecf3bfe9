package modelgen

import (
	"fmt"
	"math"

	"github.com/tlserve/tlserve/internal/onnxpb"
)

// ResNet50's stages: bottleneck blocks per stage, bottleneck width, stride
// of the first block.
var (
	stageBlocks  = [4]int{3, 4, 6, 3}
	stagePlanes  = [4]int{64, 128, 256, 512}
	stageStrides = [4]int{1, 2, 2, 2}
)

// Gamma ranges. Residual branches end with a small gamma (trained ResNets
// end up there too) so that the identity path dominates and the variance
// grows slowly along each stage.
const (
	gammaLo, gammaHi             = 0.8, 1.2
	branchGammaLo, branchGammaHi = 0.2, 0.5
)

// convBN emits conv (no bias) → BatchNormalization, or, when folded, one conv
// whose weights and bias absorb the same BatchNormalization. Both draw the
// same random numbers, so the two forms compute the same function.
func (b *builder) convBN(path, convName, bnName string, x act, cout, k, stride, pad int, gain, gLo, gHi float64, folded bool) act {
	w, v := b.convWeights(convName+".weight", x, cout, k, gain)
	p := b.bnStats(bnName, cout, v, gLo, gHi)
	if !folded {
		y := b.conv(path+"/"+convName+"/Conv", convName+".weight", x, cout, k, stride, pad, w, nil, v)
		return b.batchNorm(path+"/"+bnName+"/BatchNormalization", bnName, y, p)
	}
	bias := p.fold(w, cout)
	return b.conv(path+"/"+convName+"/Conv", convName+".weight", x, cout, k, stride, pad, w, bias,
		meanSquare(p.gamma)+meanSquare(p.beta))
}

// resnetV1 emits torchvision's ResNet50 (v1.5: the stride sits on the 3x3
// conv of each bottleneck) up to the flattened embedding.
func (b *builder) resnetV1(x act, width float64, folded, shapeTail bool) act {
	c := channels(64, width)
	x = b.convBN("", "conv1", "bn1", x, c, 7, 2, 3, 1, gammaLo, gammaHi, folded)
	x = b.relu("/relu/Relu", x)
	x = b.maxPool("/maxpool/MaxPool", x)
	for s := range 4 {
		planes := channels(stagePlanes[s], width)
		for j := range stageBlocks[s] {
			stride := 1
			if j == 0 {
				stride = stageStrides[s]
			}
			name := fmt.Sprintf("layer%d.%d", s+1, j)
			path := fmt.Sprintf("/layer%d/%s", s+1, name)
			h := b.convBN(path, name+".conv1", name+".bn1", x, planes, 1, 1, 0, 2, gammaLo, gammaHi, folded)
			h = b.relu(path+"/relu/Relu", h)
			h = b.convBN(path, name+".conv2", name+".bn2", h, planes, 3, stride, 1, 2, gammaLo, gammaHi, folded)
			h = b.relu(path+"/relu_1/Relu", h)
			h = b.convBN(path, name+".conv3", name+".bn3", h, 4*planes, 1, 1, 0, 2, branchGammaLo, branchGammaHi, folded)
			id := x
			if j == 0 {
				id = b.convBN(path+"/downsample", name+".downsample.0", name+".downsample.1", x, 4*planes, 1, stride, 0, 2, gammaLo, gammaHi, folded)
			}
			x = b.add(path+"/Add", h, id)
			x = b.relu(path+"/relu_2/Relu", x)
			// A non-negative identity passes the Relu whole; only the
			// zero-mean part (the branch, or a downsample) is halved.
			if j == 0 {
				x.q = (h.q + id.q) / 2
			} else {
				x.q = id.q + h.q/2
			}
		}
	}
	return b.poolFlatten(x, shapeTail)
}

// resnetV2 emits the pre-activation ResNet50 v2 of the ONNX model zoo
// (MXNet Gluon's resnet50_v2): a BatchNormalization on the input, then
// BN→Relu before every conv, a strided 1x1 shortcut conv on the first unit of
// each stage, and a final BN→Relu before pooling.
func (b *builder) resnetV2(x act, width float64) act {
	p := b.bnStats("bn_data", x.c, x.q, 1, 1)
	clear(p.beta) // Gluon's data BN has neither scale nor center.
	x = b.batchNorm("/bn_data/BatchNormalization", "bn_data", x, p)
	c := channels(64, width)
	w, v := b.convWeights("conv0.weight", x, c, 7, 1)
	x = b.conv("/conv0/Conv", "conv0.weight", x, c, 7, 2, 3, w, nil, v)
	x = b.batchNorm("/bn0/BatchNormalization", "bn0", x, b.bnStats("bn0", c, x.q, gammaLo, gammaHi))
	x = b.relu("/relu0/Relu", x)
	x = b.maxPool("/pool0/MaxPool", x)
	for s := range 4 {
		planes := channels(stagePlanes[s], width)
		for j := range stageBlocks[s] {
			stride := 1
			if j == 0 {
				stride = stageStrides[s]
			}
			name := fmt.Sprintf("stage%d.unit%d", s+1, j+1)
			path := "/" + name
			a := b.batchNorm(path+"/bn1/BatchNormalization", name+".bn1", x, b.bnStats(name+".bn1", x.c, x.q, gammaLo, gammaHi))
			a = b.relu(path+"/relu1/Relu", a)
			short := x
			if j == 0 {
				w, v := b.convWeights(name+".sc.weight", a, 4*planes, 1, 2)
				short = b.conv(path+"/sc/Conv", name+".sc.weight", a, 4*planes, 1, stride, 0, w, nil, v)
			}
			h := a
			for k, kk := range []int{1, 3} {
				cn := fmt.Sprintf("%s.conv%d", name, k+1)
				bn := fmt.Sprintf("%s.bn%d", name, k+2)
				st, pad := 1, 0
				if kk == 3 {
					st, pad = stride, 1
				}
				w, v := b.convWeights(cn+".weight", h, planes, kk, 2)
				h = b.conv(fmt.Sprintf("%s/conv%d/Conv", path, k+1), cn+".weight", h, planes, kk, st, pad, w, nil, v)
				h = b.batchNorm(fmt.Sprintf("%s/bn%d/BatchNormalization", path, k+2), bn, h, b.bnStats(bn, planes, h.q, gammaLo, gammaHi))
				h = b.relu(fmt.Sprintf("%s/relu%d/Relu", path, k+2), h)
			}
			w, v := b.convWeights(name+".conv3.weight", h, 4*planes, 1, 1)
			h = b.conv(path+"/conv3/Conv", name+".conv3.weight", h, 4*planes, 1, 1, 0, w, nil, v)
			x = b.add(path+"/Add", h, short)
		}
	}
	x = b.batchNorm("/bn_final/BatchNormalization", "bn_final", x, b.bnStats("bn_final", x.c, x.q, gammaLo, gammaHi))
	x = b.relu("/relu_final/Relu", x)
	return b.poolFlatten(x, false)
}

// poolFlatten emits GlobalAveragePool and flattens [N,C,1,1] to [N,C] into
// EmbeddingName, either with Flatten or with the PyTorch 1.x tail
// x.view(x.size(0), -1): Shape→Gather→Unsqueeze→Concat→Reshape.
func (b *builder) poolFlatten(x act, shapeTail bool) act {
	gap := b.node("GlobalAveragePool", "/avgpool/GlobalAveragePool", []string{x.name})
	// The spatial mean of rectified values keeps about half their mean
	// square (the mean survives, the spatial variance averages out).
	out := act{name: EmbeddingName, c: x.c, q: x.q / 2}
	if !shapeTail {
		b.g.Nodes = append(b.g.Nodes, &onnxpb.Node{
			Name: "/Flatten", OpType: "Flatten", Input: []string{gap}, Output: []string{EmbeddingName},
			Attribute: []*onnxpb.Attribute{attrInt("axis", 1)},
		})
		return out
	}
	shape := b.node("Shape", "/Shape", []string{gap})
	zero := b.constant("/Constant", nil, 0)
	dim0 := b.node("Gather", "/Gather", []string{shape, zero}, attrInt("axis", 0))
	var unsq string
	if b.opset >= 13 {
		axes := b.constant("/Constant_1", []int64{1}, 0)
		unsq = b.node("Unsqueeze", "/Unsqueeze", []string{dim0, axes})
	} else {
		unsq = b.node("Unsqueeze", "/Unsqueeze", []string{dim0}, attrInts("axes", 0))
	}
	minus1 := b.constant("/Constant_2", []int64{1}, -1)
	cat := b.node("Concat", "/Concat", []string{unsq, minus1}, attrInt("axis", 0))
	b.g.Nodes = append(b.g.Nodes, &onnxpb.Node{
		Name: "/Reshape", OpType: "Reshape", Input: []string{gap, cat}, Output: []string{EmbeddingName},
	})
	return out
}

// constant emits a Constant node holding an int64 tensor of dims filled with v.
func (b *builder) constant(name string, dims []int64, v int64) string {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	data := make([]int64, n)
	for i := range data {
		data[i] = v
	}
	t := &onnxpb.Tensor{Dims: dims, DataType: onnxpb.Int64, Int64Data: data}
	return b.node("Constant", name, nil, &onnxpb.Attribute{Name: "value", Type: onnxpb.AttrTensor, T: t})
}

// fc emits the classifier: Gemm with transB=1 (weights [classes, C], as
// torchvision and Gluon export them), optionally followed by Softmax. Weights
// are scaled so that the logits of one image spread over a few units.
func (b *builder) fc(x act, classes int, softmax bool) string {
	const logitSD = 1.5
	a := math.Sqrt(3) * logitSD / math.Sqrt(float64(x.c)*x.q)
	w := b.uniform("fc.weight", classes*x.c, -a, a)
	bias := b.uniform("fc.bias", classes, -0.1, 0.1)
	ins := []string{x.name,
		b.initializer("fc.weight", []int64{int64(classes), int64(x.c)}, w),
		b.initializer("fc.bias", []int64{int64(classes)}, bias),
	}
	attrs := []*onnxpb.Attribute{attrFloat("alpha", 1), attrFloat("beta", 1), attrInt("transB", 1)}
	if !softmax {
		b.g.Nodes = append(b.g.Nodes, &onnxpb.Node{
			Name: "/fc/Gemm", OpType: "Gemm", Input: ins, Output: []string{OutputName}, Attribute: attrs,
		})
		return OutputName
	}
	logits := b.node("Gemm", "/fc/Gemm", ins, attrs...)
	b.g.Nodes = append(b.g.Nodes, &onnxpb.Node{
		Name: "/Softmax", OpType: "Softmax", Input: []string{logits}, Output: []string{OutputName},
		Attribute: []*onnxpb.Attribute{attrInt("axis", 1)},
	})
	return OutputName
}
