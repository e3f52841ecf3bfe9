package onnxmodel

import (
	"fmt"
	"math"
)

// opsElementwise holds the broadcasting binary operators and the
// activations.
var opsElementwise = map[string]opSpec{
	"Add": {build: buildBinary(opAdd)},
	"Sub": {build: buildBinary(opSub)},
	"Mul": {build: buildBinary(opMul)},
	"Div": {build: buildBinary(opDiv)},
	"Pow": {build: buildBinary(opPow)},

	"Relu":        {build: buildUnary(unaryRelu)},
	"LeakyRelu":   {build: buildUnary(unaryLeakyRelu)},
	"Sigmoid":     {build: buildUnary(unarySigmoid)},
	"HardSigmoid": {build: buildUnary(unaryHardSigmoid)},
	"HardSwish":   {build: buildUnary(unaryHardSwish)},
	"Tanh":        {build: buildUnary(unaryTanh)},
	"Exp":         {build: buildUnary(unaryExp)},
	"Sqrt":        {build: buildUnary(unarySqrt)},
	"Neg":         {build: buildUnary(unaryNeg)},
	"Abs":         {build: buildUnary(unaryAbs)},
	"Reciprocal":  {build: buildUnary(unaryReciprocal)},
	"Clip":        {build: buildClip},
	"Log":         {build: buildUnary(unaryLog)},
	"Elu":         {build: buildUnary(unaryElu)},
	"Selu":        {build: buildUnary(unarySelu)},
	"Softplus":    {build: buildUnary(unarySoftplus)},
	"Softsign":    {build: buildUnary(unarySoftsign)},
	"Floor":       {build: buildUnary(unaryFloor)},
	"Ceil":        {build: buildUnary(unaryCeil)},
	"Round":       {build: buildUnary(unaryRound)},
	"Erf":         {build: buildUnary(unaryErf)},
}

// binOp names a broadcasting binary operator.
type binOp uint8

const (
	opAdd binOp = iota
	opSub
	opMul
	opDiv
	opPow
)

// number is the element types the kernels compute on.
type number interface{ float32 | int64 }

