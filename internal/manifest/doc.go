// Package manifest reads and writes model manifests: the JSON file beside
// each ONNX model, with the same base name, that says how to preprocess
// images for the model, where its class labels are and which tensor gives
// its embedding. A model without a manifest gets torchvision's ImageNet
// preprocessing.
package manifest
