package onnxmodel

import (
	"fmt"
	"math"
)

// Graph passes run at load, in this order: topoSort, eliminateDead,
// foldBatchNorm, then (after the batch-1 plan has checked shapes) fuseConv,
// fuseSiLU (passes_silu.go) and topoSort again. Each works on the graph in
// place.

// topoSort orders g.nodes so that every node comes after the producers of
// its inputs, keeping the file order among independent nodes. It reports an
// input that nothing defines ("missing initializer") and cycles.
func topoSort(g *graph) error {
	producer := map[string]int{}
	for i, n := range g.nodes {
		for _, o := range n.outputs {
			if o != "" {
				producer[o] = i
			}
		}
	}
	external := func(name string) bool {
		if g.consts[name] != nil {
			return true
		}
		for _, in := range g.inputs {
			if in.name == name {
				return true
			}
		}
		return false
	}
	pending := make([]int, len(g.nodes))
	users := make([][]int, len(g.nodes))
	for i, n := range g.nodes {
		for _, in := range n.inputs {
			if in == "" {
				continue
			}
			if p, ok := producer[in]; ok {
				pending[i]++
				users[p] = append(users[p], i)
				continue
			}
			if !external(in) {
				return invalidf("%s: input %q is not a graph input, an initializer or a node output (missing initializer)", n.label(), in)
			}
		}
	}
	// A min-heap would keep file order exactly; scanning for the lowest
	// ready index is quadratic but graphs have at most a few thousand nodes.
	ready := make([]bool, len(g.nodes))
	for i := range g.nodes {
		ready[i] = pending[i] == 0
	}
	order := make([]*node, 0, len(g.nodes))
	done := make([]bool, len(g.nodes))
	next := 0
	for len(order) < len(g.nodes) {
		i := -1
		for k := next; k < len(g.nodes); k++ {
			if ready[k] && !done[k] {
				i = k
				break
			}
		}
		if i < 0 {
			for k, n := range g.nodes {
				if !done[k] {
					return invalidf("graph has a cycle through %s", n.label())
				}
			}
		}
		done[i] = true
		order = append(order, g.nodes[i])
		for _, u := range users[i] {
			if pending[u]--; pending[u] == 0 {
				ready[u] = true
				next = min(next, u)
			}
		}
		for next < len(g.nodes) && done[next] {
			next++
		}
	}
	g.nodes = order
	return nil
}

// eliminateDead removes nodes none of whose outputs reach a graph output or
// a pinned tensor. g.nodes must be topologically sorted.
func eliminateDead(g *graph, pins map[string]bool) {
	needed := map[string]bool{}
	for name := range pins {
		needed[name] = true
	}
	for _, o := range g.outputs {
		needed[o.name] = true
	}
	live := make([]bool, len(g.nodes))
	for i := len(g.nodes) - 1; i >= 0; i-- {
		n := g.nodes[i]
		for _, o := range n.outputs {
			if o != "" && needed[o] {
				live[i] = true
			}
		}
		if live[i] {
			for _, in := range n.inputs {
				needed[in] = true
			}
		}
	}
	kept := g.nodes[:0]
	for i, n := range g.nodes {
		if live[i] {
			kept = append(kept, n)
		}
	}
	clear(g.nodes[len(kept):])
	g.nodes = kept
}

// consumers counts the nodes that read each tensor; graph outputs and pinned
// tensors count as one extra consumer each, so they are never fused away.
func consumers(g *graph, pins map[string]bool) map[string]int {
	c := map[string]int{}
	for _, n := range g.nodes {
		for _, in := range n.inputs {
			if in != "" {
				c[in]++
			}
		}
	}
	for _, o := range g.outputs {
		c[o.name]++
	}
	for name := range pins {
		c[name]++
	}
	return c
}

// uniqueName returns base, or base with a numeric suffix, unused in g.
func uniqueName(g *graph, base string) string {
	used := func(s string) bool {
		if g.consts[s] != nil {
			return true
		}
		for _, n := range g.nodes {
			for _, o := range n.outputs {
				if o == s {
					return true
				}
			}
		}
		return false
	}
	name := base
	for k := 1; used(name); k++ {
		name = fmt.Sprintf("%s_%d", base, k)
	}
	return name
}

// foldBatchNorm folds an inference BatchNormalization into the Conv that
// feeds it when the Conv's weights and the normalisation parameters are
// constants and nothing else reads the Conv's output:
// W'[o,...] = W[o,...]·a[o], B'[o] = B[o]·a[o] + b[o] with
// a = scale/sqrt(var+eps), b = bias - mean·a. Other BatchNormalizations are
// left to the operator.
func foldBatchNorm(g *graph, pins map[string]bool) {
	cons := consumers(g, pins)
	producer := map[string]*node{}
	for _, n := range g.nodes {
		for _, o := range n.outputs {
			producer[o] = n
		}
	}
	kept := g.nodes[:0]
	for _, bn := range g.nodes {
		if bn.opType == "BatchNormalization" && foldOne(g, bn, producer, cons) {
			continue
		}
		kept = append(kept, bn)
	}
	clear(g.nodes[len(kept):])
	g.nodes = kept
}

