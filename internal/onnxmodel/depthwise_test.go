package onnxmodel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// dwCase is one depthwise convolution for the comparison with the naive
// float64 reference.
type dwCase struct {
	name           string
	n, c, h, w     int
	kh, kw         int
	sh, sw, dh, dw int
	pt, pl, pb, pr int
	bias, residual bool
	act            actKind
	lo, hi         float32
}

func (tc dwCase) geom() geom2D {
	g := geom2D{h: tc.h, w: tc.w, kh: tc.kh, kw: tc.kw, sh: tc.sh, sw: tc.sw, dh: tc.dh, dw: tc.dw,
		pt: tc.pt, pl: tc.pl, pbot: tc.pb, pr: tc.pr}
	g.oh = (tc.h+tc.pt+tc.pb-((tc.kh-1)*tc.dh+1))/tc.sh + 1
	g.ow = (tc.w+tc.pl+tc.pr-((tc.kw-1)*tc.dw+1))/tc.sw + 1
	return g
}

var dwCases = func() []dwCase {
	cases := []dwCase{
		{name: "3x3 s1 p1 relu6", n: 1, c: 17, h: 13, w: 11, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, bias: true, act: actClip, lo: 0, hi: 6},
		{name: "3x3 s2 p1 relu6 even", n: 2, c: 5, h: 16, w: 16, kh: 3, kw: 3, sh: 2, sw: 2, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, bias: true, act: actClip, lo: 0, hi: 6},
		{name: "3x3 s2 p1 odd", n: 1, c: 3, h: 15, w: 17, kh: 3, kw: 3, sh: 2, sw: 2, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1},
		{name: "3x3 s2 torch-like p0,1", n: 1, c: 4, h: 14, w: 14, kh: 3, kw: 3, sh: 2, sw: 2, dh: 1, dw: 1, pt: 0, pl: 0, pb: 1, pr: 1, bias: true, act: actRelu},
		{name: "5x5 s1 p2", n: 1, c: 19, h: 9, w: 10, kh: 5, kw: 5, sh: 1, sw: 1, dh: 1, dw: 1, pt: 2, pl: 2, pb: 2, pr: 2, bias: true},
		{name: "5x5 s2 p2 relu", n: 2, c: 6, h: 23, w: 21, kh: 5, kw: 5, sh: 2, sw: 2, dh: 1, dw: 1, pt: 2, pl: 2, pb: 2, pr: 2, bias: true, act: actRelu},
		{name: "5x5 s2 asymmetric p1,2", n: 1, c: 3, h: 12, w: 13, kh: 5, kw: 5, sh: 2, sw: 2, dh: 1, dw: 1, pt: 1, pl: 2, pb: 2, pr: 1, bias: true},
		{name: "7x7 s1 p3", n: 1, c: 7, h: 8, w: 9, kh: 7, kw: 7, sh: 1, sw: 1, dh: 1, dw: 1, pt: 3, pl: 3, pb: 3, pr: 3, bias: true},
		{name: "7x7 s2 p3 clip", n: 1, c: 2, h: 20, w: 19, kh: 7, kw: 7, sh: 2, sw: 2, dh: 1, dw: 1, pt: 3, pl: 3, pb: 3, pr: 3, act: actClip, lo: -0.5, hi: 0.25},
		{name: "3x3 dilated 2 p2", n: 1, c: 4, h: 10, w: 11, kh: 3, kw: 3, sh: 1, sw: 1, dh: 2, dw: 2, pt: 2, pl: 2, pb: 2, pr: 2},
		{name: "3x3 dilated 2x3 s2", n: 1, c: 3, h: 17, w: 19, kh: 3, kw: 3, sh: 2, sw: 2, dh: 2, dw: 3, pt: 1, pl: 3, pb: 2, pr: 0, bias: true},
		{name: "3x3 stride 3 (generic phases)", n: 1, c: 3, h: 16, w: 20, kh: 3, kw: 3, sh: 3, sw: 3, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, bias: true},
		{name: "stride 2x1", n: 1, c: 2, h: 11, w: 12, kh: 3, kw: 3, sh: 2, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1},
		{name: "3x5 asymmetric", n: 1, c: 3, h: 9, w: 12, kh: 3, kw: 5, sh: 1, sw: 1, dh: 1, dw: 1, pt: 0, pl: 2, pb: 2, pr: 0, bias: true},
		{name: "no padding", n: 1, c: 5, h: 9, w: 9, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1},
		{name: "pads larger than kernel reach", n: 1, c: 2, h: 3, w: 4, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 3, pl: 3, pb: 3, pr: 3, bias: true, act: actRelu},
		{name: "wide rows (64 and 16 blocks, tail)", n: 1, c: 3, h: 5, w: 150, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, bias: true, act: actClip, lo: 0, hi: 6},
		{name: "wide rows s2", n: 1, c: 2, h: 6, w: 229, kh: 3, kw: 3, sh: 2, sw: 2, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, bias: true},
		{name: "1x1 taps", n: 1, c: 3, h: 4, w: 5, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 0, pb: 0, pr: 1, bias: true},
		{name: "1-D", n: 2, c: 3, h: 1, w: 40, kh: 1, kw: 5, sh: 1, sw: 2, dh: 1, dw: 1, pl: 2, pr: 2, bias: true},
		{name: "residual relu", n: 2, c: 5, h: 7, w: 7, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, bias: true, residual: true, act: actRelu},
		{name: "residual clip", n: 1, c: 5, h: 7, w: 6, kh: 5, kw: 5, sh: 1, sw: 1, dh: 1, dw: 1, pt: 2, pl: 2, pb: 2, pr: 2, residual: true, act: actClip, lo: -1, hi: 1},
		{name: "tall plane (ring) 3x3 s1", n: 1, c: 2, h: 140, w: 130, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, bias: true, act: actClip, lo: 0, hi: 6},
		{name: "tall plane (ring) 5x5 s2", n: 1, c: 2, h: 181, w: 101, kh: 5, kw: 5, sh: 2, sw: 2, dh: 1, dw: 1, pt: 2, pl: 1, pb: 1, pr: 2, bias: true, act: actRelu},
		{name: "tall plane (ring) dilated residual", n: 1, c: 2, h: 150, w: 120, kh: 3, kw: 3, sh: 1, sw: 1, dh: 3, dw: 2, pt: 3, pl: 2, pb: 3, pr: 2, residual: true, act: actClip, lo: -1, hi: 1},
		{name: "too wide for the ring (plain loop)", n: 1, c: 2, h: 5, w: 3000, kh: 5, kw: 5, sh: 1, sw: 1, dh: 1, dw: 1, pt: 2, pl: 2, pb: 2, pr: 2, bias: true, act: actRelu},
	}
	return cases
}()

