package onnxmodel

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tlserve/tlserve/internal/onnxpb"
)

// TestConvWorkedExample is the convolution of the project seed's tutorial:
// the 5x5 image below with the 3x3 kernel [[1,0,1],[0,1,0],[1,0,1]],
// stride 1, no padding. Each output is the sum of the five image values
// under the kernel's ones (the window's four corners and its centre), with
// img[r][c] the image:
//
//	(0,0): img[0][0]+img[0][2]+img[1][1]+img[2][0]+img[2][2] = 1+1+1+0+1 = 4
//	(0,1): img[0][1]+img[0][3]+img[1][2]+img[2][1]+img[2][3] = 1+0+1+0+1 = 3
//	(0,2): img[0][2]+img[0][4]+img[1][3]+img[2][2]+img[2][4] = 1+0+1+1+1 = 4
//	(1,0): img[1][0]+img[1][2]+img[2][1]+img[3][0]+img[3][2] = 0+1+0+0+1 = 2
//	(1,1): img[1][1]+img[1][3]+img[2][2]+img[3][1]+img[3][3] = 1+1+1+0+1 = 4
//	(1,2): img[1][2]+img[1][4]+img[2][3]+img[3][2]+img[3][4] = 1+0+1+1+0 = 3
//	(2,0): img[2][0]+img[2][2]+img[3][1]+img[4][0]+img[4][2] = 0+1+0+0+1 = 2
//	(2,1): img[2][1]+img[2][3]+img[3][2]+img[4][1]+img[4][3] = 0+1+1+1+0 = 3
//	(2,2): img[2][2]+img[2][4]+img[3][3]+img[4][2]+img[4][4] = 1+1+1+1+0 = 4
//
// The tutorial this project started from prints [[4,4,3],[3,4,4],[2,3,4]];
// that is an arithmetic slip, as the (0,1) and (1,0) sums above show (3 and
// 2, not 4 and 3). The correct result is [[4,3,4],[2,4,3],[2,3,4]].
func TestConvWorkedExample(t *testing.T) {
	img := []float32{
		1, 1, 1, 0, 0,
		0, 1, 1, 1, 0,
		0, 0, 1, 1, 1,
		0, 0, 1, 1, 0,
		0, 1, 1, 0, 0,
	}
	k := []float32{1, 0, 1, 0, 1, 0, 1, 0, 1}
	want := []float32{4, 3, 4, 2, 4, 3, 2, 3, 4}
	for _, threads := range []int{1, 2} {
		m := newTestGraph(13).input("x", 1, 1, 5, 5).init("w", dims(1, 1, 3, 3), k).
			node("Conv", "conv", []string{"x", "w"}, []string{"y"}, atInts("kernel_shape", 3, 3)).
			output("y").parse(t, Options{Threads: threads})
		out, err := m.Run(context.Background(), map[string]*Tensor{"x": {Shape: []int{1, 1, 5, 5}, Data: img}})
		if err != nil {
			t.Fatal(err)
		}
		y := out["y"]
		if !equalShape(y.Shape, []int{1, 1, 3, 3}) {
			t.Fatalf("shape %v, want [1 1 3 3]", y.Shape)
		}
		for i := range want {
			if y.Data[i] != want[i] {
				t.Fatalf("threads=%d: got %v, want %v", threads, y.Data, want)
			}
		}
	}
}

// convCase is one convolution configuration for the naive comparison.
type convCase struct {
	name                  string
	n, c, h, w, m, kh, kw int
	group                 int
	sh, sw, dh, dw        int
	pt, pl, pb, pr        int
	oneD, bias            bool
	autoPad               string
}

