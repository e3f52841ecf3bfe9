// Package modelgen writes ResNet50-style ONNX test models with deterministic,
// seeded weights, so that tests and benchmarks can exercise tlserve's engine
// on the graphs real exports produce without shipping 100 MB files.
//
// Four variants mirror what users bring:
//
//   - VariantV1BNOpset11: torchvision ResNet50 v1.5 with BatchNormalization
//     nodes kept and the PyTorch 1.x flatten tail
//     (Shape→Gather→Unsqueeze→Concat→Reshape) instead of Flatten.
//   - VariantV1BNOpset13: the same network with Flatten, opset 13.
//   - VariantV1FoldedOpset13: BatchNormalization folded into conv weights and
//     biases, as torch.onnx.export does in eval mode.
//   - VariantV2Opset7: the pre-activation ResNet50 v2 of the ONNX model zoo's
//     resnet50-v2-7 (opset 7 BatchNormalization with spatial=1).
//   - VariantV2SoftmaxOpset7: v2 with a final Softmax, so "scores" are
//     probabilities.
//
// Every variant takes input "data" [N,3,S,S] with a symbolic batch dimension
// "N" and produces "scores" [N,classes]. Weights come from a PCG32 generator
// seeded per tensor from Options.Seed and the tensor's name, so they are the
// same on every platform and Go version, and the BN and folded variants built
// with the same seed compute the same function. Conv weights are He-scaled
// and BatchNormalization statistics follow an estimate of each layer's input
// variance, so activations stay O(1) through all 50 layers and the logits
// spread over a few units.
package modelgen
