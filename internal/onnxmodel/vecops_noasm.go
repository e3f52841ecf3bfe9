//go:build !amd64 || purego

package onnxmodel

// sum32 returns the sum of src (summation order unspecified).
func sum32(src []float32) float32 { return sumGeneric(src) }

// scaleTo sets dst[i] = src[i]·s; src must be at least as long as dst.
func scaleTo(dst, src []float32, s float32) { scaleGeneric(dst, src, s) }
