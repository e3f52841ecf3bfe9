package onnxmodel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchOp compiles r once and times its kernel with the given thread count.
func benchOp(b *testing.B, r opRun, threads int) {
	b.Helper()
	k, outs, ws, err := compileOp(b, r)
	if err != nil {
		b.Fatal(err)
	}
	var wp *workerPool
	if threads > 1 {
		wp = testPool()
	}
	x := newExec(ws, threads, wp)
	b.ReportAllocs()
	b.SetBytes(int64(4 * shapeSize(outs[0].shape)))
	b.ResetTimer()
	for b.Loop() {
		k(x, r.ins, outs)
	}
}

// BenchmarkBinary times Add on CNN-sized tensors through each loop the
// builder can choose: same shape, per-channel [C,1,1], and the general
// strided walk (an operand broadcast along two separate axes).
func BenchmarkBinary(b *testing.B) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, c := range []int{16, 64, 256} {
		x := randValue(r, 1, c, 28, 28)
		cases := []struct {
			name string
			y    *value
		}{
			{"same", randValue(r, 1, c, 28, 28)},
			{"channel", randValue(r, c, 1, 1)},
			{"strided", randValue(r, 1, c, 1, 28)},
		}
		for _, tc := range cases {
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/n=%d/threads=%d", tc.name, shapeSize(x.shape), threads), func(b *testing.B) {
					benchOp(b, opRun{op: "Add", ins: []*value{x, tc.y}, dynamic: []int{0, 1}}, threads)
				})
			}
		}
	}
}

// BenchmarkActivation times the activations mobile networks use.
func BenchmarkActivation(b *testing.B) {
	r := rand.New(rand.NewPCG(13, 14))
	x := randValue(r, 1, 96, 56, 56)
	for _, op := range []string{"Relu", "HardSwish", "Sigmoid"} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/n=%d/threads=%d", op, shapeSize(x.shape), threads), func(b *testing.B) {
				benchOp(b, opRun{op: op, ins: []*value{x}, dynamic: []int{0}}, threads)
			})
		}
	}
}
