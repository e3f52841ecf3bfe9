package onnxmodel

import (
	"fmt"
	"math"
	"slices"

	"github.com/tlserve/tlserve/internal/onnxpb"
)

// opsShape holds the operators that move, select or relabel elements.
var opsShape = map[string]opSpec{
	"Concat":    {build: buildConcat},
	"Split":     {build: buildSplit},
	"Slice":     {build: buildSlice},
	"Flatten":   {build: buildFlatten},
	"Reshape":   {build: buildReshape},
	"Transpose": {build: buildTranspose},
	"Squeeze":   {build: buildSqueeze},
	"Unsqueeze": {build: buildUnsqueeze},
	"Pad":       {build: buildPad},
	"Shape":     {build: buildShape},
	"Gather":    {build: buildGather},
	"Cast":      {build: buildCast},
	"Constant":  {build: buildConstant},
	"Identity":  {build: buildIdentity},
	"Dropout":   {build: buildDropout},
}

// relabel returns the outputs and kernel of an op that only changes the
// shape of its single input.
func relabel(in info, shape []int) ([]info, kernel, error) {
	if shapeSize(shape) != shapeSize(in.shape) {
		return nil, nil, fmt.Errorf("cannot view shape %v as %v", in.shape, shape)
	}
	return []info{{dtype: in.dtype, shape: shape}}, copyKernel, nil
}

func buildIdentity(p *planCtx, n *node, ins []info) ([]info, kernel, error) {
	if err := wantInputs(ins, 1, 1); err != nil {
		return nil, nil, err
	}
	return relabel(ins[0], cloneShape(ins[0].shape))
}

// buildDropout compiles Dropout for inference, where it is the identity.
// The optional mask output is all true, which tlserve holds as int64 ones.
// A training_mode input that is true, or not a constant, returns
// ErrUnsupported; the ratio input is ignored.
func buildDropout(p *planCtx, n *node, ins []info) ([]info, kernel, error) {
	if err := wantInputs(ins, 1, 3); err != nil {
		return nil, nil, err
	}
	if tm, ok := input(ins, 2); ok {
		// A training_mode computed at run time might be true, and then the
		// output would have to be random: reject it rather than guess.
		if tm.c == nil {
			return nil, nil, notSupportedf("dropout with a training_mode computed at run time")
		}
		for _, v := range tm.c.i {
			if v != 0 {
				return nil, nil, notSupportedf("dropout with training_mode true")
			}
		}
	}
	if n.attrs.int("is_test", 1) == 0 && p.opset < 7 {
		return nil, nil, notSupportedf("dropout with is_test 0")
	}
	in := ins[0]
	if err := wantDType(in, "input", Float32, Int64); err != nil {
		return nil, nil, err
	}
	outs := []info{{dtype: in.dtype, shape: cloneShape(in.shape)}}
	if len(n.outputs) < 2 || n.outputs[1] == "" {
		return outs, copyKernel, nil
	}
	mask := &value{dtype: Int64, shape: cloneShape(in.shape), i: make([]int64, shapeSize(in.shape))}
	for k := range mask.i {
		mask.i[k] = 1
	}
	outs = append(outs, info{dtype: Int64, shape: mask.shape})
	return outs, func(x *exec, ins, outs []*value) {
		copyKernel(x, ins, outs[:1])
		copy(outs[1].i, mask.i)
	}, nil
}

