package onnxmodel

import (
	"math/rand/v2"
	"testing"

	"github.com/tlserve/tlserve/internal/onnxpb"
)

func poolNode(op string, at ...*onnxpb.Attribute) *node {
	n := &node{name: "p", opType: op, inputs: []string{"x"}, outputs: []string{"y"}, attrs: attrs{}}
	for _, a := range at {
		n.attrs[a.Name] = a
	}
	return n
}

// TestPoolWorkedExamples checks pooling on inputs small enough to work out
// by hand; the arithmetic is in the comments.
func TestPoolWorkedExamples(t *testing.T) {
	x4 := []float32{
		1, 3, 2, 4,
		5, 6, 1, 0,
		7, 2, 9, 8,
		3, 4, 6, 5,
	}
	x3 := []float32{
		1, 2, 3,
		4, 5, 6,
		7, 8, 9,
	}
	cases := []struct {
		name  string
		n     *node
		x     []float32
		shape []int
		want  []float32
	}{
		// 2x2 windows, stride 2: max(1,3,5,6)=6, max(2,4,1,0)=4,
		// max(7,2,3,4)=7, max(9,8,6,5)=9.
		{"max 2x2 stride 2", poolNode("MaxPool", atInts("kernel_shape", 2, 2), atInts("strides", 2, 2)),
			x4, []int{1, 1, 4, 4}, []float32{6, 4, 7, 9}},
		// ceil_mode keeps the partial windows: out = ceil((3-2)/2)+1 = 2;
		// max(1,2,4,5)=5, max(3,6)=6, max(7,8)=8, max(9)=9.
		{"max ceil_mode", poolNode("MaxPool", atInts("kernel_shape", 2, 2), atInts("strides", 2, 2), atInt("ceil_mode", 1)),
			x3, []int{1, 1, 3, 3}, []float32{5, 6, 8, 9}},
		// Without ceil_mode only the first full window fits: max(1,2,4,5)=5.
		{"max floor", poolNode("MaxPool", atInts("kernel_shape", 2, 2), atInts("strides", 2, 2)),
			x3, []int{1, 1, 3, 3}, []float32{5}},
		// 3x3 windows with pads 1, padding not counted:
		// (0,0) (1+2+4+5)/4 = 3       (0,1) (1+2+3+4+5+6)/6 = 3.5   (0,2) (2+3+5+6)/4 = 4
		// (1,0) (1+2+4+5+7+8)/6 = 4.5  (1,1) 45/9 = 5               (1,2) (2+3+5+6+8+9)/6 = 5.5
		// (2,0) (4+5+7+8)/4 = 6       (2,1) (4+5+6+7+8+9)/6 = 6.5   (2,2) (5+6+8+9)/4 = 7
		{"average pads", poolNode("AveragePool", atInts("kernel_shape", 3, 3), atInts("pads", 1, 1, 1, 1)),
			x3, []int{1, 1, 3, 3}, []float32{3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7}},
		// The same sums, all divided by the 9 window cells.
		{"average count_include_pad", poolNode("AveragePool", atInts("kernel_shape", 3, 3), atInts("pads", 1, 1, 1, 1), atInt("count_include_pad", 1)),
			x3, []int{1, 1, 3, 3}, []float32{12.0 / 9, 21.0 / 9, 16.0 / 9, 27.0 / 9, 5, 33.0 / 9, 24.0 / 9, 39.0 / 9, 28.0 / 9}},
		// Global average: (1+...+9)/9 = 5; global max: 9.
		{"global average", poolNode("GlobalAveragePool"), x3, []int{1, 1, 3, 3}, []float32{5}},
		{"global max", poolNode("GlobalMaxPool"), x3, []int{1, 1, 3, 3}, []float32{9}},
		// LRN with size 3, alpha 3 (alpha/size = 1), beta 1, bias 1 over
		// channels [1,2,3] of one pixel: 1/(1+1+4) = 1/6,
		// 2/(1+1+4+9) = 2/15, 3/(1+4+9) = 3/14.
		{"LRN", poolNode("LRN", atInt("size", 3), atFloat("alpha", 3), atFloat("beta", 1), atFloat("bias", 1)),
			[]float32{1, 2, 3}, []int{1, 3, 1, 1}, []float32{1.0 / 6, 2.0 / 15, 3.0 / 14}},
	}
	for _, tc := range cases {
		for _, threads := range []int{1, 2} {
			t.Run(tc.name, func(t *testing.T) {
				out := runKernel(t, tc.n, threads, []*value{{dtype: Float32, shape: tc.shape, f: tc.x}}, []bool{false})[0]
				if i, ok := closeTo(out.f, tc.want, 1e-6); !ok {
					t.Fatalf("got %v, want %v (element %d)", out.f, tc.want, i)
				}
			})
		}
	}
}

func TestBatchNormUnfolded(t *testing.T) {
	// Per channel c: y = (x-mean)/sqrt(var+eps)*scale + bias, with
	// eps = 0 here: channel 0: (2-1)/sqrt(4)*3 + 1 = 2.5; channel 1:
	// (5-5)/1*2 - 1 = -1.
	n := &node{opType: "BatchNormalization", inputs: []string{"x", "s", "b", "m", "v"}, outputs: []string{"y"},
		attrs: attrs{"epsilon": atFloat("epsilon", 0)}}
	v := func(f ...float32) *value { return &value{dtype: Float32, shape: []int{len(f)}, f: f} }
	x := &value{dtype: Float32, shape: []int{1, 2, 1, 1}, f: []float32{2, 5}}
	for _, constant := range []bool{true, false} {
		out := runKernel(t, n, 1, []*value{x, v(3, 2), v(1, -1), v(1, 5), v(4, 1)}, []bool{false, constant, constant, constant, constant})[0]
		if i, ok := closeTo(out.f, []float32{2.5, -1}, 1e-6); !ok {
			t.Fatalf("constant=%v: got %v (element %d)", constant, out.f, i)
		}
	}
}

// BenchmarkMaxPool is SqueezeNet's first pooling layer.
func BenchmarkMaxPool(b *testing.B) {
	n := poolNode("MaxPool", atInts("kernel_shape", 3, 3), atInts("strides", 2, 2))
	infos := []info{{dtype: Float32, shape: []int{1, 64, 111, 111}}}
	pc := &planCtx{opset: 13, threads: 1}
	outs, k, err := buildPool(poolMax)(pc, n, infos)
	if err != nil {
		b.Fatal(err)
	}
	x := &value{dtype: Float32, shape: infos[0].shape, f: randFloats(rand.New(rand.NewPCG(1, 1)), 64*111*111)}
	y := &value{dtype: Float32, shape: outs[0].shape, f: make([]float32, shapeSize(outs[0].shape))}
	ex := newExec(pc.workspace, 1, nil)
	b.ReportAllocs()
	for b.Loop() {
		k(ex, []*value{x}, []*value{y})
	}
}
