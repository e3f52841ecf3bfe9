//go:build amd64 && !purego

package onnxmodel

// sumAVX512 returns the sum of src, in 64 lanes.
//
//go:noescape
func sumAVX512(src []float32) float32

// scaleAVX512 sets dst[i] = src[i]·s for i < len(dst); len(src) >= len(dst).
//
//go:noescape
func scaleAVX512(dst, src []float32, s float32)

// sum32 returns the sum of src (summation order unspecified).
func sum32(src []float32) float32 {
	if hasAVX512Math {
		return sumAVX512(src)
	}
	return sumGeneric(src)
}

// scaleTo sets dst[i] = src[i]·s; src must be at least as long as dst.
func scaleTo(dst, src []float32, s float32) {
	if hasAVX512Math {
		scaleAVX512(dst, src[:len(dst)], s)
		return
	}
	scaleGeneric(dst, src, s)
}
