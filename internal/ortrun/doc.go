//go:build ort

// Package ortrun runs ONNX models with ONNX Runtime, through
// github.com/yalue/onnxruntime_go, so that tlserve's pure-Go engine can be
// checked against it and benchmarked beside it. It is an oracle for tests and
// tools only: the server never imports it, and every file carries the ort
// build tag because the binding needs cgo and a shared library at run time.
//
// The shared library is found by FindLibrary: an explicit path (tools pass
// the ORT_LIB environment variable), else the location where
// scripts/install-ort.sh or a manual npm install puts it. onnxruntime_go
// v1.27.0 requests C API version 24; the onnxruntime-node 1.30.0 library
// serves API versions up to its own, so that pairing works (see
// docs/decisions.md).
//
// ONNX Runtime keeps one environment per process, so the first Open fixes the
// library for the life of the process; it is never torn down.
package ortrun
