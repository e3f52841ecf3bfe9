package modelgen

import (
	"fmt"
	"math"

	"github.com/tlserve/tlserve/internal/onnxpb"
)

// efficientNetB0Settings are torchvision's MBConv settings for B0:
// expansion, kernel, stride, input channels, output channels, layers.
var efficientNetB0Settings = [][6]int{
	{1, 3, 1, 32, 16, 1}, {6, 3, 2, 16, 24, 2}, {6, 5, 2, 24, 40, 2}, {6, 3, 2, 40, 80, 3},
	{6, 5, 1, 80, 112, 3}, {6, 5, 2, 112, 192, 4}, {6, 3, 1, 192, 320, 1},
}

// efficientNetB0 emits torchvision's EfficientNet-B0 with SiLU as
// Sigmoid·x: a 3x3 stride-2 stem, MBConv blocks (1x1 expand, depthwise 3x3
// or 5x5 conv, possibly strided, squeeze-excitation, 1x1 projection, and a
// residual Add when the shape allows), a 1x1 head conv to four times the
// last width, GlobalAveragePool, Flatten into EmbeddingName, Dropout and
// the Gemm classifier.
func (z *zooBuilder) efficientNetB0(x act, width, depth float64, classes int) (emb act, scores string) {
	ch := func(c int) int { return makeDivisible(float64(c)*width, 8) }
	x = z.convBN("/features/features.0", "features.0", x, ch(32), 3, 2, 1, actSiLU)
	for si, s := range efficientNetB0Settings {
		expand, k, stride, out := s[0], s[1], s[2], ch(s[4])
		n := int(math.Ceil(float64(s[5]) * depth))
		for i := range n {
			st := 1
			if i == 0 {
				st = stride
			}
			name := fmt.Sprintf("features.%d.%d.block", si+1, i)
			path := fmt.Sprintf("/features/features.%d/features.%d.%d/block", si+1, si+1, i)
			in := x
			expanded := makeDivisible(float64(in.c*expand), 8)
			h := in
			j := 0
			if expanded != in.c {
				h = z.convBN(fmt.Sprintf("%s/block.%d", path, j), fmt.Sprintf("%s.%d", name, j), h, expanded, 1, 1, 1, actSiLU)
				j++
			}
			h = z.convBN(fmt.Sprintf("%s/block.%d", path, j), fmt.Sprintf("%s.%d", name, j), h, expanded, k, st, expanded, actSiLU)
			j++
			h = z.squeezeExcite(fmt.Sprintf("%s/block.%d", path, j), fmt.Sprintf("%s.%d", name, j), h, max(1, in.c/4))
			j++
			h = z.convBN(fmt.Sprintf("%s/block.%d", path, j), fmt.Sprintf("%s.%d", name, j), h, out, 1, 1, 1, actNone)
			if st == 1 && in.c == out {
				// Stochastic depth is the identity at inference.
				h = z.add(fmt.Sprintf("/features/features.%d/features.%d.%d/Add", si+1, si+1, i), h, in)
			}
			x = h
		}
	}
	last := len(efficientNetB0Settings) + 1
	x = z.convBN(fmt.Sprintf("/features/features.%d", last), fmt.Sprintf("features.%d", last), x, 4*x.c, 1, 1, 1, actSiLU)
	gap := z.node("GlobalAveragePool", "/avgpool/GlobalAveragePool", []string{x.name})
	z.g.Nodes = append(z.g.Nodes, &onnxpb.Node{
		Name: "/Flatten", OpType: "Flatten", Input: []string{gap}, Output: []string{EmbeddingName},
		Attribute: []*onnxpb.Attribute{attrInt("axis", 1)},
	})
	emb = act{name: EmbeddingName, c: x.c, q: x.q / 2}
	// From opset 12 the ratio is an optional input; before, an attribute.
	var drop string
	if z.opset >= 12 {
		ratio := z.initializer("classifier.0.ratio", nil, []float64{0.2})
		drop = z.node("Dropout", "/classifier/classifier.0/Dropout", []string{emb.name, ratio})
	} else {
		drop = z.node("Dropout", "/classifier/classifier.0/Dropout", []string{emb.name}, attrFloat("ratio", 0.2))
	}
	return emb, z.fc(act{name: drop, c: emb.c, q: emb.q}, classes, false)
}
