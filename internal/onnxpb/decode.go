package onnxpb

import (
	"errors"
	"io"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// ErrMalformed is wrapped by every decoding error caused by bytes that are
// not a valid protobuf encoding of the expected message.
var ErrMalformed = errors.New("malformed protobuf")

// ErrExternalData is wrapped by the decoding error returned for a tensor
// whose data lives in a separate file (data_location EXTERNAL), which
// tlserve does not load.
var ErrExternalData = errors.New("tensor data stored in an external file is not supported")

// maxGraphDepth bounds the nesting of graphs inside graph attributes. Real
// models nest a handful of levels; the limit keeps crafted input from
// recursing once per few bytes.
const maxGraphDepth = 64

// pathElem is one step of the field path reported in a decoding error.
type pathElem struct {
	name string
	idx  int // -1 for a singular field
}

// decodeError carries the path to the field that failed. The path is built
// innermost first while the error travels up the call stack, so decoding
// valid input never pays for it.
type decodeError struct {
	path []pathElem // innermost first
	msg  string
	err  error
}

func (e *decodeError) Error() string {
	var sb strings.Builder
	sb.WriteString("onnxpb: ")
	for i := len(e.path) - 1; i >= 0; i-- {
		p := e.path[i]
		sb.WriteString(p.name)
		if p.idx >= 0 {
			sb.WriteByte('[')
			sb.WriteString(strconv.Itoa(p.idx))
			sb.WriteByte(']')
		}
		if i > 0 {
			sb.WriteByte('.')
		}
	}
	if len(e.path) > 0 {
		sb.WriteString(": ")
	}
	if e.msg != "" {
		sb.WriteString(e.msg)
		sb.WriteString(": ")
	}
	sb.WriteString(e.err.Error())
	return sb.String()
}

func (e *decodeError) Unwrap() error { return e.err }

func malformed(msg string) error { return &decodeError{msg: msg, err: ErrMalformed} }

// at prefixes the path of a decodeError with the field name[idx] (idx < 0
// for a singular field).
func at(err error, name string, idx int) error {
	if de, ok := err.(*decodeError); ok {
		de.path = append(de.path, pathElem{name, idx})
	}
	return err
}

// wireError describes a protowire failure code n while reading what.
func wireError(what string, n int) error {
	err := protowire.ParseError(n)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return malformed("truncated " + what)
	}
	// protowire's messages carry a "proto:" prefix with a deliberately
	// unstable space; keep only the description.
	msg := strings.TrimLeft(strings.TrimPrefix(err.Error(), "proto:"), " \u00a0")
	return malformed(what + ": " + msg)
}

// field is one decoded key/value pair of a message.
type field struct {
	num protowire.Number
	typ protowire.Type
	v   uint64 // varint, fixed32 and fixed64 values
	b   []byte // length-delimited values, aliasing the input
}

// next reads the field at the start of b and returns it with its encoded
// length. Groups are skipped whole and reported with typ StartGroupType.
func next(b []byte) (field, int, error) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return field{}, 0, wireError("tag", n)
	}
	f := field{num: num, typ: typ}
	rest := b[n:]
	var m int
	switch typ {
	case protowire.VarintType:
		f.v, m = protowire.ConsumeVarint(rest)
		if m < 0 {
			return field{}, 0, wireError("varint", m)
		}
	case protowire.Fixed32Type:
		var v uint32
		v, m = protowire.ConsumeFixed32(rest)
		if m < 0 {
			return field{}, 0, wireError("fixed32", m)
		}
		f.v = uint64(v)
	case protowire.Fixed64Type:
		f.v, m = protowire.ConsumeFixed64(rest)
		if m < 0 {
			return field{}, 0, wireError("fixed64", m)
		}
	case protowire.BytesType:
		f.b, m = protowire.ConsumeBytes(rest)
		if m < 0 {
			return field{}, 0, wireError("length-delimited field", m)
		}
	case protowire.StartGroupType:
		m = protowire.ConsumeFieldValue(num, typ, rest)
		if m < 0 {
			return field{}, 0, wireError("group", m)
		}
	default:
		return field{}, 0, malformed("unexpected wire type " + strconv.Itoa(int(typ)))
	}
	return f, n + m, nil
}

