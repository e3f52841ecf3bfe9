//go:build !amd64 || purego

package gemm

// kernels returns the micro-kernels usable on this machine, best first.
func kernels() []*kernel { return []*kernel{generic} }

func bestKernel() *kernel { return generic }

// tile dispatches one micro-kernel call.
func tile(_ kernelID, p *tileArgs) { tileGeneric(p, generic.mr) }

func dot4(out *[4]float32, a, b0, b1, b2, b3 []float32) { dot4Generic(out, a, b0, b1, b2, b3) }
