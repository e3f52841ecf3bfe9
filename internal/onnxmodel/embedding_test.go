package onnxmodel

import (
	"context"
	"math/rand/v2"
	"testing"
)

// TestEmbeddingBeforeIdentities checks that the automatic embedding is the
// tensor before the Dropout and Identity nodes that feed the classifier,
// and that its values are those of the classifier's input.
func TestEmbeddingBeforeIdentities(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	fcw, fcb := randFloats(r, 5*3), randFloats(r, 5)
	cases := []struct {
		name  string
		chain func(g *testGraph) *testGraph // reads "flat", writes "feat"
		want  string
	}{
		{"direct", func(g *testGraph) *testGraph {
			return g.node("Relu", "feat", []string{"flat"}, []string{"feat"})
		}, "feat"},
		{"dropout", func(g *testGraph) *testGraph {
			return g.node("Dropout", "feat", []string{"flat"}, []string{"feat"}, atFloat("ratio", 0.2))
		}, "flat"},
		{"dropout with mask, identity", func(g *testGraph) *testGraph {
			return g.node("Dropout", "drop", []string{"flat"}, []string{"d", "mask"}).
				node("Identity", "feat", []string{"d"}, []string{"feat"})
		}, "flat"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newTestGraph(13).input("img", -1, 3, 4, 4).
				node("GlobalAveragePool", "gap", []string{"img"}, []string{"gp"}).
				node("Flatten", "flat", []string{"gp"}, []string{"flat"})
			g = tc.chain(g).
				init("fcw", dims(5, 3), fcw).init("fcb", dims(5), fcb).
				node("Gemm", "fc", []string{"feat", "fcw", "fcb"}, []string{"logits"}, atInt("transB", 1)).
				output("logits")
			m := g.parse(t, Options{Threads: 1})
			if m.EmbeddingName() != tc.want || m.EmbeddingDim() != 3 {
				t.Fatalf("embedding %q of width %d, want %q of width 3", m.EmbeddingName(), m.EmbeddingDim(), tc.want)
			}
			img := randFloats(r, 2*3*16)
			var f Features
			if err := m.Extract(context.Background(), &f, img, 2); err != nil {
				t.Fatal(err)
			}
			want := make([]float32, 2*3)
			for i := range want {
				for _, v := range img[i*16 : (i+1)*16] {
					want[i] += v / 16
				}
				if tc.name == "direct" {
					want[i] = max(want[i], 0)
				}
			}
			if k, ok := closeTo(f.Embedding, want, 1e-5); !ok {
				t.Fatalf("embedding[%d] = %g, want %g", k, f.Embedding[k], want[k])
			}
		})
	}
}
