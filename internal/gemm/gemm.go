package gemm

// Activation selects the element-wise function applied after the bias and
// residual add of an Epilogue.
type Activation uint8

// Activations supported by Epilogue.
const (
	None Activation = iota // identity
	Relu                   // max(x, 0)
	Clip                   // min(max(x, Min), Max)
)

// Epilogue describes the work fused into the store of each output tile.
// The zero value (or a nil *Epilogue) stores the plain product.
type Epilogue struct {
	Bias  []float32 // len >= M, Bias[i] is added to row i; nil for none
	Add   []float32 // residual, element (i,j) at Add[i*LdAdd+j]; nil for none
	LdAdd int       // row stride of Add
	Act   Activation
	Min   float32 // lower bound for Clip
	Max   float32 // upper bound for Clip
}

// Blocking parameters. kc bounds the depth of one packed B block (so a B
// micro-panel of kc x nr floats stays close to L1), nc bounds its width, mc
// the number of A rows swept per packed B micro-panel (so the A block stays
// in L2). They are variables only so that the tuning test can compare
// settings in one process; see docs/decisions.md "gemm: kernel and blocking".
var (
	kc = 256
	nc = 256
	mc = 288
)

// nrMax is the widest micro-kernel; WorkspaceSize rounds to it.
const nrMax = 64

// PackedA is an M x K row-major matrix (typically convolution weights) packed
// once into the micro-panel order of the micro-kernel selected at PackA time:
// panels of RowTile() rows, each stored column by column (k-major) and
// zero-padded to a full panel.
type PackedA struct {
	m, k int
	kern *kernel
	data []float32
}

// M returns the number of rows of the packed matrix.
func (p *PackedA) M() int { return p.m }

// K returns the number of columns of the packed matrix.
func (p *PackedA) K() int { return p.k }

// RowTile returns the row alignment required by RowRange for matrices packed
// with the currently selected kernel.
func RowTile() int { return impl.mr }

// ColTile returns the column width of the currently selected kernel's
// tiles: splitting N into multiples of it avoids partial tiles.
func ColTile() int { return impl.nr }

// RowTile returns the row alignment required by p.RowRange.
func (p *PackedA) RowTile() int { return p.kern.mr }

// PackA packs the m x k row-major matrix a (element (i,k) at a[i*lda+k]) for
// MulPacked. It panics if the dimensions are negative, lda < k, or a is too
// short.
func PackA(m, k int, a []float32, lda int) *PackedA {
	if m < 0 || k < 0 {
		panic("gemm: negative dimension")
	}
	if lda < max(k, 1) {
		panic("gemm: lda < k")
	}
	if m > 0 && k > 0 && len(a) < (m-1)*lda+k {
		panic("gemm: A slice too short")
	}
	kern := impl
	mr := kern.mr
	panels := (m + mr - 1) / mr
	p := &PackedA{m: m, k: k, kern: kern, data: make([]float32, panels*mr*k)}
	packA(p.data, m, k, a, lda, false, 1, mr)
	return p
}

// packA writes op(a) scaled by alpha (element (i,kk) of op(a) is
// a[i*lda+kk], or a[kk*lda+i] when trans) into dst as zero-padded panels of
// mr rows stored k-major.
func packA(dst []float32, m, k int, a []float32, lda int, trans bool, alpha float32, mr int) {
	for i0 := 0; i0 < m; i0 += mr {
		panel := dst[(i0/mr)*mr*k : (i0/mr+1)*mr*k]
		rows := min(mr, m-i0)
		for r := 0; r < mr; r++ {
			if r >= rows {
				for kk := 0; kk < k; kk++ {
					panel[kk*mr+r] = 0
				}
				continue
			}
			i := i0 + r
			if trans {
				for kk := 0; kk < k; kk++ {
					panel[kk*mr+r] = alpha * a[kk*lda+i]
				}
				continue
			}
			row := a[i*lda : i*lda+k]
			for kk, v := range row {
				panel[kk*mr+r] = alpha * v
			}
		}
	}
}

// RowRange returns a view of rows [lo,hi) of p sharing its storage, for
// splitting M across goroutines. lo must be a multiple of p.RowTile(), and
// hi must be a multiple of it too unless hi == p.M(); otherwise RowRange
// panics.
func (p *PackedA) RowRange(lo, hi int) *PackedA {
	mr := p.kern.mr
	if lo < 0 || hi < lo || hi > p.m {
		panic("gemm: row range out of bounds")
	}
	if lo%mr != 0 || (hi%mr != 0 && hi != p.m) {
		panic("gemm: row range not aligned to RowTile")
	}
	start := (lo / mr) * mr * p.k
	end := ((hi + mr - 1) / mr) * mr * p.k
	return &PackedA{m: hi - lo, k: p.k, kern: p.kern, data: p.data[start:end:end]}
}

