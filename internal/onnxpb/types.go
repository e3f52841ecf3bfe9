package onnxpb

// These types mirror the subset of onnx.proto (ONNX IR) that tlserve reads
// and writes. Field names follow the .proto; field numbers live in the codec.

// Data types of TensorProto.DataType (onnx.TensorProto.DataType).
const (
	Undefined int32 = 0
	Float     int32 = 1
	Uint8     int32 = 2
	Int8      int32 = 3
	Uint16    int32 = 4
	Int16     int32 = 5
	Int32     int32 = 6
	Int64     int32 = 7
	String    int32 = 8
	Bool      int32 = 9
	Float16   int32 = 10
	Double    int32 = 11
	Uint32    int32 = 12
	Uint64    int32 = 13
	BFloat16  int32 = 16
)

// Attribute types of AttributeProto.Type.
const (
	AttrUndefined int32 = 0
	AttrFloat     int32 = 1
	AttrInt       int32 = 2
	AttrString    int32 = 3
	AttrTensor    int32 = 4
	AttrGraph     int32 = 5
	AttrFloats    int32 = 6
	AttrInts      int32 = 7
	AttrStrings   int32 = 8
)

// Model is onnx.ModelProto.
type Model struct {
	IRVersion       int64
	OpsetImports    []OperatorSetID
	ProducerName    string
	ProducerVersion string
	Domain          string
	ModelVersion    int64
	DocString       string
	Graph           *Graph
}

// OperatorSetID is onnx.OperatorSetIdProto. An empty Domain (or "ai.onnx")
// is the default operator set.
type OperatorSetID struct {
	Domain  string
	Version int64
}

// Graph is onnx.GraphProto.
type Graph struct {
	Name        string
	Nodes       []*Node
	Initializer []*Tensor
	Input       []*ValueInfo
	Output      []*ValueInfo
	ValueInfo   []*ValueInfo
	DocString   string
}

// Node is onnx.NodeProto.
type Node struct {
	Name      string
	OpType    string
	Domain    string
	Input     []string
	Output    []string
	Attribute []*Attribute
	DocString string
}

// Attribute is onnx.AttributeProto. Graph-valued attributes (If, Loop) are
// decoded into G so that the loader can reject them by name.
type Attribute struct {
	Name    string
	Type    int32
	F       float32
	I       int64
	S       []byte
	T       *Tensor
	G       *Graph
	Floats  []float32
	Ints    []int64
	Strings [][]byte
}

// Tensor is onnx.TensorProto. Exactly one of the typed data fields (or
// RawData, little-endian) holds the values, as the .proto specifies.
type Tensor struct {
	Name       string
	Dims       []int64
	DataType   int32
	FloatData  []float32
	Int32Data  []int32 // also holds float16/bool/int8/uint8/int16/uint16 per the .proto
	Int64Data  []int64
	DoubleData []float64
	Uint64Data []uint64
	StringData [][]byte
	// RawData, StringData, Attribute.S and Attribute.Strings returned by
	// DecodeModel and DecodeTensor alias the decoded buffer.
	RawData []byte
	// DataLocation 1 (EXTERNAL) is rejected by the decoder with a clear error.
	DataLocation int32
}

// ValueInfo is onnx.ValueInfoProto restricted to tensor types.
type ValueInfo struct {
	Name     string
	ElemType int32 // 0 when the type is absent or not a tensor
	// Shape holds one entry per dimension; a Dim with Param != "" or
	// Value < 0 is symbolic. HasShape is false when no shape was given.
	Shape    []Dim
	HasShape bool
}

// Dim is one dimension of a ValueInfo's shape.
type Dim struct {
	Value int64 // -1 when unknown
	Param string
}
