package onnxpb

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tlserve/tlserve/internal/refdata"
)

func TestRoundTripHandBuilt(t *testing.T) {
	tests := []struct {
		name  string
		model *Model
	}{
		{"full", handBuiltModel()},
		{"empty", &Model{}},
		{"graph only", &Model{Graph: &Graph{}}},
		{"opset only", &Model{IRVersion: 3, OpsetImports: []OperatorSetID{{Version: 7}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := EncodeModel(tt.model)
			got, err := DecodeModel(b)
			if err != nil {
				t.Fatalf("DecodeModel(EncodeModel(x)): %v", err)
			}
			if d := diff(tt.model, got); d != "" {
				t.Fatalf("decode(encode(x)) != x: %s", d)
			}
			if again := EncodeModel(got); string(again) != string(b) {
				t.Fatalf("encoding is not stable: %d bytes then %d bytes", len(b), len(again))
			}
		})
	}
}

func TestRoundTripTensorHandBuilt(t *testing.T) {
	for _, want := range handBuiltModel().Graph.Initializer {
		t.Run(want.Name, func(t *testing.T) {
			got, err := DecodeTensor(EncodeTensor(want))
			if err != nil {
				t.Fatal(err)
			}
			if d := diff(want, got); d != "" {
				t.Fatalf("decode(encode(x)) != x: %s", d)
			}
		})
	}
}

// TestEncodeWireFormat checks the encoder against bytes assembled field by
// field with protowire, independently of the decoder.
func TestEncodeWireFormat(t *testing.T) {
	var dim []byte
	dim = protowire.AppendTag(dim, 2, protowire.BytesType)
	dim = protowire.AppendString(dim, "N")
	var shape []byte
	shape = protowire.AppendTag(shape, 1, protowire.BytesType)
	shape = protowire.AppendBytes(shape, dim)
	var tt []byte
	tt = protowire.AppendTag(tt, 1, protowire.VarintType)
	tt = protowire.AppendVarint(tt, uint64(Float16))
	tt = protowire.AppendTag(tt, 2, protowire.BytesType)
	tt = protowire.AppendBytes(tt, shape)
	var typ []byte
	typ = protowire.AppendTag(typ, 1, protowire.BytesType)
	typ = protowire.AppendBytes(typ, tt)
	var vi []byte
	vi = protowire.AppendTag(vi, 1, protowire.BytesType)
	vi = protowire.AppendString(vi, "x")
	vi = protowire.AppendTag(vi, 2, protowire.BytesType)
	vi = protowire.AppendBytes(vi, typ)
	var g []byte
	g = protowire.AppendTag(g, 11, protowire.BytesType)
	g = protowire.AppendBytes(g, vi)
	var opset []byte
	opset = protowire.AppendTag(opset, 1, protowire.BytesType)
	opset = protowire.AppendString(opset, "")
	opset = protowire.AppendTag(opset, 2, protowire.VarintType)
	opset = protowire.AppendVarint(opset, 13)
	var want []byte
	want = protowire.AppendTag(want, 1, protowire.VarintType)
	want = protowire.AppendVarint(want, 7)
	want = protowire.AppendTag(want, 7, protowire.BytesType)
	want = protowire.AppendBytes(want, g)
	want = protowire.AppendTag(want, 8, protowire.BytesType)
	want = protowire.AppendBytes(want, opset)

	m := &Model{
		IRVersion:    7,
		OpsetImports: []OperatorSetID{{Version: 13}},
		Graph: &Graph{Input: []*ValueInfo{{
			Name: "x", ElemType: Float16, HasShape: true, Shape: []Dim{{Value: -1, Param: "N"}},
		}}},
	}
	if got := EncodeModel(m); string(got) != string(want) {
		t.Fatalf("EncodeModel:\n got %x\nwant %x", got, want)
	}

	// A float tensor: dims unpacked, float_data packed, negative int32
	// data type sign-extended to ten bytes as protobuf requires.
	var tw []byte
	tw = protowire.AppendTag(tw, 1, protowire.VarintType)
	tw = protowire.AppendVarint(tw, 2)
	tw = protowire.AppendTag(tw, 2, protowire.VarintType)
	tw = protowire.AppendVarint(tw, math.MaxUint64) // int32(-1), sign-extended
	tw = protowire.AppendTag(tw, 4, protowire.BytesType)
	tw = protowire.AppendBytes(tw, []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0})
	got := EncodeTensor(&Tensor{Dims: []int64{2}, DataType: -1, FloatData: []float32{1, -2}})
	if string(got) != string(tw) {
		t.Fatalf("EncodeTensor:\n got %x\nwant %x", got, tw)
	}
}