// WorkspaceSize returns the number of float32 scratch elements MulPacked
// needs for a product with inner dimension k and n output columns.
func WorkspaceSize(k, n int) int {
	if k <= 0 || n <= 0 {
		return 0
	}
	// Only the last partial panel of B is ever packed by MulPacked.
	return min(k, kc) * nrMax
}

// packBSize is the scratch Sgemm needs to pack a transposed B.
func packBSize(k, n int) int {
	if k <= 0 || n <= 0 {
		return 0
	}
	// Panels are as wide as the kernel's nr <= nrMax; the last one is padded.
	return min(k, kc) * (min(n, nc) + nrMax)
}

// SgemmWorkspaceSize returns the number of float32 scratch elements with
// which Sgemm runs without allocating.
func SgemmWorkspaceSize(m, n, k int) int {
	if m <= 0 || n <= 0 || k <= 0 {
		return 0
	}
	return packBSize(k, n) + roundUp(m, maxMR)*k
}

func roundUp(x, to int) int { return (x + to - 1) / to * to }

// MulPacked computes, for i < a.M(), j < n:
//
//	dst[i*ldc+j] = act(sum_k A[i,k]*b[k*ldb+j] + Bias[i] + Add[i*LdAdd+j])
//
// with ep nil meaning no bias, no residual and no activation. ep.Add may be
// dst itself with LdAdd == ldc (an in-place residual); otherwise it must not
// overlap dst, and b must not overlap dst. It is
// single-threaded; callers split N (column ranges of b and dst) or M (via
// a.RowRange) across goroutines. ws is scratch of at least
// WorkspaceSize(a.K(), n) floats; MulPacked does not allocate. It panics on
// inconsistent sizes.
func MulPacked(dst []float32, ldc int, a *PackedA, b []float32, ldb, n int, ep *Epilogue, ws []float32) {
	m, k := a.m, a.k
	if n < 0 {
		panic("gemm: negative dimension")
	}
	if m == 0 || n == 0 {
		return
	}
	if ldc < n {
		panic("gemm: ldc < n")
	}
	if len(dst) < (m-1)*ldc+n {
		panic("gemm: dst slice too short")
	}
	if k > 0 {
		if ldb < n {
			panic("gemm: ldb < n")
		}
		if len(b) < (k-1)*ldb+n {
			panic("gemm: B slice too short")
		}
	}
	if len(ws) < WorkspaceSize(k, n) {
		panic("gemm: workspace too small")
	}
	var e Epilogue
	if ep != nil {
		e = *ep
		if e.Bias != nil && len(e.Bias) < m {
			panic("gemm: bias slice too short")
		}
		if e.Add != nil {
			if e.LdAdd < n {
				panic("gemm: LdAdd < n")
			}
			if len(e.Add) < (m-1)*e.LdAdd+n {
				panic("gemm: residual slice too short")
			}
		}
		if e.Act > Clip {
			panic("gemm: unknown activation")
		}
	}
	run(dst, ldc, a, b, ldb, false, n, &e, false, ws)
}

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices,
// where op(A) is m x k (A is k x m when transA) and op(B) is k x n (B is
// n x k when transB). As in BLAS, C is not read when beta == 0. ws is
// scratch; with at least SgemmWorkspaceSize(m, n, k) floats Sgemm does not
// allocate, otherwise it allocates what it needs. It panics on inconsistent
// sizes.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, ws []float32) {
	if m < 0 || n < 0 || k < 0 {
		panic("gemm: negative dimension")
	}
	if m == 0 || n == 0 {
		return
	}
	if ldc < n || len(c) < (m-1)*ldc+n {
		panic("gemm: C slice too short")
	}
	if k > 0 {
		ar, ac := m, k
		if transA {
			ar, ac = k, m
		}
		if lda < ac || len(a) < (ar-1)*lda+ac {
			panic("gemm: A slice too short")
		}
		br, bc := k, n
		if transB {
			br, bc = n, k
		}
		if ldb < bc || len(b) < (br-1)*ldb+bc {
			panic("gemm: B slice too short")
		}
	}
	empty := k == 0 || alpha == 0
	// With beta == 0 and a non-empty product the driver overwrites C.
	if beta != 1 && (beta != 0 || empty) {
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			if beta == 0 {
				clear(row)
				continue
			}
			for j := range row {
				row[j] *= beta
			}
		}
	}
	if empty {
		return
	}
	if transB && !transA && m <= smallM {
		dotRows(m, n, k, alpha, a, lda, b, ldb, beta != 0, c, ldc)
		return
	}
	kern := impl
	wb := packBSize(k, n)
	need := wb + roundUp(m, kern.mr)*k
	if len(ws) < need {
		ws = make([]float32, need)
	}
	pa := &PackedA{m: m, k: k, kern: kern, data: ws[wb : wb+roundUp(m, kern.mr)*k]}
	packA(pa.data, m, k, a, lda, transA, alpha, kern.mr)
	run(c, ldc, pa, b, ldb, transB, n, &Epilogue{}, beta != 0, ws[:wb])
}

