package onnxmodel

import (
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tlserve/tlserve/internal/modelgen"
	"github.com/tlserve/tlserve/internal/onnxpb"
)

// scalarConstant returns a Constant node attribute holding a float32
// scalar.
func scalarConstant(v float32) *onnxpb.Attribute {
	raw := binary.LittleEndian.AppendUint32(nil, math.Float32bits(v))
	return &onnxpb.Attribute{Name: "value", Type: onnxpb.AttrTensor, T: &onnxpb.Tensor{DataType: onnxpb.Float, RawData: raw}}
}

// planOps returns the operator of every kernel the plan for batch n runs,
// counted by type.
func planOps(t *testing.T, m *Model, n int) map[string]int {
	t.Helper()
	p, err := m.plan(n)
	if err != nil {
		t.Fatalf("plan(%d): %v", n, err)
	}
	ops := map[string]int{}
	for _, s := range p.steps {
		ops[s.n.opType]++
	}
	return ops
}

// TestClipBoundsFromConstantNodes checks which Clip bounds the Conv
// absorbs: initializers, Constant nodes and constants computed from them,
// but not bounds the batch-1 plan folds from the input's shape (their
// value depends on the batch size) nor a graph input. Every case is also
// run at batch 1 and 3 against a naive convolution and clip.
func TestClipBoundsFromConstantNodes(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	w, b := randFloats(r, 4*2*9), randFloats(r, 4)
	cases := []struct {
		name  string
		build func(g *testGraph) *testGraph // adds the bounds "lo" and "hi"
		fused bool
		hi    func(batch int) float32
	}{
		{"initializers", func(g *testGraph) *testGraph {
			return g.init("lo", nil, []float32{0}).init("hi", nil, []float32{0.5})
		}, true, func(int) float32 { return 0.5 }},
		{"constant nodes", func(g *testGraph) *testGraph {
			return g.node("Constant", "lo", nil, []string{"lo"}, scalarConstant(0)).
				node("Constant", "hi", nil, []string{"hi"}, scalarConstant(0.5))
		}, true, func(int) float32 { return 0.5 }},
		{"computed from constants", func(g *testGraph) *testGraph {
			return g.node("Constant", "lo", nil, []string{"lo"}, scalarConstant(0)).
				node("Constant", "h0", nil, []string{"h0"}, scalarConstant(0.25)).
				init("two", nil, []float32{2}).
				node("Mul", "hi", []string{"h0", "two"}, []string{"hi"})
		}, true, func(int) float32 { return 0.5 }},
		{"folded from the input shape", func(g *testGraph) *testGraph {
			// hi = batch size / 4: a constant in every plan, but a
			// different one per batch size.
			return g.node("Constant", "lo", nil, []string{"lo"}, scalarConstant(0)).
				node("Shape", "shape", []string{"x"}, []string{"shp"}).
				node("Constant", "zero", nil, []string{"zero"}, &onnxpb.Attribute{Name: "value", Type: onnxpb.AttrTensor,
					T: &onnxpb.Tensor{DataType: onnxpb.Int64, Int64Data: []int64{0}}}).
				node("Gather", "gather", []string{"shp", "zero"}, []string{"n"}).
				node("Cast", "cast", []string{"n"}, []string{"nf"}, atInt("to", int64(onnxpb.Float))).
				init("quarter", nil, []float32{0.25}).
				node("Mul", "hi", []string{"nf", "quarter"}, []string{"hi"})
		}, false, func(n int) float32 { return float32(n) / 4 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newTestGraph(13).input("x", -1, 2, 5, 5).
				init("w", dims(4, 2, 3, 3), w).init("b", dims(4), b)
			g = tc.build(g)
			g.node("Conv", "conv", []string{"x", "w", "b"}, []string{"c"}, atInts("pads", 1, 1, 1, 1)).
				node("Clip", "clip", []string{"c", "lo", "hi"}, []string{"y"}).
				output("y")
			m := g.parse(t, Options{Threads: 1})
			ops := planOps(t, m, 1)
			if got := ops["Clip"] == 0; got != tc.fused {
				t.Fatalf("plan runs %v; Clip fused = %v, want %v", ops, got, tc.fused)
			}
			for _, n := range []int{1, 3} {
				x := randFloats(r, n*2*25)
				out, err := m.Run(context.Background(), map[string]*Tensor{"x": {Shape: []int{n, 2, 5, 5}, Data: x}})
				if err != nil {
					t.Fatalf("batch %d: %v", n, err)
				}
				want := make([]float32, 0, n*100)
				for i := range n {
					y, _, _ := naiveConv(convCase{n: 1, c: 2, h: 5, w: 5, m: 4, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1}, x[i*50:(i+1)*50], w, b)
					want = append(want, y...)
				}
				activate(want, actClip, 0, tc.hi(n))
				if i, ok := closeTo(out["y"].Data, want, 1e-5); !ok {
					t.Fatalf("batch %d: element %d: got %g, want %g", n, i, out["y"].Data[i], want[i])
				}
			}
		})
	}
}

// TestMobileNetV2ClipsFuse checks that every ReLU6 of torch's MobileNetV2
// export (Clip with Constant-node bounds, in float32 and float16) ends up
// in a Conv's epilogue: the plan runs no Clip and as many Convs with a
// [0, 6] clip as the graph had Clips.
func TestMobileNetV2ClipsFuse(t *testing.T) {
	for _, name := range []string{modelgen.ZooMobileNetV2Opset13, modelgen.ZooMobileNetV2FP16Opset13, modelgen.ZooMobileNetV2Opset7} {
		t.Run(name, func(t *testing.T) {
			pm, err := modelgen.Zoo(name, modelgen.ZooOptions{})
			if err != nil {
				t.Fatal(err)
			}
			clips := 0
			for _, n := range pm.Graph.Nodes {
				if n.OpType == "Clip" {
					clips++
				}
			}
			if clips == 0 {
				t.Fatal("generated model has no Clip")
			}
			m, err := Parse(onnxpb.EncodeModel(pm), Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if ops := planOps(t, m, 1); ops["Clip"] != 0 {
				t.Errorf("plan runs %v, want no Clip", ops)
			}
			fused := 0
			for _, n := range m.g.nodes {
				if n.opType == "Conv" && n.fuse.act == actClip {
					if n.fuse.lo != 0 || n.fuse.hi != 6 {
						t.Errorf("%s: clip [%g, %g], want [0, 6]", n.label(), n.fuse.lo, n.fuse.hi)
					}
					fused++
				}
			}
			if fused != clips {
				t.Errorf("%d Convs absorbed a Clip, want %d", fused, clips)
			}
		})
	}
}
