package modelgen_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tlserve/tlserve/internal/manifest"
	"github.com/tlserve/tlserve/internal/modelgen"
	"github.com/tlserve/tlserve/internal/onnxpb"
)

func mustZoo(t *testing.T, name string, o modelgen.ZooOptions) *onnxpb.Model {
	t.Helper()
	m, err := modelgen.Zoo(name, o)
	if err != nil {
		t.Fatalf("Zoo(%q, %+v): %v", name, o, err)
	}
	return m
}

// attrsOf returns n's attributes by name.
func attrsOf(n *onnxpb.Node) map[string]*onnxpb.Attribute {
	a := map[string]*onnxpb.Attribute{}
	for _, at := range n.Attribute {
		a[at.Name] = at
	}
	return a
}

func TestZooStructure(t *testing.T) {
	tests := []struct {
		name  string
		opset int64
		ir    int64
		ops   map[string]int // exact counts
		// check inspects family-specific details.
		check func(t *testing.T, g *onnxpb.Graph)
	}{
		{modelgen.ZooMobileNetV2Opset13, 13, 7, map[string]int{
			// Small: 1+1+2+2+2+2+1 = 11 blocks (t=1 block has no expand),
			// 1 stem + 10 expand + 11 depthwise + 11 project + 1 head conv.
			"Conv": 34, "BatchNormalization": 0, "Clip": 23, "Constant": 46, "Add": 4,
			"GlobalAveragePool": 1, "Flatten": 1, "Gemm": 1,
		}, checkDepthwise(11, 3)},
		{modelgen.ZooMobileNetV2FP16Opset13, 13, 7, map[string]int{"Conv": 34, "Clip": 23, "Constant": 46, "Gemm": 1}, nil},
		{modelgen.ZooMobileNetV2Opset7, 7, 3, map[string]int{
			"Conv": 35, "BatchNormalization": 34, "Clip": 23, "Constant": 0, "Add": 4,
			"GlobalAveragePool": 1, "Flatten": 1, "Gemm": 0,
		}, checkDepthwise(11, 3)},
		{modelgen.ZooEfficientNetB0Opset11, 11, 6, map[string]int{
			// Small: 1+1+1+2+2+2+1 = 10 blocks, 9 with expansion; each has
			// depthwise, 2 SE convs and a projection. SiLU after the stem,
			// each expansion, each depthwise, in each SE and after the head;
			// one more Sigmoid and Mul for each SE gate.
			"Conv": 1 + 9 + 10*4 + 1, "BatchNormalization": 0, "Sigmoid": 1 + 9 + 10 + 10*2 + 1, "Mul": 1 + 9 + 10 + 10*2 + 1,
			"GlobalAveragePool": 11, "Add": 3, "Dropout": 1, "Gemm": 1,
		}, checkDepthwise(10, 3, 5)},
		{modelgen.ZooDenseNet121Opset13, 13, 7, map[string]int{
			// Small: 2+3+4+2 = 11 layers of 2 BN and 2 convs; 3
			// transitions; stem conv and BN, norm5.
			"Conv": 1 + 22 + 3, "BatchNormalization": 1 + 22 + 3 + 1, "Relu": 1 + 22 + 3 + 1,
			"Concat": 11 + 4, "AveragePool": 3, "MaxPool": 1, "GlobalAveragePool": 1, "Flatten": 1, "Gemm": 1,
		}, nil},
		{modelgen.ZooInceptionOpset7, 7, 3, map[string]int{
			"Conv": 3 + 3*6, "Relu": 3 + 3*6, "LRN": 2, "Concat": 3, "MaxPool": 3 + 1, "AveragePool": 2 + 1,
			"Dropout": 1, "Reshape": 1, "Gemm": 1, "Softmax": 1,
		}, checkPools},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mustZoo(t, tc.name, modelgen.ZooOptions{Classes: 10, Seed: 7})
			if len(m.OpsetImports) != 1 || m.OpsetImports[0].Version != tc.opset || m.IRVersion != tc.ir {
				t.Errorf("opset %+v IR %d, want %d and %d", m.OpsetImports, m.IRVersion, tc.opset, tc.ir)
			}
			got := opCounts(m.Graph)
			for op, n := range tc.ops {
				if got[op] != n {
					t.Errorf("%d %s nodes, want %d", got[op], op, n)
				}
			}
			checkZooIO(t, m, 64, 10)
			checkTopology(t, m.Graph)
			if tc.check != nil {
				tc.check(t, m.Graph)
			}
			if wantInputs := 1 + len(m.Graph.Initializer); (m.IRVersion < 4) != (len(m.Graph.Input) == wantInputs) {
				t.Errorf("IR %d with %d inputs and %d initializers", m.IRVersion, len(m.Graph.Input), len(m.Graph.Initializer))
			}
		})
	}
}

