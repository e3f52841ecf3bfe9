//go:build amd64 && !purego

package gemm

func wino4Vert(_ bool, d, s *[6][wino4Row]float32, width int) { wino4VertGeneric(d, s, width) }

func wino4Horiz(_ bool, s *[wino4Row]float32, v *[6][]float32) { wino4HorizGeneric(s, v) }

func wino4Out(_ bool, m []float32, step, n int, r *[4][wino4Row]float32) {
	wino4OutGeneric(m, step, n, r)
}

func epiRow(_ bool, dst []float32, src *[wino4Row]float32, add []float32, bias float32, e *Epilogue) {
	epiRowGeneric(dst, src[:], add, bias, e)
}
