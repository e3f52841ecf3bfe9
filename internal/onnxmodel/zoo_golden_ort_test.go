//go:build ort

package onnxmodel_test

import (
	"encoding/binary"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/tlserve/tlserve/internal/modelgen"
	"github.com/tlserve/tlserve/internal/onnxmodel"
	"github.com/tlserve/tlserve/internal/onnxpb"
	"github.com/tlserve/tlserve/internal/ortrun"
	ort "github.com/yalue/onnxruntime_go"
)

// TestZooVsORT runs each family, small and (without -short) full size, at
// batch 1 through the engine and ONNX Runtime side by side on 2 threads,
// requires the same outputs (1e-4 of the largest value) and logs the ratio
// of the median times: speed is reported, never asserted.
//
//	CGO_ENABLED=1 go test -tags ort -run TestZooVsORT -v ./internal/onnxmodel/
func TestZooVsORT(t *testing.T) {
	for _, full := range []bool{false, true} {
		for _, name := range modelgen.ZooNames() {
			label := "small"
			if full {
				label = "full"
			}
			t.Run(name+"/"+label, func(t *testing.T) {
				if full && testing.Short() {
					t.Skip("full-size models; run without -short")
				}
				c := newZooCase(t, name, modelgen.ZooOptions{Full: full, ExposeEmbedding: true})
				in := c.input()[:3*c.size*c.size]
				ref := c.model
				if c.fp16 {
					ref = widenFloat16(c.model)
				}
				refPath := c.write(t, ref, "-ref")
				lib, err := ortrun.FindLibrary(os.Getenv("ORT_LIB"))
				if err != nil {
					t.Skipf("ONNX Runtime library not available: %v", err)
				}
				s, err := ortrun.Open(refPath, ortrun.Options{Threads: 2, Library: lib, Outputs: []string{modelgen.EmbeddingName, modelgen.OutputName}})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				m, err := onnxmodel.Load(c.write(t, c.model, ""), onnxmodel.Options{Threads: 2})
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				feed := map[string]ortrun.Tensor{modelgen.InputName: {Shape: []int64{1, 3, int64(c.size), int64(c.size)}, Data: in}}
				var want outputs
				ortRun := func() {
					out, err := s.Run(feed)
					if err != nil {
						t.Fatal(err)
					}
					want = outputs{emb: out[modelgen.EmbeddingName].Data, scores: out[modelgen.OutputName].Data}
				}
				var got outputs
				ours := func() { got = runEngine(t, m, in, 1, c.size) }
				const reps = 7
				var tOurs, tORT []time.Duration
				for range reps {
					// Alternate so that machine load hits both alike.
					start := time.Now()
					ours()
					tOurs = append(tOurs, time.Since(start))
					start = time.Now()
					ortRun()
					tORT = append(tORT, time.Since(start))
				}
				checkOutputs(t, "engine vs ONNX Runtime", got, want)
				slices.Sort(tOurs)
				slices.Sort(tORT)
				mo, mr := tOurs[reps/2], tORT[reps/2]
				t.Logf("batch 1, 2 threads, median of %d: engine %v, ONNX Runtime %v, engine/ORT = %.2f", reps, mo, mr, float64(mo)/float64(mr))
			})
		}
	}
}

// TestZooFloat16NativeORT runs the float16 family through ONNX Runtime's
// own float16 kernels (float16 input and output tensors) and logs how far
// that is from the float32 reference the engine matches. It asserts only a
// loose bound (5% of the largest score): float16 arithmetic is not what
// the engine computes.
func TestZooFloat16NativeORT(t *testing.T) {
	c := newZooCase(t, modelgen.ZooMobileNetV2FP16Opset13, modelgen.ZooOptions{Seed: zooSeed})
	path := c.write(t, c.model, "")
	ref := c.readGoldenScores(t)
	lib, err := ortrun.FindLibrary(os.Getenv("ORT_LIB"))
	if err != nil {
		t.Skipf("ONNX Runtime library not available: %v", err)
	}
	// Opening through ortrun initializes the process-wide environment.
	warm, err := ortrun.Open(path, ortrun.Options{Library: lib, Outputs: []string{}})
	if err != nil {
		t.Fatalf("ONNX Runtime rejects the float16 model: %v", err)
	}
	warm.Close()
	in := c.input()
	n := zooBatch
	raw := make([]byte, 2*len(in))
	for i, v := range in {
		binary.LittleEndian.PutUint16(raw[2*i:], onnxpb.Float32ToFloat16(v))
	}
	x, err := ort.NewCustomDataTensor(ort.NewShape(int64(n), 3, int64(c.size), int64(c.size)), raw, ort.TensorElementDataTypeFloat16)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Destroy()
	y, err := ort.NewCustomDataTensor(ort.NewShape(int64(n), zooClasses), make([]byte, 2*n*zooClasses), ort.TensorElementDataTypeFloat16)
	if err != nil {
		t.Fatal(err)
	}
	defer y.Destroy()
	s, err := ort.NewDynamicAdvancedSession(path, []string{modelgen.InputName}, []string{modelgen.OutputName}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy()
	if err := s.Run([]ort.Value{x}, []ort.Value{y}); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, n*zooClasses)
	for i := range got {
		got[i] = onnxpb.Float16ToFloat32(binary.LittleEndian.Uint16(y.GetData()[2*i:]))
	}
	d, scale, _ := maxAbsDiff(got, ref)
	t.Logf("ONNX Runtime float16 arithmetic vs float32 reference: max |diff| %.3g = %.2g × max|ref| %.3g", d, d/scale, scale)
	if !(d <= 0.05*scale) {
		t.Errorf("float16 scores differ by %.3g, over 5%% of max|ref| %.3g", d, scale)
	}
}
