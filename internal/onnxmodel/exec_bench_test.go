package onnxmodel

import (
	"fmt"
	"testing"
)

// spinWork is a kernel body of about a microsecond per item. Each
// participant works on its own cache line.
func spinWork(j *job, chunk, lo, hi int) {
	s := &j.arg.(*[4][16]float32)[chunk][0]
	v := *s
	for range (hi - lo) * 300 {
		v = v*0.5 + 1
	}
	*s = v
}

// BenchmarkSplit measures the cost of one parallel loop, most of which, for
// small loops, is getting the helpers to run: at two threads a loop of n
// one-microsecond items would ideally take n/2 µs.
func BenchmarkSplit(b *testing.B) {
	for _, items := range []int{2, 64} {
		b.Run(fmt.Sprintf("items=%d", items), func(b *testing.B) {
			wp := newWorkerPool(1)
			defer wp.close()
			x := newExec(0, 2, wp)
			var state [4][16]float32
			b.ReportAllocs()
			for b.Loop() {
				x.split(items, spinWork, &state, nil, nil)
			}
		})
	}
}