var convCases = []convCase{
	{name: "3x3 pad 1", n: 1, c: 3, h: 7, w: 9, m: 5, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, bias: true},
	{name: "strided asymmetric pads", n: 2, c: 4, h: 11, w: 10, m: 6, kh: 3, kw: 2, group: 1, sh: 2, sw: 3, dh: 1, dw: 1, pt: 1, pb: 2, pr: 1, bias: true},
	{name: "grouped", n: 1, c: 6, h: 8, w: 8, m: 9, kh: 3, kw: 3, group: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1},
	{name: "depthwise strided", n: 2, c: 5, h: 9, w: 7, m: 5, kh: 3, kw: 3, group: 5, sh: 2, sw: 2, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, bias: true},
	{name: "depthwise dilated", n: 1, c: 4, h: 10, w: 11, m: 4, kh: 3, kw: 3, group: 4, sh: 1, sw: 1, dh: 2, dw: 2, pt: 2, pl: 2, pb: 2, pr: 2},
	{name: "dilated", n: 1, c: 3, h: 13, w: 12, m: 4, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 2, dw: 3, pt: 2, pl: 3, pb: 2, pr: 3, bias: true},
	{name: "1x1 direct", n: 2, c: 16, h: 5, w: 6, m: 7, kh: 1, kw: 1, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, bias: true},
	{name: "1x1 strided", n: 1, c: 8, h: 9, w: 9, m: 5, kh: 1, kw: 1, group: 1, sh: 2, sw: 2, dh: 1, dw: 1},
	{name: "odd large K", n: 1, c: 37, h: 6, w: 5, m: 13, kh: 5, kw: 5, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pt: 2, pl: 2, pb: 2, pr: 2, bias: true},
	{name: "many column tiles", n: 1, c: 3, h: 40, w: 41, m: 8, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1},
	{name: "row parts", n: 1, c: 8, h: 4, w: 4, m: 40, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, bias: true},
	{name: "same upper", n: 1, c: 2, h: 7, w: 8, m: 3, kh: 4, kw: 3, group: 1, sh: 2, sw: 2, dh: 1, dw: 1, autoPad: "SAME_UPPER"},
	{name: "same lower", n: 1, c: 2, h: 7, w: 8, m: 3, kh: 4, kw: 3, group: 1, sh: 2, sw: 2, dh: 1, dw: 1, autoPad: "SAME_LOWER"},
	{name: "1-D", n: 2, c: 3, h: 1, w: 17, m: 4, kh: 1, kw: 5, group: 1, sh: 1, sw: 2, dh: 1, dw: 1, pl: 2, pr: 1, oneD: true, bias: true},
	{name: "strided wide padding", n: 1, c: 2, h: 5, w: 5, m: 3, kh: 3, kw: 3, group: 1, sh: 2, sw: 2, dh: 1, dw: 1, pt: 4, pl: 4, pb: 4, pr: 4, bias: true},
	{name: "winograd odd sizes", n: 2, c: 17, h: 13, w: 15, m: 20, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, bias: true},
	{name: "winograd asymmetric pads", n: 1, c: 16, h: 12, w: 17, m: 24, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pl: 2, pb: 1},
	{name: "winograd batch 3", n: 3, c: 16, h: 16, w: 16, m: 16, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1},
	{name: "winograd4 odd sizes", n: 2, c: 17, h: 29, w: 31, m: 20, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, bias: true},
	{name: "winograd4 batch runs", n: 2, c: 16, h: 48, w: 47, m: 16, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, bias: true},
	// GoogLeNet's inception_3a/5x5: few column tiles split across threads
	// once panicked in im2col (slice bounds out of range [-1:]).
	{name: "5x5 pad 2 at 28x28", n: 1, c: 16, h: 28, w: 28, m: 32, kh: 5, kw: 5, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pt: 2, pl: 2, pb: 2, pr: 2, bias: true},
	{name: "winograd4 asymmetric pads", n: 3, c: 16, h: 30, w: 28, m: 24, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pl: 2, pb: 1},
}

// resolvePads applies auto_pad to a case the way the ONNX spec describes.
func (cc convCase) resolvePads() convCase {
	if cc.autoPad == "" {
		return cc
	}
	pad := func(in, k, s, d int) (int, int) {
		out := (in + s - 1) / s
		total := max(0, (out-1)*s+(k-1)*d+1-in)
		if cc.autoPad == "SAME_UPPER" {
			return total / 2, total - total/2
		}
		return total - total/2, total / 2
	}
	cc.pt, cc.pb = pad(cc.h, cc.kh, cc.sh, cc.dh)
	cc.pl, cc.pr = pad(cc.w, cc.kw, cc.sw, cc.dw)
	return cc
}

