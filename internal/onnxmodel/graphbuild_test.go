package onnxmodel

import (
	"math/rand/v2"
	"testing"

	"github.com/tlserve/tlserve/internal/onnxpb"
)

// testGraph builds small ONNX models in tests.
type testGraph struct {
	m *onnxpb.Model
}

func newTestGraph(opset int64) *testGraph {
	return &testGraph{m: &onnxpb.Model{
		IRVersion:    8,
		OpsetImports: []onnxpb.OperatorSetID{{Version: opset}},
		Graph:        &onnxpb.Graph{Name: "test"},
	}}
}

// input declares a float input; a negative dimension is dynamic ("N").
func (g *testGraph) input(name string, shape ...int64) *testGraph {
	vi := &onnxpb.ValueInfo{Name: name, ElemType: onnxpb.Float, HasShape: true}
	for _, d := range shape {
		if d < 0 {
			vi.Shape = append(vi.Shape, onnxpb.Dim{Value: -1, Param: "N"})
		} else {
			vi.Shape = append(vi.Shape, onnxpb.Dim{Value: d})
		}
	}
	g.m.Graph.Input = append(g.m.Graph.Input, vi)
	return g
}

// init adds a float initializer.
func (g *testGraph) init(name string, shape []int64, f []float32) *testGraph {
	g.m.Graph.Initializer = append(g.m.Graph.Initializer, &onnxpb.Tensor{Name: name, Dims: shape, DataType: onnxpb.Float, FloatData: f})
	return g
}

// node adds a node of the default domain.
func (g *testGraph) node(op, name string, ins, outs []string, at ...*onnxpb.Attribute) *testGraph {
	g.m.Graph.Nodes = append(g.m.Graph.Nodes, &onnxpb.Node{Name: name, OpType: op, Input: ins, Output: outs, Attribute: at})
	return g
}

func (g *testGraph) output(names ...string) *testGraph {
	for _, n := range names {
		g.m.Graph.Output = append(g.m.Graph.Output, &onnxpb.ValueInfo{Name: n, ElemType: onnxpb.Float})
	}
	return g
}

func (g *testGraph) bytes() []byte { return onnxpb.EncodeModel(g.m) }

// parse loads the model or fails the test.
func (g *testGraph) parse(tb testing.TB, o Options) *Model {
	tb.Helper()
	m, err := Parse(g.bytes(), o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}

func atInts(name string, v ...int64) *onnxpb.Attribute {
	return &onnxpb.Attribute{Name: name, Type: onnxpb.AttrInts, Ints: v}
}

func atInt(name string, v int64) *onnxpb.Attribute {
	return &onnxpb.Attribute{Name: name, Type: onnxpb.AttrInt, I: v}
}

func atFloat(name string, v float32) *onnxpb.Attribute {
	return &onnxpb.Attribute{Name: name, Type: onnxpb.AttrFloat, F: v}
}

func atStr(name, v string) *onnxpb.Attribute {
	return &onnxpb.Attribute{Name: name, Type: onnxpb.AttrString, S: []byte(v)}
}

// randFloats returns n values uniform in [-1, 1).
func randFloats(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

func dims(s ...int) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}
