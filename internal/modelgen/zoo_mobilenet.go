package modelgen

import (
	"fmt"
	"math"

	"github.com/tlserve/tlserve/internal/onnxpb"
)

// mobileNetV2Settings are torchvision's inverted residual settings:
// expansion t, output channels c, repeats n, stride of the first repeat s.
var mobileNetV2Settings = [][4]int{
	{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
}

// mobileNetV2 emits torchvision's MobileNetV2 features up to the final
// 1x1 conv (1280 wide for width <= 1), then GlobalAveragePool. Blocks are
// 1x1 expand → depthwise 3x3 → 1x1 linear projection, each with BN and all
// but the projection with ReLU6; a block whose stride is 1 and whose input
// and output widths agree adds its input (no activation after the Add).
// It returns the pooled [N,1280,1,1] tensor, named pooled.
func (z *zooBuilder) mobileNetV2(x act, width, depth float64, pooled string) act {
	c := makeDivisible(32*width, 8)
	x = z.convBN("/features/features.0", "features.0", x, c, 3, 2, 1, actReLU6)
	idx := 1
	for _, s := range mobileNetV2Settings {
		out := makeDivisible(float64(s[1])*width, 8)
		n := int(math.Ceil(float64(s[2]) * depth))
		for i := range n {
			stride := 1
			if i == 0 {
				stride = s[3]
			}
			name := fmt.Sprintf("features.%d.conv", idx)
			path := fmt.Sprintf("/features/features.%d/conv", idx)
			hidden := int(math.Round(float64(x.c * s[0])))
			h := x
			k := 0
			if s[0] != 1 {
				h = z.convBN(fmt.Sprintf("%s/conv.%d", path, k), fmt.Sprintf("%s.%d", name, k), h, hidden, 1, 1, 1, actReLU6)
				k++
			}
			h = z.convBN(fmt.Sprintf("%s/conv.%d", path, k), fmt.Sprintf("%s.%d", name, k), h, hidden, 3, stride, hidden, actReLU6)
			k++
			h = z.convBN(fmt.Sprintf("%s/conv.%d", path, k), fmt.Sprintf("%s.%d", name, k), h, out, 1, 1, 1, actNone)
			if stride == 1 && x.c == out {
				h = z.add(fmt.Sprintf("/features/features.%d/Add", idx), x, h)
			}
			x = h
			idx++
		}
	}
	last := makeDivisible(1280*max(1, width), 8)
	x = z.convBN(fmt.Sprintf("/features/features.%d", idx), fmt.Sprintf("features.%d", idx), x, last, 1, 1, 1, actReLU6)
	z.g.Nodes = append(z.g.Nodes, &onnxpb.Node{
		Name: "/GlobalAveragePool", OpType: "GlobalAveragePool", Input: []string{x.name}, Output: []string{pooled},
	})
	return act{name: pooled, c: x.c, q: x.q / 2}
}

// mobileNetV2Torch is torchvision's export: pooled features flattened into
// EmbeddingName, then the Gemm classifier (the Dropout before it vanishes
// in eval mode).
func (z *zooBuilder) mobileNetV2Torch(x act, width, depth float64, classes int) (emb act, scores string) {
	x = z.mobileNetV2(x, width, depth, "/GlobalAveragePool_output_0")
	z.g.Nodes = append(z.g.Nodes, &onnxpb.Node{
		Name: "/Flatten", OpType: "Flatten", Input: []string{x.name}, Output: []string{EmbeddingName},
		Attribute: []*onnxpb.Attribute{attrInt("axis", 1)},
	})
	emb = act{name: EmbeddingName, c: x.c, q: x.q}
	return emb, z.fc(emb, classes, false)
}

// mobileNetV2Gluon is the model zoo's mobilenetv2-7 (MXNet Gluon): the
// classifier is a bias-free 1x1 conv on the pooled [N,1280,1,1] features
// (named EmbeddingName), flattened into the scores.
func (z *zooBuilder) mobileNetV2Gluon(x act, width, depth float64, classes int) (emb act, scores string) {
	emb = z.mobileNetV2(x, width, depth, EmbeddingName)
	const logitSD = 1.5
	a := math.Sqrt(3) * logitSD / math.Sqrt(float64(emb.c)*emb.q)
	w := z.uniform("output.pred.weight", classes*emb.c, -a, a)
	logits := z.gconv("/output/pred/Conv", "output.pred.weight", "", emb, classes, 1, 1, 1, w, nil, 0)
	z.g.Nodes = append(z.g.Nodes, &onnxpb.Node{
		Name: "/output/Flatten", OpType: "Flatten", Input: []string{logits.name}, Output: []string{OutputName},
		Attribute: []*onnxpb.Attribute{attrInt("axis", 1)},
	})
	return emb, OutputName
}
