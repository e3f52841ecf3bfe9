package onnxmodel

import "math"

// Float32 transcendental kernels for the activations (Exp, Sigmoid, SiLU,
// Tanh). The scalar functions here are the specification; the slice
// functions (expTo, sigmoidTo, siluTo, tanhTo in fastmath_amd64.go and
// fastmath_noasm.go) run them, or an AVX-512 version of the same
// algorithm, over whole slices.
//
// exp32 follows the Cephes expf scheme: n = round(x·log2 e), r = x − n·ln 2
// in two parts (the high part has 8 significant bits, so n·c1 is exact),
// e^r by a degree-6 polynomial on [−ln2/2, ln2/2], times 2^n built in the
// exponent field. Inputs whose result is not a normal float32 (overflow,
// underflow to subnormal or zero, ±Inf, NaN) take float64 math.Exp, so
// they round exactly as the reference float32(math.Exp(float64(x))) does.

const (
	expLog2e = 1.44269504088896341
	expC1    = 0.693359375
	expC2    = -2.12194440e-4
	expP0    = 1.9875691500e-4
	expP1    = 1.3981999507e-3
	expP2    = 8.3334519073e-3
	expP3    = 4.1665795894e-2
	expP4    = 1.6666665459e-1
	expP5    = 5.0000001201e-1
	// expRound is 1.5·2^23: adding it to a float32 of magnitude below 2^22
	// rounds to an integer (to even), which sits in the low mantissa bits.
	expRound = 0x1.8p23
	// The fast path's range: round(x·log2 e) stays in [−126, 127], so 2^n
	// is a normal float32 and the result neither overflows nor underflows.
	expLo = -87
	expHi = 88.3
)

// exp32 returns e^x in float32 with an error of about one ulp.
func exp32(x float32) float32 {
	if !(x >= expLo && x <= expHi) {
		return float32(math.Exp(float64(x)))
	}
	t := float32(x*expLog2e) + expRound
	fn := t - expRound
	n := int32(math.Float32bits(t)) - int32(math.Float32bits(expRound))
	r := x - fn*expC1
	r -= fn * expC2
	z := r * r
	p := float32(expP0)
	p = p*r + expP1
	p = p*r + expP2
	p = p*r + expP3
	p = p*r + expP4
	p = p*r + expP5
	y := p*z + r + 1
	return y * math.Float32frombits(uint32(n+127)<<23)
}

// sigmoid32 returns 1/(1+e^−x) in float32. With e = e^−|x| it is 1/(1+e)
// for x ≥ 0 and e/(1+e) below, so e never overflows and tiny results keep
// their relative precision; sigmoid(−Inf) = 0, sigmoid(+Inf) = 1 and NaN
// stays NaN.
func sigmoid32(x float32) float32 {
	e := exp32(-abs32(x))
	num := float32(1)
	if x < 0 {
		num = e
	}
	return num / (1 + e)
}

// tanh32 returns tanh x in float32: an odd polynomial (Cephes tanhf) for
// |x| < 0.625, where 1 − e^−2|x| would cancel, and (1−e)/(1+e) with
// e = e^−2|x| above.
func tanh32(x float32) float32 {
	a := abs32(x)
	if a < 0.625 {
		z := x * x
		p := float32(-5.70498872745e-3)
		p = p*z + 2.06390887954e-2
		p = p*z - 5.37397155531e-2
		p = p*z + 1.33314422036e-1
		p = p*z - 3.33332819422e-1
		// The sign is set explicitly so that tanh(−0) = −0.
		return copysign32(p*z*x+x, x)
	}
	e := exp32(-2 * a)
	return copysign32((1-e)/(1+e), x) // NaN too
}

// copysign32 returns |m| with the sign of s.
func copysign32(m, s float32) float32 {
	const sign = 1 << 31
	return math.Float32frombits(math.Float32bits(m)&^sign | math.Float32bits(s)&sign)
}

func abs32(x float32) float32 {
	return math.Float32frombits(math.Float32bits(x) &^ (1 << 31))
}

// The generic slice loops; dst and src have equal lengths.

func expGeneric(dst, src []float32) {
	for k, v := range src[:len(dst)] {
		dst[k] = exp32(v)
	}
}

func sigmoidGeneric(dst, src []float32) {
	for k, v := range src[:len(dst)] {
		dst[k] = sigmoid32(v)
	}
}

func siluGeneric(dst, src []float32) {
	for k, v := range src[:len(dst)] {
		dst[k] = v * sigmoid32(v)
	}
}

func tanhGeneric(dst, src []float32) {
	for k, v := range src[:len(dst)] {
		dst[k] = tanh32(v)
	}
}