// DecodeModel decodes a serialized onnx.ModelProto (the contents of a .onnx
// file). Tensor.RawData, Tensor.StringData, Attribute.S and
// Attribute.Strings alias b, so b must not be modified while the model is
// in use. Unknown fields are skipped.
//
// Returns an error wrapping ErrMalformed, naming the path of the bad field,
// when b is not a valid encoding, and one wrapping ErrExternalData when a
// tensor keeps its data in an external file.
func DecodeModel(b []byte) (*Model, error) {
	m := &Model{}
	if err := decodeModel(m, b); err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeTensor decodes a serialized onnx.TensorProto, such as the
// input_*.pb and output_*.pb files of the ONNX test suites. Byte fields
// alias b as in DecodeModel, and errors are as for DecodeModel.
func DecodeTensor(b []byte) (*Tensor, error) {
	t := &Tensor{}
	if err := decodeTensor(t, b); err != nil {
		return nil, at(err, "tensor", -1)
	}
	return t, nil
}

func decodeModel(m *Model, b []byte) error {
	var nOpset int
	for len(b) > 0 {
		f, n, err := next(b)
		if err != nil {
			return err
		}
		b = b[n:]
		switch f.num {
		case 1:
			if f.typ == protowire.VarintType {
				m.IRVersion = int64(f.v)
			}
		case 2:
			if f.typ == protowire.BytesType {
				m.ProducerName = string(f.b)
			}
		case 3:
			if f.typ == protowire.BytesType {
				m.ProducerVersion = string(f.b)
			}
		case 4:
			if f.typ == protowire.BytesType {
				m.Domain = string(f.b)
			}
		case 5:
			if f.typ == protowire.VarintType {
				m.ModelVersion = int64(f.v)
			}
		case 6:
			if f.typ == protowire.BytesType {
				m.DocString = string(f.b)
			}
		case 7:
			if f.typ == protowire.BytesType {
				if m.Graph == nil {
					m.Graph = &Graph{}
				}
				if err := decodeGraph(m.Graph, f.b, 1); err != nil {
					return at(err, "graph", -1)
				}
			}
		case 8:
			if f.typ == protowire.BytesType {
				var o OperatorSetID
				if err := decodeOpset(&o, f.b); err != nil {
					return at(err, "opset_import", nOpset)
				}
				m.OpsetImports = append(m.OpsetImports, o)
				nOpset++
			}
		}
	}
	return nil
}

func decodeOpset(o *OperatorSetID, b []byte) error {
	for len(b) > 0 {
		f, n, err := next(b)
		if err != nil {
			return err
		}
		b = b[n:]
		switch {
		case f.num == 1 && f.typ == protowire.BytesType:
			o.Domain = string(f.b)
		case f.num == 2 && f.typ == protowire.VarintType:
			o.Version = int64(f.v)
		}
	}
	return nil
}

func decodeGraph(g *Graph, b []byte, depth int) error {
	if depth > maxGraphDepth {
		return malformed("graphs nested deeper than " + strconv.Itoa(maxGraphDepth))
	}
	for len(b) > 0 {
		f, n, err := next(b)
		if err != nil {
			return err
		}
		b = b[n:]
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case 1:
			nd := &Node{}
			if err := decodeNode(nd, f.b, depth); err != nil {
				return at(err, "node", len(g.Nodes))
			}
			g.Nodes = append(g.Nodes, nd)
		case 2:
			g.Name = string(f.b)
		case 5:
			t := &Tensor{}
			if err := decodeTensor(t, f.b); err != nil {
				return at(err, "initializer", len(g.Initializer))
			}
			g.Initializer = append(g.Initializer, t)
		case 10:
			g.DocString = string(f.b)
		case 11:
			v := &ValueInfo{}
			if err := decodeValueInfo(v, f.b); err != nil {
				return at(err, "input", len(g.Input))
			}
			g.Input = append(g.Input, v)
		case 12:
			v := &ValueInfo{}
			if err := decodeValueInfo(v, f.b); err != nil {
				return at(err, "output", len(g.Output))
			}
			g.Output = append(g.Output, v)
		case 13:
			v := &ValueInfo{}
			if err := decodeValueInfo(v, f.b); err != nil {
				return at(err, "value_info", len(g.ValueInfo))
			}
			g.ValueInfo = append(g.ValueInfo, v)
		}
	}
	return nil
}

func decodeNode(nd *Node, b []byte, depth int) error {
	for len(b) > 0 {
		f, n, err := next(b)
		if err != nil {
			return err
		}
		b = b[n:]
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case 1:
			nd.Input = append(nd.Input, string(f.b))
		case 2:
			nd.Output = append(nd.Output, string(f.b))
		case 3:
			nd.Name = string(f.b)
		case 4:
			nd.OpType = string(f.b)
		case 5:
			a := &Attribute{}
			if err := decodeAttribute(a, f.b, depth); err != nil {
				return at(err, "attribute", len(nd.Attribute))
			}
			nd.Attribute = append(nd.Attribute, a)
		case 6:
			nd.DocString = string(f.b)
		case 7:
			nd.Domain = string(f.b)
		}
	}
	return nil
}

