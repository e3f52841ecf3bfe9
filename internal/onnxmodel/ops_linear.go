package onnxmodel

import (
	"fmt"

	"github.com/tlserve/tlserve/internal/gemm"
)

// opsLinear holds the matrix products.
var opsLinear = map[string]opSpec{
	"Gemm":   {build: buildGemm},
	"MatMul": {build: buildMatMul},
}

// gemmPlan is a Gemm node: Y = alpha·op(A)·op(B) + beta·C.
type gemmPlan struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	cShape         []int // C's shape right-aligned to rank 2, nil without C
	cols           int   // output columns per parallel item
	wsLen          int   // Sgemm workspace per item
}

// gemmSplitMACs is the product size from which a Gemm's output columns are
// split across threads (the batch-1 classifier of ResNet50, 2M
// multiply-adds reading 8 MB of weights, took 0.43 ms on one thread).
const gemmSplitMACs = 1 << 20

func buildGemm(p *planCtx, n *node, ins []info) ([]info, kernel, error) {
	if len(ins) < 2 || len(ins) > 3 || ins[0].dtype != Float32 || ins[1].dtype != Float32 {
		return nil, nil, fmt.Errorf("want float inputs A, B and optional C")
	}
	a, b := ins[0], ins[1]
	if len(a.shape) != 2 || len(b.shape) != 2 {
		return nil, nil, fmt.Errorf("A %v and B %v must be matrices", a.shape, b.shape)
	}
	gp := &gemmPlan{transA: n.attrs.int("transA", 0) != 0, transB: n.attrs.int("transB", 0) != 0,
		alpha: n.attrs.float("alpha", 1), beta: n.attrs.float("beta", 1)}
	gp.m, gp.k = a.shape[0], a.shape[1]
	if gp.transA {
		gp.m, gp.k = gp.k, gp.m
	}
	kb, nb := b.shape[0], b.shape[1]
	if gp.transB {
		kb, nb = nb, kb
	}
	if kb != gp.k {
		return nil, nil, fmt.Errorf("inner dimensions differ: A %v (transA=%v) and B %v (transB=%v)", a.shape, gp.transA, b.shape, gp.transB)
	}
	gp.n = nb
	if len(ins) == 3 && ins[2].dtype != 0 {
		c := ins[2]
		if c.dtype != Float32 || len(c.shape) > 2 {
			return nil, nil, fmt.Errorf("C has shape %v, want rank <= 2", c.shape)
		}
		gp.cShape = []int{1, 1}
		copy(gp.cShape[2-len(c.shape):], c.shape)
		if (gp.cShape[0] != 1 && gp.cShape[0] != gp.m) || (gp.cShape[1] != 1 && gp.cShape[1] != gp.n) {
			return nil, nil, fmt.Errorf("C %v does not broadcast to [%d %d]", c.shape, gp.m, gp.n)
		}
	}
	threads := max(p.threads, 1)
	gp.cols = gp.n
	if threads > 1 && gp.m*gp.n*gp.k >= gemmSplitMACs && gp.n >= 128*threads {
		gp.cols = ((gp.n+threads-1)/threads + 15) / 16 * 16
	}
	gp.wsLen = gemm.SgemmWorkspaceSize(gp.m, gp.cols, gp.k)
	p.reserve(threads * gp.wsLen)
	return []info{{dtype: Float32, shape: []int{gp.m, gp.n}}}, gp.run, nil
}

func (gp *gemmPlan) run(x *exec, ins, outs []*value) {
	y := outs[0].f
	beta := float32(0)
	if gp.cShape != nil && gp.beta != 0 {
		beta = gp.beta
		c := ins[2].f
		for i := range gp.m {
			row := y[i*gp.n : (i+1)*gp.n]
			ci := 0
			if gp.cShape[0] != 1 {
				ci = i * gp.cShape[1]
			}
			if gp.cShape[1] == 1 {
				for j := range row {
					row[j] = c[ci]
				}
			} else {
				copy(row, c[ci:ci+gp.n])
			}
		}
	}
	if gp.cols == gp.n {
		gp.product(x.ws, ins, y, beta, 0, gp.n)
		return
	}
	x.split((gp.n+gp.cols-1)/gp.cols, gemmRange, gp, ins, outs)
}

// gemmRange computes column blocks [lo,hi) of a Gemm whose output already
// holds beta·C (or anything, when beta is 0).
func gemmRange(j *job, chunk, lo, hi int) {
	gp := j.arg.(*gemmPlan)
	beta := float32(0)
	if gp.cShape != nil && gp.beta != 0 {
		beta = gp.beta
	}
	ws := j.ws[chunk*gp.wsLen : (chunk+1)*gp.wsLen]
	gp.product(ws, j.ins, j.outs[0].f, beta, lo*gp.cols, min(hi*gp.cols, gp.n))
}

