//go:build ort

package onnxmodel_test

import (
	"os"
	"testing"

	"github.com/tlserve/tlserve/internal/modelgen"
	"github.com/tlserve/tlserve/internal/ortrun"
)

// haveORT reports that this test binary can run ONNX Runtime.
const haveORT = true

// ortOutputs runs the first n size x size images of in through ONNX Runtime
// (2 threads) and returns the embedding and scores outputs. It skips the
// test when the library is missing.
func ortOutputs(t *testing.T, path string, in []float32, n, size int) outputs {
	t.Helper()
	lib, err := ortrun.FindLibrary(os.Getenv("ORT_LIB"))
	if err != nil {
		t.Skipf("ONNX Runtime library not available (set ORT_LIB or run scripts/install-ort.sh): %v", err)
	}
	s, err := ortrun.Open(path, ortrun.Options{Threads: 2, Library: lib, Outputs: []string{modelgen.EmbeddingName, modelgen.OutputName}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.Run(map[string]ortrun.Tensor{
		modelgen.InputName: {Shape: []int64{int64(n), 3, int64(size), int64(size)}, Data: in[:n*3*size*size]},
	})
	if err != nil {
		t.Fatal(err)
	}
	return outputs{emb: out[modelgen.EmbeddingName].Data, scores: out[modelgen.OutputName].Data}
}

// ortVersion returns the ONNX Runtime version string.
func ortVersion() string { return ortrun.Version() }
