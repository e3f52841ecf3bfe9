package onnxmodel

import (
	"context"
	"fmt"
	"testing"

	"github.com/tlserve/tlserve/internal/onnxpb"
)

// shapeTailModel returns the tail PyTorch exports put before a classifier,
// x.view(x.size(0), -1), as ONNX: Shape → Gather(0) → Unsqueeze → Concat
// with [-1] → Reshape, on an input [N,3,4,5] with a dynamic batch.
func shapeTailModel(opset int64) *onnxpb.Model {
	i64 := func(name string, dims []int64, v ...int64) *onnxpb.Tensor {
		return &onnxpb.Tensor{Name: name, Dims: dims, DataType: onnxpb.Int64, Int64Data: v}
	}
	unsq := &onnxpb.Node{Name: "unsqueeze", OpType: "Unsqueeze", Input: []string{"n", "axes0"}, Output: []string{"n1"}}
	inits := []*onnxpb.Tensor{i64("zero", nil, 0), i64("minus1", []int64{1}, -1)}
	if opset < 13 {
		unsq.Input = unsq.Input[:1]
		unsq.Attribute = []*onnxpb.Attribute{aInts("axes", 0)}
	} else {
		inits = append(inits, i64("axes0", []int64{1}, 0))
	}
	return &onnxpb.Model{
		IRVersion:    7,
		OpsetImports: []onnxpb.OperatorSetID{{Version: opset}},
		Graph: &onnxpb.Graph{
			Name: "shape_tail",
			Nodes: []*onnxpb.Node{
				{Name: "shape", OpType: "Shape", Input: []string{"x"}, Output: []string{"s"}},
				{Name: "gather", OpType: "Gather", Input: []string{"s", "zero"}, Output: []string{"n"}, Attribute: []*onnxpb.Attribute{aInt("axis", 0)}},
				unsq,
				{Name: "concat", OpType: "Concat", Input: []string{"n1", "minus1"}, Output: []string{"shp"}, Attribute: []*onnxpb.Attribute{aInt("axis", 0)}},
				{Name: "reshape", OpType: "Reshape", Input: []string{"x", "shp"}, Output: []string{"y"}},
			},
			Initializer: inits,
			Input: []*onnxpb.ValueInfo{{Name: "x", ElemType: onnxpb.Float, HasShape: true,
				Shape: []onnxpb.Dim{{Param: "N", Value: -1}, {Value: 3}, {Value: 4}, {Value: 5}}}},
			Output: []*onnxpb.ValueInfo{{Name: "y", ElemType: onnxpb.Float}},
		},
	}
}

// TestShapeTailFolds checks that the int64 shape arithmetic of a
// Shape→Gather→Unsqueeze→Concat→Reshape tail is folded at plan time for
// every batch size, leaving Reshape as the only kernel, and that the
// result is right.
func TestShapeTailFolds(t *testing.T) {
	for _, opset := range []int64{11, 13} {
		t.Run(fmt.Sprintf("opset%d", opset), func(t *testing.T) {
			m, err := Parse(onnxpb.EncodeModel(shapeTailModel(opset)), Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			for _, batch := range []int{1, 3} {
				p, err := m.plan(batch)
				if err != nil {
					t.Fatalf("batch %d: %v", batch, err)
				}
				var ops []string
				for _, s := range p.steps {
					ops = append(ops, s.n.opType)
				}
				if len(ops) != 1 || ops[0] != "Reshape" {
					t.Errorf("batch %d: plan runs %v, want only Reshape", batch, ops)
				}
				shp := p.infos[p.ids["shp"]]
				if shp.c == nil || len(shp.c.i) != 2 || shp.c.i[0] != int64(batch) || shp.c.i[1] != -1 {
					t.Errorf("batch %d: folded shape %+v, want constant [%d -1]", batch, shp.c, batch)
				}
				x := seq(batch, 3, 4, 5)
				out, err := m.Run(context.Background(), map[string]*Tensor{"x": {Shape: x.shape, Data: x.f}})
				if err != nil {
					t.Fatalf("batch %d: run: %v", batch, err)
				}
				y := out["y"]
				if !equalShape(y.Shape, []int{batch, 60}) {
					t.Fatalf("batch %d: output shape %v, want [%d 60]", batch, y.Shape, batch)
				}
				for k, v := range y.Data {
					if v != x.f[k] {
						t.Fatalf("batch %d: element %d is %g, want %g", batch, k, v, x.f[k])
					}
				}
			}
		})
	}
}
