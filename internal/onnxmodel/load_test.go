package onnxmodel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/tlserve/tlserve/internal/onnxpb"
)

// tinyNet is x[N,2,4,4] -> Conv(3 filters, 3x3, pad 1) -> Relu -> y.
func tinyNet() *testGraph {
	return newTestGraph(13).input("x", -1, 2, 4, 4).
		init("w", dims(3, 2, 3, 3), make([]float32, 54)).
		node("Conv", "conv", []string{"x", "w"}, []string{"c"}, atInts("pads", 1, 1, 1, 1)).
		node("Relu", "relu", []string{"c"}, []string{"y"}).
		output("y")
}

func TestLoadRejects(t *testing.T) {
	good := tinyNet().bytes()
	cases := []struct {
		name        string
		model       func() []byte
		unsupported bool
		want        []string // substrings of the message
	}{
		{"empty", func() []byte { return nil }, false, []string{"no graph"}},
		{"truncated", func() []byte { return good[:len(good)*2/3] }, false, []string{"decode"}},
		{"garbage", func() []byte { return []byte("\xff\xff\xff\xff garbage, not protobuf") }, false, []string{"decode"}},
		{"unsupported operator", func() []byte {
			return tinyNet().node("FancyOp", "fancy1", []string{"y"}, []string{"z"}).output("z").bytes()
		}, true, []string{"FancyOp", `"fancy1"`, "node 2"}},
		{"custom domain", func() []byte {
			g := tinyNet()
			g.m.Graph.Nodes[1].Domain = "com.example"
			return g.bytes()
		}, true, []string{"com.example", `"relu"`}},
		{"missing initializer", func() []byte {
			return newTestGraph(13).input("x", 1, 2, 4, 4).
				node("Conv", "conv", []string{"x", "nowhere"}, []string{"y"}).output("y").bytes()
		}, false, []string{"missing initializer", `"nowhere"`, `"conv"`}},
		{"cycle", func() []byte {
			return newTestGraph(13).input("x", 1, 4).
				node("Add", "a", []string{"x", "q"}, []string{"p"}).
				node("Relu", "b", []string{"p"}, []string{"q"}).
				output("q").bytes()
		}, false, []string{"cycle"}},
		{"conv channel mismatch", func() []byte {
			return newTestGraph(13).input("x", 1, 3, 4, 4).init("w", dims(3, 2, 3, 3), make([]float32, 54)).
				node("Conv", "conv", []string{"x", "w"}, []string{"y"}).output("y").bytes()
		}, false, []string{`"conv"`, "do not match"}},
		{"gemm K mismatch", func() []byte {
			return newTestGraph(13).input("x", 1, 5).init("w", dims(4, 3), make([]float32, 12)).
				node("Gemm", "fc", []string{"x", "w"}, []string{"y"}, atInt("transB", 1)).output("y").bytes()
		}, false, []string{`"fc"`, "inner dimensions"}},
		{"add broadcast", func() []byte {
			return newTestGraph(13).input("x", 1, 5).init("b", dims(3), make([]float32, 3)).
				node("Add", "add", []string{"x", "b"}, []string{"y"}).output("y").bytes()
		}, false, []string{`"add"`}},
		{"opset 6", func() []byte {
			g := tinyNet()
			g.m.OpsetImports[0].Version = 6
			return g.bytes()
		}, true, []string{"opset version 6"}},
		{"opset 19", func() []byte {
			g := tinyNet()
			g.m.OpsetImports[0].Version = 19
			return g.bytes()
		}, true, []string{"opset version 19"}},
		{"IR version 2", func() []byte {
			g := tinyNet()
			g.m.IRVersion = 2
			return g.bytes()
		}, true, []string{"IR version 2"}},
		{"dynamic height", func() []byte {
			g := tinyNet()
			g.m.Graph.Input[0].Shape[2] = onnxpb.Dim{Value: -1, Param: "H"}
			return g.bytes()
		}, true, []string{"dimension 2 is dynamic"}},
		{"3-D convolution", func() []byte {
			return newTestGraph(13).input("x", 1, 1, 3, 3, 3).init("w", dims(1, 1, 2, 2, 2), make([]float32, 8)).
				node("Conv", "conv3d", []string{"x", "w"}, []string{"y"}).output("y").bytes()
		}, true, []string{"3-D convolution", `"conv3d"`}},
		{"maxpool indices", func() []byte {
			return newTestGraph(13).input("x", 1, 1, 4, 4).
				node("MaxPool", "mp", []string{"x"}, []string{"y", "idx"}, atInts("kernel_shape", 2, 2)).output("y").bytes()
		}, true, []string{"Indices"}},
		{"batchnorm training", func() []byte {
			g := newTestGraph(15).input("x", 1, 2, 3, 3)
			for _, n := range []string{"s", "b", "m", "v"} {
				g.init(n, dims(2), []float32{1, 1})
			}
			return g.node("BatchNormalization", "bn", []string{"x", "s", "b", "m", "v"}, []string{"y"}, atInt("training_mode", 1)).output("y").bytes()
		}, true, []string{"training_mode"}},
		{"output not produced", func() []byte { return tinyNet().output("ghost").bytes() }, false, []string{`"ghost"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse(tc.model(), Options{Threads: 1})
			if err == nil {
				m.Close()
				t.Fatal("Parse succeeded, want an error")
			}
			if !errors.Is(err, ErrInvalidModel) {
				t.Errorf("error %q does not wrap ErrInvalidModel", err)
			}
			if got := errors.Is(err, ErrUnsupported); got != tc.unsupported {
				t.Errorf("errors.Is(err, ErrUnsupported) = %v, want %v (%v)", got, tc.unsupported, err)
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %s", err, s)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	if _, err := Load(t.TempDir()+"/none.onnx", Options{}); err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
}

func TestOptions(t *testing.T) {
	if _, err := Parse(tinyNet().bytes(), Options{Threads: -1}); err == nil {
		t.Error("negative Threads accepted")
	}
	if _, err := Parse(tinyNet().bytes(), Options{Embedding: "nope"}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown embedding name: error %v", err)
	}
	b := tinyNet().bytes()
	sum := sha256.Sum256(b)
	m, err := Parse(b, Options{Threads: 1, Embedding: "c"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.ID() != hex.EncodeToString(sum[:]) {
		t.Errorf("ID() = %s, want the SHA-256 of the file", m.ID())
	}
	if m.EmbeddingName() != "c" || m.EmbeddingDim() != 3 {
		t.Errorf("override: embedding %q dim %d, want c, 3", m.EmbeddingName(), m.EmbeddingDim())
	}
}

func TestRunBadInput(t *testing.T) {
	m := tinyNet().parse(t, Options{Threads: 1})
	ctx := context.Background()
	ok := make([]float32, 2*2*16)
	cases := []struct {
		name string
		in   map[string]*Tensor
	}{
		{"missing", map[string]*Tensor{}},
		{"wrong shape", map[string]*Tensor{"x": {Shape: []int{2, 2, 4, 5}, Data: make([]float32, 80)}}},
		{"short data", map[string]*Tensor{"x": {Shape: []int{2, 2, 4, 4}, Data: ok[:10]}}},
		{"zero batch", map[string]*Tensor{"x": {Shape: []int{0, 2, 4, 4}}}},
		{"extra input", map[string]*Tensor{"x": {Shape: []int{2, 2, 4, 4}, Data: ok}, "z": {}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := m.Run(ctx, tc.in); !errors.Is(err, ErrBadInput) {
				t.Fatalf("error %v, want ErrBadInput", err)
			}
		})
	}
	out, err := m.Run(ctx, map[string]*Tensor{"x": {Shape: []int{2, 2, 4, 4}, Data: ok}})
	if err != nil || !equalShape(out["y"].Shape, []int{2, 3, 4, 4}) {
		t.Fatalf("valid run: %v, %v", out, err)
	}
	var f Features
	if err := m.Extract(ctx, &f, ok[:31], 1); !errors.Is(err, ErrBadInput) {
		t.Fatalf("Extract with a short batch: %v, want ErrBadInput", err)
	}
	if got := m.Inputs(); len(got) != 1 || got[0].Name != "x" || !equalShape(got[0].Shape, []int{-1, 2, 4, 4}) || got[0].DType != Float32 {
		t.Errorf("Inputs() = %+v", got)
	}
	if got := m.Outputs(); len(got) != 1 || got[0].Name != "y" || !equalShape(got[0].Shape, []int{-1, 3, 4, 4}) {
		t.Errorf("Outputs() = %+v", got)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.Run(cctx, map[string]*Tensor{"x": {Shape: []int{2, 2, 4, 4}, Data: ok}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v", err)
	}
	m.Close()
	if err := m.Extract(ctx, &f, ok[:32], 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Extract after Close: %v", err)
	}
}
