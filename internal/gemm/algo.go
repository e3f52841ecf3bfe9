package gemm

// Algo names a way to compute a 3x3, stride-1, dilation-1 convolution.
type Algo uint8

// The algorithms Conv3x3Algo chooses from.
const (
	AlgoIm2col      Algo = iota // im2col + MulPacked (9*K*C packed floats)
	AlgoWinograd2x2             // Winograd3x3, F(2x2,3x3) (16*K*C floats)
	AlgoWinograd4x4             // Winograd4x4, F(4x4,3x3) (36*K*C floats)
)

// String returns the algorithm's name.
func (a Algo) String() string {
	switch a {
	case AlgoIm2col:
		return "im2col"
	case AlgoWinograd2x2:
		return "winograd2x2"
	case AlgoWinograd4x4:
		return "winograd4x4"
	}
	return "unknown"
}

// Conv3x3Algo returns the fastest measured algorithm for a 3x3 stride-1
// convolution from c to k channels of h x w images, where batch is the
// number of images whose tiles go through one Winograd4x4.ConvBatch call
// (1 when the caller runs image by image). The rule comes from
// BenchmarkConv3x3Algos on ResNet50's layers (see docs/decisions.md "gemm:
// Winograd F(4x4,3x3)"): F(4x4) needs at least 32 tiles per call to
// amortize reading its filters (36*K*C floats), and wins clearly from
// 28x28 up; at 14x14 it only ties F(2x2), which then is preferred for its
// smaller filters and error; at 7x7 and batch 1 neither Winograd pays.
// The channel counts do not move these limits: F(4x4) also led at 8-32
// channels on 56x56 (59-162 direct-equivalent GFLOP/s against 8-28 for
// im2col). Non-positive sizes give AlgoIm2col.
func Conv3x3Algo(c, k, h, w, batch int) Algo {
	if c <= 0 || k <= 0 || h <= 0 || w <= 0 || batch <= 0 {
		return AlgoIm2col
	}
	tiles4 := batch * ((h + 3) / 4) * ((w + 3) / 4)
	switch {
	case tiles4 >= 32 && h*w >= 28*28:
		return AlgoWinograd4x4
	case h*w >= 14*14:
		return AlgoWinograd2x2
	case tiles4 >= 32:
		return AlgoWinograd4x4
	}
	return AlgoIm2col
}