// buildConcat compiles Concat along any axis, negative axes included.
func buildConcat(p *planCtx, n *node, ins []info) ([]info, kernel, error) {
	if len(ins) == 0 {
		return nil, nil, fmt.Errorf("concat needs at least one input")
	}
	if err := wantInputs(ins, len(ins), len(ins)); err != nil {
		return nil, nil, err
	}
	if !n.attrs.has("axis") {
		return nil, nil, fmt.Errorf("concat: axis attribute is required")
	}
	first := ins[0]
	rank := len(first.shape)
	if rank == 0 {
		return nil, nil, fmt.Errorf("concat of scalars")
	}
	axis, err := normAxis(n.attrs.int("axis", 0), rank)
	if err != nil {
		return nil, nil, err
	}
	if err := wantDType(first, "input 0", Float32, Int64); err != nil {
		return nil, nil, err
	}
	shape := cloneShape(first.shape)
	shape[axis] = 0
	chunks := make([]int, len(ins)) // elements per outer index, per input
	inner := shapeSize(first.shape[axis+1:])
	for k, in := range ins {
		if in.dtype != first.dtype {
			return nil, nil, fmt.Errorf("input %d: dtype %v, want %v", k, in.dtype, first.dtype)
		}
		if len(in.shape) != rank {
			return nil, nil, fmt.Errorf("input %d: rank %d, want %d", k, len(in.shape), rank)
		}
		for d := range in.shape {
			if d != axis && in.shape[d] != first.shape[d] {
				return nil, nil, fmt.Errorf("input %d: shape %v does not match %v off axis %d", k, in.shape, first.shape, axis)
			}
		}
		shape[axis] += in.shape[axis]
		chunks[k] = in.shape[axis] * inner
	}
	outer := shapeSize(shape[:axis])
	outs := []info{{dtype: first.dtype, shape: shape}}
	return outs, func(_ *exec, ins, outs []*value) {
		if outs[0].dtype == Float32 {
			concatInto(outs[0].f, chunks, outer, ins, floatsOf)
		} else {
			concatInto(outs[0].i, chunks, outer, ins, intsOf)
		}
	}, nil
}

// floatsOf and intsOf select a value's elements; they are plain functions
// so that passing them allocates nothing.
func floatsOf(v *value) []float32 { return v.f }
func intsOf(v *value) []int64     { return v.i }

func concatInto[T number](dst []T, chunks []int, outer int, ins []*value, elems func(*value) []T) {
	off := 0
	for o := 0; o < outer; o++ {
		for k, c := range chunks {
			copy(dst[off:off+c], elems(ins[k])[o*c:(o+1)*c])
			off += c
		}
	}
}

// buildSplit compiles Split. The sizes come from the split attribute before
// opset 13, from the constant split input from opset 13, and otherwise are
// equal parts: before opset 18 the axis must divide evenly; from opset 18
// num_outputs gives ceil-sized parts with a smaller last one.
func buildSplit(p *planCtx, n *node, ins []info) ([]info, kernel, error) {
	if err := wantInputs(ins, 1, 2); err != nil {
		return nil, nil, err
	}
	in := ins[0]
	if err := wantDType(in, "input", Float32, Int64); err != nil {
		return nil, nil, err
	}
	if len(in.shape) == 0 {
		return nil, nil, fmt.Errorf("split of a scalar")
	}
	axis, err := normAxis(n.attrs.int("axis", 0), len(in.shape))
	if err != nil {
		return nil, nil, err
	}
	dim := in.shape[axis]
	nout := len(n.outputs)
	var split []int64
	if p.opset < 13 {
		if len(ins) > 1 {
			return nil, nil, fmt.Errorf("split before opset 13 takes one input")
		}
		split = n.attrs.ints("split", nil)
	} else if s, ok := input(ins, 1); ok {
		if split, err = constInts(s, "split"); err != nil {
			return nil, nil, err
		}
		if len(split) == 0 {
			split = nil
		}
	}
	if p.opset >= 18 && n.attrs.has("num_outputs") {
		if split != nil {
			return nil, nil, fmt.Errorf("split and num_outputs are both given")
		}
		if no := n.attrs.int("num_outputs", 0); no != int64(nout) {
			return nil, nil, fmt.Errorf("num_outputs %d but %d outputs", no, nout)
		}
	}
	var sizes []int
	switch {
	case split != nil:
		if len(split) != nout {
			return nil, nil, fmt.Errorf("split has %d sizes for %d outputs", len(split), nout)
		}
		if sizes, err = toInts(split, "split"); err != nil {
			return nil, nil, err
		}
		sum := 0
		for _, s := range sizes {
			sum += s
		}
		if sum != dim {
			return nil, nil, fmt.Errorf("split sizes %v do not add up to %d", split, dim)
		}
	case nout == 0:
		return nil, nil, fmt.Errorf("split has no outputs")
	case p.opset >= 18:
		chunk := (dim + nout - 1) / nout
		sizes = make([]int, nout)
		left := dim
		for k := range sizes {
			sizes[k] = min(chunk, left)
			left -= sizes[k]
		}
	default:
		if dim%nout != 0 {
			return nil, nil, fmt.Errorf("axis of size %d does not split evenly into %d outputs", dim, nout)
		}
		sizes = make([]int, nout)
		for k := range sizes {
			sizes[k] = dim / nout
		}
	}
	outer := shapeSize(in.shape[:axis])
	inner := shapeSize(in.shape[axis+1:])
	outs := make([]info, nout)
	for k, s := range sizes {
		shape := cloneShape(in.shape)
		shape[axis] = s
		outs[k] = info{dtype: in.dtype, shape: shape}
	}
	return outs, func(_ *exec, ins, outs []*value) {
		if ins[0].dtype == Float32 {
			splitInto(ins[0].f, sizes, outer, dim*inner, inner, outs, floatsOf)
		} else {
			splitInto(ins[0].i, sizes, outer, dim*inner, inner, outs, intsOf)
		}
	}, nil
}

