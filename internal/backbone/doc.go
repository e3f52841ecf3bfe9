// Package backbone is tlserve's inference service: it turns encoded image
// bytes into embeddings and the backbone's own class probabilities.
//
// A Backbone loads an ONNX model with internal/onnxmodel, reads the
// manifest and labels beside it (internal/manifest), and runs each call
// as decode (internal/imageprep, with a pixel limit against decompression
// bombs) → preprocess (the manifest's Spec) → Extract, in batches. The time
// of each stage is reported to a StageObserver.
package backbone
