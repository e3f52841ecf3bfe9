package onnxmodel_test

// Golden test of the engine on ResNet50 graphs from internal/modelgen,
// against outputs ONNX Runtime computed once.
//
// For each variant, at full size and small (width 1/8, 64x64 input, 256-wide
// embedding; only these run under -short), the test generates the model
// (seed 0) into a temporary directory, feeds a batch of 4 images of
// modelgen.Input(seed 1) (uniform in [-√3, √3); image 0 of the batch is also
// the batch-1 input), and requires
//
//	max |ours - ref| <= 1e-4 * max |ref|
//
// for the embedding (the pooled features feeding the final Gemm) and the raw
// "scores" output, at batch 4 and batch 1. Forward passes per model: Run at
// batch 4 and at batch 1 (the model exposes the embedding as a graph
// output), Extract at batch 1 (embedding and probabilities).
//
// The references live in testdata/golden as .npy files (float32, shapes
// [4,dim] and [4,1000]) with golden.json recording a fingerprint of the
// generated weights. Regenerate them with ONNX Runtime:
//
//	go test -tags ort -run TestResNetGolden ./internal/onnxmodel/ -update-resnet
//
// With -tags ort the test also runs ONNX Runtime live on the same file and
// compares it with the golden files.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/tlserve/tlserve/internal/modelgen"
	"github.com/tlserve/tlserve/internal/npy"
	"github.com/tlserve/tlserve/internal/onnxmodel"
)

// The flag is not called -update so that it cannot collide with another
// golden test's flag in this test binary.
var updateResNet = flag.Bool("update-resnet", false, "rewrite testdata/golden with ONNX Runtime's outputs (needs -tags ort)")

const (
	goldenDir     = "testdata/golden"
	goldenBatch   = 4
	goldenSeed    = 0 // modelgen.Options.Seed
	goldenInput   = 1 // modelgen.Input seed
	goldenRelTol  = 1e-4
	goldenClasses = 1000
)

// goldenVariants are the variants with golden files.
var goldenVariants = []string{
	modelgen.VariantV1BNOpset11,
	modelgen.VariantV1BNOpset13,
	modelgen.VariantV1FoldedOpset13,
	modelgen.VariantV2Opset7,
	modelgen.VariantV2SoftmaxOpset7,
}

// goldenCase is one model with golden files.
type goldenCase struct {
	name string // file name prefix
	o    modelgen.Options
}

// goldenCases returns the full-size or the small case of every variant.
func goldenCases(small bool) []goldenCase {
	var cs []goldenCase
	for _, v := range goldenVariants {
		c := goldenCase{name: v, o: modelgen.Options{Variant: v, InputSize: 224, Seed: goldenSeed, ExposeEmbedding: true}}
		if small {
			c.name += "-w0.125-s64"
			c.o.Width, c.o.InputSize = 0.125, 64
		}
		cs = append(cs, c)
	}
	return cs
}

// goldenMeta is one case's entry in golden.json.
type goldenMeta struct {
	Weights    string `json:"weights_sha256"`
	Seed       uint64 `json:"seed"`
	InputSeed  uint64 `json:"input_seed"`
	Batch      int    `json:"batch"`
	ORTVersion string `json:"onnxruntime"`
}

// outputs are the two tensors compared, row-major.
type outputs struct {
	emb, scores []float32
}

// row returns image i of a batch of n images.
func (o outputs) row(i, n int) outputs {
	e, s := len(o.emb)/n, len(o.scores)/n
	return outputs{emb: o.emb[i*e : (i+1)*e], scores: o.scores[i*s : (i+1)*s]}
}

