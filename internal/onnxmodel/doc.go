// Package onnxmodel loads a convolutional network from an ONNX file and runs
// it on the CPU in pure Go.
//
// Load (or Parse) decodes the model, checks that every operator and opset is
// supported, simplifies the graph (dead nodes, constant folding,
// BatchNormalization folded into the preceding Conv, Conv fused with a
// residual Add and a Relu or Clip, Mul(x, Sigmoid(x)) run as one SiLU) and
// compiles a plan for batch size 1 so that shape errors surface at load
// time. Plans for other batch sizes are compiled on first use and cached.
// Each Conv's algorithm is chosen at load from its geometry: a GEMM on the
// input itself for 1x1 convolutions, Winograd F(4x4,3x3) or F(2x2,3x3) for
// 3x3 stride-1 ones, a direct loop for depthwise ones, im2col and a GEMM
// otherwise; weights are packed once for every batch size.
//
// A plan knows every tensor's shape, so all intermediate tensors of one run
// live in a single arena whose buffers are reused once a tensor is dead.
// Arenas are pooled per plan: concurrent runs never share buffers, while the
// weights are shared read-only, and a steady-state run allocates nothing.
//
// Model.Run evaluates every graph output; Model.Extract runs a batch of
// images, one image per thread, and returns the embedding (the input of the
// final classifier, global-average-pooled when spatial) and the class
// probabilities, which is what transfer learning needs.
package onnxmodel
