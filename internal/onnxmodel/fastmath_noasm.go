//go:build !amd64 || purego

package onnxmodel

// hasAVX512Math reports whether the AVX-512 slice kernels can run.
const hasAVX512Math = false

// The AVX-512 kernels do not exist here; tests skip them.
func expAVX512(dst, src []float32)     { expGeneric(dst, src) }
func sigmoidAVX512(dst, src []float32) { sigmoidGeneric(dst, src) }
func siluAVX512(dst, src []float32)    { siluGeneric(dst, src) }
func tanhAVX512(dst, src []float32)    { tanhGeneric(dst, src) }

// expTo sets dst[i] = e^src[i]; src must be at least as long as dst.
func expTo(dst, src []float32) { expGeneric(dst, src) }

// sigmoidTo sets dst[i] = 1/(1+e^-src[i]); src must be at least as long
// as dst.
func sigmoidTo(dst, src []float32) { sigmoidGeneric(dst, src) }

// siluTo sets dst[i] = src[i]·sigmoid(src[i]) (SiLU, swish); src must be
// at least as long as dst.
func siluTo(dst, src []float32) { siluGeneric(dst, src) }

// tanhTo sets dst[i] = tanh(src[i]); src must be at least as long as dst.
func tanhTo(dst, src []float32) { tanhGeneric(dst, src) }
