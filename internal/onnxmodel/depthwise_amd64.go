//go:build amd64 && !purego

package onnxmodel

import "golang.org/x/sys/cpu"

// hasAVX512DW reports whether the AVX-512 depthwise kernels can run.
var hasAVX512DW = cpu.X86.HasAVX512F

// dwRowAVX512 is dwRowGeneric in AVX-512: 64, then 16 outputs at a time
// with the accumulators in registers across all taps, then a masked tail.
//
//go:noescape
func dwRowAVX512(dst, buf []float32, offs []int32, wts []float32, bias, lo, hi float32)

// split2AVX512 does split2Generic for the first len(src)/32*32 elements
// of src and returns how many it did.
//
//go:noescape
func split2AVX512(even, odd, src []float32) int

// dwRowTo sets dst[i] = clamp(bias + Σ_t wts[t]·buf[offs[t]+i], lo, hi)
// for i < len(dst); buf must hold every element read.
func dwRowTo(dst, buf []float32, offs []int32, wts []float32, bias, lo, hi float32) {
	if hasAVX512DW {
		dwRowAVX512(dst, buf, offs, wts[:len(offs)], bias, lo, hi)
		return
	}
	dwRowGeneric(dst, buf, offs, wts, bias, lo, hi)
}

// split2 sets even[i] = src[2i] and odd[i] = src[2i+1].
func split2(even, odd, src []float32) {
	if hasAVX512DW && len(src) >= 32 {
		_ = even[(len(src)+1)/2-1]
		_ = odd[len(src)/2-1]
		k := split2AVX512(even, odd, src)
		even, odd, src = even[k/2:], odd[k/2:], src[k:]
	}
	split2Generic(even, odd, src)
}

// dwPlaneTo runs dwRowTo for the len(dst)/ow output rows of a plane;
// output row oy reads buf from oy·step.
func dwPlaneTo(dst, buf []float32, offs []int32, wts []float32, ow, step int, bias, lo, hi float32) {
	dwPlaneGeneric(dst, buf, offs, wts, ow, step, bias, lo, hi)
}
