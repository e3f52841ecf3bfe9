//go:build !amd64 || purego

package gemm

// kernels returns the micro-kernels usable on this machine, best first.
func kernels() []*kernel { return []*kernel{generic} }

func bestKernel() *kernel { return generic }

// tile dispatches one micro-kernel call.
func tile(_ kernelID, p *tileArgs) { tileGeneric(p, generic.mr) }

func dot4(out *[4]float32, a, b0, b1, b2, b3 []float32) { dot4Generic(out, a, b0, b1, b2, b3) }

func winoVert(_ bool, d, s *[4][winoRow]float32, width int) { winoVertGeneric(d, s, width) }

func winoHoriz(_ bool, s *[winoRow]float32, v0, v1, v2, v3 []float32) {
	winoHorizGeneric(s, v0, v1, v2, v3)
}

func winoOut(_ bool, m []float32, step, n int, r *[2][winoRow]float32) {
	winoOutGeneric(m, step, n, r)
}