func decodeAttribute(a *Attribute, b []byte, depth int) error {
	for len(b) > 0 {
		f, n, err := next(b)
		if err != nil {
			return err
		}
		b = b[n:]
		switch f.num {
		case 1:
			if f.typ == protowire.BytesType {
				a.Name = string(f.b)
			}
		case 2:
			if f.typ == protowire.Fixed32Type {
				a.F = float32frombits(uint32(f.v))
			}
		case 3:
			if f.typ == protowire.VarintType {
				a.I = int64(f.v)
			}
		case 4:
			if f.typ == protowire.BytesType {
				a.S = f.b
			}
		case 5:
			if f.typ == protowire.BytesType {
				if a.T == nil {
					a.T = &Tensor{}
				}
				if err := decodeTensor(a.T, f.b); err != nil {
					return at(err, "t", -1)
				}
			}
		case 6:
			if f.typ == protowire.BytesType {
				if a.G == nil {
					a.G = &Graph{}
				}
				if err := decodeGraph(a.G, f.b, depth+1); err != nil {
					return at(err, "g", -1)
				}
			}
		case 7:
			if a.Floats, err = appendFloats(a.Floats, f); err != nil {
				return at(err, "floats", -1)
			}
		case 8:
			if a.Ints, err = appendInt64s(a.Ints, f); err != nil {
				return at(err, "ints", -1)
			}
		case 9:
			if f.typ == protowire.BytesType {
				a.Strings = append(a.Strings, f.b)
			}
		case 20:
			if f.typ == protowire.VarintType {
				a.Type = int32(f.v)
			}
		}
	}
	return nil
}

func decodeTensor(t *Tensor, b []byte) error {
	for len(b) > 0 {
		f, n, err := next(b)
		if err != nil {
			return err
		}
		b = b[n:]
		switch f.num {
		case 1:
			if t.Dims, err = appendInt64s(t.Dims, f); err != nil {
				return at(err, "dims", -1)
			}
		case 2:
			if f.typ == protowire.VarintType {
				t.DataType = int32(f.v)
			}
		case 4:
			if t.FloatData, err = appendFloats(t.FloatData, f); err != nil {
				return at(err, "float_data", -1)
			}
		case 5:
			if t.Int32Data, err = appendInt32s(t.Int32Data, f); err != nil {
				return at(err, "int32_data", -1)
			}
		case 6:
			if f.typ == protowire.BytesType {
				t.StringData = append(t.StringData, f.b)
			}
		case 7:
			if t.Int64Data, err = appendInt64s(t.Int64Data, f); err != nil {
				return at(err, "int64_data", -1)
			}
		case 8:
			if f.typ == protowire.BytesType {
				t.Name = string(f.b)
			}
		case 9:
			if f.typ == protowire.BytesType {
				t.RawData = f.b
			}
		case 10:
			if t.DoubleData, err = appendFloat64s(t.DoubleData, f); err != nil {
				return at(err, "double_data", -1)
			}
		case 11:
			if t.Uint64Data, err = appendUint64s(t.Uint64Data, f); err != nil {
				return at(err, "uint64_data", -1)
			}
		case 14:
			if f.typ == protowire.VarintType {
				t.DataLocation = int32(f.v)
			}
		}
	}
	if t.DataLocation == 1 {
		return &decodeError{msg: "tensor " + strconv.Quote(t.Name), err: ErrExternalData}
	}
	return nil
}

func decodeValueInfo(v *ValueInfo, b []byte) error {
	for len(b) > 0 {
		f, n, err := next(b)
		if err != nil {
			return err
		}
		b = b[n:]
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case 1:
			v.Name = string(f.b)
		case 2:
			if err := decodeType(v, f.b); err != nil {
				return at(err, "type", -1)
			}
		}
	}
	return nil
}

// decodeType decodes a TypeProto into v. Only tensor_type is kept; the
// other members of the oneof (sequence, map, optional, sparse tensor) clear
// it, as protobuf oneof semantics require.
func decodeType(v *ValueInfo, b []byte) error {
	for len(b) > 0 {
		f, n, err := next(b)
		if err != nil {
			return err
		}
		b = b[n:]
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case 1:
			if err := decodeTensorType(v, f.b); err != nil {
				return at(err, "tensor_type", -1)
			}
		case 4, 5, 8, 9:
			v.ElemType, v.Shape, v.HasShape = 0, nil, false
		}
	}
	return nil
}

