package modelgen_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tlserve/tlserve/internal/manifest"
	"github.com/tlserve/tlserve/internal/modelgen"
	"github.com/tlserve/tlserve/internal/onnxpb"
)

// small is a fast configuration of a variant for structural tests.
func small(variant string) modelgen.Options {
	return modelgen.Options{Variant: variant, Width: 0.125, InputSize: 64, Classes: 10, Seed: 7}
}

// mustBuild builds o or fails the test.
func mustBuild(t *testing.T, o modelgen.Options) *onnxpb.Model {
	t.Helper()
	m, err := modelgen.Build(o)
	if err != nil {
		t.Fatalf("Build(%+v): %v", o, err)
	}
	return m
}

// opCounts counts the nodes of g by op type.
func opCounts(g *onnxpb.Graph) map[string]int {
	c := map[string]int{}
	for _, n := range g.Nodes {
		c[n.OpType]++
	}
	return c
}

func TestBuildStructure(t *testing.T) {
	tests := []struct {
		variant string
		opset   int64
		ir      int64
		ops     map[string]int // exact counts of these op types
	}{
		{modelgen.VariantV1BNOpset11, 11, 6, map[string]int{
			"Conv": 53, "BatchNormalization": 53, "Relu": 49, "Add": 16, "MaxPool": 1, "GlobalAveragePool": 1,
			"Gemm": 1, "Flatten": 0, "Shape": 1, "Gather": 1, "Unsqueeze": 1, "Concat": 1, "Reshape": 1, "Constant": 2, "Softmax": 0,
		}},
		{modelgen.VariantV1BNOpset13, 13, 7, map[string]int{
			"Conv": 53, "BatchNormalization": 53, "Relu": 49, "Add": 16, "Flatten": 1, "Gemm": 1, "Reshape": 0, "Softmax": 0,
		}},
		{modelgen.VariantV1FoldedOpset13, 13, 7, map[string]int{
			"Conv": 53, "BatchNormalization": 0, "Relu": 49, "Add": 16, "Flatten": 1, "Gemm": 1,
		}},
		// v2: data BN, conv0+bn0, 16 units × (bn1,bn2,bn3), final BN;
		// 1+48+4 shortcut convs; relu0 + 16×3 + final.
		{modelgen.VariantV2Opset7, 7, 3, map[string]int{
			"Conv": 53, "BatchNormalization": 51, "Relu": 50, "Add": 16, "Flatten": 1, "Gemm": 1, "Softmax": 0,
		}},
		{modelgen.VariantV2SoftmaxOpset7, 7, 3, map[string]int{"Gemm": 1, "Softmax": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.variant, func(t *testing.T) {
			m := mustBuild(t, small(tc.variant))
			if len(m.OpsetImports) != 1 || m.OpsetImports[0].Version != tc.opset || m.OpsetImports[0].Domain != "" {
				t.Errorf("opset imports %+v, want default domain version %d", m.OpsetImports, tc.opset)
			}
			if m.IRVersion != tc.ir {
				t.Errorf("IR version %d, want %d", m.IRVersion, tc.ir)
			}
			got := opCounts(m.Graph)
			for op, n := range tc.ops {
				if got[op] != n {
					t.Errorf("%d %s nodes, want %d", got[op], op, n)
				}
			}
			checkIO(t, m.Graph, 64, 10, false)
			checkTopology(t, m.Graph)
			checkAttributes(t, m)
			if wantInputs := 1 + len(m.Graph.Initializer); (m.IRVersion < 4) != (len(m.Graph.Input) == wantInputs) {
				t.Errorf("IR %d with %d inputs and %d initializers: IR 3 must list every initializer as an input, later IRs none",
					m.IRVersion, len(m.Graph.Input), len(m.Graph.Initializer))
			}
		})
	}
}

// checkIO checks the graph's inputs and outputs.
func checkIO(t *testing.T, g *onnxpb.Graph, size, classes int64, embedding bool) {
	t.Helper()
	if len(g.Input) == 0 {
		t.Fatal("no graph inputs")
	}
	// Any further inputs must be initializers (IR 3 lists them all).
	inits := map[string]bool{}
	for _, init := range g.Initializer {
		inits[init.Name] = true
	}
	for _, in := range g.Input[1:] {
		if !inits[in.Name] {
			t.Errorf("graph input %q is not an initializer", in.Name)
		}
	}
	in := g.Input[0]
	wantIn := []onnxpb.Dim{{Value: -1, Param: "N"}, {Value: 3}, {Value: size}, {Value: size}}
	if in.Name != modelgen.InputName || in.ElemType != onnxpb.Float || !slices.Equal(in.Shape, wantIn) {
		t.Errorf("input %+v, want %q float %v", in, modelgen.InputName, wantIn)
	}
	wantOut := 1
	if embedding {
		wantOut = 2
	}
	if len(g.Output) != wantOut {
		t.Fatalf("%d graph outputs, want %d", len(g.Output), wantOut)
	}
	out := g.Output[0]
	if want := []onnxpb.Dim{{Value: -1, Param: "N"}, {Value: classes}}; out.Name != modelgen.OutputName || !slices.Equal(out.Shape, want) {
		t.Errorf("output %+v, want %q %v", out, modelgen.OutputName, want)
	}
	if embedding && g.Output[1].Name != modelgen.EmbeddingName {
		t.Errorf("second output %q, want %q", g.Output[1].Name, modelgen.EmbeddingName)
	}
}

// checkTopology checks that every node input is defined before use, that
// every tensor is produced once, and that the outputs are produced.
func checkTopology(t *testing.T, g *onnxpb.Graph) {
	t.Helper()
	defined := map[string]bool{}
	defined[g.Input[0].Name] = true
	for _, init := range g.Initializer {
		if defined[init.Name] {
			t.Errorf("initializer %q defined twice", init.Name)
		}
		defined[init.Name] = true
		n := int64(1)
		for _, d := range init.Dims {
			n *= d
		}
		if init.DataType == onnxpb.Float && int64(len(init.RawData)) != 4*n {
			t.Errorf("initializer %q: %d raw bytes for dims %v", init.Name, len(init.RawData), init.Dims)
		}
	}
	for _, n := range g.Nodes {
		for _, in := range n.Input {
			if !defined[in] {
				t.Errorf("node %s (%s) reads %q before it is defined", n.Name, n.OpType, in)
			}
		}
		for _, out := range n.Output {
			if defined[out] {
				t.Errorf("node %s redefines %q", n.Name, out)
			}
			defined[out] = true
		}
	}
	for _, out := range g.Output {
		if !defined[out.Name] {
			t.Errorf("graph output %q is never produced", out.Name)
		}
	}
}

// checkAttributes checks the attributes that differ between opsets.
func checkAttributes(t *testing.T, m *onnxpb.Model) {
	t.Helper()
	opset := m.OpsetImports[0].Version
	for _, n := range m.Graph.Nodes {
		names := map[string]*onnxpb.Attribute{}
		for _, a := range n.Attribute {
			names[a.Name] = a
		}
		switch n.OpType {
		case "BatchNormalization":
			if _, ok := names["spatial"]; ok != (opset < 9) {
				t.Errorf("%s: spatial attribute present=%v at opset %d", n.Name, ok, opset)
			}
			if a := names["epsilon"]; a == nil || a.F != 1e-5 {
				t.Errorf("%s: epsilon %+v, want 1e-5", n.Name, a)
			}
		case "MaxPool":
			if _, ok := names["ceil_mode"]; ok != (opset >= 10) {
				t.Errorf("%s: ceil_mode present=%v at opset %d", n.Name, ok, opset)
			}
		case "Gemm":
			if a := names["transB"]; a == nil || a.I != 1 {
				t.Errorf("%s: transB %+v, want 1", n.Name, a)
			}
			if len(n.Input) != 3 {
				t.Errorf("%s: %d inputs, want 3 (opset 7 requires C)", n.Name, len(n.Input))
			}
		case "Unsqueeze":
			if _, ok := names["axes"]; ok != (opset < 13) {
				t.Errorf("%s: axes attribute present=%v at opset %d", n.Name, ok, opset)
			}
		}
	}
}

// TestParameterCount checks the full-size v1 network against torchvision's
// resnet50, which has 25,557,032 trainable parameters (conv and fc weights,
// fc bias, BN weight and bias); the BN running statistics come on top.
func TestParameterCount(t *testing.T) {
	for _, variant := range []string{modelgen.VariantV1BNOpset13, modelgen.VariantV1FoldedOpset13} {
		t.Run(variant, func(t *testing.T) {
			m := mustBuild(t, modelgen.Options{Variant: variant, ExposeEmbedding: true})
			var trainable, stats int
			for _, init := range m.Graph.Initializer {
				n := len(init.RawData) / 4
				if strings.HasSuffix(init.Name, ".running_mean") || strings.HasSuffix(init.Name, ".running_var") {
					stats += n
				} else {
					trainable += n
				}
			}
			const sumBNChannels = 26560 // 53,120 BN weights+biases / 2
			want := 25557032
			if variant == modelgen.VariantV1FoldedOpset13 {
				// Each BN became a conv bias: one value per channel
				// instead of weight, bias and two statistics.
				want -= sumBNChannels
			} else if stats != 2*sumBNChannels {
				t.Errorf("%d BN statistics, want %d", stats, 2*sumBNChannels)
			}
			if trainable != want {
				t.Errorf("%d parameters, want %d", trainable, want)
			}
			checkIO(t, m.Graph, 224, 1000, true)
			if d := modelgen.EmbeddingDim(modelgen.Options{Variant: variant}); d != 2048 {
				t.Errorf("EmbeddingDim = %d, want 2048", d)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	o := small(modelgen.VariantV1BNOpset11)
	a, err := modelgen.Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := modelgen.Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two generations with the same options differ")
	}
	o.Seed++
	c, err := modelgen.Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(c) != len(a) || bytes.Equal(a, c) {
		t.Fatalf("seed %d and %d: lengths %d and %d, equal=%v; want same length, different bytes",
			o.Seed-1, o.Seed, len(a), len(c), bytes.Equal(a, c))
	}
}

// TestFoldedSharesWeights checks that the BN and folded variants draw the
// same numbers: the folded conv weights are the BN variant's conv weights
// times gamma/sqrt(var+eps), per output channel.
func TestFoldedSharesWeights(t *testing.T) {
	bn := mustBuild(t, small(modelgen.VariantV1BNOpset13))
	folded := mustBuild(t, small(modelgen.VariantV1FoldedOpset13))
	inits := func(m *onnxpb.Model) map[string][]float32 {
		r := map[string][]float32{}
		for _, init := range m.Graph.Initializer {
			v := make([]float32, len(init.RawData)/4)
			for i := range v {
				v[i] = math.Float32frombits(binary.LittleEndian.Uint32(init.RawData[4*i:]))
			}
			r[init.Name] = v
		}
		return r
	}
	bi, fi := inits(bn), inits(folded)
	for _, pair := range [][2]string{{"conv1", "bn1"}, {"layer2.0.conv2", "layer2.0.bn2"}, {"layer4.0.downsample.0", "layer4.0.downsample.1"}} {
		t.Run(pair[0], func(t *testing.T) {
			w, fw, fb := bi[pair[0]+".weight"], fi[pair[0]+".weight"], fi[pair[0]+".bias"]
			g, beta, mean, vr := bi[pair[1]+".weight"], bi[pair[1]+".bias"], bi[pair[1]+".running_mean"], bi[pair[1]+".running_var"]
			if len(w) == 0 || len(w) != len(fw) || len(fb) != len(g) {
				t.Fatalf("sizes: weight %d folded %d bias %d gamma %d", len(w), len(fw), len(fb), len(g))
			}
			per := len(w) / len(g)
			for i := range w {
				o := i / per
				s := float64(g[o]) / math.Sqrt(float64(vr[o])+1e-5)
				if d := math.Abs(float64(fw[i]) - float64(w[i])*s); d > 1e-6*(1+math.Abs(float64(fw[i]))) {
					t.Fatalf("weight %d: folded %g, want %g", i, fw[i], float64(w[i])*s)
				}
				if want := float64(beta[o]) - float64(mean[o])*s; math.Abs(float64(fb[o])-want) > 1e-6 {
					t.Fatalf("bias %d: folded %g, want %g", o, fb[o], want)
				}
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		desc string
		o    modelgen.Options
		want error
	}{
		{"empty variant", modelgen.Options{}, modelgen.ErrVariant},
		{"unknown variant", modelgen.Options{Variant: "resnet18"}, modelgen.ErrVariant},
		{"negative width", modelgen.Options{Variant: modelgen.VariantV2Opset7, Width: -1}, modelgen.ErrOptions},
		{"NaN width", modelgen.Options{Variant: modelgen.VariantV2Opset7, Width: math.NaN()}, modelgen.ErrOptions},
		{"tiny input", modelgen.Options{Variant: modelgen.VariantV2Opset7, InputSize: 16}, modelgen.ErrOptions},
		{"negative classes", modelgen.Options{Variant: modelgen.VariantV2Opset7, Classes: -3}, modelgen.ErrOptions},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if _, err := modelgen.Build(tc.o); !errors.Is(err, tc.want) {
				t.Errorf("Build error = %v, want %v", err, tc.want)
			}
			if err := modelgen.WriteFiles(filepath.Join(t.TempDir(), "m.onnx"), tc.o); !errors.Is(err, tc.want) {
				t.Errorf("WriteFiles error = %v, want %v", err, tc.want)
			}
			if d := modelgen.EmbeddingDim(tc.o); d != 0 {
				t.Errorf("EmbeddingDim = %d, want 0", d)
			}
		})
	}
}

func TestWriteFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tiny.onnx")
	o := small(modelgen.VariantV2Opset7)
	if err := modelgen.WriteFiles(path, o); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := modelgen.Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Error("written model differs from Generate's bytes")
	}
	m, err := onnxpb.DecodeModel(b)
	if err != nil {
		t.Fatalf("DecodeModel: %v", err)
	}
	checkIO(t, m.Graph, 64, 10, false)
	checkTopology(t, m.Graph)
	man, err := manifest.ForModel(path)
	if err != nil {
		t.Fatalf("manifest.ForModel: %v", err)
	}
	wantMan := manifest.Default("tiny")
	wantMan.InputSize, wantMan.Resize = 64, 73
	if !reflect.DeepEqual(man, wantMan) {
		t.Errorf("manifest %+v, want %+v", man, wantMan)
	}
	if _, err := os.Stat(filepath.Join(dir, "tiny.json")); err != nil {
		t.Errorf("manifest file: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("directory holds %d files, want the model and its manifest (temporary files left?)", len(entries))
	}
}

func TestWriteFilesBadPath(t *testing.T) {
	err := modelgen.WriteFiles(filepath.Join(t.TempDir(), "missing", "m.onnx"), small(modelgen.VariantV2Opset7))
	if err == nil {
		t.Fatal("WriteFiles into a missing directory succeeded")
	}
}
