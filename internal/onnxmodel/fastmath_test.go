package onnxmodel

import (
	"fmt"
	"math"
	"testing"
)

// mathFunc is one fast float32 function with its float64 reference.
type mathFunc struct {
	name    string
	ref     func(float64) float64
	generic func(dst, src []float32)
	avx512  func(dst, src []float32)
	lo, hi  float32 // sweep range
	maxULP  int64   // bound on the error in ulps of the rounded reference
}

var mathFuncs = []mathFunc{
	{name: "exp", ref: math.Exp, generic: expGeneric, avx512: expAVX512, lo: -110, hi: 95, maxULP: 2},
	{name: "sigmoid", ref: func(v float64) float64 { return 1 / (1 + math.Exp(-v)) },
		generic: sigmoidGeneric, avx512: sigmoidAVX512, lo: -110, hi: 40, maxULP: 3},
	{name: "silu", ref: func(v float64) float64 { return v / (1 + math.Exp(-v)) },
		generic: siluGeneric, avx512: siluAVX512, lo: -110, hi: 40, maxULP: 4},
	{name: "tanh", ref: math.Tanh, generic: tanhGeneric, avx512: tanhAVX512, lo: -20, hi: 20, maxULP: 3},
}

// ordered maps a float32 to an integer that increases with its value, so
// that the difference of two is their distance in ulps (±0 are equal).
func ordered(f float32) int64 {
	b := int64(math.Float32bits(f))
	if b&(1<<31) != 0 {
		return -(b &^ (1 << 31))
	}
	return b
}

// ulpDiff returns the distance in ulps between got and want, with NaN
// equal only to NaN and infinities only to themselves.
func ulpDiff(got, want float32) int64 {
	switch {
	case want != want || got != got:
		if want != want && got != got {
			return 0
		}
		return math.MaxInt64
	case math.IsInf(float64(want), 0) || math.IsInf(float64(got), 0):
		if got == want {
			return 0
		}
		return math.MaxInt64
	}
	d := ordered(got) - ordered(want)
	if d < 0 {
		d = -d
	}
	return d
}

// sweep returns every step-th float32 between lo and hi and the edge
// values: signed zeros, infinities, NaN, the largest and smallest floats
// and the thresholds of the fast paths.
func sweep(lo, hi float32, step uint32) []float32 {
	var xs []float32
	for _, sign := range []uint32{0, 1 << 31} {
		for b := uint32(0); b < 0x7f800000; b += step {
			x := math.Float32frombits(b | sign)
			if x >= lo && x <= hi {
				xs = append(xs, x)
			}
		}
	}
	inf := float32(math.Inf(1))
	edges := []float32{0, float32(math.Copysign(0, -1)), inf, -inf, float32(math.NaN()),
		math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
		expLo, expHi, 88.72283, 88.72284, 88.7229, 89, -87.33654, -87.3366, -103.97, -103.973, -103.98, -104, -104.1,
		0.625, -0.625, 0.62499994, 1e-30, -1e-30, 1e-5, -1e-5, 16.6, -16.6, 9.1, -9.1}
	for _, e := range edges {
		xs = append(xs, e, math.Nextafter32(e, inf), math.Nextafter32(e, -inf))
	}
	return xs
}

// TestFastMathAccuracy compares each function, generic and (where the CPU
// has it) AVX-512, with float64 math over a dense sweep and edge values,
// and reports the largest error in ulps and relative to the reference.
func TestFastMathAccuracy(t *testing.T) {
	step := uint32(211)
	if testing.Short() {
		step = 9973
	}
	for _, f := range mathFuncs {
		xs := sweep(f.lo, f.hi, step)
		want := make([]float32, len(xs))
		for i, x := range xs {
			want[i] = float32(f.ref(float64(x)))
		}
		for _, impl := range []struct {
			name string
			fn   func(dst, src []float32)
		}{{"generic", f.generic}, {"avx512", f.avx512}} {
			t.Run(f.name+"/"+impl.name, func(t *testing.T) {
				if impl.name == "avx512" && !hasAVX512Math {
					t.Skip("no AVX-512 on this CPU or purego build")
				}
				got := make([]float32, len(xs))
				impl.fn(got, xs)
				var worst int64
				var worstX float32
				var maxRel float64
				for i, x := range xs {
					d := ulpDiff(got[i], want[i])
					// Subnormal results carry fewer bits: bound them
					// absolutely, by a few of the smallest steps.
					// Results below 2^-100 are bounded absolutely: a
					// subnormal carries fewer bits (and SiLU multiplies one
					// by x), and nothing downstream sees the difference.
					if w := math.Abs(float64(want[i])); w < 0x1p-100 && !math.IsNaN(float64(got[i])) {
						if math.Abs(float64(got[i])-float64(want[i])) <= 0x1p-140 {
							continue
						}
					} else if r := f.ref(float64(x)); d != math.MaxInt64 && r != 0 && !math.IsInf(float64(want[i]), 0) && !math.IsInf(r, 0) && !math.IsNaN(r) {
						maxRel = max(maxRel, math.Abs(float64(got[i])-r)/math.Abs(r))
					}
					if d > worst {
						worst, worstX = d, x
					}
					if d > f.maxULP {
						t.Errorf("%s(%g) = %g, want %g (%d ulps)", f.name, x, got[i], want[i], d)
						if t.Failed() && i > 0 && worst > 1000 {
							break
						}
					}
				}
				t.Logf("%d inputs: max error %d ulps (at %g), max relative error %.3g against float64", len(xs), worst, worstX, maxRel)
			})
		}
	}
}

