package onnxpb

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// The encoder writes fields in field-number order, as protoc-generated
// code does, so that a model decoded and encoded again is byte-identical
// to the original when it holds only the fields modelled here. Each
// message's size is computed before it is written, and the output buffer
// is allocated once.
//
// Repeated scalars are packed where onnx.proto declares [packed = true]
// (the TensorProto data fields) and unpacked otherwise (dims, floats,
// ints), again as protoc does for proto2. Readers accept both.

// EncodeModel returns the protobuf encoding of m, a valid .onnx file when
// m is a valid model. Nil entries in slices are written as empty messages.
func EncodeModel(m *Model) []byte {
	if m == nil {
		return []byte{}
	}
	return appendModel(make([]byte, 0, sizeModel(m)), m)
}

// EncodeTensor returns the protobuf encoding of t as a bare TensorProto,
// the format of the ONNX test-data .pb files.
func EncodeTensor(t *Tensor) []byte {
	if t == nil {
		return []byte{}
	}
	return appendTensor(make([]byte, 0, sizeTensor(t)), t)
}

// Size helpers. Each returns the size of the complete field, tag included.

func sizeVarintField(num protowire.Number, v uint64) int {
	return protowire.SizeTag(num) + protowire.SizeVarint(v)
}

func sizeBytesField(num protowire.Number, n int) int {
	return protowire.SizeTag(num) + protowire.SizeBytes(n)
}

func sizeStringField(num protowire.Number, s string) int {
	if s == "" {
		return 0
	}
	return sizeBytesField(num, len(s))
}

func sizeInt64sPacked[T int32 | int64 | uint64](v []T) int {
	n := 0
	for _, x := range v {
		n += protowire.SizeVarint(uint64(x))
	}
	return n
}

// Append helpers.

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendStringField(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendBytesField(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// appendMessageHeader writes the tag and length of an embedded message of
// n bytes, which the caller writes next.
func appendMessageHeader(b []byte, num protowire.Number, n int) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendVarint(b, uint64(n))
}

func appendPackedVarints[T int32 | int64 | uint64](b []byte, num protowire.Number, v []T) []byte {
	if len(v) == 0 {
		return b
	}
	b = appendMessageHeader(b, num, sizeInt64sPacked(v))
	for _, x := range v {
		b = protowire.AppendVarint(b, uint64(x))
	}
	return b
}

func sizePackedVarints[T int32 | int64 | uint64](num protowire.Number, v []T) int {
	if len(v) == 0 {
		return 0
	}
	return sizeBytesField(num, sizeInt64sPacked(v))
}

// Model.

func sizeModel(m *Model) int {
	n := 0
	if m.IRVersion != 0 {
		n += sizeVarintField(1, uint64(m.IRVersion))
	}
	n += sizeStringField(2, m.ProducerName)
	n += sizeStringField(3, m.ProducerVersion)
	n += sizeStringField(4, m.Domain)
	if m.ModelVersion != 0 {
		n += sizeVarintField(5, uint64(m.ModelVersion))
	}
	n += sizeStringField(6, m.DocString)
	if m.Graph != nil {
		n += sizeBytesField(7, sizeGraph(m.Graph))
	}
	for i := range m.OpsetImports {
		n += sizeBytesField(8, sizeOpset(&m.OpsetImports[i]))
	}
	return n
}

func appendModel(b []byte, m *Model) []byte {
	if m.IRVersion != 0 {
		b = appendVarintField(b, 1, uint64(m.IRVersion))
	}
	b = appendStringField(b, 2, m.ProducerName)
	b = appendStringField(b, 3, m.ProducerVersion)
	b = appendStringField(b, 4, m.Domain)
	if m.ModelVersion != 0 {
		b = appendVarintField(b, 5, uint64(m.ModelVersion))
	}
	b = appendStringField(b, 6, m.DocString)
	if m.Graph != nil {
		b = appendMessageHeader(b, 7, sizeGraph(m.Graph))
		b = appendGraph(b, m.Graph)
	}
	for i := range m.OpsetImports {
		o := &m.OpsetImports[i]
		b = appendMessageHeader(b, 8, sizeOpset(o))
		b = appendOpset(b, o)
	}
	return b
}

// The opset domain is written even when empty, as onnx.helper does, so
// that files it wrote re-encode byte for byte.
func sizeOpset(o *OperatorSetID) int {
	n := sizeBytesField(1, len(o.Domain))
	if o.Version != 0 {
		n += sizeVarintField(2, uint64(o.Version))
	}
	return n
}

func appendOpset(b []byte, o *OperatorSetID) []byte {
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, o.Domain)
	if o.Version != 0 {
		b = appendVarintField(b, 2, uint64(o.Version))
	}
	return b
}

// Graph.

