package onnxmodel

import (
	"fmt"
	"math"
)

// opsReduce holds Softmax, LogSoftmax and the Reduce operators.
var opsReduce = map[string]opSpec{
	"Softmax":    {build: buildSoftmax(false)},
	"LogSoftmax": {build: buildSoftmax(true)},

	"ReduceMean":      {build: buildReduce(redMean, 18)},
	"ReduceSum":       {build: buildReduce(redSum, 13)},
	"ReduceMax":       {build: buildReduce(redMax, 18)},
	"ReduceMin":       {build: buildReduce(redMin, 18)},
	"ReduceProd":      {build: buildReduce(redProd, 18)},
	"ReduceSumSquare": {build: buildReduce(redSumSquare, 18)},
	"ReduceL1":        {build: buildReduce(redL1, 18)},
	"ReduceL2":        {build: buildReduce(redL2, 18)},
	"ReduceLogSum":    {build: buildReduce(redLogSum, 18)},
	"ReduceLogSumExp": {build: buildReduce(redLogSumExp, 18)},
}

// buildSoftmax returns the builder of Softmax (or LogSoftmax when log is
// set). Before opset 13 the input is coerced to 2-D at axis (default 1) and
// each row of the flattened trailing block is normalized; from opset 13 the
// normalization runs along the single axis (default -1). The maximum is
// subtracted first so that exp never overflows.
func buildSoftmax(log bool) builder {
	return func(p *planCtx, n *node, ins []info) ([]info, kernel, error) {
		if err := wantInputs(ins, 1, 1); err != nil {
			return nil, nil, err
		}
		in := ins[0]
		if err := wantDType(in, "input", Float32); err != nil {
			return nil, nil, err
		}
		rank := len(in.shape)
		var outer, dim, inner int
		if p.opset < 13 {
			axis := n.attrs.int("axis", 1)
			if axis < -int64(rank) || axis > int64(rank) {
				return nil, nil, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
			}
			if axis < 0 {
				axis += int64(rank)
			}
			outer, dim, inner = shapeSize(in.shape[:axis]), shapeSize(in.shape[axis:]), 1
		} else {
			if rank == 0 {
				return nil, nil, fmt.Errorf("softmax of a scalar")
			}
			axis, err := normAxis(n.attrs.int("axis", -1), rank)
			if err != nil {
				return nil, nil, err
			}
			outer, dim, inner = shapeSize(in.shape[:axis]), in.shape[axis], shapeSize(in.shape[axis+1:])
		}
		outs := []info{{dtype: Float32, shape: cloneShape(in.shape)}}
		arg := &softmaxArg{dim: dim, inner: inner, log: log}
		return outs, func(x *exec, ins, outs []*value) {
			runSplit(x, outer, dim*inner, softmaxChunk, arg, ins, outs)
		}, nil
	}
}

// softmaxArg is the build-time state of a Softmax kernel: each of the
// outer blocks holds inner lines of dim elements at stride inner.
type softmaxArg struct {
	dim, inner int
	log        bool
}

// softmaxChunk normalizes the lines of outer blocks [lo,hi).
func softmaxChunk(j *job, _, lo, hi int) {
	arg := j.arg.(*softmaxArg)
	src, dst := j.ins[0].f, j.outs[0].f
	dim, inner := arg.dim, arg.inner
	for o := lo; o < hi; o++ {
		for i := 0; i < inner; i++ {
			softmaxLine(dst, src, o*dim*inner+i, dim, inner, arg.log)
		}
	}
}

// softmaxLine normalizes the n elements of src starting at off with the
// given stride, writing dst at the same positions. The exponentials are
// float32 (exp32, about one ulp); their sum is float64.
func softmaxLine(dst, src []float32, off, n, stride int, log bool) {
	if n == 0 {
		return
	}
	m := float32(math.Inf(-1))
	for k, j := 0, off; k < n; k, j = k+1, j+stride {
		m = max(m, src[j])
	}
	var sum float64
	for k, j := 0, off; k < n; k, j = k+1, j+stride {
		e := float64(exp32(src[j] - m))
		if !log {
			dst[j] = float32(e)
		}
		sum += e
	}
	if log {
		ls := float32(math.Log(sum))
		for k, j := 0, off; k < n; k, j = k+1, j+stride {
			dst[j] = src[j] - m - ls
		}
		return
	}
	inv := 1 / sum
	for k, j := 0, off; k < n; k, j = k+1, j+stride {
		dst[j] = float32(float64(dst[j]) * inv)
	}
}