// naiveConv is the definition of a grouped, strided, dilated, padded 2-D
// convolution, summed in float64.
func naiveConv(cc convCase, x, w, b []float32) (out []float32, oh, ow int) {
	cc = cc.resolvePads()
	oh = (cc.h+cc.pt+cc.pb-((cc.kh-1)*cc.dh+1))/cc.sh + 1
	ow = (cc.w+cc.pl+cc.pr-((cc.kw-1)*cc.dw+1))/cc.sw + 1
	cg, mg := cc.c/cc.group, cc.m/cc.group
	out = make([]float32, cc.n*cc.m*oh*ow)
	for n := range cc.n {
		for o := range cc.m {
			g := o / mg
			for oy := range oh {
				for ox := range ow {
					s := 0.0
					if b != nil {
						s = float64(b[o])
					}
					for ci := range cg {
						c := g*cg + ci
						for ky := range cc.kh {
							for kx := range cc.kw {
								iy := oy*cc.sh - cc.pt + ky*cc.dh
								ix := ox*cc.sw - cc.pl + kx*cc.dw
								if iy < 0 || iy >= cc.h || ix < 0 || ix >= cc.w {
									continue
								}
								s += float64(x[((n*cc.c+c)*cc.h+iy)*cc.w+ix]) * float64(w[((o*cg+ci)*cc.kh+ky)*cc.kw+kx])
							}
						}
					}
					out[((n*cc.m+o)*oh+oy)*ow+ox] = float32(s)
				}
			}
		}
	}
	return out, oh, ow
}

func (cc convCase) node() *node {
	n := &node{name: cc.name, opType: "Conv", inputs: []string{"x", "w"}, outputs: []string{"y"}, attrs: attrs{}}
	if cc.bias {
		n.inputs = append(n.inputs, "b")
	}
	if cc.oneD {
		n.attrs["strides"] = atInts("strides", int64(cc.sw))
		n.attrs["dilations"] = atInts("dilations", int64(cc.dw))
		n.attrs["pads"] = atInts("pads", int64(cc.pl), int64(cc.pr))
	} else {
		n.attrs["strides"] = atInts("strides", int64(cc.sh), int64(cc.sw))
		n.attrs["dilations"] = atInts("dilations", int64(cc.dh), int64(cc.dw))
		n.attrs["pads"] = atInts("pads", int64(cc.pt), int64(cc.pl), int64(cc.pb), int64(cc.pr))
	}
	if cc.autoPad != "" {
		delete(n.attrs, "pads")
		n.attrs["auto_pad"] = atStr("auto_pad", cc.autoPad)
	}
	n.attrs["group"] = atInt("group", int64(cc.group))
	return n
}

// runKernel builds n for the given inputs and runs its kernel once, with
// guard bands around every output to catch out-of-range writes.
func runKernel(t *testing.T, n *node, threads int, ins []*value, constant []bool) []*value {
	t.Helper()
	infos := make([]info, len(ins))
	for k, v := range ins {
		if v == nil {
			continue
		}
		infos[k] = info{dtype: v.dtype, shape: v.shape}
		if constant[k] {
			infos[k].c = v
		}
	}
	pc := &planCtx{opset: 13, threads: threads, cache: newLoadCache()}
	outInfos, k, err := registry[n.opType].build(pc, n, infos)
	if err != nil {
		t.Fatal(err)
	}
	var wp *workerPool
	if threads > 1 {
		wp = newWorkerPool(threads - 1)
		defer wp.close()
	}
	const guard = 37
	outs := make([]*value, len(outInfos))
	bufs := make([][]float32, len(outInfos))
	for j, oi := range outInfos {
		size := shapeSize(oi.shape)
		bufs[j] = make([]float32, size+2*guard)
		for i := range bufs[j] {
			bufs[j][i] = 12345
		}
		outs[j] = &value{dtype: Float32, shape: oi.shape, f: bufs[j][guard : guard+size : guard+size]}
	}
	k(newExec(pc.workspace, threads, wp), ins, outs)
	for j, b := range bufs {
		for i := range guard {
			if b[i] != 12345 || b[len(b)-1-i] != 12345 {
				t.Fatalf("output %d: guard band overwritten", j)
			}
		}
	}
	return outs
}