func decodeTensorType(v *ValueInfo, b []byte) error {
	for len(b) > 0 {
		f, n, err := next(b)
		if err != nil {
			return err
		}
		b = b[n:]
		switch {
		case f.num == 1 && f.typ == protowire.VarintType:
			v.ElemType = int32(f.v)
		case f.num == 2 && f.typ == protowire.BytesType:
			v.HasShape = true
			if err := decodeShape(v, f.b); err != nil {
				return at(err, "shape", -1)
			}
		}
	}
	return nil
}

func decodeShape(v *ValueInfo, b []byte) error {
	for len(b) > 0 {
		f, n, err := next(b)
		if err != nil {
			return err
		}
		b = b[n:]
		if f.num != 1 || f.typ != protowire.BytesType {
			continue
		}
		d := Dim{Value: -1}
		if err := decodeDim(&d, f.b); err != nil {
			return at(err, "dim", len(v.Shape))
		}
		v.Shape = append(v.Shape, d)
	}
	return nil
}

// decodeDim decodes a TensorShapeProto.Dimension; dim_value and dim_param
// form a oneof, so the last one present wins.
func decodeDim(d *Dim, b []byte) error {
	for len(b) > 0 {
		f, n, err := next(b)
		if err != nil {
			return err
		}
		b = b[n:]
		switch {
		case f.num == 1 && f.typ == protowire.VarintType:
			d.Value, d.Param = int64(f.v), ""
		case f.num == 2 && f.typ == protowire.BytesType:
			d.Value, d.Param = -1, string(f.b)
		}
	}
	return nil
}

// countVarints returns the number of varints in a packed field: one per
// byte without the continuation bit. It bounds allocations by the input.
func countVarints(b []byte) int {
	n := 0
	for _, c := range b {
		if c < 0x80 {
			n++
		}
	}
	return n
}

// appendVarints appends the values of a repeated varint field, packed or
// not, truncated to T as protobuf does for 32-bit fields. Fields of any other wire type are ignored, as
// protobuf treats them as unknown.
func appendVarints[T int32 | int64 | uint64](dst []T, f field) ([]T, error) {
	switch f.typ {
	case protowire.VarintType:
		return append(dst, T(f.v)), nil
	case protowire.BytesType:
		b := f.b
		if cap(dst)-len(dst) < len(b) {
			dst = growSlice(dst, countVarints(b))
		}
		for len(b) > 0 {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return dst, wireError("packed varint", n)
			}
			dst = append(dst, T(v))
			b = b[n:]
		}
	}
	return dst, nil
}

func appendInt64s(dst []int64, f field) ([]int64, error)    { return appendVarints(dst, f) }
func appendInt32s(dst []int32, f field) ([]int32, error)    { return appendVarints(dst, f) }
func appendUint64s(dst []uint64, f field) ([]uint64, error) { return appendVarints(dst, f) }

func growSlice[T any](s []T, n int) []T {
	if cap(s)-len(s) >= n {
		return s
	}
	g := make([]T, len(s), len(s)+n)
	copy(g, s)
	return g
}

// appendFloats appends the values of a repeated float field, packed or not.
func appendFloats(dst []float32, f field) ([]float32, error) {
	switch f.typ {
	case protowire.Fixed32Type:
		return append(dst, float32frombits(uint32(f.v))), nil
	case protowire.BytesType:
		if len(f.b)%4 != 0 {
			return dst, malformed("packed fixed32 length " + strconv.Itoa(len(f.b)) + " is not a multiple of 4")
		}
		dst = growSlice(dst, len(f.b)/4)
		for b := f.b; len(b) >= 4; b = b[4:] {
			dst = append(dst, float32frombits(le32(b)))
		}
	}
	return dst, nil
}

// appendFloat64s appends the values of a repeated double field, packed or
// not.
func appendFloat64s(dst []float64, f field) ([]float64, error) {
	switch f.typ {
	case protowire.Fixed64Type:
		return append(dst, float64frombits(f.v)), nil
	case protowire.BytesType:
		if len(f.b)%8 != 0 {
			return dst, malformed("packed fixed64 length " + strconv.Itoa(len(f.b)) + " is not a multiple of 8")
		}
		dst = growSlice(dst, len(f.b)/8)
		for b := f.b; len(b) >= 8; b = b[8:] {
			dst = append(dst, float64frombits(le64(b)))
		}
	}
	return dst, nil
}
