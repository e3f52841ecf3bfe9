package onnxpb

import (
	"fmt"
	"os"
	"testing"

	"github.com/tlserve/tlserve/internal/refdata"
)

// benchModel returns a one-node model whose initializer holds n floats,
// in raw_data or in float_data.
func benchModel(n int, raw bool) *Model {
	t := &Tensor{Name: "w", Dims: []int64{int64(n)}, DataType: Float}
	if raw {
		t.RawData = make([]byte, 4*n)
	} else {
		t.FloatData = make([]float32, n)
	}
	return &Model{
		IRVersion:    7,
		OpsetImports: []OperatorSetID{{Version: 13}},
		Graph: &Graph{
			Nodes:       []*Node{{OpType: "Add", Input: []string{"x", "w"}, Output: []string{"y"}}},
			Initializer: []*Tensor{t},
			Input:       []*ValueInfo{{Name: "x", ElemType: Float, HasShape: true, Shape: []Dim{{Value: int64(n)}}}},
			Output:      []*ValueInfo{{Name: "y", ElemType: Float, HasShape: true, Shape: []Dim{{Value: int64(n)}}}},
		},
	}
}

func BenchmarkDecodeModel(b *testing.B) {
	for _, n := range []int{1 << 10, 1 << 20, 25_600_000} {
		for _, raw := range []bool{true, false} {
			field := "float_data"
			if raw {
				field = "raw_data"
			}
			b.Run(fmt.Sprintf("%s/n=%d", field, n), func(b *testing.B) {
				enc := EncodeModel(benchModel(n, raw))
				b.SetBytes(int64(len(enc)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := DecodeModel(enc); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkDecodeSqueezenet(b *testing.B) {
	enc, err := os.ReadFile(refdata.SqueezeNetFile(b))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := DecodeModel(enc)
		if err != nil {
			b.Fatal(err)
		}
		for _, t := range m.Graph.Initializer {
			if _, err := t.Float32s(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkEncodeModel(b *testing.B) {
	for _, n := range []int{1 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("raw_data/n=%d", n), func(b *testing.B) {
			m := benchModel(n, true)
			b.SetBytes(int64(4 * n))
			b.ReportAllocs()
			for b.Loop() {
				EncodeModel(m)
			}
		})
	}
}