func closeTo(got, want []float32, tol float64) (int, bool) {
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > tol*(1+math.Abs(float64(want[i]))) || math.IsNaN(float64(got[i])) {
			return i, false
		}
	}
	return 0, len(got) == len(want)
}

func TestConvMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, cc := range convCases {
		x := randFloats(r, cc.n*cc.c*cc.h*cc.w)
		w := randFloats(r, cc.m*(cc.c/cc.group)*cc.kh*cc.kw)
		var b []float32
		if cc.bias {
			b = randFloats(r, cc.m)
		}
		want, oh, ow := naiveConv(cc, x, w, b)
		xs, ws := []int{cc.n, cc.c, cc.h, cc.w}, []int{cc.m, cc.c / cc.group, cc.kh, cc.kw}
		if cc.oneD {
			xs, ws = []int{cc.n, cc.c, cc.w}, []int{cc.m, cc.c / cc.group, cc.kw}
		}
		ins := []*value{{dtype: Float32, shape: xs, f: x}, {dtype: Float32, shape: ws, f: w}}
		if b != nil {
			ins = append(ins, &value{dtype: Float32, shape: []int{cc.m}, f: b})
		}
		for _, threads := range []int{1, 2, 3} {
			for _, constW := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s/threads=%d/constW=%v", cc.name, threads, constW), func(t *testing.T) {
					out := runKernel(t, cc.node(), threads, ins, []bool{false, constW, constW})[0]
					if got := out.shape[len(out.shape)-1]; got != ow || (!cc.oneD && out.shape[2] != oh) {
						t.Fatalf("output shape %v, want spatial %dx%d", out.shape, oh, ow)
					}
					if i, ok := closeTo(out.f, want, 1e-4); !ok {
						t.Fatalf("element %d: got %g, want %g", i, out.f[i], want[i])
					}
				})
			}
		}
	}
}

// TestConvAlgo checks which algorithm the planner picks, for ResNet50's
// shapes and for the Winograd cases of convCases (with constant weights),
// so that TestConvMatchesNaive is known to cover each path.
func TestConvAlgo(t *testing.T) {
	cases := []struct {
		cc   convCase
		want convAlgo
	}{
		{convCase{name: "stem 7x7/2", n: 1, c: 3, h: 224, w: 224, m: 64, kh: 7, kw: 7, group: 1, sh: 2, sw: 2, dh: 1, dw: 1, pt: 3, pl: 3, pb: 3, pr: 3}, convIm2col},
		{convCase{name: "3x3 64 at 56", n: 1, c: 64, h: 56, w: 56, m: 64, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1}, convWinograd4},
		{convCase{name: "3x3 128 at 28", n: 8, c: 128, h: 28, w: 28, m: 128, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1}, convWinograd4},
		{convCase{name: "3x3 256 at 14", n: 8, c: 256, h: 14, w: 14, m: 256, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1}, convWinograd2},
		{convCase{name: "3x3 512 at 7", n: 1, c: 512, h: 7, w: 7, m: 512, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1}, convWinograd2},
		{convCase{name: "3x3 16 at 6", n: 1, c: 16, h: 6, w: 6, m: 16, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1}, convIm2col},
		{convCase{name: "3x3 8 at 56", n: 1, c: 8, h: 56, w: 56, m: 64, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1}, convIm2col},
		{convCase{name: "3x3/2 128", n: 1, c: 128, h: 56, w: 56, m: 128, kh: 3, kw: 3, group: 1, sh: 2, sw: 2, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1}, convIm2col},
		{convCase{name: "1x1", n: 1, c: 256, h: 56, w: 56, m: 64, kh: 1, kw: 1, group: 1, sh: 1, sw: 1, dh: 1, dw: 1}, convDirect},
		{convCase{name: "1x1/2", n: 1, c: 256, h: 56, w: 56, m: 512, kh: 1, kw: 1, group: 1, sh: 2, sw: 2, dh: 1, dw: 1}, convIm2col},
		{convCase{name: "grouped 3x3", n: 1, c: 64, h: 56, w: 56, m: 64, kh: 3, kw: 3, group: 2, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1}, convIm2col},
		{convCase{name: "depthwise", n: 1, c: 32, h: 56, w: 56, m: 32, kh: 3, kw: 3, group: 32, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1}, convDepthwise},
	}
	for _, cc := range convCases {
		want := convWinograd2
		switch {
		case strings.HasPrefix(cc.name, "winograd4"):
			want = convWinograd4
		case !strings.HasPrefix(cc.name, "winograd"):
			continue
		}
		cases = append(cases, struct {
			cc   convCase
			want convAlgo
		}{cc, want})
	}
	for _, tc := range cases {
		t.Run(tc.cc.name, func(t *testing.T) {
			cc := tc.cc
			w := &value{dtype: Float32, shape: []int{cc.m, cc.c / cc.group, cc.kh, cc.kw}, f: make([]float32, cc.m*cc.c/cc.group*cc.kh*cc.kw)}
			ins := []info{{dtype: Float32, shape: []int{cc.n, cc.c, cc.h, cc.w}}, {dtype: Float32, shape: w.shape, c: w}}
			pc := &planCtx{opset: 13, threads: 2, cache: newLoadCache()}
			if _, _, err := buildConv(pc, cc.node(), ins); err != nil {
				t.Fatal(err)
			}
			cp := pc.conv
			if cp.algo != tc.want {
				t.Errorf("algorithm %v, want %v", cp.algo, tc.want)
			}
		})
	}
}

