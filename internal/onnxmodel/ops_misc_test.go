package onnxmodel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/tlserve/tlserve/internal/onnxpb"
)

// This file is a small harness that compiles one operator through its
// builder and runs its kernel, so the light operators can be tested
// without the loader and planner.

// fv returns a float32 value of the given shape.
func fv(shape []int, f ...float32) *value {
	if len(shape) == 0 {
		shape = nil
	}
	return &value{dtype: Float32, shape: shape, f: f}
}

// iv returns an int64 value of the given shape.
func iv(shape []int, i ...int64) *value {
	if len(shape) == 0 {
		shape = nil
	}
	return &value{dtype: Int64, shape: shape, i: i}
}

// randValue returns a float32 value with reproducible values in [-4, 4).
func randValue(r *rand.Rand, shape ...int) *value {
	v := fv(shape, make([]float32, shapeSize(shape))...)
	for k := range v.f {
		v.f[k] = r.Float32()*8 - 4
	}
	return v
}

// randInts returns an int64 value with reproducible values in [-20, 20),
// never 0 so that it can be a divisor.
func randInts(r *rand.Rand, shape ...int) *value {
	v := iv(shape, make([]int64, shapeSize(shape))...)
	for k := range v.i {
		for v.i[k] == 0 {
			v.i[k] = r.Int64N(40) - 20
		}
	}
	return v
}

func aInt(name string, v int64) *onnxpb.Attribute {
	return &onnxpb.Attribute{Name: name, Type: onnxpb.AttrInt, I: v}
}
func aInts(name string, v ...int64) *onnxpb.Attribute {
	return &onnxpb.Attribute{Name: name, Type: onnxpb.AttrInts, Ints: v}
}
func aFloat(name string, v float32) *onnxpb.Attribute {
	return &onnxpb.Attribute{Name: name, Type: onnxpb.AttrFloat, F: v}
}
func aFloats(name string, v ...float32) *onnxpb.Attribute {
	return &onnxpb.Attribute{Name: name, Type: onnxpb.AttrFloats, Floats: v}
}
func aStr(name, v string) *onnxpb.Attribute {
	return &onnxpb.Attribute{Name: name, Type: onnxpb.AttrString, S: []byte(v)}
}

// mkAttrs builds an attrs map.
func mkAttrs(as ...*onnxpb.Attribute) attrs {
	m := attrs{}
	for _, a := range as {
		m[a.Name] = a
	}
	return m
}

// testPool is the worker pool of testExec, started on first use and shared
// by the tests of this file.
var testPool = sync.OnceValue(func() *workerPool { return newWorkerPool(1) })

// testExec returns an exec that runs large loops on two goroutines, so
// that chunked kernels are exercised.
func testExec(ws int) *exec {
	return newExec(ws, 2, testPool())
}

// opRun describes one operator invocation for runOp.
type opRun struct {
	opset int64
	op    string
	attrs attrs
	ins   []*value // nil marks an omitted optional input
	// dynamic lists the inputs that are not constant at plan time; all
	// others are presented to the builder as constants.
	dynamic []int
	nout    int // number of outputs; 0 means 1
}

// runOp compiles r through the registered builder, allocates the outputs
// and runs the kernel. It returns the builder's error.
func runOp(t testing.TB, r opRun) ([]*value, error) {
	t.Helper()
	k, outs, ws, err := compileOp(t, r)
	if err != nil {
		return nil, err
	}
	if k != nil {
		k(testExec(ws), r.ins, outs)
	}
	return outs, nil
}