func sizeGraph(g *Graph) int {
	if g == nil {
		return 0
	}
	n := 0
	for _, nd := range g.Nodes {
		n += sizeBytesField(1, sizeNode(nd))
	}
	n += sizeStringField(2, g.Name)
	for _, t := range g.Initializer {
		n += sizeBytesField(5, sizeTensor(t))
	}
	n += sizeStringField(10, g.DocString)
	for _, v := range g.Input {
		n += sizeBytesField(11, sizeValueInfo(v))
	}
	for _, v := range g.Output {
		n += sizeBytesField(12, sizeValueInfo(v))
	}
	for _, v := range g.ValueInfo {
		n += sizeBytesField(13, sizeValueInfo(v))
	}
	return n
}

func appendGraph(b []byte, g *Graph) []byte {
	if g == nil {
		return b
	}
	for _, nd := range g.Nodes {
		b = appendMessageHeader(b, 1, sizeNode(nd))
		b = appendNode(b, nd)
	}
	b = appendStringField(b, 2, g.Name)
	for _, t := range g.Initializer {
		b = appendMessageHeader(b, 5, sizeTensor(t))
		b = appendTensor(b, t)
	}
	b = appendStringField(b, 10, g.DocString)
	for _, v := range g.Input {
		b = appendMessageHeader(b, 11, sizeValueInfo(v))
		b = appendValueInfo(b, v)
	}
	for _, v := range g.Output {
		b = appendMessageHeader(b, 12, sizeValueInfo(v))
		b = appendValueInfo(b, v)
	}
	for _, v := range g.ValueInfo {
		b = appendMessageHeader(b, 13, sizeValueInfo(v))
		b = appendValueInfo(b, v)
	}
	return b
}

// Node.

func sizeNode(nd *Node) int {
	if nd == nil {
		return 0
	}
	n := 0
	for _, s := range nd.Input {
		n += sizeBytesField(1, len(s))
	}
	for _, s := range nd.Output {
		n += sizeBytesField(2, len(s))
	}
	n += sizeStringField(3, nd.Name)
	n += sizeStringField(4, nd.OpType)
	for _, a := range nd.Attribute {
		n += sizeBytesField(5, sizeAttribute(a))
	}
	n += sizeStringField(6, nd.DocString)
	n += sizeStringField(7, nd.Domain)
	return n
}

