package imageprep

import "math"

// axisWeights holds the filter taps that produce a run of output samples
// along one axis from the source samples along that axis.
type axisWeights struct {
	lo, hi int       // The source samples used, relative to the source's first.
	taps   int       // The stride of w: the largest number of taps.
	start  []int     // Per output, its first source sample, relative to lo.
	count  []int     // Per output, its number of taps.
	w      []float32 // Per output, taps weights; only the first count are used.
}

// compute sets a to the weights of outputs first..first+n-1 of a resize of
// in samples to out samples. The filter is a triangle whose support is
// scaled by the downscale factor, so that downscaling averages every source
// sample (antialiasing) and upscaling interpolates linearly; sample i lies
// at coordinate i+0.5. When in == out the weights are the identity, so a
// crop without resizing copies values exactly. The buffers of a are reused.
func (a *axisWeights) compute(in, out, first, n int) {
	a.start = resize(a.start, n)
	a.count = resize(a.count, n)
	if in == out {
		a.lo, a.hi, a.taps = first, first+n, 1
		a.w = resize(a.w, n)
		for i := range n {
			a.start[i], a.count[i], a.w[i] = i, 1, 1
		}
		return
	}
	scale := float64(in) / float64(out)
	support := max(scale, 1) // Triangle radius in source samples.
	inv := 1 / max(scale, 1)
	a.taps = int(math.Ceil(support))*2 + 1
	a.w = resize(a.w, n*a.taps)
	a.lo, a.hi = in, 0
	for i := range n {
		center := (float64(first+i) + 0.5) * scale
		lo := max(int(center-support+0.5), 0)
		hi := min(int(center+support+0.5), in)
		w := a.w[i*a.taps : (i+1)*a.taps]
		var sum float64
		for k := range hi - lo {
			v := max(0, 1-math.Abs((float64(lo+k)+0.5-center)*inv))
			w[k] = float32(v)
			sum += v
		}
		if sum == 0 {
			// Unreachable with a triangle of radius >= 1 around a sample
			// centre inside the source, but never divide by zero.
			lo, hi = min(int(center), in-1), min(int(center), in-1)+1
			w[0], sum = 1, 1
		}
		for k := range hi - lo {
			w[k] = float32(float64(w[k]) / sum)
		}
		// Drop zero taps at either end: they cost time and widen the
		// source range read.
		for hi-lo > 1 && w[hi-lo-1] == 0 {
			hi--
		}
		for hi-lo > 1 && w[0] == 0 {
			copy(w, w[1:hi-lo])
			lo++
		}
		a.start[i], a.count[i] = lo, hi-lo
		a.lo, a.hi = min(a.lo, lo), max(a.hi, hi)
	}
	for i := range n {
		a.start[i] -= a.lo
	}
}

// resize returns s with length n, reusing its array when it is big enough.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
