package onnxmodel

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naiveBroadcast computes a op b by unravelling every output index, the
// reference for the binary kernels.
func naiveBroadcast(op binOp, a, b *value) *value {
	shape, err := broadcastShape(a.shape, b.shape)
	if err != nil {
		panic(err)
	}
	out := &value{dtype: a.dtype, shape: shape}
	n := shapeSize(shape)
	at := func(v *value, idx []int) int {
		off, st := 0, 1
		for d := len(v.shape) - 1; d >= 0; d-- {
			c := idx[len(idx)-len(v.shape)+d]
			if v.shape[d] == 1 {
				c = 0
			}
			off += c * st
			st *= v.shape[d]
		}
		return off
	}
	idx := make([]int, len(shape))
	for k := 0; k < n; k++ {
		r := k
		for d := len(shape) - 1; d >= 0; d-- {
			idx[d] = r % shape[d]
			r /= shape[d]
		}
		ia, ib := at(a, idx), at(b, idx)
		if a.dtype == Float32 {
			x, y := float64(a.f[ia]), float64(b.f[ib])
			var z float64
			switch op {
			case opAdd:
				z = x + y
			case opSub:
				z = x - y
			case opMul:
				z = x * y
			case opDiv:
				z = x / y
			case opPow:
				z = math.Pow(x, y)
			}
			out.f = append(out.f, float32(z))
		} else {
			x, y := a.i[ia], b.i[ib]
			var z int64
			switch op {
			case opAdd:
				z = x + y
			case opSub:
				z = x - y
			case opMul:
				z = x * y
			case opDiv:
				z = x / y
			case opPow:
				z = 1
				for e := int64(0); e < y; e++ {
					z *= x
				}
			}
			out.i = append(out.i, z)
		}
	}
	return out
}

func TestBinaryBroadcast(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	shapes := [][2][]int{
		{{2, 3, 4}, {2, 3, 4}},           // same shape
		{{1, 300, 7, 9}, {1, 300, 7, 9}}, // same shape, large enough to run in parallel
		{{2, 3, 4}, nil},                 // scalar
		{nil, {2, 3, 4}},                 // scalar first
		{{2, 3, 4}, {1}},                 // one-element tensor
		{{2, 5, 3, 3}, {5, 1, 1}},        // per-channel
		{{5, 1, 1}, {2, 5, 3, 3}},        // per-channel first
		{{1, 64, 30, 30}, {64, 1, 1}},    // per-channel, parallel
		{{2, 5, 3, 3}, {1, 5, 1, 1}},     // per-channel with leading 1
		{{4, 7}, {7}},                    // last axis
		{{7}, {4, 7}},                    // last axis first
		{{1, 3000, 17}, {17}},            // last axis, parallel
		{{3, 4, 5}, {3, 4, 1}},           // leading block
		{{2, 1, 4}, {3, 1}},              // both broadcast
		{{1, 3, 1, 5}, {2, 1, 4, 1}},     // outer product style
		{{3, 1, 5}, {3, 4, 5}},           // middle broadcast on a
		{{2, 3, 4, 5}, {2, 1, 4, 1}},     // gaps
		{{0, 3}, {3}},                    // empty
		{nil, nil},                       // scalars
	}
	ops := []struct {
		name string
		op   binOp
	}{{"Add", opAdd}, {"Sub", opSub}, {"Mul", opMul}, {"Div", opDiv}}
	for _, sh := range shapes {
		for _, o := range ops {
			for _, dt := range []DType{Float32, Int64} {
				t.Run(fmt.Sprintf("%s/%v/%v_%v", o.name, dt, sh[0], sh[1]), func(t *testing.T) {
					var a, b *value
					if dt == Float32 {
						a, b = randValue(r, sh[0]...), randValue(r, sh[1]...)
					} else {
						a, b = randInts(r, sh[0]...), randInts(r, sh[1]...)
					}
					got := mustRun(t, opRun{op: o.name, ins: []*value{a, b}, dynamic: []int{0, 1}})
					checkValue(t, got[0], naiveBroadcast(o.op, a, b), 1e-6, 1e-6)
				})
			}
		}
	}
}

