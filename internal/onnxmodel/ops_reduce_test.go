package onnxmodel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naiveSoftmax normalizes x over the elements that share every coordinate
// outside [lo, hi), in float64.
func naiveSoftmax(x *value, lo, hi int, log bool) *value {
	outer, mid, inner := shapeSize(x.shape[:lo]), shapeSize(x.shape[lo:hi]), shapeSize(x.shape[hi:])
	out := fv(x.shape, make([]float32, len(x.f))...)
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			at := func(m int) int { return (o*mid+m)*inner + i }
			var sum float64
			for m := 0; m < mid; m++ {
				sum += math.Exp(float64(x.f[at(m)]))
			}
			for m := 0; m < mid; m++ {
				if log {
					out.f[at(m)] = float32(float64(x.f[at(m)]) - math.Log(sum))
				} else {
					out.f[at(m)] = float32(math.Exp(float64(x.f[at(m)])) / sum)
				}
			}
		}
	}
	return out
}

func TestSoftmax(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	x := randValue(r, 2, 3, 4)
	big := randValue(r, 64, 1000)
	big.f[0] = 1000 // would overflow exp without subtracting the max
	tests := []struct {
		name   string
		opset  int64
		attrs  attrs
		x      *value
		lo, hi int
	}{
		{"13 default last axis", 13, nil, x, 2, 3},
		{"13 axis 1", 13, mkAttrs(aInt("axis", 1)), x, 1, 2},
		{"13 axis 0", 13, mkAttrs(aInt("axis", 0)), x, 0, 1},
		{"13 axis -2", 13, mkAttrs(aInt("axis", -2)), x, 1, 2},
		{"11 default flattens from 1", 11, nil, x, 1, 3},
		{"11 axis 2", 11, mkAttrs(aInt("axis", 2)), x, 2, 3},
		{"11 axis 0", 11, mkAttrs(aInt("axis", 0)), x, 0, 3},
		{"11 axis -1", 11, mkAttrs(aInt("axis", -1)), x, 2, 3},
		{"13 large rows", 13, nil, big, 1, 2},
	}
	for _, tc := range tests {
		for _, op := range []string{"Softmax", "LogSoftmax"} {
			t.Run(op+"/"+tc.name, func(t *testing.T) {
				in := tc.x
				if tc.name == "13 large rows" {
					// Compare against a shifted copy: softmax is shift invariant.
					in = fv(big.shape, append([]float32(nil), big.f...)...)
				}
				want := naiveSoftmax(shifted(in, tc.lo, tc.hi), tc.lo, tc.hi, op == "LogSoftmax")
				got := mustRun(t, opRun{opset: tc.opset, op: op, attrs: tc.attrs, ins: []*value{in}, dynamic: []int{0}})
				checkValue(t, got[0], want, 1e-5, 1e-6)
			})
		}
	}
	if _, err := runOp(t, opRun{op: "Softmax", attrs: mkAttrs(aInt("axis", 3)), ins: []*value{x}}); err == nil {
		t.Error("axis out of range: no error")
	}
}

// shifted returns x minus the maximum of each normalized group, which keeps
// the float64 reference finite for huge inputs.
func shifted(x *value, lo, hi int) *value {
	outer, mid, inner := shapeSize(x.shape[:lo]), shapeSize(x.shape[lo:hi]), shapeSize(x.shape[hi:])
	out := fv(x.shape, append([]float32(nil), x.f...)...)
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			m := float32(math.Inf(-1))
			for k := 0; k < mid; k++ {
				m = max(m, x.f[(o*mid+k)*inner+i])
			}
			for k := 0; k < mid; k++ {
				out.f[(o*mid+k)*inner+i] -= m
			}
		}
	}
	return out
}