// redKind names a Reduce operator.
type redKind uint8

const (
	redMean redKind = iota
	redSum
	redMax
	redMin
	redProd
	redSumSquare
	redL1
	redL2
	redLogSum
	redLogSumExp
)

// buildReduce returns the builder of a Reduce operator whose axes move
// from an attribute to an optional constant input at opset axesInput (13
// for ReduceSum, 18 for the others). Empty axes reduce everything unless
// noop_with_empty_axes is set. Float32 input is supported for every kind;
// int64 input for Sum, Max, Min and Prod, which the shape arithmetic of
// exported graphs may use.
func buildReduce(kind redKind, axesInput int64) builder {
	return func(p *planCtx, n *node, ins []info) ([]info, kernel, error) {
		if err := wantInputs(ins, 1, 2); err != nil {
			return nil, nil, err
		}
		in := ins[0]
		intOK := kind == redSum || kind == redMax || kind == redMin || kind == redProd
		if in.dtype == Int64 && !intOK {
			return nil, nil, fmt.Errorf("input dtype int64 not supported")
		}
		if err := wantDType(in, "input", Float32, Int64); err != nil {
			return nil, nil, err
		}
		axes, err := axesArg(p, n, ins, axesInput)
		if err != nil {
			return nil, nil, err
		}
		rank := len(in.shape)
		keep := n.attrs.int("keepdims", 1) != 0
		if len(axes) == 0 && n.attrs.int("noop_with_empty_axes", 0) != 0 {
			return relabel(in, cloneShape(in.shape))
		}
		reduced := make([]bool, rank)
		if len(axes) == 0 {
			for d := range reduced {
				reduced[d] = true
			}
		} else {
			ax, err := normAxes(axes, rank)
			if err != nil {
				return nil, nil, err
			}
			for _, d := range ax {
				reduced[d] = true
			}
		}
		var shape, kept []int
		count := 1
		for d, s := range in.shape {
			if reduced[d] {
				count *= s
				if keep {
					shape = append(shape, 1)
				}
				continue
			}
			shape = append(shape, s)
			kept = append(kept, s)
		}
		// Output strides of every input dimension: 0 along reduced ones.
		ost := make([]int, rank)
		kst := stridesOf(kept)
		k := 0
		for d := range ost {
			if !reduced[d] {
				ost[d] = kst[k]
				k++
			}
		}
		dims, st := coalesce(in.shape, stridesOf(in.shape), ost)
		ost = st[1]
		outSize := shapeSize(kept)
		if kind == redLogSumExp {
			p.reserve(outSize)
		}
		outs := []info{{dtype: in.dtype, shape: shape}}
		empty := shapeSize(in.shape) == 0
		if in.dtype == Int64 {
			return outs, func(_ *exec, ins, outs []*value) {
				dst := outs[0].i
				for j := range dst {
					dst[j] = intIdentity(kind)
				}
				if !empty {
					reduceInt(kind, dst, ins[0].i, dims, ost, 0, 0)
				}
			}, nil
		}
		return outs, func(x *exec, ins, outs []*value) {
			dst, src := outs[0].f, ins[0].f
			if kind == redLogSumExp {
				m := x.ws[:outSize]
				for j := range m {
					m[j] = float32(math.Inf(-1))
				}
				if !empty {
					reduceFloat(redMax, m, src, dims, ost, 0, 0)
				}
				for j := range m {
					if math.IsInf(float64(m[j]), 0) {
						m[j] = 0 // all -inf (or empty): keep exp finite
					}
				}
				clear(dst)
				if !empty {
					reduceLSE(dst, m, src, dims, ost, 0, 0)
				}
				for j := range dst {
					dst[j] = float32(math.Log(float64(dst[j]))) + m[j]
				}
				return
			}
			init := floatIdentity(kind)
			for j := range dst {
				dst[j] = init
			}
			if !empty {
				reduceFloat(kind, dst, src, dims, ost, 0, 0)
			}
			switch kind {
			case redMean:
				inv := 1 / float32(count)
				for j := range dst {
					dst[j] *= inv
				}
			case redL2:
				for j := range dst {
					dst[j] = float32(math.Sqrt(float64(dst[j])))
				}
			case redLogSum:
				for j := range dst {
					dst[j] = float32(math.Log(float64(dst[j])))
				}
			}
		}, nil
	}
}

