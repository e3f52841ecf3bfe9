package onnxmodel

import "math"

// clipBounds returns a Clip node's bounds when they are known at load:
// the min and max attributes before opset 11, and from opset 11 the
// optional scalar inputs when each is an initializer or a tensor computed
// from initializers and Constant nodes alone. The second case is how
// torch.onnx.export writes ReLU6 (Clip(x, Constant 0, Constant 6)); its
// value is read from shapes, the batch-1 plan, which folded it.
//
// A bound the planner folded from anything that depends on a graph input
// (say Shape(x)) is not accepted, even though the batch-1 plan knows its
// value: it could differ at another batch size.
func clipBounds(g *graph, n *node, shapes map[string]info) (lo, hi float32, ok bool) {
	lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
	if g.opset < 11 {
		return n.attrs.float("min", lo), n.attrs.float("max", hi), true
	}
	for k, dst := range []*float32{&lo, &hi} {
		if k+1 >= len(n.inputs) || n.inputs[k+1] == "" {
			continue
		}
		name := n.inputs[k+1]
		v := g.consts[name]
		if v == nil && loadConstant(g, name) {
			v = shapes[name].c
		}
		if v == nil || v.dtype != Float32 || len(v.f) != 1 {
			return 0, 0, false
		}
		*dst = v.f[0]
	}
	return lo, hi, true
}

// loadConstant reports whether tensor name is an initializer or is
// computed only from initializers and nodes without inputs (Constant), so
// that its value is the same in the plans of every batch size.
func loadConstant(g *graph, name string) bool {
	// The walk looks producers up by scanning the nodes: a bound is
	// usually one Constant node away, so this is cheaper than building a
	// map of every output for each Clip.
	producer := func(t string) *node {
		for _, n := range g.nodes {
			for _, o := range n.outputs {
				if o == t {
					return n
				}
			}
		}
		return nil
	}
	// seen also stops cycles, which topoSort has already rejected.
	seen := map[string]bool{}
	var walk func(string) bool
	walk = func(t string) bool {
		if g.consts[t] != nil || seen[t] {
			return true
		}
		seen[t] = true
		p := producer(t)
		if p == nil {
			return false // a graph input
		}
		for _, in := range p.inputs {
			if in != "" && !walk(in) {
				return false
			}
		}
		return true
	}
	return walk(name)
}