// weightsFingerprint hashes the names, shapes and data of the initializers
// of the model o describes, so that a generator change is reported as such
// rather than as a numeric mismatch.
func weightsFingerprint(t *testing.T, o modelgen.Options) string {
	t.Helper()
	m, err := modelgen.Build(o)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	for _, init := range m.Graph.Initializer {
		fmt.Fprintf(h, "%s %v %d %d\n", init.Name, init.Dims, init.DataType, len(init.RawData))
		h.Write(init.RawData)
		binary.Write(h, binary.LittleEndian, init.Int64Data)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// goldenInputs returns the batch-4 input for size x size images.
func goldenInputs(size int) []float32 {
	in := make([]float32, goldenBatch*3*size*size)
	modelgen.Input(in, goldenInput)
	return in
}

// readNPY reads a float32 golden array with the given shape.
func readNPY(t *testing.T, path string, shape ...int) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (regenerate with -tags ort -update-resnet)", err)
	}
	a, err := npy.Read(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if fmt.Sprint(a.Shape) != fmt.Sprint(shape) || a.F32 == nil {
		t.Fatalf("%s: shape %v dtype %s, want float32 %v", path, a.Shape, a.Descr, shape)
	}
	return a.F32
}

func writeNPY(t *testing.T, path string, data []float32, shape ...int) {
	t.Helper()
	var buf bytes.Buffer
	if err := npy.WriteFloat32(&buf, shape, data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readMetaFile reads the golden metadata file path (a JSON object keyed by
// case name). A missing file is an empty map when update is set (the file
// is being regenerated) and fatal otherwise, with updateFlag named as the
// cure.
func readMetaFile[M any](t *testing.T, path string, update bool, updateFlag string) map[string]M {
	t.Helper()
	meta := map[string]M{}
	b, err := os.ReadFile(path)
	if err != nil {
		if update {
			return meta
		}
		t.Fatalf("%v (regenerate with -tags ort -%s)", err, updateFlag)
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatalf("%s: %v", filepath.Base(path), err)
	}
	return meta
}

// writeMetaFile writes meta to path as indented JSON.
func writeMetaFile(t *testing.T, path string, meta any) {
	t.Helper()
	b, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readMeta(t *testing.T) map[string]goldenMeta {
	t.Helper()
	return readMetaFile[goldenMeta](t, filepath.Join(goldenDir, "golden.json"), *updateResNet, "update-resnet")
}

// readOutputs reads the golden outputs name.embedding.npy ([batch,embDim])
// and name.scores.npy ([batch,classes]) in dir.
func readOutputs(t *testing.T, dir, name string, batch, embDim, classes int) outputs {
	t.Helper()
	return outputs{
		emb:    readNPY(t, filepath.Join(dir, name+".embedding.npy"), batch, embDim),
		scores: readNPY(t, filepath.Join(dir, name+".scores.npy"), batch, classes),
	}
}

// writeOutputs writes o, a batch of batch images, as the golden files
// readOutputs reads.
func writeOutputs(t *testing.T, dir, name string, o outputs, batch int) {
	t.Helper()
	writeNPY(t, filepath.Join(dir, name+".embedding.npy"), o.emb, batch, len(o.emb)/batch)
	writeNPY(t, filepath.Join(dir, name+".scores.npy"), o.scores, batch, len(o.scores)/batch)
}

// readGolden reads a case's golden outputs.
func readGolden(t *testing.T, c goldenCase) outputs {
	t.Helper()
	return readOutputs(t, goldenDir, c.name, goldenBatch, modelgen.EmbeddingDim(c.o), goldenClasses)
}

// maxAbsDiff returns max|got-want|, max|want| and the index of the largest
// difference; a NaN in got counts as an infinite difference.
func maxAbsDiff(got, want []float32) (diff, scale float64, at int) {
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		if d > diff {
			diff, at = d, i
		}
		scale = max(scale, math.Abs(float64(want[i])))
	}
	return diff, scale, at
}

// checkClose requires max|got-want| <= goldenRelTol * max|want|.
func checkClose(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", what, len(got), len(want))
		return
	}
	diff, scale, at := maxAbsDiff(got, want)
	if !(diff <= goldenRelTol*scale) {
		t.Errorf("%s: max |diff| %.3g at %d (got %g, want %g) > %g × max|ref| %.3g",
			what, diff, at, got[at], want[at], goldenRelTol, scale)
	} else {
		t.Logf("%s: max |diff| %.3g = %.2g × max|ref| %.3g", what, diff, diff/scale, scale)
	}
}

// checkOutputs compares two sets of outputs of the same images.
func checkOutputs(t *testing.T, what string, got, want outputs) {
	t.Helper()
	checkClose(t, what+" embedding", got.emb, want.emb)
	checkClose(t, what+" scores", got.scores, want.scores)
}

// runEngine runs the engine with Run on the first n size x size images of
// in, on a model that exposes the embedding.
func runEngine(t *testing.T, m *onnxmodel.Model, in []float32, n, size int) outputs {
	t.Helper()
	out, err := m.Run(context.Background(), map[string]*onnxmodel.Tensor{
		modelgen.InputName: {Shape: []int{n, 3, size, size}, Data: in[:n*3*size*size]},
	})
	if err != nil {
		t.Fatalf("Run(batch %d): %v", n, err)
	}
	e, s := out[modelgen.EmbeddingName], out[modelgen.OutputName]
	if e == nil || s == nil {
		t.Fatalf("Run(batch %d) returned %d outputs, want %q and %q", n, len(out), modelgen.EmbeddingName, modelgen.OutputName)
	}
	return outputs{emb: e.Data, scores: s.Data}
}

// softmaxRows applies a softmax to each row of width w.
func softmaxRows(x []float32, w int) []float32 {
	y := make([]float32, len(x))
	for r := 0; r < len(x); r += w {
		m := math.Inf(-1)
		for _, v := range x[r : r+w] {
			m = max(m, float64(v))
		}
		var s float64
		for i, v := range x[r : r+w] {
			e := math.Exp(float64(v) - m)
			y[r+i] = float32(e)
			s += e
		}
		for i := range w {
			y[r+i] = float32(float64(y[r+i]) / s)
		}
	}
	return y
}

func TestResNetGolden(t *testing.T) {
	if *updateResNet && !haveORT {
		t.Fatal("-update-resnet needs ONNX Runtime: go test -tags ort -run TestResNetGolden ./internal/onnxmodel/ -update-resnet")
	}
	meta := readMeta(t)
	for _, small := range []bool{true, false} {
		for _, c := range goldenCases(small) {
			t.Run(c.name, func(t *testing.T) {
				if !small && testing.Short() && !*updateResNet {
					t.Skip("full-size ResNet50 forward passes; run without -short")
				}
				testGolden(t, c, meta)
			})
		}
	}
	if *updateResNet && !t.Failed() {
		writeMetaFile(t, filepath.Join(goldenDir, "golden.json"), meta)
	}
}

// testGolden checks one case; with -update-resnet it rewrites the case's
// golden files and entry in meta instead.
func testGolden(t *testing.T, c goldenCase, meta map[string]goldenMeta) {
	size := c.o.InputSize
	in := goldenInputs(size)
	fp := weightsFingerprint(t, c.o)
	path := filepath.Join(t.TempDir(), c.name+".onnx")
	if err := modelgen.WriteFiles(path, c.o); err != nil {
		t.Fatal(err)
	}
	if *updateResNet {
		ref := ortOutputs(t, path, in, goldenBatch, size)
		writeOutputs(t, goldenDir, c.name, ref, goldenBatch)
		meta[c.name] = goldenMeta{Weights: fp, Seed: goldenSeed, InputSeed: goldenInput, Batch: goldenBatch, ORTVersion: ortVersion()}
		return // compared on the next run, without -update-resnet
	}
	if got := meta[c.name].Weights; got != fp {
		t.Fatalf("generated weights fingerprint %s, golden.json has %q: the generator changed; "+
			"regenerate with go test -tags ort -run TestResNetGolden ./internal/onnxmodel/ -update-resnet", fp, got)
	}
	ref := readGolden(t, c)
	if haveORT {
		live := ortOutputs(t, path, in, goldenBatch, size)
		checkOutputs(t, "live ONNX Runtime vs golden, batch 4", live, ref)
	}

	m, err := onnxmodel.Load(path, onnxmodel.Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	defer m.Close()
	if d := modelgen.EmbeddingDim(c.o); m.EmbeddingDim() != d || m.NumClasses() != goldenClasses {
		t.Errorf("EmbeddingDim %d NumClasses %d, want %d and %d", m.EmbeddingDim(), m.NumClasses(), d, goldenClasses)
	}
	got4 := runEngine(t, m, in, goldenBatch, size)
	checkOutputs(t, "engine vs golden, batch 4", got4, ref)
	got1 := runEngine(t, m, in, 1, size)
	checkOutputs(t, "engine vs golden, batch 1", got1, ref.row(0, goldenBatch))

	var f onnxmodel.Features
	if err := m.Extract(context.Background(), &f, in[:len(in)/goldenBatch], 1); err != nil {
		t.Fatalf("Extract: %v", err)
	}
	checkClose(t, "Extract embedding vs golden, batch 1", f.Embedding, ref.row(0, goldenBatch).emb)
	wantProbs := softmaxRows(ref.row(0, goldenBatch).scores, goldenClasses)
	if c.o.Variant == modelgen.VariantV2SoftmaxOpset7 {
		wantProbs = ref.row(0, goldenBatch).scores // the graph ends in Softmax
	}
	checkClose(t, "Extract probabilities vs softmax(golden scores), batch 1", f.Probs, wantProbs)
}

// TestResNetGoldenConsistency checks properties of the generator visible in
// the golden files alone: variants built from the same seed compute the
// same function, and the activations have the intended scale.
func TestResNetGoldenConsistency(t *testing.T) {
	for _, small := range []bool{false, true} {
		cs := goldenCases(small)
		g := map[string]outputs{}
		names := map[string]string{}
		for _, c := range cs {
			g[c.o.Variant] = readGolden(t, c)
			names[c.o.Variant] = c.name
		}
		for _, pair := range [][2]string{
			{modelgen.VariantV1BNOpset11, modelgen.VariantV1BNOpset13},
			{modelgen.VariantV1FoldedOpset13, modelgen.VariantV1BNOpset13},
		} {
			t.Run(names[pair[0]]+" vs "+names[pair[1]], func(t *testing.T) {
				checkOutputs(t, "same weights", g[pair[0]], g[pair[1]])
			})
		}
		t.Run(names[modelgen.VariantV2SoftmaxOpset7], func(t *testing.T) {
			v2, sm := g[modelgen.VariantV2Opset7], g[modelgen.VariantV2SoftmaxOpset7]
			checkClose(t, "embedding", sm.emb, v2.emb)
			checkClose(t, "probabilities", sm.scores, softmaxRows(v2.scores, goldenClasses))
		})
		for _, v := range goldenVariants {
			if v == modelgen.VariantV2SoftmaxOpset7 {
				continue
			}
			t.Run("scale "+names[v], func(t *testing.T) {
				checkScale(t, g[v])
			})
		}
	}
}

// checkScale requires embeddings of O(0.1–100), logits spread over a few
// units, and distinct outputs for distinct images.
func checkScale(t *testing.T, o outputs) {
	t.Helper()
	for i := range goldenBatch {
		r := o.row(i, goldenBatch)
		_, embMax, _ := maxAbsDiff(make([]float32, len(r.emb)), r.emb)
		sd := stdDev(r.scores)
		if embMax < 0.1 || embMax > 100 || sd < 1 || sd > 10 {
			t.Errorf("image %d: max embedding %.3g (want 0.1..100), logit s.d. %.3g (want 1..10)", i, embMax, sd)
		}
	}
	// A batch mix-up must not go unnoticed: images 0 and 1 must differ by
	// far more than the tolerance.
	d, s, _ := maxAbsDiff(o.row(1, goldenBatch).scores, o.row(0, goldenBatch).scores)
	if d < 100*goldenRelTol*s {
		t.Errorf("images 0 and 1 differ by at most %.3g in scores, under 100× the tolerance", d)
	}
}
