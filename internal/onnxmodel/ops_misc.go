package onnxmodel

import (
	"fmt"
	"math"
)

// Helpers shared by the light operators (elementwise, shape, reduce).

// input returns ins[k] and whether it is present: an input is absent when
// the node lists fewer inputs or names it "".
func input(ins []info, k int) (info, bool) {
	if k >= len(ins) || ins[k].dtype == 0 {
		return info{}, false
	}
	return ins[k], true
}

// wantInputs checks that the first min inputs are present and that there
// are at most max inputs.
func wantInputs(ins []info, min, max int) error {
	if len(ins) < min || len(ins) > max {
		if min == max {
			return fmt.Errorf("want %d inputs, got %d", min, len(ins))
		}
		return fmt.Errorf("want %d to %d inputs, got %d", min, max, len(ins))
	}
	for k := 0; k < min; k++ {
		if ins[k].dtype == 0 {
			return fmt.Errorf("required input %d is missing", k)
		}
	}
	return nil
}

// wantDType checks that in has one of the given dtypes.
func wantDType(in info, what string, ok ...DType) error {
	for _, d := range ok {
		if in.dtype == d {
			return nil
		}
	}
	return fmt.Errorf("%s: dtype %v not supported (want %v)", what, in.dtype, ok)
}

// constInts returns the contents of a constant int64 input. It reports an
// ErrUnsupported error when the input is computed at run time, since the
// shapes that depend on it must be known at plan time.
func constInts(in info, what string) ([]int64, error) {
	if in.c == nil {
		return nil, notSupportedf("%s must be a constant (or computable at load)", what)
	}
	if in.dtype != Int64 {
		return nil, fmt.Errorf("%s: dtype %v, want int64", what, in.dtype)
	}
	return in.c.i, nil
}

// normAxis maps axis in [-rank, rank) to [0, rank).
func normAxis(axis int64, rank int) (int, error) {
	if axis < -int64(rank) || axis >= int64(rank) {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	if axis < 0 {
		axis += int64(rank)
	}
	return int(axis), nil
}

// normAxes normalizes a list of axes against rank and rejects duplicates.
func normAxes(axes []int64, rank int) ([]int, error) {
	out := make([]int, len(axes))
	seen := make([]bool, rank)
	for k, a := range axes {
		ax, err := normAxis(a, rank)
		if err != nil {
			return nil, err
		}
		if seen[ax] {
			return nil, fmt.Errorf("axis %d repeated", a)
		}
		seen[ax] = true
		out[k] = ax
	}
	return out, nil
}

// stridesOf returns the row-major element strides of shape.
func stridesOf(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for d := len(shape) - 1; d >= 0; d-- {
		st[d] = s
		s *= shape[d]
	}
	return st
}

// cloneShape returns a copy of s that is never nil for rank > 0.
func cloneShape(s []int) []int {
	if len(s) == 0 {
		return nil
	}
	return append([]int(nil), s...)
}

// toInts converts int64 dims to int, rejecting negative ones and sizes that
// would not fit in memory.
func toInts(v []int64, what string) ([]int, error) {
	out := make([]int, len(v))
	total := int64(1)
	for k, d := range v {
		if d < 0 {
			return nil, fmt.Errorf("%s: negative dimension %d", what, d)
		}
		if d > 0 && total > math.MaxInt32*int64(64)/d {
			return nil, fmt.Errorf("%s: tensor too large", what)
		}
		total *= d
		out[k] = int(d)
	}
	return out, nil
}

// copyKernel copies the single input to the single output unchanged; it
// serves the ops that only relabel the shape (Identity, Reshape, Flatten,
// Squeeze, Unsqueeze, Dropout).
func copyKernel(_ *exec, ins, outs []*value) {
	in, out := ins[0], outs[0]
	if in.dtype == Float32 {
		copy(out.f, in.f)
	} else {
		copy(out.i, in.i)
	}
}

// gatherStrided copies a strided view of src into the contiguous dst. For
// every dimension d of the output, dims[d] elements are read starting at
// offset base and advancing by step[d] elements. It recurses on the
// dimensions, so it does not allocate; this serves Transpose and Slice.
func gatherStrided[T float32 | int64](dst, src []T, dims, step []int, base int) {
	switch len(dims) {
	case 0:
		dst[0] = src[base]
		return
	case 1:
		n, s := dims[0], step[0]
		dst = dst[:n]
		if s == 1 {
			copy(dst, src[base:base+n])
			return
		}
		for k := range dst {
			dst[k] = src[base]
			base += s
		}
		return
	}
	inner := 1
	for _, d := range dims[1:] {
		inner *= d
	}
	for k := 0; k < dims[0]; k++ {
		gatherStrided(dst[k*inner:(k+1)*inner], src, dims[1:], step[1:], base)
		base += step[0]
	}
}

// coalesce simplifies a strided walk over dims, where strides[k][d] is the
// step of operand k along dimension d: it drops dimensions of size 1 and
// merges neighbours that every operand walks contiguously, so the innermost
// loops run longer. It returns new slices.
func coalesce(dims []int, strides ...[]int) ([]int, [][]int) {
	var od []int
	os := make([][]int, len(strides))
	for d, n := range dims {
		if n == 1 {
			continue
		}
		last := len(od) - 1
		merge := last >= 0
		for k, st := range strides {
			if merge && os[k][last] != st[d]*n {
				merge = false
			}
		}
		if merge {
			od[last] *= n
			for k, st := range strides {
				os[k][last] = st[d]
			}
			continue
		}
		od = append(od, n)
		for k, st := range strides {
			os[k] = append(os[k], st[d])
		}
	}
	return od, os
}