// checkZooIO checks the image input and the scores output, of float16 for
// the float16 family and float otherwise.
func checkZooIO(t *testing.T, m *onnxpb.Model, size, classes int64) {
	t.Helper()
	g := m.Graph
	elem := int32(onnxpb.Float)
	if strings.Contains(g.Name, "fp16") {
		elem = onnxpb.Float16
	}
	in, out := g.Input[0], g.Output[0]
	wantIn := []onnxpb.Dim{{Value: -1, Param: "N"}, {Value: 3}, {Value: size}, {Value: size}}
	if in.Name != modelgen.InputName || in.ElemType != elem || !slices.Equal(in.Shape, wantIn) {
		t.Errorf("input %+v, want %q type %d %v", in, modelgen.InputName, elem, wantIn)
	}
	if want := []onnxpb.Dim{{Value: -1, Param: "N"}, {Value: classes}}; out.Name != modelgen.OutputName || out.ElemType != elem || !slices.Equal(out.Shape, want) {
		t.Errorf("output %+v, want %q type %d %v", out, modelgen.OutputName, elem, want)
	}
}

// checkDepthwise returns a check that the graph has n depthwise convs
// (group = channels = output channels) with the given kernel sizes, some
// of them strided.
func checkDepthwise(n int, kernels ...int64) func(t *testing.T, g *onnxpb.Graph) {
	return func(t *testing.T, g *onnxpb.Graph) {
		t.Helper()
		dims := map[string][]int64{}
		for _, init := range g.Initializer {
			dims[init.Name] = init.Dims
		}
		var count, strided int
		seen := map[int64]bool{}
		for _, nd := range g.Nodes {
			a := attrsOf(nd)
			if nd.OpType != "Conv" || a["group"].I == 1 {
				continue
			}
			w := dims[nd.Input[1]]
			if w[0] != a["group"].I || w[1] != 1 {
				t.Errorf("%s: group %d with weights %v, want depthwise", nd.Name, a["group"].I, w)
			}
			count++
			seen[w[2]] = true
			if a["strides"].Ints[0] == 2 {
				strided++
			}
		}
		if count != n || strided == 0 || len(seen) != len(kernels) {
			t.Errorf("%d depthwise convs (%d strided) with kernels %v, want %d with kernels %v", count, strided, seen, n, kernels)
		}
		for _, k := range kernels {
			if !seen[k] {
				t.Errorf("no depthwise %dx%d conv", k, k)
			}
		}
	}
}

// checkPools checks the Inception pool branches: a 3x3 stride-1 MaxPool and
// AveragePools with count_include_pad 0 and 1.
func checkPools(t *testing.T, g *onnxpb.Graph) {
	t.Helper()
	var kinds []string
	for _, nd := range g.Nodes {
		a := attrsOf(nd)
		if (nd.OpType == "MaxPool" || nd.OpType == "AveragePool") && a["strides"].Ints[0] == 1 && a["kernel_shape"].Ints[0] == 3 {
			k := nd.OpType
			if c := a["count_include_pad"]; c != nil {
				k += map[int64]string{0: "/exclude-pad", 1: "/include-pad"}[c.I]
			}
			kinds = append(kinds, k)
		}
	}
	if want := []string{"MaxPool", "AveragePool/exclude-pad", "AveragePool/include-pad"}; !slices.Equal(kinds, want) {
		t.Errorf("3x3 stride-1 pools %v, want %v", kinds, want)
	}
}

// TestZooParameterCount checks the full-size networks against torchvision's
// parameter counts (conv and fc weights and biases, BN weight and bias).
// A folded BN turns 2 parameters per channel into 1 conv bias, so folded
// conv biases (named "<conv>.0.bias") count twice.
func TestZooParameterCount(t *testing.T) {
	tests := []struct {
		name string
		want int
	}{
		// mobilenet_v2: 3,504,872; Gluon's conv classifier has no bias.
		{modelgen.ZooMobileNetV2Opset7, 3504872 - 1000},
		{modelgen.ZooMobileNetV2Opset13, 3504872},
		{modelgen.ZooEfficientNetB0Opset11, 5288548},
		{modelgen.ZooDenseNet121Opset13, 7978856},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mustZoo(t, tc.name, modelgen.ZooOptions{Full: true})
			var n int
			for _, init := range m.Graph.Initializer {
				if strings.HasSuffix(init.Name, ".running_mean") || strings.HasSuffix(init.Name, ".running_var") ||
					init.DataType != onnxpb.Float || len(init.Dims) == 0 {
					continue
				}
				k := len(init.RawData) / 4
				n += k
				if strings.HasSuffix(init.Name, ".0.bias") {
					n += k
				}
			}
			if n != tc.want {
				t.Errorf("%d parameters, want %d", n, tc.want)
			}
			checkZooIO(t, m, 224, 1000)
		})
	}
}

