// Package onnxmodel loads a convolutional network from an ONNX file and runs
// it on the CPU in pure Go.
//
// Load (or Parse) decodes the model, checks that every operator and opset is
// supported, simplifies the graph (dead nodes, constant folding,
// BatchNormalization folded into the preceding Conv, Conv fused with a
// residual Add and a Relu or Clip) and compiles a plan for batch size 1 so
// that shape errors surface at load time. Plans for other batch sizes are
// compiled on first use and cached.
//
// A plan knows every tensor's shape, so all intermediate tensors of one run
// live in a single arena whose buffers are reused once a tensor is dead.
// Arenas are pooled per plan: concurrent runs never share buffers, while the
// weights are shared read-only, and a steady-state run allocates nothing.
//
// Model.Run evaluates every graph output; Model.Extract runs a batch of
// images and returns the embedding (the input of the final classifier,
// global-average-pooled when spatial) and the class probabilities, which is
// what transfer learning needs.
package onnxmodel
