package onnxmodel

import (
	"errors"
	"math"
	"testing"

	"github.com/tlserve/tlserve/internal/onnxpb"
)

// seq returns a float32 value holding 0, 1, 2, ... in the given shape.
func seq(shape ...int) *value {
	v := fv(shape, make([]float32, shapeSize(shape))...)
	for k := range v.f {
		v.f[k] = float32(k)
	}
	return v
}

// iseq returns an int64 value holding 0, 1, 2, ... in the given shape.
func iseq(shape ...int) *value {
	v := iv(shape, make([]int64, shapeSize(shape))...)
	for k := range v.i {
		v.i[k] = int64(k)
	}
	return v
}

// ints is shorthand for a 1-D int64 value.
func ints(v ...int64) *value { return iv([]int{len(v)}, v...) }

type shapeCase struct {
	name  string
	opset int64
	attrs attrs
	ins   []*value
	want  []*value
}

func runShapeCases(t *testing.T, op string, tests []shapeCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mustRun(t, opRun{opset: tc.opset, op: op, attrs: tc.attrs, ins: tc.ins, dynamic: []int{0}, nout: len(tc.want)})
			for k := range tc.want {
				checkValue(t, got[k], tc.want[k], 0, 0)
			}
		})
	}
}

func TestConcat(t *testing.T) {
	runShapeCases(t, "Concat", []shapeCase{
		{"axis0", 0, mkAttrs(aInt("axis", 0)), []*value{seq(1, 2), fv([]int{2, 2}, 9, 8, 7, 6)}, []*value{fv([]int{3, 2}, 0, 1, 9, 8, 7, 6)}},
		{"axis1", 0, mkAttrs(aInt("axis", 1)), []*value{seq(2, 1), fv([]int{2, 2}, 9, 8, 7, 6)}, []*value{fv([]int{2, 3}, 0, 9, 8, 1, 7, 6)}},
		{"negative", 0, mkAttrs(aInt("axis", -1)), []*value{seq(2, 1), fv([]int{2, 2}, 9, 8, 7, 6)}, []*value{fv([]int{2, 3}, 0, 9, 8, 1, 7, 6)}},
		{"empty part", 0, mkAttrs(aInt("axis", 0)), []*value{seq(0, 2), seq(1, 2)}, []*value{fv([]int{1, 2}, 0, 1)}},
		{"int64 shapes", 0, mkAttrs(aInt("axis", 0)), []*value{ints(1), ints(-1, 7)}, []*value{ints(1, -1, 7)}},
	})
	for _, tc := range []struct {
		name string
		a    attrs
		ins  []*value
	}{
		{"no axis", nil, []*value{seq(2), seq(2)}},
		{"rank", mkAttrs(aInt("axis", 0)), []*value{seq(2), seq(1, 2)}},
		{"off-axis dims", mkAttrs(aInt("axis", 0)), []*value{seq(1, 2), seq(1, 3)}},
		{"axis range", mkAttrs(aInt("axis", 2)), []*value{seq(1, 2), seq(1, 2)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := runOp(t, opRun{op: "Concat", attrs: tc.a, ins: tc.ins}); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestSplit(t *testing.T) {
	x := seq(2, 5)
	runShapeCases(t, "Split", []shapeCase{
		{"attr", 11, mkAttrs(aInt("axis", 1), aInts("split", 2, 3)), []*value{x},
			[]*value{fv([]int{2, 2}, 0, 1, 5, 6), fv([]int{2, 3}, 2, 3, 4, 7, 8, 9)}},
		{"input", 13, mkAttrs(aInt("axis", -1)), []*value{x, ints(1, 4)},
			[]*value{fv([]int{2, 1}, 0, 5), fv([]int{2, 4}, 1, 2, 3, 4, 6, 7, 8, 9)}},
		{"equal", 13, nil, []*value{x}, []*value{seq(1, 5), fv([]int{1, 5}, 5, 6, 7, 8, 9)}},
		{"num_outputs uneven", 18, mkAttrs(aInt("axis", 1), aInt("num_outputs", 2)), []*value{x},
			[]*value{fv([]int{2, 3}, 0, 1, 2, 5, 6, 7), fv([]int{2, 2}, 3, 4, 8, 9)}},
		{"zero size part", 13, mkAttrs(aInt("axis", 1)), []*value{x, ints(0, 5)},
			[]*value{fv([]int{2, 0}), x}},
	})
	for _, tc := range []struct {
		name  string
		opset int64
		a     attrs
		ins   []*value
		nout  int
	}{
		{"uneven before 18", 13, mkAttrs(aInt("axis", 1)), []*value{x}, 2},
		{"sum", 13, mkAttrs(aInt("axis", 1)), []*value{x, ints(1, 1)}, 2},
		{"count", 11, mkAttrs(aInt("axis", 1), aInts("split", 5)), []*value{x}, 2},
		{"num_outputs mismatch", 18, mkAttrs(aInt("axis", 1), aInt("num_outputs", 3)), []*value{x}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := runOp(t, opRun{opset: tc.opset, op: "Split", attrs: tc.a, ins: tc.ins, nout: tc.nout}); err == nil {
				t.Fatal("no error")
			}
		})
	}
	t.Run("dynamic split", func(t *testing.T) {
		_, err := runOp(t, opRun{op: "Split", attrs: mkAttrs(aInt("axis", 1)), ins: []*value{x, ints(2, 3)}, dynamic: []int{1}, nout: 2})
		if !errors.Is(err, ErrUnsupported) {
			t.Fatalf("err = %v, want ErrUnsupported", err)
		}
	})
}

// naiveSlice is the reference for Slice: it walks every output coordinate.
func naiveSlice(x *value, starts, ends, axes, steps []int64) *value {
	rank := len(x.shape)
	first, step, dims := make([]int, rank), make([]int, rank), cloneShape(x.shape)
	for d := range step {
		step[d] = 1
	}
	for k, a := range axes {
		if a < 0 {
			a += int64(rank)
		}
		dim := int64(x.shape[a])
		s, e, st := starts[k], ends[k], steps[k]
		if s < 0 {
			s += dim
		}
		if e < 0 {
			e += dim
		}
		var idx []int64
		if st > 0 {
			s, e = min(max(s, 0), dim), min(max(e, 0), dim)
			for i := s; i < e; i += st {
				idx = append(idx, i)
			}
		} else {
			s, e = min(max(s, 0), dim-1), min(max(e, -1), dim-1)
			for i := s; i > e; i += st {
				idx = append(idx, i)
			}
		}
		dims[a] = len(idx)
		if len(idx) > 0 {
			first[a] = int(idx[0])
		}
		step[a] = int(st)
	}
	out := fv(dims)
	n := shapeSize(dims)
	src := stridesOf(x.shape)
	for k := 0; k < n; k++ {
		r, off := k, 0
		for d := rank - 1; d >= 0; d-- {
			c := r % dims[d]
			r /= dims[d]
			off += (first[d] + c*step[d]) * src[d]
		}
		out.f = append(out.f, x.f[off])
	}
	return out
}

func TestSlice(t *testing.T) {
	x := seq(4, 5, 6)
	big := int64(math.MaxInt64)
	tests := []struct {
		name                      string
		starts, ends, axes, steps []int64
	}{
		{"basic", []int64{1, 0}, []int64{3, 3}, []int64{0, 2}, []int64{1, 1}},
		{"all axes default", []int64{0, 1, 2}, []int64{2, 3, 4}, nil, nil},
		{"negative", []int64{-3}, []int64{-1}, []int64{1}, []int64{1}},
		{"negative axis", []int64{1}, []int64{big}, []int64{-1}, []int64{1}},
		{"int max end", []int64{2}, []int64{big}, []int64{1}, []int64{1}},
		{"clamped", []int64{-1000}, []int64{1000}, []int64{2}, []int64{2}},
		{"reverse", []int64{-1}, []int64{math.MinInt64}, []int64{2}, []int64{-1}},
		{"reverse step 2", []int64{big}, []int64{-big}, []int64{1}, []int64{-2}},
		{"reverse partial", []int64{4}, []int64{1}, []int64{2}, []int64{-2}},
		{"empty", []int64{3}, []int64{1}, []int64{0}, []int64{1}},
		{"mixed steps", []int64{3, 0, 5}, []int64{0, 5, 0}, []int64{0, 1, 2}, []int64{-1, 3, -2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			axes, steps := tc.axes, tc.steps
			if axes == nil {
				axes = []int64{0, 1, 2}[:len(tc.starts)]
			}
			if steps == nil {
				steps = []int64{1, 1, 1}[:len(tc.starts)]
			}
			want := naiveSlice(x, tc.starts, tc.ends, axes, steps)
			ins := []*value{x, ints(tc.starts...), ints(tc.ends...)}
			if tc.axes != nil {
				ins = append(ins, ints(tc.axes...))
			}
			if tc.steps != nil {
				if tc.axes == nil {
					ins = append(ins, nil)
				}
				ins = append(ins, ints(tc.steps...))
			}
			got := mustRun(t, opRun{op: "Slice", ins: ins, dynamic: []int{0}})
			checkValue(t, got[0], want, 0, 0)
			if tc.steps == nil {
				// The same slice in the opset 1 attribute form.
				a := mkAttrs(aInts("starts", tc.starts...), aInts("ends", tc.ends...))
				if tc.axes != nil {
					a["axes"] = aInts("axes", tc.axes...)
				}
				got := mustRun(t, opRun{opset: 9, op: "Slice", attrs: a, ins: []*value{x}})
				checkValue(t, got[0], want, 0, 0)
			}
		})
	}
	t.Run("int64 data", func(t *testing.T) {
		got := mustRun(t, opRun{op: "Slice", ins: []*value{ints(4, 3, 224, 224), ints(-2), ints(big)}})
		checkValue(t, got[0], ints(224, 224), 0, 0)
	})
	t.Run("dynamic starts", func(t *testing.T) {
		_, err := runOp(t, opRun{op: "Slice", ins: []*value{x, ints(0), ints(1)}, dynamic: []int{1}})
		if !errors.Is(err, ErrUnsupported) {
			t.Fatalf("err = %v, want ErrUnsupported", err)
		}
	})
	for _, bad := range []struct {
		name string
		ins  []*value
	}{
		{"step 0", []*value{x, ints(0), ints(1), ints(0), ints(0)}},
		{"repeated axis", []*value{x, ints(0, 0), ints(1, 1), ints(0, 0)}},
		{"axis range", []*value{x, ints(0), ints(1), ints(3)}},
		{"lengths", []*value{x, ints(0, 1), ints(1)}},
	} {
		t.Run(bad.name, func(t *testing.T) {
			if _, err := runOp(t, opRun{op: "Slice", ins: bad.ins}); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestRelabelOps(t *testing.T) {
	x := seq(2, 3, 4)
	tests := []struct {
		name  string
		opset int64
		op    string
		attrs attrs
		ins   []*value
		shape []int
	}{
		{"flatten default", 0, "Flatten", nil, []*value{x}, []int{2, 12}},
		{"flatten 0", 0, "Flatten", mkAttrs(aInt("axis", 0)), []*value{x}, []int{1, 24}},
		{"flatten rank", 0, "Flatten", mkAttrs(aInt("axis", 3)), []*value{x}, []int{24, 1}},
		{"flatten negative", 0, "Flatten", mkAttrs(aInt("axis", -1)), []*value{x}, []int{6, 4}},
		{"reshape", 0, "Reshape", nil, []*value{x, ints(4, 6)}, []int{4, 6}},
		{"reshape infer", 0, "Reshape", nil, []*value{x, ints(-1, 8)}, []int{3, 8}},
		{"reshape copy", 0, "Reshape", nil, []*value{x, ints(0, -1)}, []int{2, 12}},
		{"reshape copy middle", 0, "Reshape", nil, []*value{x, ints(2, 0, 2, 2)}, []int{2, 3, 2, 2}},
		{"reshape scalar", 0, "Reshape", nil, []*value{seq(1, 1), ints()}, nil},
		{"reshape allowzero", 14, "Reshape", mkAttrs(aInt("allowzero", 1)), []*value{seq(0, 3), ints(3, 0)}, []int{3, 0}},
		{"squeeze all", 11, "Squeeze", nil, []*value{seq(1, 3, 1, 2)}, []int{3, 2}},
		{"squeeze attr", 11, "Squeeze", mkAttrs(aInts("axes", -2)), []*value{seq(1, 3, 1, 2)}, []int{1, 3, 2}},
		{"squeeze input", 13, "Squeeze", nil, []*value{seq(1, 3, 1, 2), ints(0, 2)}, []int{3, 2}},
		{"unsqueeze attr", 11, "Unsqueeze", mkAttrs(aInts("axes", 0, 3)), []*value{x}, []int{1, 2, 3, 1, 4}},
		{"unsqueeze input", 13, "Unsqueeze", nil, []*value{x, ints(-1, 1)}, []int{2, 1, 3, 4, 1}},
		{"unsqueeze unsorted", 13, "Unsqueeze", nil, []*value{x, ints(4, 0)}, []int{1, 2, 3, 4, 1}},
		{"unsqueeze scalar", 13, "Unsqueeze", nil, []*value{iv(nil, 5), ints(0)}, []int{1}},
		{"identity", 0, "Identity", nil, []*value{x}, []int{2, 3, 4}},
		{"dropout", 0, "Dropout", nil, []*value{x}, []int{2, 3, 4}},
		{"dropout ratio", 0, "Dropout", nil, []*value{x, fv(nil, 0.5), iv(nil, 0)}, []int{2, 3, 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mustRun(t, opRun{opset: tc.opset, op: tc.op, attrs: tc.attrs, ins: tc.ins, dynamic: []int{0}})
			want := &value{dtype: tc.ins[0].dtype, shape: tc.shape, f: tc.ins[0].f, i: tc.ins[0].i}
			checkValue(t, got[0], want, 0, 0)
		})
	}
	for _, bad := range []struct {
		name  string
		opset int64
		op    string
		attrs attrs
		ins   []*value
	}{
		{"reshape size", 0, "Reshape", nil, []*value{x, ints(5, 5)}},
		{"reshape two -1", 0, "Reshape", nil, []*value{x, ints(-1, -1)}},
		{"reshape infer uneven", 0, "Reshape", nil, []*value{x, ints(-1, 5)}},
		{"reshape -2", 0, "Reshape", nil, []*value{x, ints(-2, -12)}},
		{"reshape copy beyond rank", 0, "Reshape", nil, []*value{seq(6), ints(6, 0)}},
		{"flatten axis", 0, "Flatten", mkAttrs(aInt("axis", 4)), []*value{x}},
		{"squeeze non-1", 11, "Squeeze", mkAttrs(aInts("axes", 0)), []*value{x}},
		{"squeeze attr at 13", 13, "Squeeze", mkAttrs(aInts("axes", 0)), []*value{seq(1, 2)}},
		{"unsqueeze repeated", 13, "Unsqueeze", nil, []*value{x, ints(0, 0)}},
		{"unsqueeze range", 13, "Unsqueeze", nil, []*value{x, ints(5)}},
		{"unsqueeze no axes", 13, "Unsqueeze", nil, []*value{x}},
	} {
		t.Run(bad.name, func(t *testing.T) {
			if _, err := runOp(t, opRun{opset: bad.opset, op: bad.op, attrs: bad.attrs, ins: bad.ins}); err == nil {
				t.Fatal("no error")
			}
		})
	}
	t.Run("reshape dynamic shape", func(t *testing.T) {
		_, err := runOp(t, opRun{op: "Reshape", ins: []*value{x, ints(4, 6)}, dynamic: []int{1}})
		if !errors.Is(err, ErrUnsupported) {
			t.Fatalf("err = %v, want ErrUnsupported", err)
		}
	})
}

func TestDropoutMaskAndTraining(t *testing.T) {
	x := seq(2, 2)
	got := mustRun(t, opRun{op: "Dropout", ins: []*value{x}, nout: 2, dynamic: []int{0}})
	checkValue(t, got[0], x, 0, 0)
	checkValue(t, got[1], iv([]int{2, 2}, 1, 1, 1, 1), 0, 0)
	_, err := runOp(t, opRun{op: "Dropout", ins: []*value{x, fv(nil, 0.5), iv(nil, 1)}})
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("training_mode true: err = %v, want ErrUnsupported", err)
	}
	_, err = runOp(t, opRun{op: "Dropout", ins: []*value{x, fv(nil, 0.5), iv(nil, 0)}, dynamic: []int{2}})
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("run-time training_mode: err = %v, want ErrUnsupported", err)
	}
}

func TestTranspose(t *testing.T) {
	x := seq(2, 3, 4)
	// want[i] is read at x[idx] for the permuted coordinates.
	naive := func(perm []int) *value {
		st := stridesOf(x.shape)
		dims := make([]int, 3)
		for k, p := range perm {
			dims[k] = x.shape[p]
		}
		out := fv(dims)
		for a := 0; a < dims[0]; a++ {
			for b := 0; b < dims[1]; b++ {
				for c := 0; c < dims[2]; c++ {
					out.f = append(out.f, x.f[a*st[perm[0]]+b*st[perm[1]]+c*st[perm[2]]])
				}
			}
		}
		return out
	}
	for _, perm := range [][]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}} {
		p := make([]int64, 3)
		for k, v := range perm {
			p[k] = int64(v)
		}
		got := mustRun(t, opRun{op: "Transpose", attrs: mkAttrs(aInts("perm", p...)), ins: []*value{x}})
		checkValue(t, got[0], naive(perm), 0, 0)
	}
	got := mustRun(t, opRun{op: "Transpose", ins: []*value{x}})
	checkValue(t, got[0], naive([]int{2, 1, 0}), 0, 0)
	got = mustRun(t, opRun{op: "Transpose", ins: []*value{iv(nil, 3)}})
	checkValue(t, got[0], iv(nil, 3), 0, 0)
	for _, bad := range [][]int64{{0, 1}, {0, 0, 1}, {0, 1, 3}} {
		if _, err := runOp(t, opRun{op: "Transpose", attrs: mkAttrs(aInts("perm", bad...)), ins: []*value{x}}); err == nil {
			t.Errorf("perm %v: no error", bad)
		}
	}
}

func TestPad(t *testing.T) {
	x := fv([]int{2, 3}, 1, 2, 3, 4, 5, 6)
	runShapeCases(t, "Pad", []shapeCase{
		{"constant", 13, nil, []*value{x, ints(1, 0, 0, 2)},
			[]*value{fv([]int{3, 5}, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 4, 5, 6, 0, 0)}},
		{"constant value", 13, nil, []*value{x, ints(0, 1, 0, 0), fv(nil, 9)},
			[]*value{fv([]int{2, 4}, 9, 1, 2, 3, 9, 4, 5, 6)}},
		{"crop", 13, nil, []*value{x, ints(0, -1, 0, 1)},
			[]*value{fv([]int{2, 3}, 2, 3, 0, 5, 6, 0)}},
		{"reflect", 13, mkAttrs(aStr("mode", "reflect")), []*value{x, ints(0, 2, 0, 2)},
			[]*value{fv([]int{2, 7}, 3, 2, 1, 2, 3, 2, 1, 6, 5, 4, 5, 6, 5, 4)}},
		{"reflect wide", 13, mkAttrs(aStr("mode", "reflect")), []*value{fv([]int{2}, 1, 2), ints(3, 0)},
			[]*value{fv([]int{5}, 2, 1, 2, 1, 2)}},
		{"edge", 13, mkAttrs(aStr("mode", "edge")), []*value{x, ints(1, 1, 0, 2)},
			[]*value{fv([]int{3, 6}, 1, 1, 2, 3, 3, 3, 1, 1, 2, 3, 3, 3, 4, 4, 5, 6, 6, 6)}},
		{"attributes", 2, mkAttrs(aInts("pads", 0, 1, 0, 0), aFloat("value", -1)), []*value{x},
			[]*value{fv([]int{2, 4}, -1, 1, 2, 3, -1, 4, 5, 6)}},
		{"axes", 18, nil, []*value{x, ints(1, 1), nil, ints(-1)},
			[]*value{fv([]int{2, 5}, 0, 1, 2, 3, 0, 0, 4, 5, 6, 0)}},
		{"int64", 13, nil, []*value{ints(1, 2), ints(1, 0), iv(nil, 7)}, []*value{ints(7, 1, 2)}},
	})
	for _, bad := range []struct {
		name string
		a    attrs
		ins  []*value
	}{
		{"pads length", nil, []*value{x, ints(1, 1)}},
		{"negative reflect", mkAttrs(aStr("mode", "reflect")), []*value{x, ints(0, -1, 0, 0)}},
		{"crop past zero", nil, []*value{x, ints(-2, 0, -1, 0)}},
	} {
		t.Run(bad.name, func(t *testing.T) {
			if _, err := runOp(t, opRun{opset: 13, op: "Pad", attrs: bad.a, ins: bad.ins}); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestShape(t *testing.T) {
	x := seq(2, 3, 4)
	tests := []struct {
		name  string
		attrs attrs
		want  *value
	}{
		{"all", nil, ints(2, 3, 4)},
		{"start", mkAttrs(aInt("start", 1)), ints(3, 4)},
		{"negative start", mkAttrs(aInt("start", -1)), ints(4)},
		{"end", mkAttrs(aInt("end", -1)), ints(2, 3)},
		{"clamped", mkAttrs(aInt("start", -10), aInt("end", 10)), ints(2, 3, 4)},
		{"empty", mkAttrs(aInt("start", 2), aInt("end", 1)), ints()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := testOps["Shape"]
			n := &node{opType: "Shape", attrs: tc.attrs, inputs: []string{"x"}, outputs: []string{"y"}}
			outs, k, err := spec.build(&planCtx{opset: 15}, n, []info{{dtype: Float32, shape: x.shape}})
			if err != nil {
				t.Fatal(err)
			}
			if k != nil || outs[0].c == nil {
				t.Fatal("Shape of a static shape is not a plan-time constant")
			}
			checkValue(t, outs[0].c, tc.want, 0, 0)
		})
	}
}

func TestGather(t *testing.T) {
	x := seq(3, 4)
	runShapeCases(t, "Gather", []shapeCase{
		{"axis0", 0, nil, []*value{x, ints(2, 0)}, []*value{fv([]int{2, 4}, 8, 9, 10, 11, 0, 1, 2, 3)}},
		{"axis1 negative", 0, mkAttrs(aInt("axis", -1)), []*value{x, ints(-1, 1)}, []*value{fv([]int{3, 2}, 3, 1, 7, 5, 11, 9)}},
		{"scalar index", 0, mkAttrs(aInt("axis", 1)), []*value{x, iv(nil, 2)}, []*value{fv([]int{3}, 2, 6, 10)}},
		{"2-D indices", 0, nil, []*value{x, iv([]int{2, 2}, 0, 1, 1, 2)},
			[]*value{fv([]int{2, 2, 4}, 0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6, 7, 8, 9, 10, 11)}},
		{"int64 shape", 0, nil, []*value{ints(1, 3, 224, 224), iv(nil, 0)}, []*value{iv(nil, 1)}},
	})
	if _, err := runOp(t, opRun{op: "Gather", ins: []*value{x, ints(3)}}); err == nil {
		t.Error("constant index out of range: no error")
	}
	// An index computed at run time cannot fail the kernel: it yields zeros.
	got := mustRun(t, opRun{op: "Gather", ins: []*value{x, ints(5, 1)}, dynamic: []int{1}})
	checkValue(t, got[0], fv([]int{2, 4}, 0, 0, 0, 0, 4, 5, 6, 7), 0, 0)
}

func TestCast(t *testing.T) {
	f := fv([]int{6}, -2.7, -0.5, 0, 0.5, 3.9, 1e10)
	i := ints(-3, 0, 5)
	tests := []struct {
		name string
		in   *value
		to   int32
		want *value
	}{
		{"float to int64", f, onnxpb.Int64, ints(-2, 0, 0, 0, 3, 10000000000)},
		{"float to int32", f, onnxpb.Int32, ints(-2, 0, 0, 0, 3, 10000000000)},
		{"float to bool", f, onnxpb.Bool, ints(1, 1, 0, 1, 1, 1)},
		{"int to float", i, onnxpb.Float, fv([]int{3}, -3, 0, 5)},
		{"int to bool", i, onnxpb.Bool, ints(1, 0, 1)},
		{"float to double", f, onnxpb.Double, f},
		{"float to float16", fv([]int{4}, 0.1, 65504, 70000, 1e-8), onnxpb.Float16,
			fv([]int{4}, 0.0999755859375, 65504, float32(math.Inf(1)), 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mustRun(t, opRun{op: "Cast", attrs: mkAttrs(aInt("to", int64(tc.to))), ins: []*value{tc.in}})
			checkValue(t, got[0], tc.want, 0, 0)
		})
	}
	for _, to := range []int32{onnxpb.String, onnxpb.BFloat16, 0} {
		_, err := runOp(t, opRun{op: "Cast", attrs: mkAttrs(aInt("to", int64(to))), ins: []*value{f}})
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("cast to %d: err = %v, want ErrUnsupported", to, err)
		}
	}
}

func TestConstant(t *testing.T) {
	tests := []struct {
		name string
		a    *onnxpb.Attribute
		want *value
	}{
		{"tensor", &onnxpb.Attribute{Name: "value", Type: onnxpb.AttrTensor, T: &onnxpb.Tensor{Dims: []int64{2}, DataType: onnxpb.Float, FloatData: []float32{1, 2}}}, fv([]int{2}, 1, 2)},
		{"int tensor", &onnxpb.Attribute{Name: "value", Type: onnxpb.AttrTensor, T: &onnxpb.Tensor{DataType: onnxpb.Int32, Int32Data: []int32{7}}}, iv(nil, 7)},
		{"value_float", aFloat("value_float", 2.5), fv(nil, 2.5)},
		{"value_floats", aFloats("value_floats", 1, 2, 3), fv([]int{3}, 1, 2, 3)},
		{"value_int", aInt("value_int", -4), iv(nil, -4)},
		{"value_ints", aInts("value_ints", 4, 5), ints(4, 5)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mustRun(t, opRun{op: "Constant", attrs: mkAttrs(tc.a)})
			checkValue(t, got[0], tc.want, 0, 0)
		})
	}
	if _, err := runOp(t, opRun{op: "Constant"}); err == nil {
		t.Error("no value: no error")
	}
	_, err := runOp(t, opRun{op: "Constant", attrs: mkAttrs(&onnxpb.Attribute{Name: "value_string", Type: onnxpb.AttrString, S: []byte("x")})})
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("value_string: err = %v, want ErrUnsupported", err)
	}
}
