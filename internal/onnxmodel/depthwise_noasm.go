//go:build !amd64 || purego

package onnxmodel

// hasAVX512DW reports whether the AVX-512 depthwise kernels can run.
const hasAVX512DW = false

// dwRowAVX512 does not exist here; tests skip it.
func dwRowAVX512(dst, buf []float32, offs []int32, wts []float32, bias, lo, hi float32) {
	dwRowGeneric(dst, buf, offs, wts, bias, lo, hi)
}

// dwRowTo sets dst[i] = clamp(bias + Σ_t wts[t]·buf[offs[t]+i], lo, hi)
// for i < len(dst); buf must hold every element read.
func dwRowTo(dst, buf []float32, offs []int32, wts []float32, bias, lo, hi float32) {
	dwRowGeneric(dst, buf, offs, wts, bias, lo, hi)
}

// split2 sets even[i] = src[2i] and odd[i] = src[2i+1].
func split2(even, odd, src []float32) { split2Generic(even, odd, src) }

// dwPlaneTo runs dwRowTo for the len(dst)/ow output rows of a plane;
// output row oy reads buf from oy·step.
func dwPlaneTo(dst, buf []float32, offs []int32, wts []float32, ow, step int, bias, lo, hi float32) {
	dwPlaneGeneric(dst, buf, offs, wts, ow, step, bias, lo, hi)
}
