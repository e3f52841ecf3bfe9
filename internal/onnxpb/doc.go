// Package onnxpb reads and writes the subset of the ONNX protobuf format
// (onnx.proto, IR version 3 and later) that tlserve needs: models, graphs,
// nodes, attributes, tensors and tensor-typed value infos.
//
// The codec is written by hand on top of
// google.golang.org/protobuf/encoding/protowire instead of generated code,
// so that large initializers are not copied while decoding (Tensor.RawData
// aliases the input buffer), float16 models decode like any other, and
// garbage input yields an error wrapping ErrMalformed with the path of the
// offending field instead of a panic or an absurd allocation.
//
// DecodeModel reads a ModelProto (a .onnx file), DecodeTensor a bare
// TensorProto (the .pb files of the ONNX test suites). EncodeModel and
// EncodeTensor are their inverses. Fields that tlserve does not model
// (metadata, training info, functions, sparse tensors, segment) are skipped
// when decoding and therefore not written back.
//
// The typed accessors Tensor.Float32s, Tensor.Int64s and Tensor.NumElements
// interpret a tensor's data whichever field holds it, widening float16 and
// bfloat16 to float32.
package onnxpb
