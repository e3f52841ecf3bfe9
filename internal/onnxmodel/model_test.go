package onnxmodel

import (
	"context"
	"encoding/csv"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tlserve/tlserve/internal/refdata"

	"github.com/tlserve/tlserve/internal/onnxpb"
)

// loadSqueezeNet loads the shared SqueezeNet 1.1 model.
func loadSqueezeNet(tb testing.TB, threads int) *Model {
	tb.Helper()
	m, err := Load(filepath.Join(refdata.Dir(tb), "models", "squeezenet1.1-fp16.onnx"), Options{Threads: threads})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}

// bgrPlanes decodes a PNG into NCHW float32 planes in B, G, R order with
// values 0..255, as the Caffe-trained SqueezeNet expects. It is a test-only
// stand-in for the image-preprocessing package.
func bgrPlanes(tb testing.TB, path string) (data []float32, h, w int) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		tb.Fatal(err)
	}
	b := img.Bounds()
	h, w = b.Dy(), b.Dx()
	data = make([]float32, 3*h*w)
	for y := range h {
		for x := range w {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			i := y*w + x
			data[i] = float32(bl >> 8)
			data[h*w+i] = float32(g >> 8)
			data[2*h*w+i] = float32(r >> 8)
		}
	}
	return data, h, w
}

// readExpected reads an "index,value" CSV with a header.
func readExpected(tb testing.TB, path string) []float32 {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	var out []float32
	for i, r := range rows[1:] {
		idx, err1 := strconv.Atoi(r[0])
		v, err2 := strconv.ParseFloat(r[1], 32)
		if err1 != nil || err2 != nil || idx != i {
			tb.Fatalf("%s: bad row %d: %v", path, i+1, r)
		}
		out = append(out, float32(v))
	}
	return out
}

func TestSqueezeNetFish(t *testing.T) {
	shared := refdata.Dir(t)
	want := readExpected(t, filepath.Join(shared, "models", "squeezenet1.1-fp16.fish-expected.csv"))
	img, h, w := bgrPlanes(t, filepath.Join(shared, "data", "images", "fish.png"))
	for _, threads := range []int{1, 2} {
		m := loadSqueezeNet(t, threads)
		if got := m.InputShape(); len(got) != 3 || got[0] != 3 || got[1] != h || got[2] != w {
			t.Fatalf("InputShape = %v, image is 3x%dx%d", got, h, w)
		}
		if m.NumClasses() != len(want) || m.EmbeddingDim() != 512 {
			t.Fatalf("NumClasses %d (want %d), EmbeddingDim %d (want 512)", m.NumClasses(), len(want), m.EmbeddingDim())
		}
		var f Features
		if err := m.Extract(context.Background(), &f, img, 1); err != nil {
			t.Fatal(err)
		}
		worst, at := 0.0, 0
		for i := range want {
			if d := math.Abs(float64(f.Probs[i] - want[i])); d > worst {
				worst, at = d, i
			}
		}
		if worst > 2e-3 {
			t.Errorf("threads=%d: class %d: got %g, want %g (largest difference %g)", threads, at, f.Probs[at], want[at], worst)
		}
		t.Logf("threads=%d: largest difference %.3g at class %d; top class %d p=%.4f", threads, worst, at, argmax(f.Probs), f.Probs[argmax(f.Probs)])

		// Run must agree with Extract on the scores.
		out, err := m.Run(context.Background(), map[string]*Tensor{"data_0": {Shape: []int{1, 3, h, w}, Data: img}})
		if err != nil {
			t.Fatal(err)
		}
		sm := out["softmaxout_1"]
		if sm == nil || len(sm.Data) != len(want) {
			t.Fatalf("Run outputs %v", out)
		}
		for i := range want {
			if sm.Data[i] != f.Probs[i] {
				t.Fatalf("Run and Extract differ at class %d: %g vs %g", i, sm.Data[i], f.Probs[i])
			}
		}
	}
}

func argmax(s []float32) int {
	best := 0
	for i, v := range s {
		if v > s[best] {
			best = i
		}
	}
	return best
}

// TestExtractFixedBatchFallback uses a graph that reshapes to a constant
// [1, 3], so no plan exists for batch 2: Extract must run image by image.
func TestExtractFixedBatchFallback(t *testing.T) {
	g := newTestGraph(13).input("x", 1, 3, 4, 4).
		node("GlobalAveragePool", "gap", []string{"x"}, []string{"p"})
	g.m.Graph.Initializer = append(g.m.Graph.Initializer, &onnxpb.Tensor{Name: "shape", Dims: []int64{2}, DataType: onnxpb.Int64, Int64Data: []int64{1, 3}})
	g.init("w", dims(2, 3), []float32{1, 0, 0, 0, 1, -1}).
		node("Reshape", "flat", []string{"p", "shape"}, []string{"emb"}).
		node("Gemm", "fc", []string{"emb", "w"}, []string{"y"}, atInt("transB", 1)).
		output("y")
	m := g.parse(t, Options{Threads: 1})
	if m.EmbeddingName() != "emb" || m.EmbeddingDim() != 3 || m.NumClasses() != 2 {
		t.Fatalf("embedding %q dim %d classes %d", m.EmbeddingName(), m.EmbeddingDim(), m.NumClasses())
	}
	x := make([]float32, 2*48)
	for i := range x {
		x[i] = float32(i / 16) // channel means 0,1,2 then 3,4,5
	}
	var f Features
	if err := m.Extract(context.Background(), &f, x, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := m.plan(2); err == nil {
		t.Fatal("a batch-2 plan compiled; the test needs a graph that pins the batch")
	}
	wantEmb := []float32{0, 1, 2, 3, 4, 5}
	if i, ok := closeTo(f.Embedding, wantEmb, 1e-6); !ok {
		t.Fatalf("embedding %v, want %v (element %d)", f.Embedding, wantEmb, i)
	}
	// logits: image 0 [0, 1-2] = [0, -1]; image 1 [3, 4-5] = [3, -1].
	want := []float32{0, -1, 3, -1}
	softmaxRow(want[:2])
	softmaxRow(want[2:])
	if i, ok := closeTo(f.Probs, want, 1e-6); !ok {
		t.Fatalf("probs %v, want %v (element %d)", f.Probs, want, i)
	}
}
