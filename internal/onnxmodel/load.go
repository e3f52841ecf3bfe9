package onnxmodel

import (
	"fmt"

	"github.com/tlserve/tlserve/internal/onnxpb"
)

// Supported versions of the default ONNX operator set.
const (
	minOpset = 7
	maxOpset = 18
)

// graph is a model after loading: nodes in topological order, constants,
// and the declared inputs and outputs.
type graph struct {
	opset   int64
	nodes   []*node
	consts  map[string]*value
	inputs  []ioDecl // non-constant graph inputs
	outputs []ioDecl
}

// ioDecl is a graph input or output; a shape entry of -1 is the dynamic
// batch dimension.
type ioDecl struct {
	name  string
	dtype DType
	shape []int
}

// label names a node in error messages.
func (n *node) label() string {
	return fmt.Sprintf("node %d (%s %q)", n.index, n.opType, n.name)
}

// buildGraph converts a decoded model into a graph and checks everything
// that does not need shapes: versions, domains, operators, names.
func buildGraph(pm *onnxpb.Model) (*graph, error) {
	if pm.Graph == nil {
		return nil, invalidf("model has no graph")
	}
	if pm.IRVersion <= 0 {
		return nil, invalidf("model has no IR version")
	}
	if pm.IRVersion < 3 {
		return nil, notSupportedf("IR version %d (need >= 3)", pm.IRVersion)
	}
	g := &graph{opset: -1, consts: map[string]*value{}}
	for _, o := range pm.OpsetImports {
		if o.Domain == "" || o.Domain == "ai.onnx" {
			g.opset = o.Version
		}
	}
	switch {
	case g.opset < 0:
		return nil, invalidf("no opset import for the default ONNX domain")
	case g.opset < minOpset || g.opset > maxOpset:
		return nil, notSupportedf("opset version %d (supported %d..%d)", g.opset, minOpset, maxOpset)
	}
	pg := pm.Graph
	for _, t := range pg.Initializer {
		if t == nil || t.Name == "" {
			return nil, invalidf("initializer without a name")
		}
		v, err := tensorValue(t)
		if err != nil {
			return nil, fmt.Errorf("%w: initializer %q: %w", ErrInvalidModel, t.Name, err)
		}
		g.consts[t.Name] = v
	}
	defined := map[string]bool{}
	for name := range g.consts {
		defined[name] = true
	}
	for _, vi := range pg.Input {
		if vi == nil || g.consts[vi.Name] != nil {
			continue // IR 3 lists initializers as inputs: they are constants
		}
		d, err := inputDecl(vi)
		if err != nil {
			return nil, err
		}
		if defined[d.name] {
			return nil, invalidf("graph input %q declared twice", d.name)
		}
		defined[d.name] = true
		g.inputs = append(g.inputs, d)
	}
	for i, pn := range pg.Nodes {
		if pn == nil {
			return nil, invalidf("node %d is empty", i)
		}
		n := &node{name: pn.Name, opType: pn.OpType, index: i, inputs: pn.Input, outputs: pn.Output, attrs: attrs{}}
		if pn.Domain != "" && pn.Domain != "ai.onnx" {
			return nil, notSupportedf("%s: operator domain %q", n.label(), pn.Domain)
		}
		if _, ok := registry[pn.OpType]; !ok {
			return nil, notSupportedf("operator %s in %s", pn.OpType, n.label())
		}
		for _, a := range pn.Attribute {
			if a == nil {
				continue
			}
			if a.G != nil {
				return nil, notSupportedf("%s: graph attribute %q", n.label(), a.Name)
			}
			n.attrs[a.Name] = a
		}
		for _, o := range pn.Output {
			if o == "" {
				continue
			}
			if defined[o] {
				return nil, invalidf("%s: output %q is defined twice", n.label(), o)
			}
			defined[o] = true
		}
		g.nodes = append(g.nodes, n)
	}
	if len(pg.Output) == 0 {
		return nil, invalidf("graph has no outputs")
	}
	for _, vi := range pg.Output {
		if vi == nil || !defined[vi.Name] {
			name := ""
			if vi != nil {
				name = vi.Name
			}
			return nil, invalidf("graph output %q is not produced by any node", name)
		}
		g.outputs = append(g.outputs, ioDecl{name: vi.Name, dtype: elemDType(vi.ElemType)})
	}
	return g, nil
}

// elemDType maps an ONNX element type to the type tlserve computes in, or 0.
func elemDType(t int32) DType {
	switch t {
	case onnxpb.Float, onnxpb.Float16, onnxpb.Double, onnxpb.BFloat16:
		return Float32
	case onnxpb.Int64, onnxpb.Int32, onnxpb.Int16, onnxpb.Int8, onnxpb.Uint8, onnxpb.Uint16, onnxpb.Uint32, onnxpb.Bool:
		return Int64
	}
	return 0
}

// inputDecl validates a non-constant graph input: a known element type and
// a static shape apart from a dynamic batch dimension 0.
func inputDecl(vi *onnxpb.ValueInfo) (ioDecl, error) {
	d := ioDecl{name: vi.Name, dtype: elemDType(vi.ElemType)}
	if d.name == "" {
		return d, invalidf("graph input without a name")
	}
	if d.dtype == 0 {
		return d, notSupportedf("graph input %q: element type %d", d.name, vi.ElemType)
	}
	if !vi.HasShape {
		return d, notSupportedf("graph input %q has no static shape", d.name)
	}
	d.shape = make([]int, len(vi.Shape))
	for k, dim := range vi.Shape {
		switch {
		case dim.Param != "" || dim.Value < 0:
			if k != 0 {
				return d, notSupportedf("graph input %q: dimension %d is dynamic (only the batch dimension 0 may be)", d.name, k)
			}
			d.shape[k] = -1
		case dim.Value > 1<<30:
			return d, invalidf("graph input %q: dimension %d has size %d", d.name, k, dim.Value)
		default:
			d.shape[k] = int(dim.Value)
		}
	}
	return d, nil
}

// tensorValue converts an initializer or attribute tensor, widening float16
// and double to float32 and the integer types to int64.
func tensorValue(t *onnxpb.Tensor) (*value, error) {
	v := &value{shape: make([]int, len(t.Dims))}
	n := 1
	for k, d := range t.Dims {
		if d < 0 || d > 1<<31 {
			return nil, fmt.Errorf("dimension %d has size %d", k, d)
		}
		v.shape[k] = int(d)
		n *= int(d)
		if n > 1<<31 {
			return nil, fmt.Errorf("tensor too large")
		}
	}
	var err error
	switch v.dtype = elemDType(t.DataType); v.dtype {
	case Float32:
		v.f, err = t.Float32s()
		if err == nil && len(v.f) != n {
			err = fmt.Errorf("has %d values, shape %v needs %d", len(v.f), v.shape, n)
		}
	case Int64:
		v.i, err = t.Int64s()
		if err == nil && len(v.i) != n {
			err = fmt.Errorf("has %d values, shape %v needs %d", len(v.i), v.shape, n)
		}
	default:
		return nil, notSupportedf("tensor element type %d", t.DataType)
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}
