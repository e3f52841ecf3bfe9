package onnxpb

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tlserve/tlserve/internal/refdata"
)

// fuzzSeedModels are node-suite models covering nested graphs (If, Loop,
// Scan), tensor attributes, float16 and negative dims.
var fuzzSeedModels = []string{
	"test_if", "test_loop11", "test_scan9_sum", "test_conv_with_strides_padding",
	"test_gemm_all_attributes", "test_cast_FLOAT_to_FLOAT16", "test_constant",
	"test_reshape_negative_dim", "test_resize_upsample_scales_linear",
}

// FuzzDecodeModel checks that DecodeModel never panics, fails only with
// its sentinel errors, and that whatever decodes re-encodes to bytes that
// decode to an equal model and encode again to the same bytes. The typed
// accessors must not panic on whatever tensors come out.
func FuzzDecodeModel(f *testing.F) {
	f.Add(EncodeModel(handBuiltModel()))
	for _, name := range fuzzSeedModels {
		if b, err := os.ReadFile(filepath.Join(refdata.NodeSuiteDir, name, "model.onnx")); err == nil {
			f.Add(b)
		}
	}
	if dir, err := refdata.Shared(); err == nil {
		if b, err := os.ReadFile(filepath.Join(dir, "models", "squeezenet1.1-fp16.onnx")); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeModel(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrExternalData) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrExternalData", err)
			}
			return
		}
		b2 := EncodeModel(m)
		m2, err := DecodeModel(b2)
		if err != nil {
			t.Fatalf("re-encoded model does not decode: %v", err)
		}
		if d := diff(m, m2); d != "" {
			t.Fatalf("decode(encode(m)) != m: %s", d)
		}
		if b3 := EncodeModel(m2); !bytes.Equal(b2, b3) {
			t.Fatalf("encoding not stable: %d then %d bytes", len(b2), len(b3))
		}
		if m.Graph != nil {
			for _, x := range m.Graph.Initializer {
				_, _ = x.NumElements()
				_, _ = x.Float32s()
				_, _ = x.Int64s()
			}
		}
	})
}

// FuzzDecodeTensor does the same for bare tensors and their accessors.
func FuzzDecodeTensor(f *testing.F) {
	for _, x := range handBuiltModel().Graph.Initializer {
		f.Add(EncodeTensor(x))
	}
	for _, p := range []string{"test_abs/test_data_set_0/input_0.pb", "test_cast_FLOAT_to_FLOAT16/test_data_set_0/output_0.pb"} {
		if b, err := os.ReadFile(filepath.Join(refdata.NodeSuiteDir, p)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := DecodeTensor(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrExternalData) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrExternalData", err)
			}
			return
		}
		x2, err := DecodeTensor(EncodeTensor(x))
		if err != nil {
			t.Fatalf("re-encoded tensor does not decode: %v", err)
		}
		if d := diff(x, x2); d != "" {
			t.Fatalf("decode(encode(x)) != x: %s", d)
		}
		n, err := x.NumElements()
		f32, ferr := x.Float32s()
		i64, ierr := x.Int64s()
		if err == nil {
			if ferr == nil && len(f32) != n {
				t.Fatalf("Float32s returned %d values, NumElements %d", len(f32), n)
			}
			if ierr == nil && len(i64) != n {
				t.Fatalf("Int64s returned %d values, NumElements %d", len(i64), n)
			}
		}
	})
}