// TestFastMathSpecialValues pins the values the activations must return
// exactly, on both paths.
func TestFastMathSpecialValues(t *testing.T) {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	negZero := float32(math.Copysign(0, -1))
	cases := []struct {
		fn       string
		x, want  float32
		wantSign bool // the sign of a zero matters
	}{
		{"exp", inf, inf, false}, {"exp", -inf, 0, false}, {"exp", nan, nan, false},
		{"exp", 0, 1, false}, {"exp", 89, inf, false}, {"exp", -104, 0, false}, {"exp", math.MaxFloat32, inf, false},
		{"sigmoid", inf, 1, false}, {"sigmoid", -inf, 0, false}, {"sigmoid", nan, nan, false},
		{"sigmoid", 0, 0.5, false}, {"sigmoid", 100, 1, false},
		{"silu", inf, inf, false}, {"silu", 0, 0, false}, {"silu", nan, nan, false},
		{"tanh", inf, 1, false}, {"tanh", -inf, -1, false}, {"tanh", nan, nan, false},
		{"tanh", 0, 0, true}, {"tanh", negZero, negZero, true}, {"tanh", 30, 1, false}, {"tanh", -30, -1, false},
	}
	for _, f := range mathFuncs {
		for _, impl := range []struct {
			name string
			fn   func(dst, src []float32)
		}{{"generic", f.generic}, {"avx512", f.avx512}} {
			if impl.name == "avx512" && !hasAVX512Math {
				continue
			}
			for _, c := range cases {
				if c.fn != f.name {
					continue
				}
				got := []float32{0}
				impl.fn(got, []float32{c.x})
				ok := got[0] == c.want || (c.want != c.want && got[0] != got[0])
				if c.wantSign && math.Signbit(float64(got[0])) != math.Signbit(float64(c.want)) {
					ok = false
				}
				if !ok {
					t.Errorf("%s/%s(%g) = %g, want %g", f.name, impl.name, c.x, got[0], c.want)
				}
			}
		}
	}
}

// TestFastMathSlices runs the slice kernels over every length up to 40
// (full vectors and masked tails) with guard bands, and checks them
// against the scalar functions.
func TestFastMathSlices(t *testing.T) {
	const guard = 19
	const sentinel = float32(-12345.5)
	for _, f := range mathFuncs {
		for _, impl := range []struct {
			name string
			fn   func(dst, src []float32)
		}{{"avx512", f.avx512}, {"dispatch", map[string]func(dst, src []float32){
			"exp": expTo, "sigmoid": sigmoidTo, "silu": siluTo, "tanh": tanhTo}[f.name]}} {
			t.Run(f.name+"/"+impl.name, func(t *testing.T) {
				if impl.name == "avx512" && !hasAVX512Math {
					t.Skip("no AVX-512 on this CPU or purego build")
				}
				for n := range 41 {
					src := make([]float32, n+2*guard)
					buf := make([]float32, n+2*guard)
					for i := range src {
						src[i] = float32(i%23)*0.9 - 10
						buf[i] = sentinel
					}
					want := make([]float32, n)
					f.generic(want, src[guard:guard+n])
					impl.fn(buf[guard:guard+n], src[guard:guard+n])
					for i, v := range buf {
						in := i >= guard && i < guard+n
						switch {
						case !in && v != sentinel:
							t.Fatalf("n=%d: wrote %g at guard index %d", n, v, i)
						case in && ulpDiff(v, want[i-guard]) > 2:
							t.Fatalf("n=%d: element %d = %g, scalar gives %g", n, i-guard, v, want[i-guard])
						}
					}
				}
			})
		}
	}
}

func BenchmarkFastMath(b *testing.B) {
	const n = 1 << 14
	src := make([]float32, n)
	for i := range src {
		src[i] = float32(i%200)*0.1 - 10
	}
	dst := make([]float32, n)
	for _, f := range mathFuncs {
		impls := []struct {
			name string
			fn   func(dst, src []float32)
		}{{"float64", func(dst, src []float32) {
			for i, v := range src {
				dst[i] = float32(f.ref(float64(v)))
			}
		}}, {"generic", f.generic}}
		if hasAVX512Math {
			impls = append(impls, struct {
				name string
				fn   func(dst, src []float32)
			}{"avx512", f.avx512})
		}
		for _, impl := range impls {
			b.Run(fmt.Sprintf("%s/%s/n=%d", f.name, impl.name, n), func(b *testing.B) {
				b.SetBytes(4 * n)
				b.ReportAllocs()
				for b.Loop() {
					impl.fn(dst, src)
				}
			})
		}
	}
}
