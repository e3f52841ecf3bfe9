//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

var (
	avx512 = &kernel{name: "avx512", id: kernAVX512, mr: 8, nr: 48}
	avx2   = &kernel{name: "avx2", id: kernAVX2, mr: 6, nr: 16}
)

// kernels returns the micro-kernels usable on this machine, best first.
func kernels() []*kernel {
	var ks []*kernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, avx512)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, avx2)
	}
	return append(ks, generic)
}

func bestKernel() *kernel { return kernels()[0] }

// tile dispatches one micro-kernel call.
func tile(id kernelID, p *tileArgs) {
	switch id {
	case kernAVX512:
		if p.cols <= 8 {
			tileColTail(p)
			return
		}
		// A last vector with at most 8 valid columns runs as a YMM half.
		nv := (p.cols + 15) / 16
		if p.cols-16*(nv-1) <= 8 {
			switch nv {
			case 2:
				tile512x2h(p)
			default:
				tile512x3h(p)
			}
			return
		}
		switch nv {
		case 1:
			tile512x1(p)
		case 2:
			tile512x2(p)
		default:
			tile512x3(p)
		}
	case kernAVX2:
		if p.cols == avx2.nr {
			tileAVX2(p)
			return
		}
		tileAVX2Partial(p)
	default:
		tileGeneric(p, generic.mr)
	}
}

// tileAVX2Partial computes a tile narrower than 16 columns into a full
// tile on the stack and stores its valid part with the Go epilogue: AVX2
// masked stores (VMASKMOVPS) into C measured ~7x slower per tile on AMD
// Zen 4 (BenchmarkTile/avx2/cols=1).
func tileAVX2Partial(p *tileArgs) {
	var tmp [6 * 16]float32
	q := *p
	q.c, q.ldc, q.flags, q.rows, q.cols = &tmp[0], 16*4, 0, avx2.mr, 16
	tileAVX2(&q)
	storeTile(p, tmp[:], 16)
}

// tileColTail computes an AVX-512 tile of at most 8 columns with the
// column kernels (vectors along the 8 rows of the A panel) and stores it
// with the Go epilogue.
func tileColTail(p *tileArgs) {
	var cm, acc [8 * 8]float32 // column-major products; row-major tile
	q := *p
	q.c = &cm[0]
	switch p.cols {
	case 1:
		tileCol1(&q)
	case 2:
		tileCol2(&q)
	case 3:
		tileCol3(&q)
	case 4:
		tileCol4(&q)
	case 5:
		tileCol5(&q)
	case 6:
		tileCol6(&q)
	case 7:
		tileCol7(&q)
	default:
		tileCol8(&q)
	}
	for j := 0; j < p.cols; j++ {
		for r := 0; r < p.rows; r++ {
			acc[r*8+j] = cm[j*8+r]
		}
	}
	storeTile(p, acc[:], 8)
}

// The assembly kernels implement tileGeneric for a tile of mr rows and the
// number of 16-float vectors in their name (tile512xN, AVX-512, column masks
// from p.masks; tile512xNh has an 8-float last vector) or a full mr x 16
// tile (tileAVX2, AVX2+FMA).

//go:noescape
func tile512x1(p *tileArgs)

//go:noescape
func tile512x2(p *tileArgs)

//go:noescape
func tile512x3(p *tileArgs)

//go:noescape
func tileAVX2(p *tileArgs)

//go:noescape
func tile512x2h(p *tileArgs)

//go:noescape
func tile512x3h(p *tileArgs)

func dot4(out *[4]float32, a, b0, b1, b2, b3 []float32) { dot4Generic(out, a, b0, b1, b2, b3) }

//go:noescape
func tileCol1(p *tileArgs)

//go:noescape
func tileCol2(p *tileArgs)

//go:noescape
func tileCol3(p *tileArgs)

//go:noescape
func tileCol4(p *tileArgs)

//go:noescape
func tileCol5(p *tileArgs)

//go:noescape
func tileCol6(p *tileArgs)

//go:noescape
func tileCol7(p *tileArgs)

//go:noescape
func tileCol8(p *tileArgs)

// The Winograd row kernels (fast: AVX-512) implement winoVertGeneric,
// winoHorizGeneric and winoOutGeneric; see _asm/gen.go for their slack
// requirements, which the fixed-size row buffers and winoSlack meet.

func winoVert(fast bool, d, s *[4][winoRow]float32, width int) {
	if fast {
		winoVert512(&d[0][0], &d[1][0], &d[2][0], &d[3][0], &s[0][0], &s[1][0], &s[2][0], &s[3][0], width)
		return
	}
	winoVertGeneric(d, s, width)
}

func winoHoriz(fast bool, s *[winoRow]float32, v0, v1, v2, v3 []float32) {
	if fast && len(v0) > 0 {
		_, _, _ = v1[len(v0)-1], v2[len(v0)-1], v3[len(v0)-1]
		winoHoriz512(&s[0], len(v0), &v0[0], &v1[0], &v2[0], &v3[0])
		return
	}
	winoHorizGeneric(s, v0, v1, v2, v3)
}

func winoOut(fast bool, m []float32, step, n int, r *[2][winoRow]float32) {
	if fast && n > 0 {
		// Whole vectors: the last stream is read up to 15 floats past n.
		_ = m[15*step+n-1+winoSlack/2]
		winoOut512(&m[0], step*4, n, &r[0][0], &r[1][0])
		return
	}
	winoOutGeneric(m, step, n, r)
}

//go:noescape
func winoVert512(d0, d1, d2, d3, s0, s1, s2, s3 *float32, n int)

//go:noescape
func winoHoriz512(s *float32, n int, v0, v1, v2, v3 *float32)

//go:noescape
func winoOut512(m *float32, step int, n int, r0, r1 *float32)
