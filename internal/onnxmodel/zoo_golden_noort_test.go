//go:build !ort

package onnxmodel_test

import "testing"

// ortZoo is unavailable without -tags ort.
func ortZoo(t *testing.T, _ string, _ []float32, _, _ int) zooOut {
	t.Helper()
	t.Fatal("ONNX Runtime needs -tags ort")
	return zooOut{}
}
