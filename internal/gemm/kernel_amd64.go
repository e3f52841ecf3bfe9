//go:build amd64 && !purego

package gemm

// kernels returns the micro-kernels usable on this machine, best first.
func kernels() []*kernel { return []*kernel{generic} }

func bestKernel() *kernel { return generic }

// tile dispatches one micro-kernel call.
func tile(_ kernelID, p *tileArgs) { tileGeneric(p, generic.mr) }