// compileOp compiles r and allocates its outputs (poisoned, so that a
// kernel that skips an element is caught). Constant outputs are returned
// as they are. It returns the kernel (nil when every output is constant),
// the outputs and the workspace size.
func compileOp(t testing.TB, r opRun) (kernel, []*value, int, error) {
	t.Helper()
	spec, ok := testOps[r.op]
	if !ok {
		t.Fatalf("operator %s is not registered", r.op)
	}
	if r.opset == 0 {
		r.opset = 17
	}
	n := &node{name: "n", opType: r.op, attrs: r.attrs}
	if n.attrs == nil {
		n.attrs = attrs{}
	}
	infos := make([]info, len(r.ins))
	for k, v := range r.ins {
		n.inputs = append(n.inputs, "")
		if v == nil {
			continue
		}
		n.inputs[k] = "in"
		infos[k] = info{dtype: v.dtype, shape: v.shape, c: v}
		for _, d := range r.dynamic {
			if d == k {
				infos[k].c = nil
			}
		}
	}
	nout := max(r.nout, 1)
	for k := 0; k < nout; k++ {
		n.outputs = append(n.outputs, "out")
	}
	p := &planCtx{opset: r.opset, threads: 2, cache: newLoadCache()}
	outInfos, k, err := spec.build(p, n, infos)
	if err != nil {
		return nil, nil, 0, err
	}
	if len(outInfos) != nout {
		t.Fatalf("%s: builder returned %d outputs, want %d", r.op, len(outInfos), nout)
	}
	outs := make([]*value, nout)
	for j, oi := range outInfos {
		if oi.c != nil {
			outs[j] = oi.c
			continue
		}
		if k == nil {
			t.Fatalf("%s: output %d is neither constant nor computed by a kernel", r.op, j)
		}
		v := &value{dtype: oi.dtype, shape: oi.shape}
		switch oi.dtype {
		case Float32:
			v.f = make([]float32, shapeSize(oi.shape))
			for i := range v.f {
				v.f[i] = float32(math.NaN()) // poison: every element must be written
			}
		case Int64:
			v.i = make([]int64, shapeSize(oi.shape))
			for i := range v.i {
				v.i[i] = math.MinInt64 + 7
			}
		default:
			t.Fatalf("%s: output %d has dtype %v", r.op, j, oi.dtype)
		}
		outs[j] = v
	}
	return k, outs, p.workspace, nil
}

// mustRun is runOp for invocations that must compile.
func mustRun(t testing.TB, r opRun) []*value {
	t.Helper()
	outs, err := runOp(t, r)
	if err != nil {
		t.Fatalf("%s: %v", r.op, err)
	}
	return outs
}

// testOps is the registry the harness uses: the light operators only, so
// the tests do not depend on the rest of the package.
var testOps = mergeOps(opsElementwise, opsShape, opsReduce)

// checkValue compares got against want: same dtype and shape, int64 exact,
// float32 within |g-w| <= atol + rtol*|w| (NaNs must match).
func checkValue(t testing.TB, got, want *value, rtol, atol float64) {
	t.Helper()
	if got.dtype != want.dtype {
		t.Fatalf("dtype %v, want %v", got.dtype, want.dtype)
	}
	if !sameShape(got.shape, want.shape) {
		t.Fatalf("shape %v, want %v", got.shape, want.shape)
	}
	if got.dtype == Int64 {
		for k := range want.i {
			if got.i[k] != want.i[k] {
				t.Fatalf("element %d: %d, want %d (got %v, want %v)", k, got.i[k], want.i[k], got.i, want.i)
			}
		}
		return
	}
	if len(got.f) != len(want.f) {
		t.Fatalf("%d elements, want %d", len(got.f), len(want.f))
	}
	for k := range want.f {
		g, w := float64(got.f[k]), float64(want.f[k])
		if math.IsNaN(w) && math.IsNaN(g) || g == w {
			continue
		}
		if !(math.Abs(g-w) <= atol+rtol*math.Abs(w)) {
			t.Fatalf("element %d: %g, want %g", k, g, w)
		}
	}
}

func TestSliceRange(t *testing.T) {
	tests := []struct {
		start, end, step, dim int64
		first                 int64
		n                     int
	}{
		{0, 3, 1, 5, 0, 3},
		{1, math.MaxInt64, 1, 5, 1, 4},
		{-2, math.MaxInt64, 1, 5, 3, 2},
		{-100, 100, 2, 5, 0, 3},
		{math.MaxInt64, math.MinInt64, -1, 5, 4, 5},
		{-1, -6, -2, 5, 4, 3},
		{4, 1, -1, 5, 4, 3},
		{3, 3, 1, 5, 0, 0},
		{1, 3, -1, 5, 0, 0},
		{0, 10, 1, 0, 0, 0},
	}
	for _, tc := range tests {
		first, n, err := sliceRange(tc.start, tc.end, tc.step, tc.dim)
		if err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
		if first != tc.first || n != tc.n {
			t.Errorf("sliceRange(%d, %d, %d, %d) = %d, %d; want %d, %d", tc.start, tc.end, tc.step, tc.dim, first, n, tc.first, tc.n)
		}
	}
	if _, _, err := sliceRange(0, 1, 0, 3); err == nil {
		t.Error("step 0: no error")
	}
}

