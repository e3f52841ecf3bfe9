//go:build !ort

package onnxmodel_test

import "testing"

// haveORT reports that this test binary cannot run ONNX Runtime; build with
// -tags ort for the live comparison and -update-resnet.
const haveORT = false

func ortOutputs(t *testing.T, _ string, _ []float32, _, _ int) outputs {
	t.Helper()
	t.Fatal("ONNX Runtime needs -tags ort")
	return outputs{}
}

func ortVersion() string { return "" }