func appendNode(b []byte, nd *Node) []byte {
	if nd == nil {
		return b
	}
	// Repeated strings are written even when empty: an empty input name
	// marks an omitted optional input.
	for _, s := range nd.Input {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	for _, s := range nd.Output {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	b = appendStringField(b, 3, nd.Name)
	b = appendStringField(b, 4, nd.OpType)
	for _, a := range nd.Attribute {
		b = appendMessageHeader(b, 5, sizeAttribute(a))
		b = appendAttribute(b, a)
	}
	b = appendStringField(b, 6, nd.DocString)
	b = appendStringField(b, 7, nd.Domain)
	return b
}

// Attribute. The value field matching Type is written even when it holds
// the zero value, because the ONNX checker requires exactly one value
// field to be present.

func sizeAttribute(a *Attribute) int {
	if a == nil {
		return 0
	}
	n := sizeStringField(1, a.Name)
	if a.Type == AttrFloat || math.Float32bits(a.F) != 0 {
		n += protowire.SizeTag(2) + protowire.SizeFixed32()
	}
	if a.Type == AttrInt || a.I != 0 {
		n += sizeVarintField(3, uint64(a.I))
	}
	if a.Type == AttrString || a.S != nil {
		n += sizeBytesField(4, len(a.S))
	}
	if a.T != nil {
		n += sizeBytesField(5, sizeTensor(a.T))
	}
	if a.G != nil {
		n += sizeBytesField(6, sizeGraph(a.G))
	}
	n += len(a.Floats) * (protowire.SizeTag(7) + protowire.SizeFixed32())
	for _, v := range a.Ints {
		n += sizeVarintField(8, uint64(v))
	}
	for _, s := range a.Strings {
		n += sizeBytesField(9, len(s))
	}
	if a.Type != 0 {
		n += sizeVarintField(20, uint64(a.Type))
	}
	return n
}

func appendAttribute(b []byte, a *Attribute) []byte {
	if a == nil {
		return b
	}
	b = appendStringField(b, 1, a.Name)
	if a.Type == AttrFloat || math.Float32bits(a.F) != 0 {
		b = protowire.AppendTag(b, 2, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.F))
	}
	if a.Type == AttrInt || a.I != 0 {
		b = appendVarintField(b, 3, uint64(a.I))
	}
	if a.Type == AttrString || a.S != nil {
		b = appendBytesField(b, 4, a.S)
	}
	if a.T != nil {
		b = appendMessageHeader(b, 5, sizeTensor(a.T))
		b = appendTensor(b, a.T)
	}
	if a.G != nil {
		b = appendMessageHeader(b, 6, sizeGraph(a.G))
		b = appendGraph(b, a.G)
	}
	for _, v := range a.Floats {
		b = protowire.AppendTag(b, 7, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(v))
	}
	for _, v := range a.Ints {
		b = appendVarintField(b, 8, uint64(v))
	}
	for _, s := range a.Strings {
		b = appendBytesField(b, 9, s)
	}
	if a.Type != 0 {
		b = appendVarintField(b, 20, uint64(a.Type))
	}
	return b
}

// Tensor.

func sizeTensor(t *Tensor) int {
	if t == nil {
		return 0
	}
	n := 0
	for _, d := range t.Dims {
		n += sizeVarintField(1, uint64(d))
	}
	if t.DataType != 0 {
		n += sizeVarintField(2, uint64(t.DataType))
	}
	if len(t.FloatData) > 0 {
		n += sizeBytesField(4, 4*len(t.FloatData))
	}
	n += sizePackedVarints(5, t.Int32Data)
	for _, s := range t.StringData {
		n += sizeBytesField(6, len(s))
	}
	n += sizePackedVarints(7, t.Int64Data)
	n += sizeStringField(8, t.Name)
	if t.RawData != nil {
		n += sizeBytesField(9, len(t.RawData))
	}
	if len(t.DoubleData) > 0 {
		n += sizeBytesField(10, 8*len(t.DoubleData))
	}
	n += sizePackedVarints(11, t.Uint64Data)
	if t.DataLocation != 0 {
		n += sizeVarintField(14, uint64(t.DataLocation))
	}
	return n
}

func appendTensor(b []byte, t *Tensor) []byte {
	if t == nil {
		return b
	}
	for _, d := range t.Dims {
		b = appendVarintField(b, 1, uint64(d))
	}
	if t.DataType != 0 {
		b = appendVarintField(b, 2, uint64(t.DataType))
	}
	if len(t.FloatData) > 0 {
		b = appendMessageHeader(b, 4, 4*len(t.FloatData))
		for _, v := range t.FloatData {
			b = protowire.AppendFixed32(b, math.Float32bits(v))
		}
	}
	b = appendPackedVarints(b, 5, t.Int32Data)
	for _, s := range t.StringData {
		b = appendBytesField(b, 6, s)
	}
	b = appendPackedVarints(b, 7, t.Int64Data)
	b = appendStringField(b, 8, t.Name)
	if t.RawData != nil {
		b = appendBytesField(b, 9, t.RawData)
	}
	if len(t.DoubleData) > 0 {
		b = appendMessageHeader(b, 10, 8*len(t.DoubleData))
		for _, v := range t.DoubleData {
			b = protowire.AppendFixed64(b, math.Float64bits(v))
		}
	}
	b = appendPackedVarints(b, 11, t.Uint64Data)
	if t.DataLocation != 0 {
		b = appendVarintField(b, 14, uint64(t.DataLocation))
	}
	return b
}

// ValueInfo. The type is written when an element type or a shape is set.

func hasType(v *ValueInfo) bool { return v.ElemType != 0 || v.HasShape || len(v.Shape) > 0 }

func sizeTensorType(v *ValueInfo) int {
	n := 0
	if v.ElemType != 0 {
		n += sizeVarintField(1, uint64(v.ElemType))
	}
	if v.HasShape || len(v.Shape) > 0 {
		n += sizeBytesField(2, sizeShape(v.Shape))
	}
	return n
}

func sizeShape(dims []Dim) int {
	n := 0
	for i := range dims {
		n += sizeBytesField(1, sizeDim(&dims[i]))
	}
	return n
}

func sizeDim(d *Dim) int {
	switch {
	case d.Param != "":
		return sizeStringField(2, d.Param)
	case d.Value != -1:
		return sizeVarintField(1, uint64(d.Value))
	}
	return 0
}

func sizeValueInfo(v *ValueInfo) int {
	if v == nil {
		return 0
	}
	n := sizeStringField(1, v.Name)
	if hasType(v) {
		n += sizeBytesField(2, sizeBytesField(1, sizeTensorType(v)))
	}
	return n
}

func appendValueInfo(b []byte, v *ValueInfo) []byte {
	if v == nil {
		return b
	}
	b = appendStringField(b, 1, v.Name)
	if !hasType(v) {
		return b
	}
	tt := sizeTensorType(v)
	b = appendMessageHeader(b, 2, sizeBytesField(1, tt))
	b = appendMessageHeader(b, 1, tt)
	if v.ElemType != 0 {
		b = appendVarintField(b, 1, uint64(v.ElemType))
	}
	if v.HasShape || len(v.Shape) > 0 {
		b = appendMessageHeader(b, 2, sizeShape(v.Shape))
		for i := range v.Shape {
			d := &v.Shape[i]
			b = appendMessageHeader(b, 1, sizeDim(d))
			switch {
			case d.Param != "":
				b = appendStringField(b, 2, d.Param)
			case d.Value != -1:
				b = appendVarintField(b, 1, uint64(d.Value))
			}
		}
	}
	return b
}