// naiveReduce reduces x over the axes marked in red, in float64.
func naiveReduce(op string, x *value, red []bool, keep bool) *value {
	var shape []int
	for d, s := range x.shape {
		if !red[d] {
			shape = append(shape, s)
		} else if keep {
			shape = append(shape, 1)
		}
	}
	groups := map[int][]float64{}
	var order []int
	n := shapeSize(x.shape)
	for k := 0; k < n; k++ {
		r, key, mul := k, 0, 1
		for d := len(x.shape) - 1; d >= 0; d-- {
			c := r % x.shape[d]
			r /= x.shape[d]
			if !red[d] {
				key += c * mul
				mul *= x.shape[d]
			}
		}
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], float64(x.f[k]))
	}
	out := fv(shape, make([]float32, shapeSize(shape))...)
	for key, vs := range groups {
		var acc float64
		switch op {
		case "ReduceMax":
			acc = math.Inf(-1)
		case "ReduceMin":
			acc = math.Inf(1)
		case "ReduceProd":
			acc = 1
		}
		for _, v := range vs {
			switch op {
			case "ReduceMean", "ReduceSum", "ReduceLogSum":
				acc += v
			case "ReduceMax":
				acc = math.Max(acc, v)
			case "ReduceMin":
				acc = math.Min(acc, v)
			case "ReduceProd":
				acc *= v
			case "ReduceSumSquare", "ReduceL2":
				acc += v * v
			case "ReduceL1":
				acc += math.Abs(v)
			case "ReduceLogSumExp":
				acc += math.Exp(v)
			}
		}
		switch op {
		case "ReduceMean":
			acc /= float64(len(vs))
		case "ReduceL2":
			acc = math.Sqrt(acc)
		case "ReduceLogSum", "ReduceLogSumExp":
			acc = math.Log(acc)
		}
		out.f[key] = float32(acc)
	}
	return out
}

func TestReduce(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	x := randValue(r, 3, 4, 5)
	for k := range x.f {
		x.f[k] = x.f[k]/4 + 1.5 // positive, so that LogSum is defined
	}
	ops := []string{"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd",
		"ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp"}
	axesCases := [][]int64{{0}, {1}, {2}, {-1}, {0, 2}, {1, 2}, {0, 1, 2}, nil}
	for _, op := range ops {
		for _, axes := range axesCases {
			for _, keep := range []int64{0, 1} {
				name := fmt.Sprintf("%s/%v/keep%d", op, axes, keep)
				t.Run(name, func(t *testing.T) {
					red := make([]bool, 3)
					for _, a := range axes {
						red[(a+3)%3] = true
					}
					if axes == nil {
						red = []bool{true, true, true}
					}
					want := naiveReduce(op, x, red, keep == 1)
					// Attribute form (opset 13 for all but ReduceSum, which takes
					// an input from 13, so use 11 for it).
					opset := int64(13)
					if op == "ReduceSum" {
						opset = 11
					}
					a := mkAttrs(aInt("keepdims", keep))
					if axes != nil {
						a["axes"] = aInts("axes", axes...)
					}
					got := mustRun(t, opRun{opset: opset, op: op, attrs: a, ins: []*value{x}, dynamic: []int{0}})
					checkValue(t, got[0], want, 1e-5, 1e-6)
					// Input form (opset 18).
					ins := []*value{x}
					if axes != nil {
						ins = append(ins, ints(axes...))
					}
					got = mustRun(t, opRun{opset: 18, op: op, attrs: mkAttrs(aInt("keepdims", keep)), ins: ins, dynamic: []int{0}})
					checkValue(t, got[0], want, 1e-5, 1e-6)
				})
			}
		}
	}
	t.Run("noop_with_empty_axes", func(t *testing.T) {
		got := mustRun(t, opRun{opset: 18, op: "ReduceMean", attrs: mkAttrs(aInt("noop_with_empty_axes", 1)), ins: []*value{x}})
		checkValue(t, got[0], x, 0, 0)
	})
	t.Run("int64 sum and prod", func(t *testing.T) {
		got := mustRun(t, opRun{op: "ReduceProd", attrs: mkAttrs(aInt("keepdims", 0)), ins: []*value{ints(1, 3, 224, 224)}})
		checkValue(t, got[0], iv(nil, 3*224*224), 0, 0)
		got = mustRun(t, opRun{op: "ReduceSum", ins: []*value{iv([]int{2, 2}, 1, 2, 3, 4), ints(1)}})
		checkValue(t, got[0], iv([]int{2, 1}, 3, 7), 0, 0)
	})
	t.Run("errors", func(t *testing.T) {
		if _, err := runOp(t, opRun{opset: 13, op: "ReduceMean", ins: []*value{x}, attrs: mkAttrs(aInts("axes", 3))}); err == nil {
			t.Error("axis out of range: no error")
		}
		if _, err := runOp(t, opRun{opset: 13, op: "ReduceMean", ins: []*value{x}, attrs: mkAttrs(aInts("axes", 1, -2))}); err == nil {
			t.Error("repeated axis: no error")
		}
		if _, err := runOp(t, opRun{op: "ReduceMean", ins: []*value{ints(1, 2)}}); err == nil {
			t.Error("int64 mean: no error")
		}
	})
}