func floatIdentity(kind redKind) float32 {
	switch kind {
	case redMax:
		return float32(math.Inf(-1))
	case redMin:
		return float32(math.Inf(1))
	case redProd:
		return 1
	}
	return 0
}

func intIdentity(kind redKind) int64 {
	switch kind {
	case redMax:
		return math.MinInt64
	case redMin:
		return math.MaxInt64
	case redProd:
		return 1
	}
	return 0
}

func intStep(kind redKind, acc, v int64) int64 {
	switch kind {
	case redMax:
		return max(acc, v)
	case redMin:
		return min(acc, v)
	case redProd:
		return acc * v
	}
	return acc + v
}

// reduceInt visits src in row-major order and folds every element into
// dst at its output offset (ost gives the output stride of each input
// dimension, 0 for reduced ones).
func reduceInt(kind redKind, dst, src []int64, dims, ost []int, off, ooff int) {
	if len(dims) == 0 {
		dst[ooff] = intStep(kind, dst[ooff], src[off])
		return
	}
	inner := shapeSize(dims[1:])
	for k := 0; k < dims[0]; k++ {
		reduceInt(kind, dst, src, dims[1:], ost[1:], off+k*inner, ooff+k*ost[0])
	}
}

// reduceFloat is reduceInt for float32, with the step inlined in the
// innermost loop, which is where the time goes.
func reduceFloat(kind redKind, dst, src []float32, dims, ost []int, off, ooff int) {
	if len(dims) == 0 {
		dst[ooff] = redStep(kind, dst[ooff], src[off])
		return
	}
	if len(dims) > 1 {
		inner := shapeSize(dims[1:])
		for k := 0; k < dims[0]; k++ {
			reduceFloat(kind, dst, src, dims[1:], ost[1:], off+k*inner, ooff+k*ost[0])
		}
		return
	}
	row := src[off : off+dims[0]]
	if ost[0] == 0 {
		acc := dst[ooff]
		switch kind {
		case redSum, redMean:
			for _, v := range row {
				acc += v
			}
		default:
			for _, v := range row {
				acc = redStep(kind, acc, v)
			}
		}
		dst[ooff] = acc
		return
	}
	out := dst[ooff : ooff+len(row)]
	switch kind {
	case redSum, redMean:
		for j, v := range row {
			out[j] += v
		}
	default:
		for j, v := range row {
			out[j] = redStep(kind, out[j], v)
		}
	}
}

func redStep(kind redKind, acc, v float32) float32 {
	switch kind {
	case redMax:
		return max(acc, v)
	case redMin:
		return min(acc, v)
	case redProd:
		return acc * v
	case redSumSquare, redL2:
		return acc + v*v
	case redL1:
		return acc + float32(math.Abs(float64(v)))
	}
	return acc + v
}

// reduceLSE adds exp(v - m) for every element into dst at its output offset.
func reduceLSE(dst, m, src []float32, dims, ost []int, off, ooff int) {
	if len(dims) == 0 {
		dst[ooff] += float32(math.Exp(float64(src[off] - m[ooff])))
		return
	}
	inner := shapeSize(dims[1:])
	for k := 0; k < dims[0]; k++ {
		reduceLSE(dst, m, src, dims[1:], ost[1:], off+k*inner, ooff+k*ost[0])
	}
}
