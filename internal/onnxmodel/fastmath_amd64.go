//go:build amd64 && !purego

package onnxmodel

import "golang.org/x/sys/cpu"

// hasAVX512Math reports whether the AVX-512 slice kernels can run.
var hasAVX512Math = cpu.X86.HasAVX512F

// expAVX512 sets dst[i] = e^src[i] for i < len(dst); len(src) >= len(dst).
//
//go:noescape
func expAVX512(dst, src []float32)

// sigmoidAVX512 sets dst[i] = sigmoid(src[i]) for i < len(dst).
//
//go:noescape
func sigmoidAVX512(dst, src []float32)

// siluAVX512 sets dst[i] = src[i]·sigmoid(src[i]) for i < len(dst).
//
//go:noescape
func siluAVX512(dst, src []float32)

// tanhAVX512 sets dst[i] = tanh(src[i]) for i < len(dst).
//
//go:noescape
func tanhAVX512(dst, src []float32)

// expTo sets dst[i] = e^src[i]; src must be at least as long as dst.
func expTo(dst, src []float32) {
	if hasAVX512Math {
		expAVX512(dst, src[:len(dst)])
		return
	}
	expGeneric(dst, src)
}

// sigmoidTo sets dst[i] = 1/(1+e^-src[i]); src must be at least as long
// as dst.
func sigmoidTo(dst, src []float32) {
	if hasAVX512Math {
		sigmoidAVX512(dst, src[:len(dst)])
		return
	}
	sigmoidGeneric(dst, src)
}

// siluTo sets dst[i] = src[i]·sigmoid(src[i]) (SiLU, swish); src must be
// at least as long as dst.
func siluTo(dst, src []float32) {
	if hasAVX512Math {
		siluAVX512(dst, src[:len(dst)])
		return
	}
	siluGeneric(dst, src)
}

// tanhTo sets dst[i] = tanh(src[i]); src must be at least as long as dst.
func tanhTo(dst, src []float32) {
	if hasAVX512Math {
		tanhAVX512(dst, src[:len(dst)])
		return
	}
	tanhGeneric(dst, src)
}
