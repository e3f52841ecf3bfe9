package onnxmodel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestGemmMatchesNaive checks Gemm, including products large enough for
// their output columns to be split across threads, against a float64
// reference, for every transposition and broadcast of C.
func TestGemmMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const m, n, k = 3, 520, 700 // 1.09M multiply-adds: split at 2 threads
	for _, tc := range []struct {
		transA, transB bool
		cShape         []int
	}{
		{false, true, []int{n}},
		{false, false, []int{m, n}},
		{true, true, []int{m, 1}},
		{true, false, nil},
	} {
		for _, threads := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("transA=%v/transB=%v/C=%v/threads=%d", tc.transA, tc.transB, tc.cShape, threads), func(t *testing.T) {
				as, bs := []int{m, k}, []int{k, n}
				if tc.transA {
					as = []int{k, m}
				}
				if tc.transB {
					bs = []int{n, k}
				}
				a, b := randFloats(r, m*k), randFloats(r, k*n)
				nd := &node{opType: "Gemm", inputs: []string{"a", "b"}, outputs: []string{"y"}, attrs: attrs{
					"transA": atInt("transA", boolInt(tc.transA)), "transB": atInt("transB", boolInt(tc.transB)),
					"alpha": atFloat("alpha", 0.5), "beta": atFloat("beta", 2)}}
				ins := []*value{{dtype: Float32, shape: as, f: a}, {dtype: Float32, shape: bs, f: b}}
				var c []float32
				if tc.cShape != nil {
					c = randFloats(r, shapeSize(tc.cShape))
					nd.inputs = append(nd.inputs, "c")
					ins = append(ins, &value{dtype: Float32, shape: tc.cShape, f: c})
				}
				want := make([]float32, m*n)
				for i := range m {
					for j := range n {
						s := 0.0
						for p := range k {
							av, bv := a[i*k+p], b[p*n+j]
							if tc.transA {
								av = a[p*m+i]
							}
							if tc.transB {
								bv = b[j*k+p]
							}
							s += float64(av) * float64(bv)
						}
						s *= 0.5
						if c != nil {
							ci := 0
							switch {
							case len(tc.cShape) == 1:
								ci = j
							case tc.cShape[1] == 1:
								ci = i
							default:
								ci = i*n + j
							}
							s += 2 * float64(c[ci])
						}
						want[i*n+j] = float32(s)
					}
				}
				out := runKernel(t, nd, threads, ins, []bool{false, true, true})[0]
				if i, ok := closeTo(out.f, want, 1e-4); !ok {
					t.Fatalf("element %d: got %g, want %g", i, out.f[i], want[i])
				}
			})
		}
	}
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
