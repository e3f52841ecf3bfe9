package onnxmodel

import (
	"fmt"
	"testing"
)

// spinWork is a kernel body of about a microsecond per item.
func spinWork(j *job, _, lo, hi int) {
	s := j.arg.(*[1]float32)
	for range (hi - lo) * 300 {
		s[0] = s[0]*0.5 + 1
	}
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
			var state [1]float32
			b.ReportAllocs()
			for b.Loop() {
				x.split(items, spinWork, &state, nil, nil)
			}
		})
	}
}