// TestNodeSuiteRoundTrip decodes every model and tensor of the ONNX node
// test suite, re-encodes it and checks that decoding again gives the same
// value.
func TestNodeSuiteRoundTrip(t *testing.T) {
	models := refdata.NodeFiles(t, "test_*/model.onnx")
	tensors := refdata.NodeFiles(t, "test_*/test_data_set_*/*.pb")
	for _, f := range models {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := DecodeModel(b)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if m.Graph == nil || len(m.Graph.Nodes) == 0 || len(m.OpsetImports) == 0 {
			t.Errorf("%s: decoded model has no graph, nodes or opset", f)
			continue
		}
		m2, err := DecodeModel(EncodeModel(m))
		if err != nil {
			t.Errorf("%s: decoding the re-encoded model: %v", f, err)
			continue
		}
		if d := diff(m, m2); d != "" {
			t.Errorf("%s: round trip differs: %s", f, d)
		}
	}
	nt := 0
	for _, f := range tensors {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		x, err := DecodeTensor(b)
		if err != nil {
			// Sequence and optional test data are not TensorProtos.
			continue
		}
		nt++
		x2, err := DecodeTensor(EncodeTensor(x))
		if err != nil {
			t.Errorf("%s: decoding the re-encoded tensor: %v", f, err)
			continue
		}
		if d := diff(x, x2); d != "" {
			t.Errorf("%s: round trip differs: %s", f, d)
		}
	}
	t.Logf("%d models, %d of %d tensor files round-tripped", len(models), nt, len(tensors))
	if nt < len(tensors)/2 {
		t.Errorf("only %d of %d tensor files decoded", nt, len(tensors))
	}
}

// TestNodeSuiteSemantics reads test inputs and expected outputs of a few
// element-wise operators and checks the operator's definition on them, so
// that the values, not only the structure, come out right.
func TestNodeSuiteSemantics(t *testing.T) {
	tests := []struct {
		dir string
		f   func(float64) float64
	}{
		{"test_abs", math.Abs},
		{"test_neg", func(x float64) float64 { return -x }},
		{"test_relu", func(x float64) float64 { return math.Max(x, 0) }},
		{"test_exp", math.Exp},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			dir := filepath.Join(refdata.NodeSuiteDir, tt.dir, "test_data_set_0")
			in := readTensorFile(t, filepath.Join(dir, "input_0.pb"))
			out := readTensorFile(t, filepath.Join(dir, "output_0.pb"))
			x, err := in.Float32s()
			if err != nil {
				t.Fatal(err)
			}
			y, err := out.Float32s()
			if err != nil {
				t.Fatal(err)
			}
			if len(x) != len(y) || len(x) == 0 {
				t.Fatalf("len(input)=%d len(output)=%d", len(x), len(y))
			}
			for i := range x {
				want := tt.f(float64(x[i]))
				if math.Abs(float64(y[i])-want) > 1e-5*math.Max(1, math.Abs(want)) {
					t.Fatalf("element %d: f(%v) = %v, file says %v", i, x[i], want, y[i])
				}
			}
		})
	}
}

func readTensorFile(tb testing.TB, path string) *Tensor {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Skipf("node suite file absent: %v", err)
	}
	x, err := DecodeTensor(b)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return x
}

