package onnxpb

import (
	"fmt"
	"math"
	"reflect"
)

// diff returns a description of the first difference between a and b, or
// "" when they are equal. Floats are compared bit for bit (so NaNs with the
// same payload are equal), and a nil slice equals an empty one, because
// the wire format cannot tell them apart.
func diff(a, b any) string {
	return diffValue("", reflect.ValueOf(a), reflect.ValueOf(b))
}

func diffValue(path string, a, b reflect.Value) string {
	if a.IsValid() != b.IsValid() {
		return fmt.Sprintf("%s: validity differs", path)
	}
	if !a.IsValid() {
		return ""
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return fmt.Sprintf("%s: nil %v vs %v", path, a.IsNil(), b.IsNil())
			}
			return ""
		}
		return diffValue(path, a.Elem(), b.Elem())
	case reflect.Struct:
		for i := range a.NumField() {
			if d := diffValue(path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Slice:
		if a.Len() != b.Len() {
			return fmt.Sprintf("%s: len %d vs %d", path, a.Len(), b.Len())
		}
		for i := range a.Len() {
			if d := diffValue(fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Float32:
		if math.Float32bits(float32(a.Float())) != math.Float32bits(float32(b.Float())) {
			return fmt.Sprintf("%s: %v vs %v", path, a.Float(), b.Float())
		}
		return ""
	case reflect.Float64:
		if math.Float64bits(a.Float()) != math.Float64bits(b.Float()) {
			return fmt.Sprintf("%s: %v vs %v", path, a.Float(), b.Float())
		}
		return ""
	default:
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			return fmt.Sprintf("%s: %v vs %v", path, a.Interface(), b.Interface())
		}
		return ""
	}
}

// handBuiltModel returns a model that sets every field the codec knows,
// with awkward values: negative ints, NaN and -0 floats, empty strings in
// repeated fields, symbolic and unknown dims, a nested graph.
func handBuiltModel() *Model {
	body := &Graph{
		Name: "body",
		Nodes: []*Node{{
			OpType: "Identity", Input: []string{"x"}, Output: []string{"y"},
		}},
		Input:  []*ValueInfo{{Name: "x", ElemType: Float, HasShape: true}},
		Output: []*ValueInfo{{Name: "y", ElemType: Float}},
	}
	return &Model{
		IRVersion:       8,
		OpsetImports:    []OperatorSetID{{Domain: "", Version: 17}, {Domain: "com.microsoft", Version: 1}},
		ProducerName:    "tlserve-test",
		ProducerVersion: "0.1",
		Domain:          "org.tlserve",
		ModelVersion:    -3,
		DocString:       "hand built",
		Graph: &Graph{
			Name:      "main",
			DocString: "graph doc",
			Nodes: []*Node{
				{
					Name: "conv", OpType: "Conv", Domain: "", DocString: "d",
					Input:  []string{"data", "w", ""},
					Output: []string{"out"},
					Attribute: []*Attribute{
						{Name: "strides", Type: AttrInts, Ints: []int64{2, -2, math.MaxInt64, math.MinInt64}},
						{Name: "alpha", Type: AttrFloat, F: float32(math.Copysign(0, -1))},
						{Name: "zero", Type: AttrFloat},
						{Name: "izero", Type: AttrInt},
						{Name: "axis", Type: AttrInt, I: -1},
						{Name: "mode", Type: AttrString, S: []byte("constant")},
						{Name: "scales", Type: AttrFloats, Floats: []float32{1.5, float32(math.NaN()), float32(math.Inf(-1))}},
						{Name: "names", Type: AttrStrings, Strings: [][]byte{[]byte("a"), {}, []byte("c")}},
						{Name: "value", Type: AttrTensor, T: &Tensor{Dims: []int64{2}, DataType: Int64, Int64Data: []int64{-1, 1 << 40}}},
						{Name: "body", Type: AttrGraph, G: body},
					},
				},
				{OpType: "Relu", Input: []string{"out"}, Output: []string{"y"}},
			},
			Initializer: []*Tensor{
				{Name: "w", Dims: []int64{2, 1, 1, 1}, DataType: Float, FloatData: []float32{1, -2.5}},
				{Name: "raw", Dims: []int64{3}, DataType: Float16, RawData: []byte{0, 0x3c, 0, 0xc0, 0xff, 0x7b}},
				{Name: "empty_raw", Dims: []int64{0}, DataType: Float, RawData: []byte{}},
				{Name: "i32", Dims: []int64{3}, DataType: Int32, Int32Data: []int32{-7, 0, math.MaxInt32}},
				{Name: "dbl", Dims: []int64{2}, DataType: Double, DoubleData: []float64{math.Pi, -1e300}},
				{Name: "u64", Dims: []int64{2}, DataType: Uint64, Uint64Data: []uint64{math.MaxUint64, 3}},
				{Name: "str", Dims: []int64{2}, DataType: String, StringData: [][]byte{[]byte("x"), {}}},
				{Name: "scalar", DataType: Int64, Int64Data: []int64{42}},
			},
			Input: []*ValueInfo{
				{Name: "data", ElemType: Float, HasShape: true, Shape: []Dim{{Value: -1, Param: "batch"}, {Value: 3}, {Value: 224}, {Value: 224}}},
				{Name: "unknown_dim", ElemType: Int64, HasShape: true, Shape: []Dim{{Value: -1}, {Value: 0}}},
				{Name: "scalar_shape", ElemType: Float16, HasShape: true},
				{Name: "no_type"},
			},
			Output:    []*ValueInfo{{Name: "y", ElemType: Float, HasShape: true, Shape: []Dim{{Value: -1, Param: "batch"}, {Value: 1000}}}},
			ValueInfo: []*ValueInfo{{Name: "out", ElemType: Float}},
		},
	}
}
