package onnxmodel

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tlserve/tlserve/internal/onnxpb"
)

// residualNet builds a small residual classifier with a dynamic batch:
// conv-BN-relu, maxpool, conv-BN + identity residual + relu, conv + Clip,
// global average pool, flatten, Gemm (10 classes), no final softmax.
func residualNet(tb testing.TB, seed uint64) *testGraph {
	tb.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	g := newTestGraph(13).input("img", -1, 3, 16, 16)
	bn := func(prefix string, c int) []string {
		names := []string{prefix + "_s", prefix + "_b", prefix + "_m", prefix + "_v"}
		for k, n := range names {
			v := randFloats(r, c)
			if k == 0 || k == 3 {
				for i := range v {
					v[i] = 0.5 + float32(math.Abs(float64(v[i])))
				}
			}
			g.init(n, dims(c), v)
		}
		return names
	}
	g.init("w1", dims(8, 3, 3, 3), randFloats(r, 8*3*9)).init("b1", dims(8), randFloats(r, 8))
	g.node("Conv", "conv1", []string{"img", "w1", "b1"}, []string{"c1"}, atInts("pads", 1, 1, 1, 1))
	g.node("BatchNormalization", "bn1", append([]string{"c1"}, bn("bn1", 8)...), []string{"n1"}, atFloat("epsilon", 1e-3))
	g.node("Relu", "relu1", []string{"n1"}, []string{"r1"})
	g.node("MaxPool", "pool", []string{"r1"}, []string{"p1"}, atInts("kernel_shape", 2, 2), atInts("strides", 2, 2))
	g.init("w2", dims(8, 8, 3, 3), randFloats(r, 8*8*9))
	g.node("Conv", "conv2", []string{"p1", "w2"}, []string{"c2"}, atInts("pads", 1, 1, 1, 1))
	g.node("BatchNormalization", "bn2", append([]string{"c2"}, bn("bn2", 8)...), []string{"n2"})
	g.node("Add", "add", []string{"p1", "n2"}, []string{"a2"})
	g.node("Relu", "relu2", []string{"a2"}, []string{"r2"})
	g.init("w3", dims(12, 8, 1, 1), randFloats(r, 12*8)).init("b3", dims(12), randFloats(r, 12))
	g.node("Conv", "conv3", []string{"r2", "w3", "b3"}, []string{"c3"})
	g.init("lo", nil, []float32{0}).init("hi", nil, []float32{0.6})
	g.node("Clip", "clip", []string{"c3", "lo", "hi"}, []string{"r3"})
	g.node("GlobalAveragePool", "gap", []string{"r3"}, []string{"gp"})
	g.node("Flatten", "flat", []string{"gp"}, []string{"emb"})
	g.init("fcw", dims(10, 12), randFloats(r, 120)).init("fcb", dims(10), randFloats(r, 10))
	g.node("Gemm", "fc", []string{"emb", "fcw", "fcb"}, []string{"logits"}, atInt("transB", 1))
	return g.output("logits")
}

// naiveResidualNet computes residualNet's logits for one image without the
// engine's passes: plain convolutions, batch norms and activations.
func naiveResidualNet(m *Model, g *testGraph, img []float32) []float32 {
	c := map[string][]float32{}
	for _, t := range g.m.Graph.Initializer {
		c[t.Name] = t.FloatData
	}
	conv := func(x []float32, cin, h, w int, wn, bn string, cout, k, pad int) []float32 {
		cc := convCase{n: 1, c: cin, h: h, w: w, m: cout, kh: k, kw: k, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pt: pad, pl: pad, pb: pad, pr: pad}
		var b []float32
		if bn != "" {
			b = c[bn]
		}
		out, _, _ := naiveConv(cc, x, c[wn], b)
		return out
	}
	bnorm := func(x []float32, p string, eps float64) {
		hw := len(x) / len(c[p+"_s"])
		for i := range x {
			ch := i / hw
			x[i] = float32((float64(x[i])-float64(c[p+"_m"][ch]))/math.Sqrt(float64(c[p+"_v"][ch])+eps)*float64(c[p+"_s"][ch]) + float64(c[p+"_b"][ch]))
		}
	}
	relu := func(x []float32) { activate(x, actRelu, 0, 0) }
	x := conv(img, 3, 16, 16, "w1", "b1", 8, 3, 1)
	bnorm(x, "bn1", 1e-3)
	relu(x)
	p := make([]float32, 8*8*8)
	for ch := range 8 {
		for y := range 8 {
			for xx := range 8 {
				v := float32(math.Inf(-1))
				for dy := range 2 {
					for dx := range 2 {
						v = max(v, x[ch*256+(2*y+dy)*16+2*xx+dx])
					}
				}
				p[ch*64+y*8+xx] = v
			}
		}
	}
	y := conv(p, 8, 8, 8, "w2", "", 8, 3, 1)
	bnorm(y, "bn2", 1e-5)
	for i := range y {
		y[i] += p[i]
	}
	relu(y)
	z := conv(y, 8, 8, 8, "w3", "b3", 12, 1, 0)
	activate(z, actClip, 0, 0.6)
	emb := make([]float32, 12)
	for ch := range 12 {
		for _, v := range z[ch*64 : (ch+1)*64] {
			emb[ch] += v / 64
		}
	}
	logits := make([]float32, 10)
	for o := range 10 {
		s := float64(c["fcb"][o])
		for k := range 12 {
			s += float64(c["fcw"][o*12+k]) * float64(emb[k])
		}
		logits[o] = float32(s)
	}
	return append(emb, logits...)
}

