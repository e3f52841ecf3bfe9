// Package gemm provides single-precision matrix multiplication kernels for
// the inference engine: a packed-weights product with a fused epilogue
// (MulPacked), used for convolutions lowered to GEMM, and a general
// BLAS-style Sgemm used by the Gemm and MatMul operators. Winograd3x3
// (F(2x2,3x3)) and Winograd4x4 (F(4x4,3x3)) run 3x3 stride-1 convolutions
// as batches of MulPacked products of transformed tiles; Conv3x3Algo says
// which of them, or im2col, to use for a layer.
//
// The pure-Go tile kernel in kernel_generic.go is the specification. On
// amd64 (unless built with the purego tag) hand-written AVX-512 and AVX2+FMA
// micro-kernels are selected at run time with golang.org/x/sys/cpu; tests
// compare every path available on the machine against a naive reference.
//
// All matrices are row-major float32 slices with explicit leading
// dimensions. Shape mismatches are programmer errors and panic with a
// message prefixed by "gemm: ".
package gemm
