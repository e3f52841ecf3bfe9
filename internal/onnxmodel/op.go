package onnxmodel

import (
	"fmt"

	"github.com/tlserve/tlserve/internal/onnxpb"
)

// This file is the contract between the planner and the operators.
//
// A model is compiled into a plan for one concrete input shape (the batch
// size is the only dynamic dimension). Compiling walks the nodes in
// topological order and calls each operator's builder with the infos of its
// inputs. The builder validates attributes and shapes, returns the infos of
// the outputs, and returns a kernel that the plan calls on every run.
//
// Shapes are static inside a plan, so the planner allocates every output
// buffer before the kernel runs; a kernel writes into outs and never
// allocates, keeps, or resizes a value.
//
// Constant folding: when every input of a node is constant (info.c != nil),
// the planner runs the kernel once at plan time and records its outputs as
// constants. A builder may also set outs[i].c itself when an output is known
// without running (Shape of a statically shaped tensor), and then return a
// nil kernel. This is how the Shape→Gather→Unsqueeze→Concat→Reshape tails of
// PyTorch exports disappear at load.

// DType is the element type of a runtime value. Only float32 and int64 are
// computed on; float16 inputs and initializers are widened to float32 at
// load, and int32/bool/uint8 integer tensors are widened to int64.
type DType uint8

// Element types.
const (
	Float32 DType = iota + 1
	Int64
)

func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Int64:
		return "int64"
	}
	return fmt.Sprintf("dtype(%d)", d)
}

// value is a runtime tensor. Exactly one of f or i is used, by dtype.
// len(f) or len(i) equals the product of shape (1 for a scalar, shape nil).
type value struct {
	dtype DType
	shape []int
	f     []float32
	i     []int64
}

func (v *value) size() int { return shapeSize(v.shape) }

// info describes a tensor at plan time.
type info struct {
	dtype DType
	shape []int
	c     *value // non-nil when the contents are known at plan time
}

// node is one graph node after loading.
type node struct {
	name    string
	opType  string
	inputs  []string // "" marks an omitted optional input
	outputs []string // "" marks an omitted optional output
	attrs   attrs
	// index is the node's position in the file, for error messages.
	index int
	// fuse is set by the fusion pass on a Conv that absorbed a residual Add
	// (input 3) and an activation; the zero value means no fusion.
	fuse convFusion
}

// kernel runs one node. ins[k] is nil for an omitted optional input.
type kernel func(x *exec, ins, outs []*value)

// builder compiles one node; see the file comment. ins[k].dtype is 0 for an
// omitted optional input. Errors describe the problem without the node name;
// the planner wraps them with it.
type builder func(p *planCtx, n *node, ins []info) (outs []info, k kernel, err error)

// opSpec registers an operator of the default ONNX domain.
type opSpec struct {
	build builder
}

// registry maps op_type to its spec. Operator files add themselves in a
// package-level map literal (opsElementwise, opsConv, ...) merged here, never
// in init functions.
var registry = mergeOps(
	// opsXxx maps are added here as they are written.
	opsElementwise, opsShape, opsReduce,
	opsConv, opsPool, opsLinear, opsNorm,
	opsFused,
)

func mergeOps(sets ...map[string]opSpec) map[string]opSpec {
	m := make(map[string]opSpec)
	for _, s := range sets {
		for k, v := range s {
			if _, dup := m[k]; dup {
				panic("onnxmodel: operator registered twice: " + k)
			}
			m[k] = v
		}
	}
	return m
}

// planCtx is what a builder may use at plan time.
type planCtx struct {
	opset   int64 // version of the default ONNX domain the model imports
	threads int   // worker count the plan runs with
	// workspace is the largest scratch size, in float32s, any kernel asked
	// for. Kernels run one at a time, so they share one scratch buffer.
	workspace int
	// cache holds load-time work shared by the plans of every batch size;
	// nil for the shape-checking compile, which must not do that work.
	cache *loadCache
	// conv is the plan of the Conv that the last builder call built, if
	// any; compile records it per step for tools that describe a plan.
	conv *convPlan
}

// loadCache is load-time work shared by the plans of every batch size.
type loadCache struct {
	// weights holds each Conv's packed or Winograd-transformed weights,
	// keyed by the Conv's output name.
	weights map[string]*convWeights
	// release marks the Conv outputs whose raw weights nothing else reads:
	// buildConv drops them once packed, so the weights are held once.
	release map[string]bool
}

func newLoadCache() *loadCache {
	return &loadCache{weights: map[string]*convWeights{}, release: map[string]bool{}}
}

// reserve asks for n float32s of scratch, available to the kernel as x.ws.
func (p *planCtx) reserve(n int) {
	if n > p.workspace {
		p.workspace = n
	}
}

// exec is per-run state handed to kernels.
type exec struct {
	ws      []float32 // scratch, len >= planCtx.workspace
	threads int
	// parallel runs f over [0,n) split in contiguous ranges, on up to
	// threads goroutines, and waits; with threads == 1 it calls f(0, n)
	// inline.
	// Calling parallel with a closure allocates; hot kernels use split,
	// which takes a plain function and build-time state and does not.
	parallel func(n int, f func(lo, hi int))

	pool  *workerPool // nil when threads == 1
	job   job         // the one parallel loop in flight for this run
	tasks []task      // one per chunk, reused by every split
}

// attrs gives typed access to a node's attributes with defaults.
type attrs map[string]*onnxpb.Attribute

func (a attrs) has(name string) bool { _, ok := a[name]; return ok }

func (a attrs) int(name string, def int64) int64 {
	if at, ok := a[name]; ok {
		return at.I
	}
	return def
}

func (a attrs) float(name string, def float32) float32 {
	if at, ok := a[name]; ok {
		return at.F
	}
	return def
}

func (a attrs) str(name, def string) string {
	if at, ok := a[name]; ok {
		return string(at.S)
	}
	return def
}

func (a attrs) ints(name string, def []int64) []int64 {
	if at, ok := a[name]; ok {
		return at.Ints
	}
	return def
}

func (a attrs) floats(name string, def []float32) []float32 {
	if at, ok := a[name]; ok {
		return at.Floats
	}
	return def
}

func (a attrs) tensor(name string) *onnxpb.Tensor {
	if at, ok := a[name]; ok {
		return at.T
	}
	return nil
}

func shapeSize(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}