func TestPassesFoldAndFuse(t *testing.T) {
	g := residualNet(t, 1)
	m := g.parse(t, Options{Threads: 1})
	// conv1 absorbs bn1 and relu1; conv2 absorbs bn2, the residual add and
	// relu2; conv3 absorbs the clip.
	ops := map[string]int{}
	for _, n := range m.g.nodes {
		ops[n.opType]++
	}
	want := map[string]int{"Conv": 3, "MaxPool": 1, "GlobalAveragePool": 1, "Flatten": 1, "Gemm": 1}
	if fmt.Sprint(ops) != fmt.Sprint(want) {
		t.Fatalf("nodes after the passes: %v, want %v", ops, want)
	}
	fused := map[string]convFusion{}
	for _, n := range m.g.nodes {
		if n.opType == "Conv" {
			fused[n.name] = n.fuse
		}
	}
	if fused["conv1"] != (convFusion{act: actRelu}) || fused["conv2"] != (convFusion{residual: true, act: actRelu}) ||
		fused["conv3"] != (convFusion{act: actClip, lo: 0, hi: 0.6}) {
		t.Fatalf("fusions %+v", fused)
	}
	if m.EmbeddingName() != "emb" || m.EmbeddingDim() != 12 || m.NumClasses() != 10 {
		t.Fatalf("embedding %q dim %d, classes %d; want emb, 12, 10", m.EmbeddingName(), m.EmbeddingDim(), m.NumClasses())
	}
}

// TestResidualNetMatchesNaive checks the folded and fused plan, at several
// batch sizes and thread counts, against the unoptimised definition.
func TestResidualNetMatchesNaive(t *testing.T) {
	g := residualNet(t, 2)
	r := rand.New(rand.NewPCG(9, 9))
	for _, threads := range []int{1, 2} {
		m := g.parse(t, Options{Threads: threads})
		for _, n := range []int{1, 3} {
			t.Run(fmt.Sprintf("threads=%d/n=%d", threads, n), func(t *testing.T) {
				img := randFloats(r, n*3*16*16)
				var f Features
				if err := m.Extract(context.Background(), &f, img, n); err != nil {
					t.Fatal(err)
				}
				for i := range n {
					ref := naiveResidualNet(m, g, img[i*768:(i+1)*768])
					emb, logits := ref[:12], ref[12:]
					softmaxRow(logits)
					if k, ok := closeTo(f.Embedding[i*12:(i+1)*12], emb, 1e-4); !ok {
						t.Fatalf("image %d embedding[%d]: got %g, want %g", i, k, f.Embedding[i*12+k], emb[k])
					}
					if k, ok := closeTo(f.Probs[i*10:(i+1)*10], logits, 1e-4); !ok {
						t.Fatalf("image %d probs[%d]: got %g, want %g", i, k, f.Probs[i*10+k], logits[k])
					}
				}
			})
		}
	}
}

func TestTopoSortAndDead(t *testing.T) {
	// Nodes listed out of order, plus a dead branch.
	g := newTestGraph(13).input("x", 1, 4).
		node("Relu", "b", []string{"a"}, []string{"bo"}).
		node("Relu", "a", []string{"x"}, []string{"a"}).
		node("Relu", "dead", []string{"x"}, []string{"unused"}).
		node("Relu", "c", []string{"bo"}, []string{"y"}).
		output("y")
	m := g.parse(t, Options{Threads: 1})
	var order []string
	for _, n := range m.g.nodes {
		order = append(order, n.name)
	}
	if fmt.Sprint(order) != "[a b c]" {
		t.Fatalf("order %v, want [a b c] without the dead node", order)
	}
}

func TestArenaReuse(t *testing.T) {
	// A chain of ten same-sized activations needs two buffers, not ten.
	g := newTestGraph(13).input("x", 1, 256)
	prev := "x"
	for i := range 10 {
		out := fmt.Sprintf("t%d", i)
		g.node("Sigmoid", out, []string{prev}, []string{out})
		prev = out
	}
	m := g.output(prev).parse(t, Options{Threads: 1})
	p, err := m.plan(1)
	if err != nil {
		t.Fatal(err)
	}
	if p.fsize != 2*256 {
		t.Fatalf("arena has %d floats, want %d (two reused buffers)", p.fsize, 2*256)
	}
	out, err := m.Run(context.Background(), map[string]*Tensor{"x": {Shape: []int{1, 256}, Data: make([]float32, 256)}})
	if err != nil {
		t.Fatal(err)
	}
	// sigmoid applied ten times to 0.
	v := 0.0
	for range 10 {
		v = 1 / (1 + math.Exp(-v))
	}
	if math.Abs(float64(out[prev].Data[7])-v) > 1e-6 {
		t.Fatalf("got %g, want %g", out[prev].Data[7], v)
	}
}

