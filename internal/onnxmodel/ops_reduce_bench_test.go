package onnxmodel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkSoftmax times Softmax over ImageNet-sized score rows.
func BenchmarkSoftmax(b *testing.B) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, batch := range []int{1, 32} {
		x := randValue(r, batch, 1000)
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("n=%d/threads=%d", batch*1000, threads), func(b *testing.B) {
				benchOp(b, opRun{op: "Softmax", ins: []*value{x}, dynamic: []int{0}}, threads)
			})
		}
	}
}

// BenchmarkReduceMean times the global average pool some exports write as
// ReduceMean over the spatial axes.
func BenchmarkReduceMean(b *testing.B) {
	r := rand.New(rand.NewPCG(17, 18))
	x := randValue(r, 1, 576, 7, 7)
	b.Run(fmt.Sprintf("n=%d", shapeSize(x.shape)), func(b *testing.B) {
		benchOp(b, opRun{opset: 13, op: "ReduceMean", attrs: mkAttrs(aInts("axes", 2, 3)), ins: []*value{x}, dynamic: []int{0}}, 1)
	})
}
