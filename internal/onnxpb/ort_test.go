//go:build ort

package onnxpb_test

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/tlserve/tlserve/internal/onnxpb"
	"github.com/tlserve/tlserve/internal/ortrun"
)

// TestEncodedModelRunsInORT writes a model with EncodeModel (dynamic batch
// via dim_param, a float16 initializer written with Float32ToFloat16) and
// checks ONNX Runtime's result against a naive computation. It needs cgo
// and the ONNX Runtime library:
//
//	CGO_ENABLED=1 go test -tags ort ./internal/onnxpb -run ORT
func TestEncodedModelRunsInORT(t *testing.T) {
	if _, err := ortrun.FindLibrary(os.Getenv("ORT_LIB")); err != nil {
		t.Skip(err)
	}
	const in, out = 4, 3
	w := make([]float32, in*out)
	for i := range w {
		w[i] = float32(i%7-3) / 4
	}
	bias := []float32{0.5, -1.25, 3}
	braw := make([]byte, 0, 2*len(bias))
	for _, v := range bias {
		h := onnxpb.Float32ToFloat16(v)
		braw = append(braw, byte(h), byte(h>>8))
	}
	batch := []onnxpb.Dim{{Value: -1, Param: "N"}}
	m := &onnxpb.Model{
		IRVersion:    8,
		OpsetImports: []onnxpb.OperatorSetID{{Version: 13}},
		ProducerName: "onnxpb-test",
		Graph: &onnxpb.Graph{
			Name: "gemm_relu",
			Nodes: []*onnxpb.Node{
				{OpType: "Cast", Input: []string{"b16"}, Output: []string{"b"},
					Attribute: []*onnxpb.Attribute{{Name: "to", Type: onnxpb.AttrInt, I: int64(onnxpb.Float)}}},
				{OpType: "Gemm", Input: []string{"x", "w", "b"}, Output: []string{"g"},
					Attribute: []*onnxpb.Attribute{{Name: "alpha", Type: onnxpb.AttrFloat, F: 1}}},
				{OpType: "Relu", Input: []string{"g"}, Output: []string{"y"}},
			},
			Initializer: []*onnxpb.Tensor{
				{Name: "w", Dims: []int64{in, out}, DataType: onnxpb.Float, FloatData: w},
				{Name: "b16", Dims: []int64{out}, DataType: onnxpb.Float16, RawData: braw},
			},
			Input:  []*onnxpb.ValueInfo{{Name: "x", ElemType: onnxpb.Float, HasShape: true, Shape: append(batch, onnxpb.Dim{Value: in})}},
			Output: []*onnxpb.ValueInfo{{Name: "y", ElemType: onnxpb.Float, HasShape: true, Shape: append(batch, onnxpb.Dim{Value: out})}},
		},
	}
	path := filepath.Join(t.TempDir(), "gemm_relu.onnx")
	if err := os.WriteFile(path, onnxpb.EncodeModel(m), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := ortrun.Open(path, ortrun.Options{Library: os.Getenv("ORT_LIB")})
	if err != nil {
		t.Fatalf("ONNX Runtime rejects the encoded model: %v", err)
	}
	defer s.Close()
	for _, n := range []int{1, 3} {
		x := make([]float32, n*in)
		for i := range x {
			x[i] = float32(i) - 2.5
		}
		res, err := s.Run(map[string]ortrun.Tensor{"x": {Shape: []int64{int64(n), in}, Data: x}})
		if err != nil {
			t.Fatalf("batch %d: %v", n, err)
		}
		y := res["y"]
		if len(y.Data) != n*out {
			t.Fatalf("batch %d: output shape %v", n, y.Shape)
		}
		for r := range n {
			for c := range out {
				want := float64(bias[c])
				for k := range in {
					want += float64(x[r*in+k]) * float64(w[k*out+c])
				}
				want = math.Max(want, 0)
				if got := float64(y.Data[r*out+c]); math.Abs(got-want) > 1e-5 {
					t.Errorf("batch %d y[%d,%d] = %v, want %v", n, r, c, got, want)
				}
			}
		}
	}
}