// splitInto copies consecutive blocks of src into the outputs; a nil
// output (an unused one the planner dropped) is skipped.
func splitInto[T number](src []T, sizes []int, outer, row, inner int, outs []*value, elems func(*value) []T) {
	for o := 0; o < outer; o++ {
		off := o * row
		for k, s := range sizes {
			c := s * inner
			if k < len(outs) && outs[k] != nil {
				copy(elems(outs[k])[o*c:(o+1)*c], src[off:off+c])
			}
			off += c
		}
	}
}

// buildSlice compiles Slice. Before opset 10 starts, ends and axes are
// attributes; from opset 10 they are inputs, with optional axes and steps,
// and must be constant at plan time. Bounds are clamped as the ONNX
// specification says, so INT64_MAX ends and negative steps work.
func buildSlice(p *planCtx, n *node, ins []info) ([]info, kernel, error) {
	in := ins[0]
	var starts, ends, axes, steps []int64
	if p.opset < 10 {
		if err := wantInputs(ins, 1, 1); err != nil {
			return nil, nil, err
		}
		starts, ends = n.attrs.ints("starts", nil), n.attrs.ints("ends", nil)
		axes = n.attrs.ints("axes", nil)
	} else {
		if err := wantInputs(ins, 3, 5); err != nil {
			return nil, nil, err
		}
		var err error
		if starts, err = constInts(ins[1], "starts"); err != nil {
			return nil, nil, err
		}
		if ends, err = constInts(ins[2], "ends"); err != nil {
			return nil, nil, err
		}
		if a, ok := input(ins, 3); ok {
			if axes, err = constInts(a, "axes"); err != nil {
				return nil, nil, err
			}
		}
		if s, ok := input(ins, 4); ok {
			if steps, err = constInts(s, "steps"); err != nil {
				return nil, nil, err
			}
		}
	}
	if err := wantDType(in, "input", Float32, Int64); err != nil {
		return nil, nil, err
	}
	rank := len(in.shape)
	if len(starts) != len(ends) {
		return nil, nil, fmt.Errorf("%d starts but %d ends", len(starts), len(ends))
	}
	if axes == nil {
		axes = make([]int64, len(starts))
		for k := range axes {
			axes[k] = int64(k)
		}
	}
	if steps == nil {
		steps = make([]int64, len(starts))
		for k := range steps {
			steps[k] = 1
		}
	}
	if len(axes) != len(starts) || len(steps) != len(starts) {
		return nil, nil, fmt.Errorf("starts, ends, axes and steps differ in length")
	}
	ax, err := normAxes(axes, rank)
	if err != nil {
		return nil, nil, err
	}
	// Per output dimension: its size, and where and how fast it reads.
	dims := cloneShape(in.shape)
	first := make([]int, rank)
	step := make([]int, rank)
	for d := range step {
		step[d] = 1
	}
	for k, d := range ax {
		start, sz, err := sliceRange(starts[k], ends[k], steps[k], int64(in.shape[d]))
		if err != nil {
			return nil, nil, err
		}
		dims[d], first[d], step[d] = sz, int(start), int(steps[k])
	}
	st := stridesOf(in.shape)
	base := 0
	for d := range st {
		base += first[d] * st[d]
		step[d] *= st[d]
	}
	outs := []info{{dtype: in.dtype, shape: dims}}
	size := shapeSize(dims)
	walk, wst := coalesce(dims, step)
	return outs, func(_ *exec, ins, outs []*value) {
		if size == 0 {
			return
		}
		if ins[0].dtype == Float32 {
			gatherStrided(outs[0].f, ins[0].f, walk, wst[0], base)
		} else {
			gatherStrided(outs[0].i, ins[0].i, walk, wst[0], base)
		}
	}, nil
}

