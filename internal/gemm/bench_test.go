package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// resnetSizes are (m, n, k) GEMMs of ResNet50 convolutions at batch 1.
var resnetSizes = [][3]int{
	{64, 3136, 64}, {64, 3136, 576}, {256, 3136, 64},
	{128, 784, 1152}, {512, 784, 128},
	{256, 196, 2304}, {1024, 196, 256},
	{512, 49, 4608}, {2048, 49, 512},
}

// reportFlops reports the rate of flops floating-point operations over the
// benchmark's wall time and, where measurable, over the CPU time of the
// benchmark thread since cpu0 (immune to waiting for a shared CPU).
func reportFlops(b *testing.B, flops float64, cpu0 time.Duration) {
	b.Helper()
	b.ReportMetric(flops/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
	if d := threadCPU() - cpu0; cpu0 > 0 && d > 0 {
		b.ReportMetric(flops/float64(d.Nanoseconds()), "cpu-GFLOP/s")
	}
}

// benchFlops runs op b.N times on a locked OS thread, after resetting the
// timer, and reports the rate of flops floating-point operations per run
// with reportFlops.
func benchFlops(b *testing.B, flops float64, op func()) {
	b.Helper()
	defer lockThread()()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := threadCPU()
	for range b.N {
		op()
	}
	reportFlops(b, flops*float64(b.N), cpu0)
}

func benchKernels(b *testing.B, f func(b *testing.B)) {
	for _, k := range kernels() {
		b.Run(k.name, func(b *testing.B) {
			saved := impl
			impl = k
			defer func() { impl = saved }()
			f(b)
		})
	}
}

func BenchmarkMulPacked(b *testing.B) {
	benchKernels(b, func(b *testing.B) {
		for _, s := range resnetSizes {
			m, n, k := s[0], s[1], s[2]
			if impl == generic && m*n*k > 30e6 {
				continue
			}
			b.Run(fmt.Sprintf("m=%d/n=%d/k=%d", m, n, k), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 1))
				pa := PackA(m, k, randSlice(rng, m*k), k)
				bm := randSlice(rng, k*n)
				dst := make([]float32, m*n)
				ws := make([]float32, WorkspaceSize(k, n))
				ep := &Epilogue{Bias: randSlice(rng, m), Act: Relu}
				benchFlops(b, 2*float64(m)*float64(n)*float64(k), func() {
					MulPacked(dst, n, pa, bm, n, n, ep, ws)
				})
			})
		}
	})
}

// BenchmarkTile measures one micro-kernel tile (full width or a single
// column, with or without accumulation into C) with its operands in L1: the
// upper bound for MulPacked.
func BenchmarkTile(b *testing.B) {
	benchKernels(b, func(b *testing.B) {
		const k = 256
		mr, nr := impl.mr, impl.nr
		for _, cols := range []int{nr, 1} {
			for _, flags := range []int{0, flagAccum} {
				b.Run(fmt.Sprintf("cols=%d/flags=%d", cols, flags), func(b *testing.B) {
					rng := rand.New(rand.NewPCG(2, 2))
					a := randSlice(rng, mr*k)
					bm := randSlice(rng, nr*k)
					c := make([]float32, mr*nr)
					t := tileArgs{a: &a[0], b: &bm[0], c: &c[0], k: k, ldb: nr * 4, ldc: nr * 4,
						rows: mr, cols: cols, flags: flags, masks: colMasks(cols)}
					defer lockThread()()
					b.ReportAllocs()
					cpu0 := threadCPU()
					for range b.N {
						tile(impl.id, &t)
					}
					reportFlops(b, 2*float64(mr*cols*k)*float64(b.N), cpu0)
				})
			}
		}
	})
}

func BenchmarkSgemm(b *testing.B) {
	benchKernels(b, func(b *testing.B) {
		sizes := []struct {
			m, n, k int
			transB  bool
		}{
			{1, 1000, 2048, true}, {8, 1000, 2048, true}, {1, 1000, 2048, false},
			{64, 64, 64, false}, {256, 256, 256, false}, {256, 256, 256, true},
		}
		for _, s := range sizes {
			m, n, k := s.m, s.n, s.k
			b.Run(fmt.Sprintf("m=%d/n=%d/k=%d/transB=%v", m, n, k, s.transB), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(3, 3))
				a, bm := randSlice(rng, m*k), randSlice(rng, k*n)
				ldb := n
				if s.transB {
					ldb = k
				}
				c := make([]float32, m*n)
				ws := make([]float32, SgemmWorkspaceSize(m, n, k))
				benchFlops(b, 2*float64(m)*float64(n)*float64(k), func() {
					Sgemm(false, s.transB, m, n, k, 1, a, k, bm, ldb, 0, c, n, ws)
				})
			})
		}
	})
}

// im2col3x3 lowers a padded-by-1 3x3 stride-1 convolution input (c x h x w)
// to the (c*9) x (h*w) matrix of the GEMM formulation.
func im2col3x3(dst, src []float32, c, h, w int) {
	for ci := 0; ci < c; ci++ {
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				row := dst[((ci*3+i)*3+j)*h*w:]
				for y := 0; y < h; y++ {
					iy := y + i - 1
					for x := 0; x < w; x++ {
						ix := x + j - 1
						var v float32
						if iy >= 0 && iy < h && ix >= 0 && ix < w {
							v = src[ci*h*w+iy*w+ix]
						}
						row[y*w+x] = v
					}
				}
			}
		}
	}
}

// BenchmarkConv3x3 compares Winograd3x3 with im2col + MulPacked on the 3x3
// convolutions of ResNet50 at batch 1 (pad 1, stride 1). GFLOP/s counts the
// direct convolution's 2*K*C*9*H*W flops for both, so it compares times.
func BenchmarkConv3x3(b *testing.B) {
	for _, s := range [][2]int{{64, 56}, {128, 28}, {256, 14}, {512, 7}} {
		ch, hw := s[0], s[1]
		rng := rand.New(rand.NewPCG(4, 4))
		w := randSlice(rng, ch*ch*9)
		src := randSlice(rng, ch*hw*hw)
		dst := make([]float32, ch*hw*hw)
		ep := &Epilogue{Bias: randSlice(rng, ch), Act: Relu}
		flops := 2 * float64(ch*ch*9*hw*hw)
		b.Run(fmt.Sprintf("c=%d/hw=%d/im2col", ch, hw), func(b *testing.B) {
			pa := PackA(ch, ch*9, w, ch*9)
			col := make([]float32, ch*9*hw*hw)
			ws := make([]float32, WorkspaceSize(ch*9, hw*hw))
			benchFlops(b, flops, func() {
				im2col3x3(col, src, ch, hw, hw)
				MulPacked(dst, hw*hw, pa, col, hw*hw, hw*hw, ep, ws)
			})
		})
		b.Run(fmt.Sprintf("c=%d/hw=%d/winograd", ch, hw), func(b *testing.B) {
			wg := NewWinograd3x3(ch, ch, w)
			g := WinogradGeom{H: hw, W: hw, PadTop: 1, PadLeft: 1, OH: hw, OW: hw}
			ws := make([]float32, wg.WorkspaceSize(g.Tiles()))
			benchFlops(b, flops, func() {
				wg.Conv(dst, src, g, 0, g.Tiles(), ep, ws)
			})
		})
	}
}