// TestConvFusedEpilogue checks the fused residual add and activations
// against the naive convolution followed by the same element-wise steps.
func TestConvFusedEpilogue(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	fusions := []convFusion{
		{act: actRelu},
		{residual: true},
		{residual: true, act: actRelu},
		{residual: true, act: actClip, lo: -0.5, hi: 0.25},
	}
	for _, cc := range []convCase{convCases[0], convCases[3], convCases[6], convCases[10], convCases[len(convCases)-6], convCases[len(convCases)-3], convCases[len(convCases)-2]} {
		x := randFloats(r, cc.n*cc.c*cc.h*cc.w)
		w := randFloats(r, cc.m*(cc.c/cc.group)*cc.kh*cc.kw)
		b := randFloats(r, cc.m)
		cc.bias = true
		base, oh, ow := naiveConv(cc, x, w, b)
		res := randFloats(r, len(base))
		for _, f := range fusions {
			for _, threads := range []int{1, 2} {
				t.Run(fmt.Sprintf("%s/%+v/threads=%d", cc.name, f, threads), func(t *testing.T) {
					n := cc.node()
					n.fuse = f
					ins := []*value{
						{dtype: Float32, shape: []int{cc.n, cc.c, cc.h, cc.w}, f: x},
						{dtype: Float32, shape: []int{cc.m, cc.c / cc.group, cc.kh, cc.kw}, f: w},
						{dtype: Float32, shape: []int{cc.m}, f: b},
					}
					want := append([]float32(nil), base...)
					if f.residual {
						n.inputs = append(n.inputs, "r")
						ins = append(ins, &value{dtype: Float32, shape: []int{cc.n, cc.m, oh, ow}, f: res})
						for i := range want {
							want[i] += res[i]
						}
					}
					activate(want, f.act, f.lo, f.hi)
					out := runKernel(t, n, threads, ins, []bool{false, true, true, false})[0]
					if i, ok := closeTo(out.f, want, 1e-4); !ok {
						t.Fatalf("element %d: got %g, want %g", i, out.f[i], want[i])
					}
				})
			}
		}
	}
}

