package onnxmodel

// siluOp is the operator type of the node fuseSiLU makes. The default ONNX
// domain has no SiLU, so the name cannot clash with a standard operator; a
// model file that uses it gets the same well-defined function.
const siluOp = "tlserve.SiLU"

// opsFused registers the operators that only graph passes create.
var opsFused = map[string]opSpec{
	siluOp: {build: buildUnary(unarySiLU)},
}

// unarySiLU is x·sigmoid(x) in one pass over the data (siluTo), where the
// unfused graph reads x twice and writes and reads the sigmoid tensor.
var unarySiLU = unaryDef{apply: func(_ attrs, dst, src []float32) {
	siluTo(dst, src)
}}

// fuseSiLU replaces Mul(x, Sigmoid(x)), in either operand order, by one
// SiLU node when nothing else reads the Sigmoid's output (torch exports
// nn.SiLU this way; EfficientNet has one per conv). The SiLU node takes
// the Mul's place, name and output, so the order stays topological.
//
// The SiLU is not fused into a Conv producing x: the GEMM epilogue has no
// SiLU, and x usually has a second reader (the Mul) anyway.
func fuseSiLU(g *graph, pins map[string]bool) {
	cons := consumers(g, pins)
	producer := map[string]*node{}
	for _, n := range g.nodes {
		for _, o := range n.outputs {
			if o != "" {
				producer[o] = n
			}
		}
	}
	removed := map[*node]bool{}
	for _, mul := range g.nodes {
		if mul.opType != "Mul" || len(mul.inputs) != 2 || len(mul.outputs) != 1 {
			continue
		}
		for k := range 2 {
			x, s := mul.inputs[1-k], producer[mul.inputs[k]]
			if s == nil || s.opType != "Sigmoid" || removed[s] || len(s.inputs) != 1 || len(s.outputs) != 1 ||
				s.inputs[0] != x || x == "" || cons[s.outputs[0]] != 1 {
				continue
			}
			mul.opType, mul.inputs, mul.attrs = siluOp, []string{x}, attrs{}
			removed[s] = true
			break
		}
	}
	kept := g.nodes[:0]
	for _, n := range g.nodes {
		if !removed[n] {
			kept = append(kept, n)
		}
	}
	clear(g.nodes[len(kept):])
	g.nodes = kept
}