// broadcastShape returns the numpy multidirectional broadcast of a and b.
func broadcastShape(a, b []int) ([]int, error) {
	r := max(len(a), len(b))
	out := make([]int, r)
	for d := 0; d < r; d++ {
		da, db := 1, 1
		if k := d - (r - len(a)); k >= 0 {
			da = a[k]
		}
		if k := d - (r - len(b)); k >= 0 {
			db = b[k]
		}
		switch {
		case da == db:
			out[d] = da
		case da == 1:
			out[d] = db
		case db == 1:
			out[d] = da
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	if r == 0 {
		return nil, nil
	}
	return out, nil
}

// bcastStrides returns the element strides of an operand of shape s when it
// is read at the coordinates of the broadcast shape out: broadcast
// dimensions get stride 0.
func bcastStrides(s, out []int) []int {
	st := make([]int, len(out))
	own := stridesOf(s)
	off := len(out) - len(s)
	for d := range out {
		if k := d - off; k >= 0 && s[k] != 1 {
			st[d] = own[k]
		}
	}
	return st
}

// channelBlock reports whether the operand of shape s, broadcast to out,
// varies along one contiguous run of dimensions only and is constant over
// the others; it then returns the sizes of the blocks before (outer), inside
// (mid, equal to the operand's size) and after (inner) the run. A per-channel
// [C,1,1] operand against [N,C,H,W] gives (N, C, H*W); a scalar gives (1, 1, n).
func channelBlock(s, out []int) (outer, mid, inner int, ok bool) {
	off := len(out) - len(s)
	lo, hi := -1, -1
	for d := range out {
		k := d - off
		if k < 0 || s[k] == 1 {
			continue
		}
		if s[k] != out[d] {
			return 0, 0, 0, false
		}
		if lo < 0 {
			lo = d
		} else if hi != d {
			return 0, 0, 0, false // a gap of broadcast dims inside the run
		}
		hi = d + 1
	}
	if lo < 0 {
		return 1, 1, shapeSize(out), true
	}
	return shapeSize(out[:lo]), shapeSize(out[lo:hi]), shapeSize(out[hi:]), true
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}

// buildBinary returns the builder of a broadcasting binary operator. Both
// inputs must have the same dtype (float32 or int64), except for Pow, whose
// exponent may differ from the base; the output has the base's dtype.
func buildBinary(op binOp) builder {
	return func(p *planCtx, n *node, ins []info) ([]info, kernel, error) {
		if err := wantInputs(ins, 2, 2); err != nil {
			return nil, nil, err
		}
		a, b := ins[0], ins[1]
		if err := wantDType(a, "input A", Float32, Int64); err != nil {
			return nil, nil, err
		}
		if err := wantDType(b, "input B", Float32, Int64); err != nil {
			return nil, nil, err
		}
		powMixed := op == opPow && a.dtype != b.dtype
		if a.dtype != b.dtype && !powMixed {
			return nil, nil, fmt.Errorf("input dtypes %v and %v differ", a.dtype, b.dtype)
		}
		shape, err := broadcastShape(a.shape, b.shape)
		if err != nil {
			return nil, nil, err
		}
		outs := []info{{dtype: a.dtype, shape: shape}}
		if powMixed {
			return outs, powMixedKernel(a.shape, b.shape, shape), nil
		}
		return outs, binaryKernel(op, a.shape, b.shape, shape), nil
	}
}

// binArg is the build-time state of a binary kernel. For the block loop,
// small is the index of the operand that repeats over outer and inner
// blocks; element (o, m, i) of the output uses its element m.
type binArg struct {
	op                binOp
	small             int
	outer, mid, inner int
	dims, sa, sb      []int // the strided walk
}

// binaryKernel chooses, at plan time, the loop that fits the operand shapes:
// same shape, one operand varying along a single block of dimensions (which
// covers scalars and per-channel [C,1,1] operands), or the general strided
// walk. The kernels read their state from a *binArg and allocate nothing.
func binaryKernel(op binOp, as, bs, out []int) kernel {
	n := shapeSize(out)
	arg := &binArg{op: op}
	if sameShape(as, out) && sameShape(bs, out) {
		return func(x *exec, ins, outs []*value) {
			runSplit(x, n, 1, binSameChunk, arg, ins, outs)
		}
	}
	blocks := false
	if sameShape(as, out) {
		arg.outer, arg.mid, arg.inner, blocks = channelBlock(bs, out)
		arg.small = 1
	} else if sameShape(bs, out) {
		arg.outer, arg.mid, arg.inner, blocks = channelBlock(as, out)
		arg.small = 0
	}
	if blocks {
		if arg.inner == 1 && arg.mid > 1 {
			// The small operand varies along the innermost axis: go row by row.
			return func(x *exec, ins, outs []*value) {
				runSplit(x, arg.outer, arg.mid, binRowsChunk, arg, ins, outs)
			}
		}
		return func(x *exec, ins, outs []*value) {
			runSplit(x, arg.outer*arg.mid, arg.inner, binBlocksChunk, arg, ins, outs)
		}
	}
	dims, st := coalesce(out, bcastStrides(as, out), bcastStrides(bs, out))
	arg.dims, arg.sa, arg.sb = dims, st[0], st[1]
	return func(_ *exec, ins, outs []*value) {
		if n == 0 {
			return
		}
		if outs[0].dtype == Float32 {
			binStrided(op, outs[0].f, ins[0].f, ins[1].f, arg.dims, arg.sa, arg.sb, 0, 0)
		} else {
			binStrided(op, outs[0].i, ins[0].i, ins[1].i, arg.dims, arg.sa, arg.sb, 0, 0)
		}
	}
}

// parallelMin is the element count below which the light kernels run on
// one goroutine: smaller loops are faster than the hand-off.
const parallelMin = 1 << 15

// runSplit runs fn over n units of unitLen elements each: on the exec's
// workers (exec.split) when the total is large enough to pay for the
// hand-off, inline otherwise. fn and arg are built at plan time, so this
// allocates nothing.
func runSplit(x *exec, n, unitLen int, fn func(j *job, chunk, lo, hi int), arg any, ins, outs []*value) {
	if n <= 0 {
		return
	}
	if n >= 2 && n*unitLen >= parallelMin && x.threads > 1 {
		x.split(n, fn, arg, ins, outs)
		return
	}
	j := &x.job
	j.fn, j.arg, j.ins, j.outs, j.ws = fn, arg, ins, outs, x.ws
	fn(j, 0, 0, n)
}

// binSameChunk computes elements [lo,hi) of two same-shaped operands.
func binSameChunk(j *job, _, lo, hi int) {
	op := j.arg.(*binArg).op
	a, b, d := j.ins[0], j.ins[1], j.outs[0]
	if d.dtype == Float32 {
		binSame(op, d.f[lo:hi], a.f[lo:hi], b.f[lo:hi])
	} else {
		binSame(op, d.i[lo:hi], a.i[lo:hi], b.i[lo:hi])
	}
}

// binRowsChunk computes outer rows [lo,hi) where the small operand is one
// row (it varies along the innermost axes only).
func binRowsChunk(j *job, _, lo, hi int) {
	arg := j.arg.(*binArg)
	if j.outs[0].dtype == Float32 {
		binRows(arg, j.outs[0].f, j.ins[0].f, j.ins[1].f, lo, hi)
	} else {
		binRows(arg, j.outs[0].i, j.ins[0].i, j.ins[1].i, lo, hi)
	}
}

func binRows[T number](arg *binArg, dst, a, b []T, lo, hi int) {
	mid := arg.mid
	for o := lo; o < hi; o++ {
		r := o * mid
		if arg.small == 1 {
			binSame(arg.op, dst[r:r+mid], a[r:r+mid], b[:mid])
		} else {
			binSame(arg.op, dst[r:r+mid], a[:mid], b[r:r+mid])
		}
	}
}

// binBlocksChunk computes blocks [lo,hi) of inner elements, each combined
// with one element of the small operand.
func binBlocksChunk(j *job, _, lo, hi int) {
	arg := j.arg.(*binArg)
	full, small := j.ins[0], j.ins[1]
	swap := arg.small == 0
	if swap {
		full, small = small, full
	}
	if j.outs[0].dtype == Float32 && arg.op == opMul {
		// Products commute, so swap does not matter: one vector pass per block.
		dst, inner, mid := j.outs[0].f, arg.inner, arg.mid
		for r := lo; r < hi; r++ {
			scaleTo(dst[r*inner:(r+1)*inner], full.f[r*inner:(r+1)*inner], small.f[r%mid])
		}
	} else if j.outs[0].dtype == Float32 {
		binBlocks(arg, swap, j.outs[0].f, full.f, small.f, lo, hi)
	} else {
		binBlocks(arg, swap, j.outs[0].i, full.i, small.i, lo, hi)
	}
}

// binBlocks computes dst = full op small (small op full when swap is set)
// for blocks [lo,hi): block r uses small[r % mid].
func binBlocks[T number](arg *binArg, swap bool, dst, full, small []T, lo, hi int) {
	inner, mid := arg.inner, arg.mid
	for r := lo; r < hi; r++ {
		binScalar(arg.op, swap, dst[r*inner:(r+1)*inner], full[r*inner:(r+1)*inner], small[r%mid])
	}
}

// binSame computes dst = a op b on slices of equal length.
func binSame[T number](op binOp, dst, a, b []T) {
	a, b = a[:len(dst)], b[:len(dst)]
	switch op {
	case opAdd:
		for k := range dst {
			dst[k] = a[k] + b[k]
		}
	case opSub:
		for k := range dst {
			dst[k] = a[k] - b[k]
		}
	case opMul:
		for k := range dst {
			dst[k] = a[k] * b[k]
		}
	default:
		for k := range dst {
			dst[k] = scalarOp(op, a[k], b[k])
		}
	}
}

// binScalar computes dst = a op s, or s op a when swap is set.
func binScalar[T number](op binOp, swap bool, dst, a []T, s T) {
	a = a[:len(dst)]
	switch {
	case op == opAdd:
		for k := range dst {
			dst[k] = a[k] + s
		}
	case op == opMul:
		for k := range dst {
			dst[k] = a[k] * s
		}
	case op == opSub && !swap:
		for k := range dst {
			dst[k] = a[k] - s
		}
	case op == opSub && swap:
		for k := range dst {
			dst[k] = s - a[k]
		}
	case swap:
		for k := range dst {
			dst[k] = scalarOp(op, s, a[k])
		}
	default:
		for k := range dst {
			dst[k] = scalarOp(op, a[k], s)
		}
	}
}

// binStrided walks the broadcast output in row-major order, reading a and b
// through their broadcast strides. It recurses on the dimensions and does
// not allocate.
func binStrided[T number](op binOp, dst, a, b []T, dims, sa, sb []int, oa, ob int) {
	if len(dims) == 0 {
		dst[0] = scalarOp(op, a[oa], b[ob])
		return
	}
	if len(dims) == 1 {
		n, ia, ib := dims[0], sa[0], sb[0]
		dst = dst[:n]
		switch {
		case ia == 1 && ib == 1:
			binSame(op, dst, a[oa:oa+n], b[ob:ob+n])
			return
		case ia == 1 && ib == 0:
			binScalar(op, false, dst, a[oa:oa+n], b[ob])
			return
		case ia == 0 && ib == 1:
			binScalar(op, true, dst, b[ob:ob+n], a[oa])
			return
		}
		for k := range dst {
			dst[k] = scalarOp(op, a[oa], b[ob])
			oa += ia
			ob += ib
		}
		return
	}
	inner := shapeSize(dims[1:])
	for k := 0; k < dims[0]; k++ {
		binStrided(op, dst[k*inner:(k+1)*inner], a, b, dims[1:], sa[1:], sb[1:], oa, ob)
		oa += sa[0]
		ob += sb[0]
	}
}

// scalarOp applies op to one pair. Integer division by zero yields 0 rather
// than a run-time panic, as numpy does.
func scalarOp[T number](op binOp, a, b T) T {
	switch op {
	case opAdd:
		return a + b
	case opSub:
		return a - b
	case opMul:
		return a * b
	case opDiv:
		switch av := any(a).(type) {
		case int64:
			bv := any(b).(int64)
			if bv == 0 {
				return 0
			}
			return T(av / bv)
		}
		return a / b
	case opPow:
		switch av := any(a).(type) {
		case int64:
			return T(ipow(av, any(b).(int64)))
		case float32:
			return T(float32(math.Pow(float64(av), float64(any(b).(float32)))))
		}
	}
	panic("onnxmodel: unknown binary op")
}

// ipow returns a**e for integers; negative exponents give the truncated
// result of the real power (0 unless |a| == 1).
func ipow(a, e int64) int64 {
	if e < 0 {
		switch a {
		case 1:
			return 1
		case -1:
			if e%2 == 0 {
				return 1
			}
			return -1
		}
		return 0
	}
	r := int64(1)
	for e > 0 {
		if e&1 == 1 {
			r *= a
		}
		a *= a
		e >>= 1
	}
	return r
}

// powMixedKernel serves Pow whose base and exponent differ in dtype. It
// computes in float64 and stores in the base's dtype, truncating toward
// zero for an int64 base as the ONNX reference (numpy) does.
func powMixedKernel(as, bs, out []int) kernel {
	sa, sb := bcastStrides(as, out), bcastStrides(bs, out)
	dims := cloneShape(out)
	n := shapeSize(out)
	return func(_ *exec, ins, outs []*value) {
		if n == 0 {
			return
		}
		powMixed(outs[0], ins[0], ins[1], dims, sa, sb, 0, 0, 0)
	}
}

func powMixed(dst, a, b *value, dims, sa, sb []int, od, oa, ob int) {
	if len(dims) == 0 {
		var x, y float64
		if a.dtype == Float32 {
			x = float64(a.f[oa])
		} else {
			x = float64(a.i[oa])
		}
		if b.dtype == Float32 {
			y = float64(b.f[ob])
		} else {
			y = float64(b.i[ob])
		}
		z := math.Pow(x, y)
		if dst.dtype == Float32 {
			dst.f[od] = float32(z)
		} else {
			dst.i[od] = truncInt(z)
		}
		return
	}
	inner := shapeSize(dims[1:])
	for k := 0; k < dims[0]; k++ {
		powMixed(dst, a, b, dims[1:], sa[1:], sb[1:], od+k*inner, oa, ob)
		oa += sa[0]
		ob += sb[0]
	}
}

// unaryDef describes an activation: its attributes are read by params,
// and apply maps src to dst (which have equal lengths).
type unaryDef struct {
	// ints reports whether int64 inputs are accepted.
	ints bool
	// apply computes dst from src with the node's attributes in a.
	apply func(a attrs, dst, src []float32)
	// applyInt is the int64 variant, used when ints is set.
	applyInt func(dst, src []int64)
}

var (
	unaryRelu = unaryDef{ints: true,
		apply: func(_ attrs, dst, src []float32) {
			for k, v := range src[:len(dst)] {
				dst[k] = max(v, 0)
			}
		},
		applyInt: func(dst, src []int64) {
			for k, v := range src[:len(dst)] {
				dst[k] = max(v, 0)
			}
		},
	}
	unaryLeakyRelu = unaryDef{apply: func(a attrs, dst, src []float32) {
		alpha := a.float("alpha", 0.01)
		for k, v := range src[:len(dst)] {
			if v < 0 {
				v *= alpha
			}
			dst[k] = v
		}
	}}
	unarySigmoid = unaryDef{apply: func(_ attrs, dst, src []float32) {
		sigmoidTo(dst, src)
	}}
	unaryHardSigmoid = unaryDef{apply: func(a attrs, dst, src []float32) {
		alpha, beta := a.float("alpha", 0.2), a.float("beta", 0.5)
		for k, v := range src[:len(dst)] {
			dst[k] = min(max(alpha*v+beta, 0), 1)
		}
	}}
	unaryHardSwish = unaryDef{apply: func(_ attrs, dst, src []float32) {
		for k, v := range src[:len(dst)] {
			dst[k] = v * min(max(v/6+0.5, 0), 1)
		}
	}}
	unaryTanh = unaryDef{apply: func(_ attrs, dst, src []float32) {
		tanhTo(dst, src)
	}}
	unaryExp = unaryDef{apply: func(_ attrs, dst, src []float32) {
		expTo(dst, src)
	}}
	unarySqrt = unaryDef{apply: func(_ attrs, dst, src []float32) {
		for k, v := range src[:len(dst)] {
			dst[k] = float32(math.Sqrt(float64(v)))
		}
	}}
	unaryNeg = unaryDef{ints: true,
		apply: func(_ attrs, dst, src []float32) {
			for k, v := range src[:len(dst)] {
				dst[k] = -v
			}
		},
		applyInt: func(dst, src []int64) {
			for k, v := range src[:len(dst)] {
				dst[k] = -v
			}
		},
	}
	unaryAbs = unaryDef{ints: true,
		apply: func(_ attrs, dst, src []float32) {
			for k, v := range src[:len(dst)] {
				dst[k] = float32(math.Abs(float64(v)))
			}
		},
		applyInt: func(dst, src []int64) {
			for k, v := range src[:len(dst)] {
				if v < 0 {
					v = -v
				}
				dst[k] = v
			}
		},
	}
	unaryReciprocal = unaryDef{apply: func(_ attrs, dst, src []float32) {
		for k, v := range src[:len(dst)] {
			dst[k] = 1 / v
		}
	}}
)

// float64Unary returns an activation computing f in float64.
func float64Unary(f func(float64) float64) unaryDef {
	return unaryDef{apply: func(_ attrs, dst, src []float32) {
		for k, v := range src[:len(dst)] {
			dst[k] = float32(f(float64(v)))
		}
	}}
}

var (
	unaryLog   = float64Unary(math.Log)
	unaryFloor = float64Unary(math.Floor)
	unaryCeil  = float64Unary(math.Ceil)
	unaryRound = float64Unary(math.RoundToEven) // ONNX Round: halves to even
	unaryErf   = float64Unary(math.Erf)
	// Softplus is log(1+e^v), written so that large v does not overflow.
	unarySoftplus = float64Unary(func(v float64) float64 {
		if v > 0 {
			return v + math.Log1p(math.Exp(-v))
		}
		return math.Log1p(math.Exp(v))
	})
	unarySoftsign = float64Unary(func(v float64) float64 { return v / (1 + math.Abs(v)) })
	unaryElu      = unaryDef{apply: func(a attrs, dst, src []float32) {
		alpha := float64(a.float("alpha", 1))
		for k, v := range src[:len(dst)] {
			if v < 0 {
				v = float32(alpha * math.Expm1(float64(v)))
			}
			dst[k] = v
		}
	}}
	unarySelu = unaryDef{apply: func(a attrs, dst, src []float32) {
		alpha := float64(a.float("alpha", 1.67326319217681884765625))
		gamma := a.float("gamma", 1.05070102214813232421875)
		for k, v := range src[:len(dst)] {
			if v <= 0 {
				v = float32(alpha * math.Expm1(float64(v)))
			}
			dst[k] = gamma * v
		}
	}}
)

// buildUnary returns the builder of an elementwise activation.
func buildUnary(def unaryDef) builder {
	return func(p *planCtx, n *node, ins []info) ([]info, kernel, error) {
		if err := wantInputs(ins, 1, 1); err != nil {
			return nil, nil, err
		}
		in := ins[0]
		if in.dtype == Int64 && !def.ints {
			return nil, nil, fmt.Errorf("input dtype int64 not supported")
		}
		if err := wantDType(in, "input", Float32, Int64); err != nil {
			return nil, nil, err
		}
		outs := []info{{dtype: in.dtype, shape: cloneShape(in.shape)}}
		size := shapeSize(in.shape)
		arg := &unaryArg{def: &def, attrs: n.attrs}
		return outs, func(x *exec, ins, outs []*value) {
			runSplit(x, size, 1, unaryChunk, arg, ins, outs)
		}, nil
	}
}

// unaryArg is the build-time state of an activation kernel.
type unaryArg struct {
	def   *unaryDef
	attrs attrs
}

func unaryChunk(j *job, _, lo, hi int) {
	arg := j.arg.(*unaryArg)
	src, dst := j.ins[0], j.outs[0]
	if dst.dtype == Float32 {
		arg.def.apply(arg.attrs, dst.f[lo:hi], src.f[lo:hi])
	} else {
		arg.def.applyInt(dst.i[lo:hi], src.i[lo:hi])
	}
}

// buildClip compiles Clip. Before opset 11 the bounds are the min and max
// attributes; from opset 11 they are optional scalar inputs, read at run
// time, so they need not be constants.
func buildClip(p *planCtx, n *node, ins []info) ([]info, kernel, error) {
	if err := wantInputs(ins, 1, 3); err != nil {
		return nil, nil, err
	}
	in := ins[0]
	if err := wantDType(in, "input", Float32, Int64); err != nil {
		return nil, nil, err
	}
	outs := []info{{dtype: in.dtype, shape: cloneShape(in.shape)}}
	size := shapeSize(in.shape)
	if p.opset < 11 {
		if len(ins) > 1 {
			return nil, nil, fmt.Errorf("clip before opset 11 takes one input, got %d", len(ins))
		}
		if in.dtype != Float32 {
			return nil, nil, fmt.Errorf("input dtype %v not supported before opset 11", in.dtype)
		}
		arg := &clipArg{attrs: true,
			lo: n.attrs.float("min", -math.MaxFloat32),
			hi: n.attrs.float("max", math.MaxFloat32)}
		return outs, func(x *exec, ins, outs []*value) {
			runSplit(x, size, 1, clipChunk, arg, ins, outs)
		}, nil
	}
	for k := 1; k < len(ins); k++ {
		b, ok := input(ins, k)
		if !ok {
			continue
		}
		if b.dtype != in.dtype {
			return nil, nil, fmt.Errorf("bound %d: dtype %v, want %v", k, b.dtype, in.dtype)
		}
		if shapeSize(b.shape) != 1 || len(b.shape) > 1 {
			return nil, nil, fmt.Errorf("bound %d: want a scalar, got shape %v", k, b.shape)
		}
	}
	arg := &clipArg{}
	_, arg.hasMin = input(ins, 1)
	_, arg.hasMax = input(ins, 2)
	return outs, func(x *exec, ins, outs []*value) {
		runSplit(x, size, 1, clipChunk, arg, ins, outs)
	}, nil
}

// clipArg is the build-time state of a Clip kernel: the attribute bounds
// before opset 11, and which bound inputs are present from opset 11.
type clipArg struct {
	attrs          bool
	lo, hi         float32
	hasMin, hasMax bool
}

// clipChunk clamps elements [lo,hi). Bound inputs are read at run time.
func clipChunk(j *job, _, lo, hi int) {
	arg := j.arg.(*clipArg)
	src, dst := j.ins[0], j.outs[0]
	if dst.dtype == Float32 {
		bl, bh := float32(math.Inf(-1)), float32(math.Inf(1))
		switch {
		case arg.attrs:
			bl, bh = arg.lo, arg.hi
		default:
			if arg.hasMin {
				bl = j.ins[1].f[0]
			}
			if arg.hasMax {
				bh = j.ins[2].f[0]
			}
		}
		clipRange(dst.f[lo:hi], src.f[lo:hi], bl, bh)
		return
	}
	bl, bh := int64(math.MinInt64), int64(math.MaxInt64)
	if arg.hasMin {
		bl = j.ins[1].i[0]
	}
	if arg.hasMax {
		bh = j.ins[2].i[0]
	}
	clipRange(dst.i[lo:hi], src.i[lo:hi], bl, bh)
}

// clipRange sets dst to src clamped to [lo, hi]; when lo > hi every element
// becomes hi, as the ONNX reference (numpy.clip) does.
func clipRange[T number](dst, src []T, lo, hi T) {
	src = src[:len(dst)]
	for k, v := range src {
		dst[k] = min(max(v, lo), hi)
	}
}