func foldOne(g *graph, bn *node, producer map[string]*node, cons map[string]int) bool {
	if len(bn.inputs) != 5 || bn.attrs.int("training_mode", 0) != 0 || bn.attrs.int("spatial", 1) != 1 {
		return false
	}
	for _, o := range bn.outputs[1:] {
		if o != "" && cons[o] > 0 {
			return false
		}
	}
	conv := producer[bn.inputs[0]]
	if conv == nil || conv.opType != "Conv" || len(conv.outputs) != 1 || cons[conv.outputs[0]] != 1 || conv.fuse != (convFusion{}) {
		return false
	}
	if len(conv.inputs) < 2 || len(conv.inputs) > 3 {
		return false
	}
	w := g.consts[conv.inputs[1]]
	if w == nil || w.dtype != Float32 || len(w.shape) < 3 {
		return false
	}
	m := w.shape[0]
	var cb *value
	if len(conv.inputs) == 3 && conv.inputs[2] != "" {
		if cb = g.consts[conv.inputs[2]]; cb == nil || cb.dtype != Float32 || len(cb.f) != m {
			return false
		}
	}
	var p [4][]float32 // scale, bias, mean, var
	for k := range p {
		v := g.consts[bn.inputs[k+1]]
		if v == nil || v.dtype != Float32 || len(v.f) != m {
			return false
		}
		p[k] = v.f
	}
	eps := float64(bn.attrs.float("epsilon", 1e-5))
	per := len(w.f) / m
	nw := &value{dtype: Float32, shape: append([]int(nil), w.shape...), f: make([]float32, len(w.f))}
	nb := &value{dtype: Float32, shape: []int{m}, f: make([]float32, m)}
	for o := range m {
		a := float64(p[0][o]) / math.Sqrt(float64(p[3][o])+eps)
		b := float64(p[1][o]) - float64(p[2][o])*a
		for k := o * per; k < (o+1)*per; k++ {
			nw.f[k] = float32(float64(w.f[k]) * a)
		}
		cbo := 0.0
		if cb != nil {
			cbo = float64(cb.f[o])
		}
		nb.f[o] = float32(cbo*a + b)
	}
	// The replaced constants go when nothing else reads them, so the
	// weights are not held twice.
	for _, name := range append([]string{conv.inputs[1]}, bn.inputs[1:]...) {
		if cons[name] == 1 {
			delete(g.consts, name)
		}
	}
	if cb != nil && cons[conv.inputs[2]] == 1 {
		delete(g.consts, conv.inputs[2])
	}
	wn := uniqueName(g, bn.outputs[0]+"/folded_w")
	g.consts[wn] = nw
	bname := uniqueName(g, bn.outputs[0]+"/folded_b")
	g.consts[bname] = nb
	conv.inputs = []string{conv.inputs[0], wn, bname}
	conv.outputs = []string{bn.outputs[0]}
	return true
}

// actKind is the activation applied in a kernel's epilogue.
type actKind uint8

// Activations of an epilogue.
const (
	actNone actKind = iota
	actRelu
	actClip
)

// convFusion records what a Conv absorbed from the nodes after it.
type convFusion struct {
	residual bool // inputs[3] is added to the output
	act      actKind
	lo, hi   float32 // Clip bounds
}

// fuseConv merges into each Conv a following Add of a non-constant tensor of
// the same shape (residual) and then a following Relu or Clip with constant
// bounds, when nothing else reads the intermediate tensors. shapes gives the
// tensors' shapes at batch 1. Run topoSort afterwards: the fused node now
// reads the residual, which may come later in the old order.
func fuseConv(g *graph, pins map[string]bool, shapes map[string]info) {
	cons := consumers(g, pins)
	reader := map[string]*node{}
	for _, n := range g.nodes {
		for _, in := range n.inputs {
			reader[in] = n
		}
	}
	removed := map[*node]bool{}
	for _, conv := range g.nodes {
		if conv.opType != "Conv" || removed[conv] || len(conv.outputs) != 1 || conv.fuse != (convFusion{}) {
			continue
		}
		out := conv.outputs[0]
		if next := reader[out]; cons[out] == 1 && next != nil && !removed[next] && next.opType == "Add" && len(next.inputs) == 2 && len(next.outputs) == 1 {
			other := next.inputs[0]
			if other == out {
				other = next.inputs[1]
			}
			oi, ci := shapes[other], shapes[out]
			if other != out && g.consts[other] == nil && oi.c == nil && oi.dtype == Float32 && ci.dtype == Float32 && equalShape(oi.shape, ci.shape) {
				ins := append([]string(nil), conv.inputs...)
				for len(ins) < 3 {
					ins = append(ins, "")
				}
				conv.inputs = append(ins, other)
				conv.outputs = []string{next.outputs[0]}
				conv.fuse.residual = true
				removed[next] = true
				reader[other] = conv
				out = conv.outputs[0]
			}
		}
		next := reader[out]
		if cons[out] != 1 || next == nil || removed[next] || len(next.outputs) != 1 {
			continue
		}
		switch next.opType {
		case "Relu":
			conv.fuse.act = actRelu
		case "Clip":
			lo, hi, ok := clipBounds(g, next, shapes)
			if !ok {
				continue
			}
			conv.fuse.act, conv.fuse.lo, conv.fuse.hi = actClip, lo, hi
		default:
			continue
		}
		conv.outputs = []string{next.outputs[0]}
		removed[next] = true
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

func equalShape(a, b []int) bool {
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
