package onnxmodel

import (
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

// testExec returns an exec whose parallel really runs on two goroutines,
// so that chunked kernels are exercised.
func testExec(ws int) *exec {
	return &exec{ws: make([]float32, ws), threads: 2, parallel: func(n int, f func(lo, hi int)) {
		var wg sync.WaitGroup
		mid := n / 2
		wg.Add(1)
		go func() { defer wg.Done(); f(mid, n) }()
		f(0, mid)
		wg.Wait()
	}}
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
	p := &planCtx{opset: r.opset, threads: 2, cache: map[string]any{}}
	outInfos, k, err := spec.build(p, n, infos)
	if err != nil {
		return nil, err
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
	if k != nil {
		k(testExec(p.workspace), r.ins, outs)
	}
	return outs, nil
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
