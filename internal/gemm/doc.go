// Package gemm provides single-precision matrix multiplication kernels for
// the inference engine: a packed-weights product with a fused epilogue
// (MulPacked), used for convolutions lowered to GEMM, and a general
// BLAS-style Sgemm used by the Gemm and MatMul operators.
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