func TestBinaryErrors(t *testing.T) {
	tests := []struct {
		name string
		ins  []*value
	}{
		{"mismatch", []*value{fv([]int{2, 3}, 1, 2, 3, 4, 5, 6), fv([]int{2}, 1, 2)}},
		{"dtypes", []*value{fv([]int{1}, 1), iv([]int{1}, 1)}},
		{"one input", []*value{fv([]int{1}, 1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := runOp(t, opRun{op: "Add", ins: tc.ins}); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestIntDivByZero(t *testing.T) {
	got := mustRun(t, opRun{op: "Div", ins: []*value{iv([]int{3}, 7, -7, 5), iv([]int{3}, 2, 2, 0)}})
	checkValue(t, got[0], iv([]int{3}, 3, -3, 0), 0, 0)
}

func TestPow(t *testing.T) {
	tests := []struct {
		name string
		a, b *value
		want *value
	}{
		{"float", fv([]int{3}, 1, 2, 3), fv([]int{3}, 4, 5, 6), fv([]int{3}, 1, 32, 729)},
		{"broadcast", fv([]int{2, 2}, 1, 2, 3, 4), fv(nil, 2), fv([]int{2, 2}, 1, 4, 9, 16)},
		{"float int", fv([]int{3}, 1, 2, 3), iv([]int{3}, 4, 5, 6), fv([]int{3}, 1, 32, 729)},
		{"float int broadcast", fv([]int{2, 2}, 1, 2, 3, 4), iv([]int{2}, 2, 3), fv([]int{2, 2}, 1, 8, 9, 64)},
		{"int", iv([]int{4}, 1, 2, -3, 2), iv([]int{4}, 4, 5, 3, -1), iv([]int{4}, 1, 32, -27, 0)},
		{"int float", iv([]int{3}, 2, 9, -8), fv([]int{3}, 3, 0.5, 1.0/3), iv([]int{3}, 8, 3, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mustRun(t, opRun{op: "Pow", ins: []*value{tc.a, tc.b}})
			checkValue(t, got[0], tc.want, 1e-6, 0)
		})
	}
}

// naiveUnary is the per-element reference of the activations.
func naiveUnary(op string, a attrs, x float64) float64 {
	switch op {
	case "Relu":
		return math.Max(x, 0)
	case "LeakyRelu":
		if x < 0 {
			return x * float64(a.float("alpha", 0.01))
		}
		return x
	case "Sigmoid":
		return 1 / (1 + math.Exp(-x))
	case "HardSigmoid":
		return math.Max(0, math.Min(1, float64(a.float("alpha", 0.2))*x+float64(a.float("beta", 0.5))))
	case "HardSwish":
		return x * math.Max(0, math.Min(1, x/6+0.5))
	case "Tanh":
		return math.Tanh(x)
	case "Exp":
		return math.Exp(x)
	case "Sqrt":
		return math.Sqrt(x)
	case "Neg":
		return -x
	case "Abs":
		return math.Abs(x)
	case "Reciprocal":
		return 1 / x
	case "Log":
		return math.Log(x)
	case "Elu":
		if x < 0 {
			return float64(a.float("alpha", 1)) * (math.Exp(x) - 1)
		}
		return x
	case "Selu":
		g := 1.0507009873554804934193349852946
		if x <= 0 {
			return g * 1.6732632423543772848170429916717 * (math.Exp(x) - 1)
		}
		return g * x
	case "Softplus":
		return math.Log(1 + math.Exp(x))
	case "Softsign":
		return x / (1 + math.Abs(x))
	case "Floor":
		return math.Floor(x)
	case "Ceil":
		return math.Ceil(x)
	case "Round":
		return math.RoundToEven(x)
	case "Erf":
		return math.Erf(x)
	}
	panic("unknown op " + op)
}

func TestUnary(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	tests := []struct {
		op    string
		attrs attrs
	}{
		{"Relu", nil},
		{"LeakyRelu", nil},
		{"LeakyRelu", mkAttrs(aFloat("alpha", 0.3))},
		{"Sigmoid", nil},
		{"HardSigmoid", nil},
		{"HardSigmoid", mkAttrs(aFloat("alpha", 0.5), aFloat("beta", 0.6))},
		{"HardSwish", nil},
		{"Tanh", nil},
		{"Exp", nil},
		{"Sqrt", nil},
		{"Neg", nil},
		{"Abs", nil},
		{"Reciprocal", nil},
		{"Log", nil},
		{"Elu", nil},
		{"Elu", mkAttrs(aFloat("alpha", 0.5))},
		{"Selu", nil},
		{"Softplus", nil},
		{"Softsign", nil},
		{"Floor", nil},
		{"Ceil", nil},
		{"Round", nil},
		{"Erf", nil},
	}
	for _, tc := range tests {
		for _, shape := range [][]int{{3, 4, 5}, {2, 200, 100}, nil} {
			t.Run(fmt.Sprintf("%s/%v/%v", tc.op, len(tc.attrs), shape), func(t *testing.T) {
				in := randValue(r, shape...)
				in.f[0] = -40 // extreme values for the sigmoids
				if len(in.f) > 1 {
					in.f[1] = 40
				}
				want := fv(shape, make([]float32, len(in.f))...)
				for k, v := range in.f {
					want.f[k] = float32(naiveUnary(tc.op, tc.attrs, float64(v)))
				}
				got := mustRun(t, opRun{op: tc.op, attrs: tc.attrs, ins: []*value{in}, dynamic: []int{0}})
				checkValue(t, got[0], want, 1e-6, 1e-7)
			})
		}
	}
}

func TestUnaryInt64(t *testing.T) {
	in := iv([]int{4}, -3, 0, 5, math.MinInt64+1)
	tests := []struct {
		op   string
		want *value
	}{
		{"Relu", iv([]int{4}, 0, 0, 5, 0)},
		{"Neg", iv([]int{4}, 3, 0, -5, math.MaxInt64)},
		{"Abs", iv([]int{4}, 3, 0, 5, math.MaxInt64)},
	}
	for _, tc := range tests {
		t.Run(tc.op, func(t *testing.T) {
			got := mustRun(t, opRun{op: tc.op, ins: []*value{in}})
			checkValue(t, got[0], tc.want, 0, 0)
		})
	}
	if _, err := runOp(t, opRun{op: "Sigmoid", ins: []*value{in}}); err == nil {
		t.Error("Sigmoid of int64: no error")
	}
}

func TestClip(t *testing.T) {
	x := fv([]int{5}, -3, -1, 0, 2, 9)
	tests := []struct {
		name  string
		opset int64
		attrs attrs
		ins   []*value
		want  *value
	}{
		{"attrs", 6, mkAttrs(aFloat("min", -1.5), aFloat("max", 2.5)), []*value{x}, fv([]int{5}, -1.5, -1, 0, 2, 2.5)},
		{"attrs default", 6, nil, []*value{x}, x},
		{"attrs min only", 6, mkAttrs(aFloat("min", 0)), []*value{x}, fv([]int{5}, 0, 0, 0, 2, 9)},
		{"inputs", 13, nil, []*value{x, fv(nil, -1.5), fv(nil, 2.5)}, fv([]int{5}, -1.5, -1, 0, 2, 2.5)},
		{"no bounds", 13, nil, []*value{x}, x},
		{"max only", 13, nil, []*value{x, nil, fv(nil, 1)}, fv([]int{5}, -3, -1, 0, 1, 1)},
		{"min only", 11, nil, []*value{x, fv(nil, 0)}, fv([]int{5}, 0, 0, 0, 2, 9)},
		{"min above max", 13, nil, []*value{x, fv(nil, 3), fv(nil, 1)}, fv([]int{5}, 1, 1, 1, 1, 1)},
		{"int64", 13, nil, []*value{iv([]int{3}, -5, 3, 8), iv(nil, 0), iv(nil, 6)}, iv([]int{3}, 0, 3, 6)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Bounds are read at run time, so they need not be constants.
			got := mustRun(t, opRun{opset: tc.opset, op: "Clip", attrs: tc.attrs, ins: tc.ins, dynamic: []int{0, 1, 2}})
			checkValue(t, got[0], tc.want, 0, 0)
		})
	}
	if _, err := runOp(t, opRun{op: "Clip", ins: []*value{x, fv([]int{2}, 1, 2)}}); err == nil {
		t.Error("vector bound: no error")
	}
}

func TestChannelBlock(t *testing.T) {
	tests := []struct {
		s, out            []int
		outer, mid, inner int
		ok                bool
	}{
		{[]int{5, 1, 1}, []int{2, 5, 3, 3}, 2, 5, 9, true},
		{nil, []int{2, 3}, 1, 1, 6, true},
		{[]int{3}, []int{2, 3}, 2, 3, 1, true},
		{[]int{2, 1, 4}, []int{2, 3, 4}, 0, 0, 0, false},
		{[]int{3, 4}, []int{2, 3, 4}, 2, 12, 1, true},
	}
	for _, tc := range tests {
		o, m, i, ok := channelBlock(tc.s, tc.out)
		if ok != tc.ok || ok && (o != tc.outer || m != tc.mid || i != tc.inner) {
			t.Errorf("channelBlock(%v, %v) = %d, %d, %d, %v; want %d, %d, %d, %v", tc.s, tc.out, o, m, i, ok, tc.outer, tc.mid, tc.inner, tc.ok)
		}
	}
}

func TestUnsupportedIsSentinel(t *testing.T) {
	_, err := runOp(t, opRun{op: "Pad", ins: []*value{fv([]int{2}, 1, 2), iv([]int{2}, 1, 1)}, attrs: mkAttrs(aStr("mode", "wrap"))})
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("pad mode wrap: %v, want ErrUnsupported", err)
	}
}