func TestConvRejects(t *testing.T) {
	x := info{dtype: Float32, shape: []int{1, 4, 5, 5}}
	w := func(s ...int) info { return info{dtype: Float32, shape: s} }
	cases := []struct {
		name string
		ins  []info
		at   []*onnxpb.Attribute
		want string
	}{
		{"channel mismatch", []info{x, w(2, 3, 3, 3)}, nil, "do not match"},
		{"group mismatch", []info{x, w(2, 4, 3, 3)}, []*onnxpb.Attribute{atInt("group", 2)}, "do not match"},
		{"kernel too large", []info{x, w(2, 4, 7, 7)}, nil, "larger than"},
		{"bad bias", []info{x, w(2, 4, 3, 3), w(3)}, nil, "bias"},
		{"bad strides", []info{x, w(2, 4, 3, 3)}, []*onnxpb.Attribute{atInts("strides", 0, 1)}, "strides"},
		{"bad pads", []info{x, w(2, 4, 3, 3)}, []*onnxpb.Attribute{atInts("pads", 1, 1)}, "pads"},
		{"3-D", []info{{dtype: Float32, shape: []int{1, 4, 5, 5, 5}}, w(2, 4, 3, 3, 3)}, nil, "unsupported: 3-D convolution"},
		{"kernel_shape differs", []info{x, w(2, 4, 3, 3)}, []*onnxpb.Attribute{atInts("kernel_shape", 2, 2)}, "kernel_shape"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := &node{opType: "Conv", attrs: attrs{}, outputs: []string{"y"}}
			for _, a := range tc.at {
				n.attrs[a.Name] = a
			}
			_, _, err := buildConv(&planCtx{opset: 13, threads: 1}, n, tc.ins)
			if err == nil || !containsStr(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func containsStr(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestWinogradSplit checks how Winograd convolutions are divided among
// threads: output channels for images with few tiles, tiles otherwise.
func TestWinogradSplit(t *testing.T) {
	for _, tc := range []struct {
		name           string
		n, c, hw       int
		threads, parts int
		batchRuns      bool
	}{
		{"F4 56x56 batch 1", 1, 64, 56, 2, 1, true},
		{"F4 56x56 one thread", 8, 64, 56, 1, 1, true},
		{"F4 28x28 batch 8", 8, 128, 28, 2, 2, false},
		{"F2 14x14", 1, 256, 14, 2, 2, false},
		{"F2 7x7 three threads", 1, 512, 7, 3, 3, false},
		{"F2 14x14 one thread", 1, 256, 14, 1, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc := convCase{n: tc.n, c: tc.c, h: tc.hw, w: tc.hw, m: tc.c, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1}
			w := &value{dtype: Float32, shape: []int{cc.m, cc.c, 3, 3}, f: make([]float32, cc.m*cc.c*9)}
			ins := []info{{dtype: Float32, shape: []int{cc.n, cc.c, cc.h, cc.w}}, {dtype: Float32, shape: w.shape, c: w}}
			pc := &planCtx{opset: 13, threads: tc.threads, cache: newLoadCache()}
			if _, _, err := buildConv(pc, cc.node(), ins); err != nil {
				t.Fatal(err)
			}
			cp := pc.conv
			if cp.parts != tc.parts || (cp.wino.wino4 != nil) != tc.batchRuns {
				t.Errorf("%v: %d channel parts, batch runs %v; want %d, %v", cp.algo, cp.parts, cp.wino.wino4 != nil, tc.parts, tc.batchRuns)
			}
			if covered := cp.parts * cp.rowBlock; covered < cp.m || covered-cp.rowBlock >= cp.m {
				t.Errorf("%d parts of %d channels do not cover %d channels exactly", cp.parts, cp.rowBlock, cp.m)
			}
		})
	}
}

// TestConvDoesNotAllocate runs every convolution case (constant weights,
// with and without a fused residual, one to three threads) under
// testing.AllocsPerRun: each algorithm's kernel must allocate nothing.
func TestConvDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	r := rand.New(rand.NewPCG(5, 6))
	for _, cc := range convCases {
		for _, residual := range []bool{false, true} {
			for _, threads := range []int{1, 2, 3} {
				t.Run(fmt.Sprintf("%s/residual=%v/threads=%d", cc.name, residual, threads), func(t *testing.T) {
					n := cc.node()
					xs, ws := []int{cc.n, cc.c, cc.h, cc.w}, []int{cc.m, cc.c / cc.group, cc.kh, cc.kw}
					if cc.oneD {
						xs, ws = []int{cc.n, cc.c, cc.w}, []int{cc.m, cc.c / cc.group, cc.kw}
					}
					w := &value{dtype: Float32, shape: ws, f: randFloats(r, shapeSize(ws))}
					ins := []info{{dtype: Float32, shape: xs}, {dtype: Float32, shape: ws, c: w}}
					pc := &planCtx{opset: 13, threads: threads, cache: newLoadCache()}
					outInfos, k, err := buildConv(pc, n, ins)
					if err != nil {
						t.Fatal(err)
					}
					vals := []*value{{dtype: Float32, shape: xs, f: randFloats(r, shapeSize(xs))}, w}
					out := &value{dtype: Float32, shape: outInfos[0].shape, f: make([]float32, shapeSize(outInfos[0].shape))}
					if residual {
						n.fuse.residual = true
						n.inputs = append(n.inputs, "", "r")
						ins = append(ins, info{}, info{dtype: Float32, shape: out.shape})
						pc = &planCtx{opset: 13, threads: threads, cache: newLoadCache()}
						if _, k, err = buildConv(pc, n, ins); err != nil {
							t.Fatal(err)
						}
						vals = append(vals, nil, &value{dtype: Float32, shape: out.shape, f: randFloats(r, len(out.f))})
					}
					outs := []*value{out}
					var wp *workerPool
					if threads > 1 {
						wp = newWorkerPool(threads - 1)
						defer wp.close()
					}
					x := newExec(pc.workspace, threads, wp)
					if a := testing.AllocsPerRun(5, func() { k(x, vals, outs) }); a != 0 {
						t.Errorf("%v: %v allocations per run", pc.conv.algo, a)
					}
				})
			}
		}
	}
}

// TestConvRandomGeometries runs seeded random convolutions (kernel sizes,
// strides, dilations, asymmetric pads, groups, batch and thread counts)
// against the naive reference, so the work splits of every algorithm meet
// edge shapes that no hand-written case thought of.
func TestConvRandomGeometries(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for i := range 200 {
		cc := convCase{n: 1 + r.IntN(3), group: 1, sh: 1 + r.IntN(3), sw: 1 + r.IntN(3), dh: 1 + r.IntN(2), dw: 1 + r.IntN(2)}
		cc.kh, cc.kw = 1+r.IntN(7), 1+r.IntN(7)
		if r.IntN(3) == 0 { // favour the 3x3 stride-1 shapes that take Winograd
			cc.kh, cc.kw, cc.sh, cc.sw, cc.dh, cc.dw = 3, 3, 1, 1, 1, 1
		}
		cc.pt, cc.pl, cc.pb, cc.pr = r.IntN(cc.kh), r.IntN(cc.kw), r.IntN(cc.kh), r.IntN(cc.kw)
		if r.IntN(4) == 0 {
			cc.group = 1 + r.IntN(3)
		}
		cc.c = cc.group * (1 + r.IntN(12))
		cc.m = cc.group * (1 + r.IntN(12))
		minH := (cc.kh-1)*cc.dh + 1 - cc.pt - cc.pb
		minW := (cc.kw-1)*cc.dw + 1 - cc.pl - cc.pr
		cc.h = max(minH, 1) + r.IntN(60)
		cc.w = max(minW, 1) + r.IntN(60)
		cc.bias = r.IntN(2) == 0
		cc.name = fmt.Sprintf("%d", i)
		x := randFloats(r, cc.n*cc.c*cc.h*cc.w)
		w := randFloats(r, cc.m*(cc.c/cc.group)*cc.kh*cc.kw)
		var b []float32
		if cc.bias {
			b = randFloats(r, cc.m)
		}
		want, _, _ := naiveConv(cc, x, w, b)
		ins := []*value{
			{dtype: Float32, shape: []int{cc.n, cc.c, cc.h, cc.w}, f: x},
			{dtype: Float32, shape: []int{cc.m, cc.c / cc.group, cc.kh, cc.kw}, f: w},
		}
		if b != nil {
			ins = append(ins, &value{dtype: Float32, shape: []int{cc.m}, f: b})
		}
		threads := 1 + r.IntN(3)
		t.Run(fmt.Sprintf("%+v/threads=%d", cc, threads), func(t *testing.T) {
			out := runKernel(t, cc.node(), threads, ins, []bool{false, true, true})[0]
			if i, ok := closeTo(out.f, want, 1e-4); !ok {
				t.Fatalf("element %d: got %g, want %g", i, out.f[i], want[i])
			}
		})
	}
}