// squeezenetSummary mirrors testdata/squeezenet_summary.json, written by
// testdata/squeezenet_summary.py with the onnx Python package.
type squeezenetSummary struct {
	IRVersion    int64   `json:"ir_version"`
	Opset        [][]any `json:"opset"`
	ProducerName string  `json:"producer_name"`
	Nodes        []struct {
		OpType string         `json:"op_type"`
		Input  []string       `json:"input"`
		Output []string       `json:"output"`
		Attrs  map[string]any `json:"attrs"`
	} `json:"nodes"`
	Initializers []struct {
		Name     string  `json:"name"`
		Dims     []int64 `json:"dims"`
		DataType int32   `json:"data_type"`
		Sum      float64 `json:"sum"`
		SumAbs   float64 `json:"sum_abs"`
		First    float64 `json:"first"`
		Last     float64 `json:"last"`
	} `json:"initializers"`
	Inputs  []summaryValueInfo `json:"inputs"`
	Outputs []summaryValueInfo `json:"outputs"`
}

type summaryValueInfo struct {
	Name     string  `json:"name"`
	ElemType int32   `json:"elem_type"`
	Dims     []int64 `json:"dims"`
}

// TestSqueezenet decodes the real fp16 SqueezeNet and compares it with a
// summary made independently by the onnx Python package.
func TestSqueezenet(t *testing.T) {
	b, err := os.ReadFile(refdata.SqueezeNetFile(t))
	if err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile(filepath.Join("testdata", "squeezenet_summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want squeezenetSummary
	if err := json.Unmarshal(js, &want); err != nil {
		t.Fatal(err)
	}
	m, err := DecodeModel(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.IRVersion != want.IRVersion || m.ProducerName != want.ProducerName {
		t.Errorf("ir_version %d producer %q, want %d %q", m.IRVersion, m.ProducerName, want.IRVersion, want.ProducerName)
	}
	if len(m.OpsetImports) != len(want.Opset) || m.OpsetImports[0].Version != int64(want.Opset[0][1].(float64)) {
		t.Errorf("opset %v, want %v", m.OpsetImports, want.Opset)
	}
	g := m.Graph
	if len(g.Nodes) != len(want.Nodes) {
		t.Fatalf("%d nodes, want %d", len(g.Nodes), len(want.Nodes))
	}
	for i, wn := range want.Nodes {
		n := g.Nodes[i]
		if n.OpType != wn.OpType || strings.Join(n.Input, ",") != strings.Join(wn.Input, ",") ||
			strings.Join(n.Output, ",") != strings.Join(wn.Output, ",") || len(n.Attribute) != len(wn.Attrs) {
			t.Errorf("node %d: %s %v -> %v (%d attrs), want %s %v -> %v (%d attrs)", i,
				n.OpType, n.Input, n.Output, len(n.Attribute), wn.OpType, wn.Input, wn.Output, len(wn.Attrs))
			continue
		}
		for _, a := range n.Attribute {
			w := wn.Attrs[a.Name]
			switch a.Type {
			case AttrInts:
				ws, _ := w.([]any)
				if len(ws) != len(a.Ints) {
					t.Errorf("node %d attribute %s: %v, want %v", i, a.Name, a.Ints, w)
					continue
				}
				for k := range ws {
					if float64(a.Ints[k]) != ws[k].(float64) {
						t.Errorf("node %d attribute %s: %v, want %v", i, a.Name, a.Ints, w)
					}
				}
			case AttrInt:
				if wf, ok := w.(float64); !ok || float64(a.I) != wf {
					t.Errorf("node %d attribute %s: %v, want %v", i, a.Name, a.I, w)
				}
			case AttrFloat:
				if wf, ok := w.(float64); !ok || float64(a.F) != wf {
					t.Errorf("node %d attribute %s: %v, want %v", i, a.Name, a.F, w)
				}
			}
		}
	}
	if len(g.Initializer) != len(want.Initializers) {
		t.Fatalf("%d initializers, want %d", len(g.Initializer), len(want.Initializers))
	}
	for i, wi := range want.Initializers {
		x := g.Initializer[i]
		if x.Name != wi.Name || x.DataType != wi.DataType || !equalInt64s(x.Dims, wi.Dims) {
			t.Errorf("initializer %d: %s %d %v, want %s %d %v", i, x.Name, x.DataType, x.Dims, wi.Name, wi.DataType, wi.Dims)
			continue
		}
		v, err := x.Float32s()
		if err != nil {
			t.Errorf("initializer %s: %v", x.Name, err)
			continue
		}
		var sum, sumAbs float64
		for _, f := range v {
			sum += float64(f)
			sumAbs += math.Abs(float64(f))
		}
		// The values are exact; only the summation order may differ
		// from numpy's pairwise sum.
		tol := 1e-9 * math.Max(1, sumAbs)
		if math.Abs(sum-wi.Sum) > tol || math.Abs(sumAbs-wi.SumAbs) > tol ||
			float64(v[0]) != wi.First || float64(v[len(v)-1]) != wi.Last {
			t.Errorf("initializer %s: sum %v sum|.| %v first %v last %v, want %v %v %v %v",
				x.Name, sum, sumAbs, v[0], v[len(v)-1], wi.Sum, wi.SumAbs, wi.First, wi.Last)
		}
	}
	checkVI := func(kind string, got []*ValueInfo, want []summaryValueInfo) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%d %s, want %d", len(got), kind, len(want))
			return
		}
		for i, w := range want {
			v := got[i]
			dims := make([]int64, len(v.Shape))
			for k, d := range v.Shape {
				dims[k] = d.Value
			}
			if v.Name != w.Name || v.ElemType != w.ElemType || !v.HasShape || !equalInt64s(dims, w.Dims) {
				t.Errorf("%s %d: %s %d %v, want %s %d %v", kind, i, v.Name, v.ElemType, dims, w.Name, w.ElemType, w.Dims)
			}
		}
	}
	checkVI("inputs", g.Input, want.Inputs)
	checkVI("outputs", g.Output, want.Outputs)

	// Decode, encode, decode is stable.
	m2, err := DecodeModel(EncodeModel(m))
	if err != nil {
		t.Fatal(err)
	}
	if d := diff(m, m2); d != "" {
		t.Fatalf("round trip differs: %s", d)
	}
}

func equalInt64s(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestDecodeRawDataAliases documents that RawData shares the input buffer.
func TestDecodeRawDataAliases(t *testing.T) {
	b := EncodeTensor(&Tensor{Dims: []int64{2}, DataType: Uint8, RawData: []byte{1, 2}})
	x, err := DecodeTensor(b)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] = 9
	if x.RawData[1] != 9 {
		t.Fatalf("RawData does not alias the input: %v", x.RawData)
	}
}

// wire assembles protobuf bytes for the error tests.
type wire []byte

func (w wire) varint(num protowire.Number, v uint64) wire {
	w = protowire.AppendTag(w, num, protowire.VarintType)
	return protowire.AppendVarint(w, v)
}

func (w wire) bytes(num protowire.Number, v []byte) wire {
	w = protowire.AppendTag(w, num, protowire.BytesType)
	return protowire.AppendBytes(w, v)
}

func (w wire) raw(v ...byte) wire { return append(w, v...) }

func TestDecodeErrors(t *testing.T) {
	node := func(attr wire) wire { return wire{}.bytes(4, []byte("Conv")).bytes(5, attr) }
	graphWith := func(g wire) []byte { return wire{}.varint(1, 7).bytes(7, g) }
	deep := wire{}.bytes(1, []byte("x"))
	for range maxGraphDepth + 1 {
		deep = wire{}.bytes(1, node(wire{}.bytes(6, deep)))
	}
	tests := []struct {
		name    string
		in      []byte
		target  error
		message string
	}{
		{
			name:    "truncated packed varint in attribute",
			in:      graphWith(wire{}.bytes(1, []byte{}).bytes(1, node(wire{}.bytes(1, []byte("a")).bytes(8, []byte{0x80})))),
			target:  ErrMalformed,
			message: "onnxpb: graph.node[1].attribute[0].ints: truncated packed varint: malformed protobuf",
		},
		{
			name:    "truncated tag",
			in:      wire{}.raw(0x80),
			target:  ErrMalformed,
			message: "onnxpb: truncated tag: malformed protobuf",
		},
		{
			name:    "truncated varint value",
			in:      wire{}.raw(0x08, 0xff),
			target:  ErrMalformed,
			message: "onnxpb: truncated varint: malformed protobuf",
		},
		{
			name:    "length beyond input",
			in:      graphWith(wire{}.raw(0x2a, 0x7f, 0x00)),
			target:  ErrMalformed,
			message: "onnxpb: graph: truncated length-delimited field: malformed protobuf",
		},
		{
			name:    "huge length",
			in:      wire{}.raw(0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f),
			target:  ErrMalformed,
			message: "onnxpb: truncated length-delimited field: malformed protobuf",
		},
		{
			name:    "float_data not a multiple of 4",
			in:      graphWith(wire{}.bytes(5, wire{}.bytes(4, []byte{1, 2, 3, 4, 5}))),
			target:  ErrMalformed,
			message: "onnxpb: graph.initializer[0].float_data: packed fixed32 length 5 is not a multiple of 4: malformed protobuf",
		},
		{
			name:    "double_data not a multiple of 8",
			in:      graphWith(wire{}.bytes(5, wire{}.bytes(10, []byte{1, 2, 3}))),
			target:  ErrMalformed,
			message: "onnxpb: graph.initializer[0].double_data: packed fixed64 length 3 is not a multiple of 8: malformed protobuf",
		},
		{
			name:    "field number zero",
			in:      wire{}.raw(0x00, 0x01),
			target:  ErrMalformed,
			message: "onnxpb: tag: invalid field number: malformed protobuf",
		},
		{
			name:    "end group without start",
			in:      wire{}.raw(0x0c),
			target:  ErrMalformed,
			message: "onnxpb: unexpected wire type 4: malformed protobuf",
		},
		{
			name:    "wire type 7",
			in:      wire{}.raw(0x0f),
			target:  ErrMalformed,
			message: "onnxpb: unexpected wire type 7: malformed protobuf",
		},
		{
			name:    "bad dim in value info",
			in:      graphWith(wire{}.bytes(11, wire{}.bytes(2, wire{}.bytes(1, wire{}.bytes(2, wire{}.bytes(1, wire{}.raw(0x08))))))),
			target:  ErrMalformed,
			message: "onnxpb: graph.input[0].type.tensor_type.shape.dim[0]: truncated varint: malformed protobuf",
		},
		{
			name:    "external data",
			in:      graphWith(wire{}.bytes(5, wire{}.bytes(8, []byte("w")).varint(14, 1))),
			target:  ErrExternalData,
			message: `onnxpb: graph.initializer[0]: tensor "w": ` + ErrExternalData.Error(),
		},
		{
			name:    "external data in attribute tensor",
			in:      graphWith(wire{}.bytes(1, node(wire{}.bytes(5, wire{}.varint(14, 1))))),
			target:  ErrExternalData,
			message: `onnxpb: graph.node[0].attribute[0].t: tensor "": ` + ErrExternalData.Error(),
		},
		{
			name:    "graphs nested too deep",
			in:      graphWith(deep),
			target:  ErrMalformed,
			message: "graphs nested deeper than 64: malformed protobuf",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := DecodeModel(tt.in)
			if err == nil {
				t.Fatalf("DecodeModel succeeded: %+v", m)
			}
			if !errors.Is(err, tt.target) {
				t.Errorf("error %q does not wrap %v", err, tt.target)
			}
			if !strings.HasSuffix(err.Error(), tt.message) {
				t.Errorf("error %q\n   want suffix %q", err, tt.message)
			}
		})
	}
}

func TestDecodeTensorErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		target  error
		message string
	}{
		{"truncated dims", wire{}.raw(0x08), ErrMalformed, "onnxpb: tensor: truncated varint: malformed protobuf"},
		{"bad packed dims", wire{}.bytes(1, []byte{0xff}), ErrMalformed, "onnxpb: tensor.dims: truncated packed varint: malformed protobuf"},
		{"external", wire{}.bytes(8, []byte("t")).varint(14, 1), ErrExternalData, `onnxpb: tensor: tensor "t": ` + ErrExternalData.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeTensor(tt.in)
			if !errors.Is(err, tt.target) || err.Error() != tt.message {
				t.Fatalf("error %v\nwant %q wrapping %v", err, tt.message, tt.target)
			}
		})
	}
}

// TestDecodeSkipsUnknown checks that unknown fields of every wire type,
// groups included, and known fields with an unexpected wire type are
// skipped, and that packed and unpacked repeated fields both decode.
func TestDecodeSkipsUnknown(t *testing.T) {
	group := protowire.AppendTag(nil, 99, protowire.StartGroupType)
	group = protowire.AppendTag(group, 1, protowire.VarintType)
	group = protowire.AppendVarint(group, 5)
	group = protowire.AppendTag(group, 99, protowire.EndGroupType)
	attr := wire{}.bytes(1, []byte("pads")).
		varint(8, 1).                                               // unpacked
		bytes(8, protowire.AppendVarint([]byte{2}, uint64(1<<40))). // packed
		varint(8, 3).
		raw(protowire.AppendTag(nil, 7, protowire.Fixed32Type)...).raw(0, 0, 0x80, 0x3f). // unpacked float
		bytes(7, []byte{0, 0, 0, 0x40}).                                                  // packed float
		varint(20, uint64(AttrInts)).
		varint(1, 5).                           // name with the wrong wire type: skipped
		bytes(21, []byte("ref")).               // ref_attr_name: unknown here
		raw(group...).                          // a group
		raw(0x9d, 0x06, 1, 2, 3, 4).            // field 99 fixed32
		raw(0x99, 0x06, 1, 2, 3, 4, 5, 6, 7, 8) // field 99 fixed64
	g := wire{}.bytes(1, wire{}.bytes(4, []byte("Pad")).bytes(5, attr)).bytes(14, []byte("annotation"))
	b := wire{}.varint(1, 8).bytes(14, []byte("metadata")).bytes(7, g)
	m, err := DecodeModel(b)
	if err != nil {
		t.Fatal(err)
	}
	a := m.Graph.Nodes[0].Attribute[0]
	want := &Attribute{Name: "pads", Type: AttrInts, Ints: []int64{1, 2, 1 << 40, 3}, Floats: []float32{1, 2}}
	if d := diff(want, a); d != "" {
		t.Fatalf("attribute: %s", d)
	}
}

// TestDecodeMergesRepeatedMessage checks protobuf's merge semantics for a
// singular message field that appears twice.
func TestDecodeMergesRepeatedMessage(t *testing.T) {
	n1 := wire{}.bytes(1, wire{}.bytes(4, []byte("A")))
	n2 := wire{}.bytes(1, wire{}.bytes(4, []byte("B"))).bytes(2, []byte("g"))
	m, err := DecodeModel(wire{}.bytes(7, n1).bytes(7, n2))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Graph.Nodes) != 2 || m.Graph.Nodes[1].OpType != "B" || m.Graph.Name != "g" {
		t.Fatalf("graph not merged: %+v", m.Graph)
	}
}

// TestDecodeTruncations decodes every prefix of a valid model: each must
// either decode or fail with ErrMalformed, never panic.
func TestDecodeTruncations(t *testing.T) {
	b := EncodeModel(handBuiltModel())
	fails := 0
	for i := range len(b) {
		_, err := DecodeModel(b[:i])
		if err != nil {
			fails++
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("prefix %d: error %v does not wrap ErrMalformed", i, err)
			}
		}
	}
	if fails == 0 {
		t.Fatal("no prefix failed to decode")
	}
}