// TestKernelsDoNotAllocate checks that the light kernels allocate nothing
// per run, on one goroutine and with a worker pool, small and large.
func TestKernelsDoNotAllocate(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	small, large := randValue(r, 2, 8, 5, 5), randValue(r, 2, 64, 32, 32)
	tests := []opRun{
		{op: "Add", ins: []*value{small, small}},
		{op: "Add", ins: []*value{large, large}},
		{op: "Mul", ins: []*value{large, randValue(r, 64, 1, 1)}},
		{op: "Sub", ins: []*value{randValue(r, 64, 1, 1), large}},
		{op: "Div", ins: []*value{large, randValue(r, 32)}},
		{op: "Add", ins: []*value{small, randValue(r, 2, 1, 5, 1)}},
		{op: "Pow", ins: []*value{small, iv(nil, 2)}},
		{op: "Relu", ins: []*value{small}},
		{op: "Relu", ins: []*value{large}},
		{op: "HardSwish", ins: []*value{large}},
		{op: "Clip", ins: []*value{large, fv(nil, 0), fv(nil, 6)}},
		{op: "Clip", opset: 6, attrs: mkAttrs(aFloat("max", 6)), ins: []*value{small}},
		{op: "Softmax", ins: []*value{randValue(r, 64, 1000)}},
		{op: "Softmax", opset: 11, ins: []*value{small}},
		{op: "LogSoftmax", ins: []*value{small}},
		{op: "ReduceMean", attrs: mkAttrs(aInts("axes", 2, 3)), opset: 13, ins: []*value{large}},
		{op: "ReduceLogSumExp", attrs: mkAttrs(aInts("axes", 1)), opset: 13, ins: []*value{small}},
		{op: "ReduceMax", attrs: mkAttrs(aInts("axes", 1)), opset: 13, ins: []*value{iv([]int{2, 2}, 3, 1, 4, 1)}},
		{op: "Concat", attrs: mkAttrs(aInt("axis", 1)), ins: []*value{small, small, small}},
		{op: "Split", attrs: mkAttrs(aInt("axis", 1)), ins: []*value{small}, nout: 2},
		{op: "Slice", ins: []*value{small, ints(1), ints(-1), ints(3), ints(2)}},
		{op: "Transpose", attrs: mkAttrs(aInts("perm", 0, 2, 3, 1)), ins: []*value{small}},
		{op: "Pad", attrs: mkAttrs(aStr("mode", "reflect")), ins: []*value{small, ints(0, 0, 1, 1, 0, 0, 1, 1)}},
		{op: "Gather", attrs: mkAttrs(aInt("axis", 1)), ins: []*value{small, ints(3, -1)}},
		{op: "Reshape", ins: []*value{small, ints(2, -1)}},
		{op: "Flatten", ins: []*value{large}},
		{op: "Cast", attrs: mkAttrs(aInt("to", int64(onnxpb.Int64))), ins: []*value{small}},
		{op: "Dropout", ins: []*value{small}, nout: 2},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%v", tc.op, tc.ins[0].shape), func(t *testing.T) {
			tc.dynamic = []int{0}
			k, outs, ws, err := compileOp(t, tc)
			if err != nil {
				t.Fatal(err)
			}
			for _, threads := range []int{1, 2} {
				var wp *workerPool
				if threads > 1 {
					wp = testPool()
				}
				x := newExec(ws, threads, wp)
				if a := testing.AllocsPerRun(5, func() { k(x, tc.ins, outs) }); a != 0 {
					t.Errorf("threads %d: %v allocations per run", threads, a)
				}
			}
		})
	}
}

func TestCoalesce(t *testing.T) {
	tests := []struct {
		dims     []int
		strides  [][]int
		wantDims []int
		wantSt   [][]int
	}{
		// [1,C,H,W] + [C,1,1]: H and W merge, the batch 1 drops.
		{[]int{1, 4, 3, 5}, [][]int{{60, 15, 5, 1}, {0, 1, 0, 0}}, []int{4, 15}, [][]int{{15, 1}, {1, 0}}},
		// [2,3,4] + [2,1,4]: nothing merges across the broadcast axis.
		{[]int{2, 3, 4}, [][]int{{12, 4, 1}, {4, 0, 1}}, []int{2, 3, 4}, [][]int{{12, 4, 1}, {4, 0, 1}}},
		// Everything contiguous collapses to one loop.
		{[]int{2, 3, 4}, [][]int{{12, 4, 1}}, []int{24}, [][]int{{1}}},
		{[]int{1, 1}, [][]int{{1, 1}}, nil, [][]int{nil}},
	}
	for _, tc := range tests {
		d, s := coalesce(tc.dims, tc.strides...)
		if fmt.Sprint(d, s) != fmt.Sprint(tc.wantDims, tc.wantSt) {
			t.Errorf("coalesce(%v, %v) = %v, %v; want %v, %v", tc.dims, tc.strides, d, s, tc.wantDims, tc.wantSt)
		}
	}
}