// TestZooFloat16 checks that the float16 family holds its float32 twin's
// values rounded to float16, and no float32 tensors.
func TestZooFloat16(t *testing.T) {
	o := modelgen.ZooOptions{Seed: 3}
	m16 := mustZoo(t, modelgen.ZooMobileNetV2FP16Opset13, o)
	m32 := mustZoo(t, modelgen.ZooMobileNetV2Opset13, o)
	if len(m16.Graph.Initializer) != len(m32.Graph.Initializer) {
		t.Fatalf("%d and %d initializers", len(m16.Graph.Initializer), len(m32.Graph.Initializer))
	}
	for i, a := range m32.Graph.Initializer {
		b := m16.Graph.Initializer[i]
		if b.DataType != onnxpb.Float16 || b.Name != a.Name || len(b.RawData) != len(a.RawData)/2 {
			t.Fatalf("initializer %q: type %d, %d bytes; want float16 %q of %d bytes", b.Name, b.DataType, len(b.RawData), a.Name, len(a.RawData)/2)
		}
		for k := range len(b.RawData) / 2 {
			f := math.Float32frombits(binary.LittleEndian.Uint32(a.RawData[4*k:]))
			h := binary.LittleEndian.Uint16(b.RawData[2*k:])
			if want := onnxpb.Float32ToFloat16(f); h != want {
				t.Fatalf("%s[%d]: %#04x, want %#04x (%g)", b.Name, k, h, want, f)
			}
		}
	}
	var consts int
	for _, n := range m16.Graph.Nodes {
		for _, a := range n.Attribute {
			if a.T != nil {
				consts++
				if a.T.DataType != onnxpb.Float16 {
					t.Errorf("%s: constant of type %d, want float16", n.Name, a.T.DataType)
				}
			}
		}
	}
	if consts == 0 {
		t.Error("no Constant nodes (Clip bounds) checked")
	}
}

func TestZooDeterministic(t *testing.T) {
	for _, name := range modelgen.ZooNames() {
		t.Run(name, func(t *testing.T) {
			a, err := modelgen.GenerateZoo(name, modelgen.ZooOptions{Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := modelgen.GenerateZoo(name, modelgen.ZooOptions{Seed: 1})
			c, _ := modelgen.GenerateZoo(name, modelgen.ZooOptions{Seed: 2})
			if !bytes.Equal(a, b) || bytes.Equal(a, c) || len(a) != len(c) {
				t.Errorf("same seed equal=%v, other seed equal=%v (lengths %d, %d): want equal, different", bytes.Equal(a, b), bytes.Equal(a, c), len(a), len(c))
			}
			if _, err := onnxpb.DecodeModel(a); err != nil {
				t.Errorf("decode: %v", err)
			}
		})
	}
}

func TestZooErrors(t *testing.T) {
	tests := []struct {
		name string
		o    modelgen.ZooOptions
		want error
	}{
		{"resnet50", modelgen.ZooOptions{}, modelgen.ErrZooName},
		{"", modelgen.ZooOptions{}, modelgen.ErrZooName},
		{modelgen.ZooDenseNet121Opset13, modelgen.ZooOptions{InputSize: 16}, modelgen.ErrOptions},
		{modelgen.ZooDenseNet121Opset13, modelgen.ZooOptions{InputSize: 2048}, modelgen.ErrOptions},
		{modelgen.ZooInceptionOpset7, modelgen.ZooOptions{Classes: -1}, modelgen.ErrOptions},
	}
	for _, tc := range tests {
		if _, err := modelgen.Zoo(tc.name, tc.o); !errors.Is(err, tc.want) {
			t.Errorf("Zoo(%q, %+v) = %v, want %v", tc.name, tc.o, err, tc.want)
		}
	}
}

func TestWriteZooFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "eff.onnx")
	if err := modelgen.WriteZooFiles(path, modelgen.ZooEfficientNetB0Opset11, modelgen.ZooOptions{InputSize: 96}); err != nil {
		t.Fatal(err)
	}
	m, err := manifest.ForModel(path)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "eff" || m.InputSize != 96 || m.Resize != 110 {
		t.Errorf("manifest %+v, want name eff, input 96, resize 110", m)
	}
}