// Tile flags understood by every micro-kernel.
const (
	flagAccum = 1 << iota // add the existing C tile to the product
	flagBias              // add bias[r] to row r
	flagAdd               // add the residual tile
	flagRelu              // max(x, 0)
	flagClip              // min(max(x, min), max)
)

// tileArgs is the argument block of one micro-kernel call. The layout is
// mirrored by the assembly (offsets in kernel_amd64.s); keep them in sync.
type tileArgs struct {
	a     *float32 // packed A panel at the current k offset, mr floats per k
	b     *float32 // B, one row of the tile per k, rows ldb bytes apart
	c     *float32 // C tile, rows ldc bytes apart
	bias  *float32 // bias of the tile's first row (flagBias)
	add   *float32 // residual tile (flagAdd), rows ldadd bytes apart
	k     int
	ldb   int // bytes
	ldc   int // bytes
	ldadd int // bytes
	rows  int // valid rows, 1..mr
	cols  int // valid columns, 1..nr
	flags int
	masks uint64 // AVX-512 column masks, 16 bits per vector
	lo    float32
	hi    float32
}

// kernel is one implementation of the micro-kernel: it computes tiles of
// at most mr x nr elements.
type kernel struct {
	name string
	id   kernelID
	mr   int
	nr   int
}

// kernelID names a micro-kernel. The driver dispatches with a switch
// rather than a func value so that the tileArgs block stays on the stack.
type kernelID uint8

const (
	kernGeneric kernelID = iota
	kernAVX2
	kernAVX512
)

// maxMR is the largest mr of any kernel; it bounds Sgemm's workspace.
const maxMR = 8

// impl is the kernel used by PackA and Sgemm. Tests switch it to compare
// every implementation available on the machine with the reference.
var impl = bestKernel()

// run is the blocked driver shared by MulPacked and Sgemm: B is op(b)
// (transB: element (k,j) at b[j*ldb+k]); accum adds the product to dst.
func run(dst []float32, ldc int, a *PackedA, b []float32, ldb int, transB bool, n int, e *Epilogue, accum bool, ws []float32) {
	m, k, kern := a.m, a.k, a.kern
	mr, nr := kern.mr, kern.nr
	var t tileArgs
	t.ldc = ldc * 4
	// The kernels read a row-major B in place: packing would cost a
	// memory-bound copy of all of B per call (measured 25-30% of the time
	// at k=576). Only a transposed B, and the last partial tile of the AVX2
	// kernel (which reads full 16-column rows), are packed into ws.
	packAll := transB
	packTail := !transB && kern.id == kernAVX2
	t.ldadd = e.LdAdd * 4
	t.lo, t.hi = e.Min, e.Max
	epi := 0
	if e.Bias != nil {
		epi |= flagBias
	}
	if e.Add != nil {
		epi |= flagAdd
	}
	switch e.Act {
	case Relu:
		epi |= flagRelu
	case Clip:
		epi |= flagClip
	}
	if k == 0 {
		// The product is empty: C = epilogue(0) (or C itself when accumulating).
		epilogueOnly(dst, ldc, m, n, e, epi, accum)
		return
	}
	for jc := 0; jc < n; jc += nc {
		ncur := min(nc, n-jc)
		kb := (k + kc - 1) / kc
		kstep := (k + kb - 1) / kb
		for pc := 0; pc < k; pc += kstep {
			kcur := min(kstep, k-pc)
			tail := ncur / nr * nr
			switch {
			case packAll:
				packB(ws, b, ldb, transB, pc, kcur, jc, ncur, nr)
			case packTail && tail < ncur:
				packB(ws, b, ldb, false, pc, kcur, jc+tail, ncur-tail, nr)
			}
			flags := 0
			if accum || pc > 0 {
				flags |= flagAccum
			}
			// Bias and residual go in with the first K block, so that Add
			// may be dst itself (each element is read just before it is
			// first written); the activation needs the complete sum.
			if pc == 0 {
				flags |= epi & (flagBias | flagAdd)
			}
			if pc+kcur == k {
				flags |= epi & (flagRelu | flagClip)
			}
			t.k = kcur
			t.flags = flags
			mcb := max(mc/mr*mr, mr)
			for ic := 0; ic < m; ic += mcb {
				iend := min(ic+mcb, m)
				for jr := 0; jr < ncur; jr += nr {
					cols := min(nr, ncur-jr)
					t.cols = cols
					t.masks = colMasks(cols)
					j := jc + jr
					switch {
					case packAll:
						t.b, t.ldb = &ws[(jr/nr)*kcur*nr], nr*4
					case packTail && cols < nr:
						t.b, t.ldb = &ws[0], nr*4
					default:
						t.b, t.ldb = &b[pc*ldb+j], ldb*4
					}
					for ir := ic; ir < iend; ir += mr {
						t.rows = min(mr, m-ir)
						t.a = &a.data[ir*k+pc*mr]
						t.c = &dst[ir*ldc+j]
						if flags&flagBias != 0 {
							t.bias = &e.Bias[ir]
						}
						if flags&flagAdd != 0 {
							t.add = &e.Add[ir*e.LdAdd+j]
						}
						tile(kern.id, &t)
					}
				}
			}
		}
	}
}