// product computes output columns [j0,j1) of alpha·op(A)·op(B) + beta·y.
func (gp *gemmPlan) product(ws []float32, ins []*value, y []float32, beta float32, j0, j1 int) {
	lda, ldb := gp.k, gp.n
	if gp.transA {
		lda = gp.m
	}
	b := ins[1].f[j0:] // columns j0.. of a k x n B
	if gp.transB {
		ldb = gp.k
		b = ins[1].f[j0*gp.k:] // rows j0.. of an n x k B
	}
	gemm.Sgemm(gp.transA, gp.transB, gp.m, j1-j0, gp.k, gp.alpha, ins[0].f, lda, b, ldb, beta, y[j0:], gp.n, ws)
}

// matmulPlan is a MatMul with numpy semantics: 1-D operands are promoted
// to matrices and the batch dimensions broadcast.
type matmulPlan struct {
	m, n, k    int
	batch      int   // number of output matrices
	outBatch   []int // broadcast batch shape
	aStr, bStr []int // per batch dimension, in matrices; 0 when broadcast
	flat       bool  // B is one matrix and A's batches are contiguous rows
}

func buildMatMul(p *planCtx, n *node, ins []info) ([]info, kernel, error) {
	if len(ins) != 2 || ins[0].dtype != Float32 || ins[1].dtype != Float32 {
		return nil, nil, fmt.Errorf("want two float inputs")
	}
	as, bs := ins[0].shape, ins[1].shape
	if len(as) == 0 || len(bs) == 0 {
		return nil, nil, fmt.Errorf("MatMul of a scalar")
	}
	a2, b2 := as, bs
	if len(as) == 1 {
		a2 = []int{1, as[0]}
	}
	if len(bs) == 1 {
		b2 = []int{bs[0], 1}
	}
	mp := &matmulPlan{m: a2[len(a2)-2], k: a2[len(a2)-1], n: b2[len(b2)-1]}
	if b2[len(b2)-2] != mp.k {
		return nil, nil, fmt.Errorf("inner dimensions differ: %v and %v", as, bs)
	}
	ab, bb := a2[:len(a2)-2], b2[:len(b2)-2]
	r := max(len(ab), len(bb))
	mp.outBatch = make([]int, r)
	mp.aStr, mp.bStr = make([]int, r), make([]int, r)
	sa, sb := 1, 1
	for d := r - 1; d >= 0; d-- {
		da, db := 1, 1
		if k := d - (r - len(ab)); k >= 0 {
			da = ab[k]
		}
		if k := d - (r - len(bb)); k >= 0 {
			db = bb[k]
		}
		switch {
		case da == db || db == 1:
			mp.outBatch[d] = da
		case da == 1:
			mp.outBatch[d] = db
		default:
			return nil, nil, fmt.Errorf("batch dimensions of %v and %v do not broadcast", as, bs)
		}
		if da != 1 {
			mp.aStr[d] = sa
		}
		if db != 1 {
			mp.bStr[d] = sb
		}
		sa *= da
		sb *= db
	}
	mp.batch = shapeSize(mp.outBatch)
	mp.flat = sb == 1 && sa == mp.batch
	out := append([]int(nil), mp.outBatch...)
	if len(as) > 1 {
		out = append(out, mp.m)
	}
	if len(bs) > 1 {
		out = append(out, mp.n)
	}
	if mp.flat {
		p.reserve(gemm.SgemmWorkspaceSize(mp.batch*mp.m, mp.n, mp.k))
	} else {
		p.reserve(gemm.SgemmWorkspaceSize(mp.m, mp.n, mp.k))
	}
	return []info{{dtype: Float32, shape: out}}, mp.run, nil
}

func (mp *matmulPlan) run(x *exec, ins, outs []*value) {
	a, b, y := ins[0].f, ins[1].f, outs[0].f
	if mp.flat {
		gemm.Sgemm(false, false, mp.batch*mp.m, mp.n, mp.k, 1, a, mp.k, b, mp.n, 0, y, mp.n, x.ws)
		return
	}
	am, bm, ym := mp.m*mp.k, mp.k*mp.n, mp.m*mp.n
	for i := range mp.batch {
		ai, bi, rest := 0, 0, i
		for d := len(mp.outBatch) - 1; d >= 0; d-- {
			q := rest % mp.outBatch[d]
			rest /= mp.outBatch[d]
			ai += q * mp.aStr[d]
			bi += q * mp.bStr[d]
		}
		gemm.Sgemm(false, false, mp.m, mp.n, mp.k, 1, a[ai*am:], mp.k, b[bi*bm:], mp.n, 0, y[i*ym:], mp.n, x.ws)
	}
}