// dwNaive is the float64 reference: out = act(bias + Σ taps + res), and
// mag the sum of the magnitudes of the terms, for the error bound.
func dwNaive(tc dwCase, g geom2D, in, w, bias, res []float32) (out, mag []float64) {
	hw := g.oh * g.ow
	out = make([]float64, tc.n*tc.c*hw)
	mag = make([]float64, len(out))
	for img := range tc.n {
		for c := range tc.c {
			for oy := range g.oh {
				for ox := range g.ow {
					var s, m float64
					if bias != nil {
						s, m = float64(bias[c]), math.Abs(float64(bias[c]))
					}
					for ky := range g.kh {
						for kx := range g.kw {
							iy, ix := oy*g.sh-g.pt+ky*g.dh, ox*g.sw-g.pl+kx*g.dw
							if iy < 0 || iy >= g.h || ix < 0 || ix >= g.w {
								continue
							}
							p := float64(in[((img*tc.c+c)*g.h+iy)*g.w+ix]) * float64(w[(c*g.kh+ky)*g.kw+kx])
							s += p
							m += math.Abs(p)
						}
					}
					o := (img*tc.c+c)*hw + oy*g.ow + ox
					if res != nil {
						s += float64(res[o])
						m += math.Abs(float64(res[o]))
					}
					switch tc.act {
					case actRelu:
						s = max(s, 0)
					case actClip:
						s = min(max(s, float64(tc.lo)), float64(tc.hi))
					}
					out[o], mag[o] = s, m
				}
			}
		}
	}
	return out, mag
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

// runDepthwise runs fn (depthwiseRows or depthwiseRange) over the items
// [0, n·c) in chunks of at most 3 channels, writing into an output with
// guard bands, and fails if a guard changed.
func runDepthwise(t *testing.T, fn func(j *job, chunk, lo, hi int), tc dwCase, g geom2D, in, w, bias, res []float32) []float32 {
	t.Helper()
	const guard = 37
	const sentinel = float32(-777.25)
	size := tc.n * tc.c * g.oh * g.ow
	buf := make([]float32, size+2*guard)
	for i := range buf {
		buf[i] = sentinel
	}
	cp := &convPlan{geom2D: g, n: tc.n, c: tc.c, m: tc.c, group: tc.c, cg: 1, mg: 1, kdim: tc.kh * tc.kw,
		fuse: convFusion{residual: tc.residual, act: tc.act, lo: tc.lo, hi: tc.hi}}
	ins := []*value{{dtype: Float32, f: in}, {dtype: Float32, f: w}, nil}
	if bias != nil {
		ins[2] = &value{dtype: Float32, f: bias}
	}
	if res != nil {
		ins = append(ins, &value{dtype: Float32, f: res})
	}
	j := &job{arg: cp, ins: ins, outs: []*value{{dtype: Float32, f: buf[guard : guard+size]}}}
	for lo := 0; lo < tc.n*tc.c; lo += 3 {
		fn(j, 0, lo, min(lo+3, tc.n*tc.c))
	}
	for i := range guard {
		if buf[i] != sentinel || buf[guard+size+i] != sentinel {
			t.Fatalf("a guard band changed")
		}
	}
	return buf[guard : guard+size]
}

// TestDepthwiseRowsMatchesNaive compares depthwiseRows (and the loop it
// replaces) with the float64 reference over kernel sizes, strides,
// dilations, paddings, epilogues and channel counts.
func TestDepthwiseRowsMatchesNaive(t *testing.T) {
	for _, tc := range dwCases {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(len(tc.name)), 7))
			g := tc.geom()
			in := randSlice(r, tc.n*tc.c*tc.h*tc.w)
			w := randSlice(r, tc.c*tc.kh*tc.kw)
			var bias, res []float32
			if tc.bias {
				bias = randSlice(r, tc.c)
			}
			if tc.residual {
				res = randSlice(r, tc.n*tc.c*g.oh*g.ow)
			}
			want, mag := dwNaive(tc, g, in, w, bias, res)
			for _, impl := range []struct {
				name string
				fn   func(j *job, chunk, lo, hi int)
			}{{"rows", depthwiseRows}, {"plain", depthwiseRange}} {
				got := runDepthwise(t, impl.fn, tc, g, in, w, bias, res)
				for i := range want {
					// float32 sums of k terms: k·eps relative to Σ|terms|.
					tol := float64(tc.kh*tc.kw+2) * 0x1p-23 * (mag[i] + 1e-30)
					if d := math.Abs(float64(got[i]) - want[i]); !(d <= tol) {
						t.Fatalf("%s: out[%d] = %g, want %g (|diff| %.3g > %.3g)", impl.name, i, got[i], want[i], d, tol)
					}
				}
			}
		})
	}
}