// colMasks returns the AVX-512 lane masks for a tile of cols columns, 16
// bits per 16-float vector.
func colMasks(cols int) uint64 {
	if cols >= 64 {
		return ^uint64(0)
	}
	return 1<<uint(cols) - 1
}

// packB copies rows [pc,pc+kcur) and columns [jc,jc+ncur) of op(b) into ws
// as panels of nr columns (kcur*nr floats each, row by row), zero-padding the
// last panel.
func packB(ws, b []float32, ldb int, trans bool, pc, kcur, jc, ncur, nr int) {
	for jr := 0; jr < ncur; jr += nr {
		w := min(nr, ncur-jr)
		panel := ws[(jr/nr)*kcur*nr : (jr/nr+1)*kcur*nr]
		if trans {
			// Column j of the panel is a contiguous run of row jc+jr+j of
			// b. Transposing in strips of 16 k keeps the reads sequential
			// and the written panel rows few enough to stay in L1 (a plain
			// gather down columns of b thrashes L1 sets when ldb is a
			// multiple of 1024 floats).
			const strip = 16
			for k0 := 0; k0 < kcur; k0 += strip {
				k1 := min(k0+strip, kcur)
				for j := 0; j < w; j++ {
					src := b[(jc+jr+j)*ldb+pc+k0 : (jc+jr+j)*ldb+pc+k1]
					for t, v := range src {
						panel[(k0+t)*nr+j] = v
					}
				}
				if w < nr {
					for kk := k0; kk < k1; kk++ {
						clear(panel[kk*nr+w : kk*nr+nr])
					}
				}
			}
			continue
		}
		for kk := 0; kk < kcur; kk++ {
			src := b[(pc+kk)*ldb+jc+jr:]
			dst := panel[kk*nr : kk*nr+nr]
			copy(dst[:w], src[:w])
			clear(dst[w:])
		}
	}
}

// epilogueOnly handles k == 0, where the product is a zero matrix.
func epilogueOnly(dst []float32, ldc, m, n int, e *Epilogue, epi int, accum bool) {
	for i := 0; i < m; i++ {
		row := dst[i*ldc : i*ldc+n]
		for j := range row {
			var v float32
			if accum {
				v = row[j]
			}
			row[j] = applyEpilogue(v, e.Bias, e.Add, e.LdAdd, i, j, epi, e.Min, e.Max)
		}
	}
}

// applyEpilogue adds the bias and residual of element (i,j) to v and
// applies the activation selected by flags.
func applyEpilogue(v float32, bias, add []float32, ldadd, i, j, flags int, lo, hi float32) float32 {
	if flags&flagBias != 0 {
		v += bias[i]
	}
	if flags&flagAdd != 0 {
		v += add[i*ldadd+j]
	}
	if flags&flagRelu != 0 {
		v = max(v, 0)
	}
	if flags&flagClip != 0 {
		v = min(max(v, lo), hi)
	}
	return v
}
