//go:build ort

package ortrun_test

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/tlserve/tlserve/internal/onnxpb"
	"github.com/tlserve/tlserve/internal/ortrun"
	"github.com/tlserve/tlserve/internal/refdata"
)

// openOrSkip opens a session, skipping the test when the library is absent.
func openOrSkip(t *testing.T, path string, o ortrun.Options) *ortrun.Session {
	t.Helper()
	if o.Library == "" {
		o.Library = os.Getenv("ORT_LIB")
	}
	if _, err := ortrun.FindLibrary(o.Library); err != nil {
		t.Skipf("ONNX Runtime library not available (set ORT_LIB or run scripts/install-ort.sh): %v", err)
	}
	s, err := ortrun.Open(path, o)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// readPB reads a float32 TensorProto file of the ONNX node test data.
func readPB(t *testing.T, path string) ortrun.Tensor {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tt, err := onnxpb.DecodeTensor(b)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	data, err := tt.Float32s()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	shape := append([]int64{}, tt.Dims...)
	return ortrun.Tensor{Shape: shape, Data: data}
}

// TestNodeSuite runs a few of the official ONNX node tests through ONNX
// Runtime and compares with their expected outputs: if this fails, the
// oracle itself (library, binding, tensor plumbing) is broken.
func TestNodeSuite(t *testing.T) {
	nodeTests := refdata.NodeSuite(t)
	for _, name := range []string{
		"test_relu",
		"test_add",
		"test_conv_with_strides_padding",
		"test_gemm_default_vector_bias",
		"test_batchnorm_example",
		"test_globalaveragepool",
		"test_maxpool_2d_pads",
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(nodeTests, name)
			s := openOrSkip(t, filepath.Join(dir, "model.onnx"), ortrun.Options{Threads: 1})
			in := map[string]ortrun.Tensor{}
			for i, n := range s.InputNames() {
				in[n] = readPB(t, filepath.Join(dir, "test_data_set_0", fmt.Sprintf("input_%d.pb", i)))
				if got := s.InputShape(n); fmt.Sprint(got) != fmt.Sprint(in[n].Shape) {
					t.Errorf("InputShape(%q) = %v, want %v", n, got, in[n].Shape)
				}
			}
			if s.InputShape("no such input") != nil {
				t.Error("InputShape of an unknown input is not nil")
			}
			out, err := s.Run(in)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			for i, n := range s.OutputNames() {
				want := readPB(t, filepath.Join(dir, "test_data_set_0", fmt.Sprintf("output_%d.pb", i)))
				got, ok := out[n]
				if !ok {
					t.Fatalf("output %q missing", n)
				}
				if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
					t.Fatalf("output %q shape %v, want %v", n, got.Shape, want.Shape)
				}
				for j := range want.Data {
					if d := math.Abs(float64(got.Data[j] - want.Data[j])); d > 1e-4*(1+math.Abs(float64(want.Data[j]))) {
						t.Fatalf("output %q[%d] = %g, want %g", n, j, got.Data[j], want.Data[j])
					}
				}
			}
		})
	}
	if v := ortrun.Version(); v == "" {
		t.Error("Version() is empty after a successful Open")
	} else {
		t.Logf("ONNX Runtime %s", v)
	}
}

func TestRunBadInput(t *testing.T) {
	model := filepath.Join(refdata.NodeCase(t, "test_relu"), "model.onnx")
	s := openOrSkip(t, model, ortrun.Options{})
	name := s.InputNames()[0]
	tests := []struct {
		desc string
		in   map[string]ortrun.Tensor
	}{
		{"missing", map[string]ortrun.Tensor{}},
		{"unknown", map[string]ortrun.Tensor{name: {Shape: []int64{1}, Data: []float32{1}}, "nope": {Shape: []int64{1}, Data: []float32{1}}}},
		{"length", map[string]ortrun.Tensor{name: {Shape: []int64{3, 4, 5}, Data: make([]float32, 59)}}},
		{"negative dim", map[string]ortrun.Tensor{name: {Shape: []int64{-1}, Data: nil}}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if _, err := s.Run(tc.in); !errors.Is(err, ortrun.ErrInput) {
				t.Fatalf("Run error = %v, want ErrInput", err)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := ortrun.FindLibrary("/nonexistent/libonnxruntime.so"); !errors.Is(err, ortrun.ErrNoLibrary) {
		t.Fatalf("FindLibrary(missing) = %v, want ErrNoLibrary", err)
	}
	model := filepath.Join(refdata.NodeCase(t, "test_relu"), "model.onnx")
	openOrSkip(t, model, ortrun.Options{}) // initializes the environment
	garbage := filepath.Join(t.TempDir(), "garbage.onnx")
	if err := os.WriteFile(garbage, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		desc, path string
		o          ortrun.Options
	}{
		{"garbage model", garbage, ortrun.Options{Library: os.Getenv("ORT_LIB")}},
		{"missing model", filepath.Join(t.TempDir(), "none.onnx"), ortrun.Options{Library: os.Getenv("ORT_LIB")}},
		{"unknown output", model, ortrun.Options{Library: os.Getenv("ORT_LIB"), Outputs: []string{"nope"}}},
		{"negative threads", model, ortrun.Options{Threads: -1}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if s, err := ortrun.Open(tc.path, tc.o); err == nil {
				s.Close()
				t.Fatal("Open succeeded, want an error")
			}
		})
	}
}