// TestDWRowAVX512 checks the assembly row kernel against the Go one over
// output widths 0..150 (64-blocks, 16-blocks and masked tails) and tap
// counts 0..26, with guard bands around the output.
func TestDWRowAVX512(t *testing.T) {
	if !hasAVX512DW {
		t.Skip("no AVX-512 on this CPU or purego build")
	}
	r := rand.New(rand.NewPCG(3, 4))
	buf := randSlice(r, 600)
	const guard = 17
	for _, taps := range []int{0, 1, 2, 3, 9, 25, 26} {
		for n := 0; n <= 150; n++ {
			offs := make([]int32, taps)
			wts := randSlice(r, taps)
			for t := range offs {
				offs[t] = int32(r.IntN(len(buf) - n + 1))
			}
			bias, lo, hi := r.Float32(), float32(-0.5), float32(1.5)
			want := make([]float32, n)
			dwRowGeneric(want, buf, offs, wts, bias, lo, hi)
			out := make([]float32, n+2*guard)
			for i := range out {
				out[i] = 99
			}
			dwRowAVX512(out[guard:guard+n], buf, offs, wts, bias, lo, hi)
			for i, v := range out {
				in := i >= guard && i < guard+n
				if !in && v != 99 {
					t.Fatalf("taps=%d n=%d: wrote guard index %d", taps, n, i)
				}
				if in && math.Abs(float64(v-want[i-guard])) > 1e-5 {
					t.Fatalf("taps=%d n=%d: out[%d] = %g, want %g", taps, n, i-guard, v, want[i-guard])
				}
			}
		}
	}
}