// sliceRange clamps one axis of a Slice as the specification does and
// returns the first index read and the element count.
func sliceRange(start, end, step, dim int64) (int64, int, error) {
	if step == 0 {
		return 0, 0, fmt.Errorf("slice step is 0")
	}
	if start < 0 {
		start += dim
	}
	if end < 0 {
		end += dim
	}
	if step > 0 {
		start = min(max(start, 0), dim)
		end = min(max(end, 0), dim)
	} else {
		start = min(max(start, 0), dim-1)
		end = min(max(end, -1), dim-1)
	}
	var n int64
	switch {
	case step > 0 && end > start:
		n = (end - start + step - 1) / step
	case step < 0 && start > end:
		n = (start - end - step - 1) / -step
	}
	if n == 0 {
		start = 0 // never read; keeps the base offset in range
	}
	return start, int(n), nil
}

// buildFlatten compiles Flatten to [prod(shape[:axis]), prod(shape[axis:])].
func buildFlatten(p *planCtx, n *node, ins []info) ([]info, kernel, error) {
	if err := wantInputs(ins, 1, 1); err != nil {
		return nil, nil, err
	}
	in := ins[0]
	rank := len(in.shape)
	axis := n.attrs.int("axis", 1)
	if axis < -int64(rank) || axis > int64(rank) {
		return nil, nil, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	if axis < 0 {
		axis += int64(rank)
	}
	return relabel(in, []int{shapeSize(in.shape[:axis]), shapeSize(in.shape[axis:])})
}

// buildReshape compiles Reshape with a constant shape input: 0 copies the
// input dimension (unless allowzero is set, from opset 14), -1 is inferred.
func buildReshape(p *planCtx, n *node, ins []info) ([]info, kernel, error) {
	if err := wantInputs(ins, 2, 2); err != nil {
		return nil, nil, err
	}
	in := ins[0]
	spec, err := constInts(ins[1], "shape")
	if err != nil {
		return nil, nil, err
	}
	allowZero := n.attrs.int("allowzero", 0) != 0
	shape := make([]int, len(spec))
	infer := -1
	known := 1
	for k, d := range spec {
		switch {
		case d == -1:
			if infer >= 0 {
				return nil, nil, fmt.Errorf("shape %v has more than one -1", spec)
			}
			infer = k
			continue
		case d == 0 && !allowZero:
			if k >= len(in.shape) {
				return nil, nil, fmt.Errorf("shape %v copies dimension %d of a rank %d input", spec, k, len(in.shape))
			}
			shape[k] = in.shape[k]
		case d < 0 || d > math.MaxInt32:
			return nil, nil, fmt.Errorf("shape %v has invalid dimension %d", spec, d)
		default:
			shape[k] = int(d)
		}
		known *= shape[k]
	}
	total := shapeSize(in.shape)
	if infer >= 0 {
		if known == 0 || total%known != 0 {
			return nil, nil, fmt.Errorf("cannot reshape %v to %v", in.shape, spec)
		}
		shape[infer] = total / known
	}
	if len(shape) == 0 {
		shape = nil
	}
	return relabel(in, shape)
}

// buildTranspose compiles Transpose; perm defaults to reversing the axes.
func buildTranspose(p *planCtx, n *node, ins []info) ([]info, kernel, error) {
	if err := wantInputs(ins, 1, 1); err != nil {
		return nil, nil, err
	}
	in := ins[0]
	rank := len(in.shape)
	perm := n.attrs.ints("perm", nil)
	if perm == nil {
		perm = make([]int64, rank)
		for k := range perm {
			perm[k] = int64(rank - 1 - k)
		}
	}
	if len(perm) != rank {
		return nil, nil, fmt.Errorf("perm %v for rank %d", perm, rank)
	}
	seen := make([]bool, rank)
	for _, a := range perm {
		if a < 0 || a >= int64(rank) || seen[a] {
			return nil, nil, fmt.Errorf("perm %v is not a permutation", perm)
		}
		seen[a] = true
	}
	st := stridesOf(in.shape)
	dims := make([]int, rank)
	step := make([]int, rank)
	for k, a := range perm {
		dims[k], step[k] = in.shape[a], st[a]
	}
	if rank == 0 {
		dims = nil
	}
	size := shapeSize(dims)
	outs := []info{{dtype: in.dtype, shape: dims}}
	walk, wst := coalesce(dims, step)
	return outs, func(_ *exec, ins, outs []*value) {
		if size == 0 {
			return
		}
		if ins[0].dtype == Float32 {
			gatherStrided(outs[0].f, ins[0].f, walk, wst[0], 0)
		} else {
			gatherStrided(outs[0].i, ins[0].i, walk, wst[0], 0)
		}
	}, nil
}

// axesArg returns the axes of Squeeze, Unsqueeze and the Reduce ops: an
// attribute before opset since, a constant input (index 1) from it on.
func axesArg(p *planCtx, n *node, ins []info, since int64) ([]int64, error) {
	if p.opset < since {
		if len(ins) > 1 {
			return nil, fmt.Errorf("axes is an attribute before opset %d", since)
		}
		return n.attrs.ints("axes", nil), nil
	}
	if n.attrs.has("axes") {
		return nil, fmt.Errorf("axes is an input from opset %d", since)
	}
	a, ok := input(ins, 1)
	if !ok {
		return nil, nil
	}
	return constInts(a, "axes")
}

// buildSqueeze compiles Squeeze; without axes every 1 dimension is removed.
func buildSqueeze(p *planCtx, n *node, ins []info) ([]info, kernel, error) {
	if err := wantInputs(ins, 1, 2); err != nil {
		return nil, nil, err
	}
	in := ins[0]
	axes, err := axesArg(p, n, ins, 13)
	if err != nil {
		return nil, nil, err
	}
	drop := make([]bool, len(in.shape))
	if axes == nil {
		for d, s := range in.shape {
			drop[d] = s == 1
		}
	} else {
		ax, err := normAxes(axes, len(in.shape))
		if err != nil {
			return nil, nil, err
		}
		for _, d := range ax {
			if in.shape[d] != 1 {
				return nil, nil, fmt.Errorf("cannot squeeze axis %d of size %d", d, in.shape[d])
			}
			drop[d] = true
		}
	}
	var shape []int
	for d, s := range in.shape {
		if !drop[d] {
			shape = append(shape, s)
		}
	}
	return relabel(in, shape)
}

// buildUnsqueeze compiles Unsqueeze; axes refer to the output's rank.
func buildUnsqueeze(p *planCtx, n *node, ins []info) ([]info, kernel, error) {
	if err := wantInputs(ins, 1, 2); err != nil {
		return nil, nil, err
	}
	in := ins[0]
	axes, err := axesArg(p, n, ins, 13)
	if err != nil {
		return nil, nil, err
	}
	if len(axes) == 0 {
		return nil, nil, fmt.Errorf("unsqueeze needs axes")
	}
	rank := len(in.shape) + len(axes)
	ax, err := normAxes(axes, rank)
	if err != nil {
		return nil, nil, err
	}
	shape := make([]int, rank)
	for _, d := range ax {
		shape[d] = 1
	}
	k := 0
	for d := range shape {
		if slices.Contains(ax, d) {
			continue
		}
		shape[d] = in.shape[k]
		k++
	}
	return relabel(in, shape)
}

// buildShape compiles Shape, with the start and end attributes of opset 15.
// Shapes are static inside a plan, so the output is always a constant and
// there is no kernel.
func buildShape(p *planCtx, n *node, ins []info) ([]info, kernel, error) {
	if err := wantInputs(ins, 1, 1); err != nil {
		return nil, nil, err
	}
	rank := int64(len(ins[0].shape))
	clampEnd := func(v int64) int64 {
		if v < 0 {
			v += rank
		}
		return min(max(v, 0), rank)
	}
	start, end := clampEnd(n.attrs.int("start", 0)), clampEnd(n.attrs.int("end", rank))
	c := &value{dtype: Int64, i: []int64{}}
	for d := start; d < end; d++ {
		c.i = append(c.i, int64(ins[0].shape[d]))
	}
	c.shape = []int{len(c.i)}
	return []info{{dtype: Int64, shape: c.shape, c: c}}, nil, nil
}

// buildGather compiles Gather along any axis. Indices may be negative; a
// constant index out of range is an error at plan time, and one computed at
// run time yields zeros, since a kernel cannot fail.
func buildGather(p *planCtx, n *node, ins []info) ([]info, kernel, error) {
	if err := wantInputs(ins, 2, 2); err != nil {
		return nil, nil, err
	}
	data, idx := ins[0], ins[1]
	if err := wantDType(data, "data", Float32, Int64); err != nil {
		return nil, nil, err
	}
	if err := wantDType(idx, "indices", Int64); err != nil {
		return nil, nil, err
	}
	if len(data.shape) == 0 {
		return nil, nil, fmt.Errorf("gather from a scalar")
	}
	axis, err := normAxis(n.attrs.int("axis", 0), len(data.shape))
	if err != nil {
		return nil, nil, err
	}
	dim := data.shape[axis]
	if idx.c != nil {
		for _, v := range idx.c.i {
			if v < -int64(dim) || v >= int64(dim) {
				return nil, nil, fmt.Errorf("index %d out of range for axis of size %d", v, dim)
			}
		}
	}
	var shape []int
	shape = append(shape, data.shape[:axis]...)
	shape = append(shape, idx.shape...)
	shape = append(shape, data.shape[axis+1:]...)
	outer := shapeSize(data.shape[:axis])
	inner := shapeSize(data.shape[axis+1:])
	outs := []info{{dtype: data.dtype, shape: shape}}
	if len(shape) == 0 {
		outs[0].shape = nil
	}
	return outs, func(_ *exec, ins, outs []*value) {
		if ins[0].dtype == Float32 {
			gatherInto(outs[0].f, ins[0].f, ins[1].i, outer, dim, inner)
		} else {
			gatherInto(outs[0].i, ins[0].i, ins[1].i, outer, dim, inner)
		}
	}, nil
}

func gatherInto[T number](dst, src []T, idx []int64, outer, dim, inner int) {
	off := 0
	for o := 0; o < outer; o++ {
		for _, j := range idx {
			if j < 0 {
				j += int64(dim)
			}
			d := dst[off : off+inner]
			if j < 0 || j >= int64(dim) {
				clear(d)
			} else {
				s := (o*dim + int(j)) * inner
				copy(d, src[s:s+inner])
			}
			off += inner
		}
	}
}

// buildPad compiles Pad in the constant, reflect and edge modes. Before
// opset 11 pads and value are attributes; from opset 11 pads is a constant
// input and constant_value an optional scalar input, and from opset 18 an
// optional constant axes input selects the padded axes. Negative pads crop.
func buildPad(p *planCtx, n *node, ins []info) ([]info, kernel, error) {
	in := ins[0]
	mode := n.attrs.str("mode", "constant")
	var pads []int64
	hasValue := false
	padValue := float32(0)
	if p.opset < 11 {
		if err := wantInputs(ins, 1, 1); err != nil {
			return nil, nil, err
		}
		pads = n.attrs.ints("pads", nil)
		if pads == nil {
			pads = n.attrs.ints("paddings", nil)
		}
		padValue = n.attrs.float("value", 0)
	} else {
		if err := wantInputs(ins, 2, 4); err != nil {
			return nil, nil, err
		}
		var err error
		if pads, err = constInts(ins[1], "pads"); err != nil {
			return nil, nil, err
		}
		if v, ok := input(ins, 2); ok {
			if v.dtype != in.dtype || shapeSize(v.shape) != 1 {
				return nil, nil, fmt.Errorf("constant_value must be a scalar of the input's dtype")
			}
			hasValue = true
		}
		if a, ok := input(ins, 3); ok {
			axes, err := constInts(a, "axes")
			if err != nil {
				return nil, nil, err
			}
			ax, err := normAxes(axes, len(in.shape))
			if err != nil {
				return nil, nil, err
			}
			if len(pads) != 2*len(ax) {
				return nil, nil, fmt.Errorf("%d pads for %d axes", len(pads), len(ax))
			}
			full := make([]int64, 2*len(in.shape))
			for k, d := range ax {
				full[d] = pads[k]
				full[len(in.shape)+d] = pads[len(ax)+k]
			}
			pads = full
		}
	}
	if err := wantDType(in, "input", Float32, Int64); err != nil {
		return nil, nil, err
	}
	rank := len(in.shape)
	if len(pads) != 2*rank {
		return nil, nil, fmt.Errorf("%d pads for rank %d", len(pads), rank)
	}
	if mode != "constant" && mode != "reflect" && mode != "edge" {
		return nil, nil, notSupportedf("pad mode %q", mode)
	}
	// For every output coordinate of every dimension, the input coordinate
	// it reads, or -1 for the padding value.
	dims := make([]int, rank)
	srcOf := make([][]int, rank)
	for d := 0; d < rank; d++ {
		before, after := pads[d], pads[rank+d]
		size := int64(in.shape[d])
		out := size + before + after
		if out < 0 || before > math.MaxInt32 || after > math.MaxInt32 {
			return nil, nil, fmt.Errorf("pads %v invalid for shape %v", pads, in.shape)
		}
		if mode != "constant" && size == 0 && out > 0 {
			return nil, nil, fmt.Errorf("cannot %s-pad an empty axis", mode)
		}
		if mode != "constant" && (before < 0 || after < 0) {
			return nil, nil, fmt.Errorf("negative pads in %s mode", mode)
		}
		dims[d] = int(out)
		m := make([]int, out)
		for o := range m {
			m[o] = padSource(int64(o)-before, size, mode)
		}
		srcOf[d] = m
	}
	outs := []info{{dtype: in.dtype, shape: dims}}
	if rank == 0 {
		outs[0].shape = nil
	}
	st := stridesOf(in.shape)
	if in.dtype == Float32 {
		return outs, func(_ *exec, ins, outs []*value) {
			v := padValue
			if hasValue {
				v = ins[2].f[0]
			}
			padInto(outs[0].f, ins[0].f, srcOf, st, 0, v)
		}, nil
	}
	return outs, func(_ *exec, ins, outs []*value) {
		v := int64(padValue)
		if hasValue {
			v = ins[2].i[0]
		}
		padInto(outs[0].i, ins[0].i, srcOf, st, 0, v)
	}, nil
}

// padSource maps coordinate s, which may lie outside [0,size), to the input
// coordinate read in the given mode, or -1 for the padding value.
func padSource(s, size int64, mode string) int {
	if s >= 0 && s < size {
		return int(s)
	}
	switch mode {
	case "edge":
		return int(min(max(s, 0), size-1))
	case "reflect":
		if size == 1 {
			return 0
		}
		period := 2 * (size - 1)
		s %= period
		if s < 0 {
			s += period
		}
		if s >= size {
			s = period - s
		}
		return int(s)
	}
	return -1
}

// padInto fills dst, walking the output dimensions recursively.
func padInto[T number](dst, src []T, srcOf [][]int, st []int, base int, v T) {
	if len(srcOf) == 0 {
		dst[0] = src[base]
		return
	}
	inner := len(dst) / max(len(srcOf[0]), 1)
	for o, s := range srcOf[0] {
		d := dst[o*inner : (o+1)*inner]
		if s < 0 {
			for k := range d {
				d[k] = v
			}
			continue
		}
		if len(srcOf) == 1 {
			d[0] = src[base+s]
			continue
		}
		padInto(d, src, srcOf[1:], st[1:], base+s*st[0], v)
	}
}

// buildCast compiles Cast. Values are held as float32 or int64, so: to
// float, double or float16 gives float32 (float16 rounds to half
// precision first); to any integer type gives int64, truncating floats
// toward zero (values are not wrapped to narrower integer ranges); to bool
// gives int64 0 or 1. Strings, bfloat16 and the float8 types return
// ErrUnsupported.
func buildCast(p *planCtx, n *node, ins []info) ([]info, kernel, error) {
	if err := wantInputs(ins, 1, 1); err != nil {
		return nil, nil, err
	}
	in := ins[0]
	if err := wantDType(in, "input", Float32, Int64); err != nil {
		return nil, nil, err
	}
	if !n.attrs.has("to") {
		return nil, nil, fmt.Errorf("cast: attribute to is required")
	}
	to := n.attrs.int("to", 0)
	if to < 0 || to > math.MaxInt32 {
		return nil, nil, fmt.Errorf("cast to data type %d", to)
	}
	shape := cloneShape(in.shape)
	switch int32(to) {
	case onnxpb.Float, onnxpb.Double, onnxpb.Float16:
		half := to == int64(onnxpb.Float16)
		outs := []info{{dtype: Float32, shape: shape}}
		return outs, func(_ *exec, ins, outs []*value) {
			dst := outs[0].f
			if ins[0].dtype == Float32 {
				copy(dst, ins[0].f)
			} else {
				for k, v := range ins[0].i {
					dst[k] = float32(v)
				}
			}
			if half {
				for k, v := range dst {
					dst[k] = roundHalf(v)
				}
			}
		}, nil
	case onnxpb.Uint8, onnxpb.Int8, onnxpb.Uint16, onnxpb.Int16, onnxpb.Int32, onnxpb.Int64,
		onnxpb.Uint32, onnxpb.Uint64, onnxpb.Bool:
		isBool := to == int64(onnxpb.Bool)
		outs := []info{{dtype: Int64, shape: shape}}
		return outs, func(_ *exec, ins, outs []*value) {
			dst := outs[0].i
			switch {
			case ins[0].dtype == Int64:
				copy(dst, ins[0].i)
			case isBool:
				// Decide on the float: 0.5 is true although it truncates to 0.
				for k, v := range ins[0].f {
					dst[k] = 0
					if v != 0 {
						dst[k] = 1
					}
				}
				return
			default:
				for k, v := range ins[0].f {
					dst[k] = truncInt(float64(v))
				}
			}
			if isBool {
				for k, v := range dst {
					if v != 0 {
						dst[k] = 1
					}
				}
			}
		}, nil
	}
	return nil, nil, notSupportedf("cast to data type %d", to)
}

// truncInt converts v toward zero, saturating out-of-range values and
// mapping NaN to 0 so the result does not depend on the platform.
func truncInt(v float64) int64 {
	switch {
	case v != v:
		return 0
	case v >= math.MaxInt64:
		return math.MaxInt64
	case v <= math.MinInt64:
		return math.MinInt64
	}
	return int64(v)
}

// roundHalf rounds v to the nearest IEEE half-precision value (ties to
// even, overflowing to infinity) and returns it as float32.
func roundHalf(v float32) float32 {
	return onnxpb.Float16ToFloat32(onnxpb.Float32ToFloat16(v))
}

// buildConstant compiles Constant: its output is a plan-time constant.
func buildConstant(p *planCtx, n *node, ins []info) ([]info, kernel, error) {
	if len(ins) != 0 {
		return nil, nil, fmt.Errorf("constant takes no inputs")
	}
	var c *value
	set := 0
	if t := n.attrs.tensor("value"); t != nil {
		v, err := constantTensor(t)
		if err != nil {
			return nil, nil, err
		}
		c, set = v, set+1
	}
	if n.attrs.has("value_float") {
		c, set = &value{dtype: Float32, f: []float32{n.attrs.float("value_float", 0)}}, set+1
	}
	if n.attrs.has("value_int") {
		c, set = &value{dtype: Int64, i: []int64{n.attrs.int("value_int", 0)}}, set+1
	}
	if n.attrs.has("value_floats") {
		f := append([]float32{}, n.attrs.floats("value_floats", nil)...)
		c, set = &value{dtype: Float32, shape: []int{len(f)}, f: f}, set+1
	}
	if n.attrs.has("value_ints") {
		i := append([]int64{}, n.attrs.ints("value_ints", nil)...)
		c, set = &value{dtype: Int64, shape: []int{len(i)}, i: i}, set+1
	}
	for _, a := range []string{"value_string", "value_strings", "sparse_value"} {
		if n.attrs.has(a) {
			return nil, nil, notSupportedf("constant with %s", a)
		}
	}
	if set != 1 {
		return nil, nil, fmt.Errorf("constant needs exactly one value attribute, got %d", set)
	}
	return []info{{dtype: c.dtype, shape: c.shape, c: c}}, nil, nil
}

// constantTensor converts the value attribute of a Constant node. Floating
// types become float32 and integer and bool types int64; others return
// ErrUnsupported.
func constantTensor(t *onnxpb.Tensor) (*value, error) {
	shape, err := toInts(t.Dims, "value")
	if err != nil {
		return nil, err
	}
	v := &value{shape: shape}
	if len(shape) == 0 {
		v.shape = nil
	}
	switch t.DataType {
	case onnxpb.Float, onnxpb.Float16, onnxpb.BFloat16, onnxpb.Double:
		f, err := t.Float32s()
		if err != nil {
			return nil, fmt.Errorf("value: %w", err)
		}
		v.dtype, v.f = Float32, slices.Clone(f)
	case onnxpb.Int64, onnxpb.Int32, onnxpb.Int16, onnxpb.Int8, onnxpb.Uint8,
		onnxpb.Uint16, onnxpb.Uint32, onnxpb.Uint64, onnxpb.Bool:
		i, err := t.Int64s()
		if err != nil {
			return nil, fmt.Errorf("value: %w", err)
		}
		v.dtype, v.i = Int64, slices.Clone(i)
	default:
		return nil, notSupportedf("constant of data type %d", t.DataType)
	}
	if v.size() != len(v.f)+len(v.i) {
		return nil, fmt.Errorf("value: dims %v do not match %d elements", t.Dims, len(v.f)+len(v.i))
	}
	return v, nil
}