// TestFuseTwoConvsIntoOneAdd is the ResNet downsampling block: both inputs
// of the residual Add are Conv outputs, and only one Conv may absorb it.
func TestFuseTwoConvsIntoOneAdd(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	wa, wb := randFloats(r, 4*2*9), randFloats(r, 4*2)
	m := newTestGraph(13).input("x", 1, 2, 5, 5).
		init("wa", dims(4, 2, 3, 3), wa).init("wb", dims(4, 2, 1, 1), wb).
		node("Conv", "a", []string{"x", "wa"}, []string{"ya"}, atInts("pads", 1, 1, 1, 1)).
		node("Conv", "b", []string{"x", "wb"}, []string{"yb"}).
		node("Add", "add", []string{"ya", "yb"}, []string{"s"}).
		node("Relu", "relu", []string{"s"}, []string{"y"}).
		output("y").parse(t, Options{Threads: 1})
	if len(m.g.nodes) != 2 {
		t.Fatalf("%d nodes after fusion, want 2", len(m.g.nodes))
	}
	x := randFloats(r, 50)
	out, err := m.Run(context.Background(), map[string]*Tensor{"x": {Shape: []int{1, 2, 5, 5}, Data: x}})
	if err != nil {
		t.Fatal(err)
	}
	ya, _, _ := naiveConv(convCase{n: 1, c: 2, h: 5, w: 5, m: 4, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1}, x, wa, nil)
	yb, _, _ := naiveConv(convCase{n: 1, c: 2, h: 5, w: 5, m: 4, kh: 1, kw: 1, group: 1, sh: 1, sw: 1, dh: 1, dw: 1}, x, wb, nil)
	for i := range ya {
		ya[i] = max(ya[i]+yb[i], 0)
	}
	if i, ok := closeTo(out["y"].Data, ya, 1e-5); !ok {
		t.Fatalf("element %d: got %g, want %g", i, out["y"].Data[i], ya[i])
	}
}

// TestLoadHoldsWeightsOnce checks that after Parse the constants replaced
// by BatchNormalization folding are gone and that every Conv's raw weights
// were released in favour of their packed form (TestResidualNetMatchesNaive
// then shows that plans compiled later, at other batch sizes, still work).
func TestLoadHoldsWeightsOnce(t *testing.T) {
	m := residualNet(t, 1).parse(t, Options{Threads: 2})
	for _, name := range []string{"w1", "b1", "w2", "bn1_s", "bn1_b", "bn1_m", "bn1_v", "bn2_s", "bn2_v"} {
		if m.g.consts[name] != nil {
			t.Errorf("constant %q replaced by folding is still held", name)
		}
	}
	convs := 0
	for _, n := range m.g.nodes {
		if n.opType != "Conv" {
			continue
		}
		convs++
		w := m.g.consts[n.inputs[1]]
		if w == nil {
			t.Fatalf("%s: weights %q missing", n.label(), n.inputs[1])
		}
		if w.f != nil {
			t.Errorf("%s: raw weights %q (%d floats) still held after packing", n.label(), n.inputs[1], len(w.f))
		}
	}
	if convs != 3 {
		t.Fatalf("%d convolutions, want 3", convs)
	}
}

// TestParseDoesNotAliasInput overwrites the model bytes after Parse: a
// graph that still pointed into them (a Constant's raw_data, a string
// attribute) would compute something else, or fail to compile a new batch
// size.
func TestParseDoesNotAliasInput(t *testing.T) {
	raw := make([]byte, 4*4)
	for i, v := range []float32{1, -2, 3, -4} {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	g := newTestGraph(13).input("x", -1, 1, 2, 2).
		node("Constant", "k", nil, []string{"k"}, &onnxpb.Attribute{Name: "value", Type: onnxpb.AttrTensor,
			T: &onnxpb.Tensor{Dims: []int64{1, 1, 2, 2}, DataType: onnxpb.Float, RawData: raw}}).
		node("MaxPool", "pool", []string{"x"}, []string{"p"}, atInts("kernel_shape", 1, 1), atStr("auto_pad", "SAME_UPPER")).
		node("Add", "add", []string{"p", "k"}, []string{"y"}).
		output("y")
	b := g.bytes()
	m, err := Parse(b, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for i := range b {
		b[i] = 0xff
	}
	for _, n := range []int{1, 2} { // batch 2 compiles after the scribbling
		x := make([]float32, 4*n)
		out, err := m.Run(context.Background(), map[string]*Tensor{"x": {Shape: []int{n, 1, 2, 2}, Data: x}})
		if err != nil {
			t.Fatalf("batch %d: %v", n, err)
		}
		want := []float32{1, -2, 3, -4, 1, -2, 3, -4}[:4*n]
		if fmt.Sprint(out["y"].Data) != fmt.Sprint(want) {
			t.Fatalf("batch %d: got %v, want %v", n, out["y"].Data, want)
		}
	}
}