// TestSplit2 checks the even/odd split, assembly and Go, with guards.
func TestSplit2(t *testing.T) {
	for n := 0; n <= 100; n++ {
		src := make([]float32, n)
		for i := range src {
			src[i] = float32(i + 1)
		}
		ne, no := (n+1)/2, n/2
		even, odd := make([]float32, ne+3), make([]float32, no+3)
		split2(even[:ne], odd[:no], src)
		for i := range ne + 3 {
			want := float32(0)
			if i < ne {
				want = float32(2*i + 1)
			}
			if even[i] != want {
				t.Fatalf("n=%d: even[%d] = %g, want %g", n, i, even[i], want)
			}
		}
		for i := range no + 3 {
			want := float32(0)
			if i < no {
				want = float32(2*i + 2)
			}
			if odd[i] != want {
				t.Fatalf("n=%d: odd[%d] = %g, want %g", n, i, odd[i], want)
			}
		}
	}
}

// TestDepthwiseRowsNoAlloc checks that the kernel keeps its buffers on
// the stack.
func TestDepthwiseRowsNoAlloc(t *testing.T) {
	tc := dwCases[1]
	g := tc.geom()
	r := rand.New(rand.NewPCG(1, 2))
	in, w, bias := randSlice(r, tc.n*tc.c*tc.h*tc.w), randSlice(r, tc.c*9), randSlice(r, tc.c)
	cp := &convPlan{geom2D: g, n: tc.n, c: tc.c, m: tc.c, group: tc.c, cg: 1, mg: 1, fuse: convFusion{act: tc.act, lo: tc.lo, hi: tc.hi}}
	j := &job{arg: cp, ins: []*value{{f: in}, {f: w}, {f: bias}}, outs: []*value{{f: make([]float32, tc.n*tc.c*g.oh*g.ow)}}}
	if a := testing.AllocsPerRun(20, func() { depthwiseRows(j, 0, 0, tc.n*tc.c) }); a != 0 {
		t.Errorf("%v allocations per call, want 0", a)
	}
}

// BenchmarkDepthwise compares the row kernel with the plain loop on the
// depthwise layers of MobileNetV2 and EfficientNet-B0 at 224x224, one
// thread.
func BenchmarkDepthwise(b *testing.B) {
	layers := []struct {
		c, hw, k, s int
	}{{32, 112, 3, 1}, {96, 112, 3, 2}, {144, 56, 3, 1}, {144, 56, 5, 2}, {192, 28, 3, 1}, {480, 14, 5, 1}, {960, 7, 3, 1}, {1152, 7, 5, 1}}
	for _, l := range layers {
		p := l.k / 2
		tc := dwCase{n: 1, c: l.c, h: l.hw, w: l.hw, kh: l.k, kw: l.k, sh: l.s, sw: l.s, dh: 1, dw: 1, pt: p, pl: p, pb: p, pr: p, bias: true, act: actClip, lo: 0, hi: 6}
		g := tc.geom()
		r := rand.New(rand.NewPCG(1, 2))
		in, w, bias := randSlice(r, tc.c*tc.h*tc.w), randSlice(r, tc.c*l.k*l.k), randSlice(r, tc.c)
		cp := &convPlan{geom2D: g, n: 1, c: tc.c, m: tc.c, group: tc.c, cg: 1, mg: 1, fuse: convFusion{act: tc.act, lo: tc.lo, hi: tc.hi}}
		j := &job{arg: cp, ins: []*value{{f: in}, {f: w}, {f: bias}}, outs: []*value{{f: make([]float32, tc.c*g.oh*g.ow)}}}
		macs := float64(tc.c * g.oh * g.ow * l.k * l.k)
		for _, impl := range []struct {
			name string
			fn   func(j *job, chunk, lo, hi int)
		}{{"plain", depthwiseRange}, {"rows", depthwiseRows}} {
			b.Run(fmt.Sprintf("%s/c=%d/%dx%d/k=%d/s=%d", impl.name, l.c, l.hw, l.hw, l.k, l.s), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					impl.fn(j, 0, 0, tc.c)
				}
				b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
			})
		}
	}
}
