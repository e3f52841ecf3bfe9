package onnxmodel

import (
	"context"
	"testing"
)

// FuzzParse feeds mutated models to Parse: it must return a model or an
// error, never panic, and a model it accepts must run on zeros.
func FuzzParse(f *testing.F) {
	f.Add(tinyNet().bytes())
	f.Add(residualNet(f, 1).bytes())
	f.Add(newTestGraph(13).input("x", 1, 1, 4, 4).
		node("MaxPool", "mp", []string{"x"}, []string{"y"}, atInts("kernel_shape", 2, 2), atInt("ceil_mode", 1), atInts("strides", 3, 3)).
		node("AveragePool", "ap", []string{"y"}, []string{"z"}, atInts("kernel_shape", 1, 1)).
		output("z").bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b, Options{Threads: 2})
		if err != nil {
			return
		}
		defer m.Close()
		in := map[string]*Tensor{}
		for _, d := range m.Inputs() {
			shape := append([]int(nil), d.Shape...)
			if len(shape) > 0 && shape[0] < 0 {
				shape[0] = 1
			}
			size := shapeSize(shape)
			if size > 1<<20 {
				return
			}
			t := &Tensor{Shape: shape}
			if d.DType == Int64 {
				t.Int64 = make([]int64, size)
			} else {
				t.Data = make([]float32, size)
			}
			in[d.Name] = t
		}
		m.Run(context.Background(), in)
	})
}
