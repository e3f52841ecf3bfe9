package onnxmodel

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
)

// plan is a graph compiled for one batch size: every tensor has a static
// shape, every non-constant tensor an offset in the run arena, and the
// nodes that are not folded away are a flat list of kernel calls.
type plan struct {
	batch   int
	threads int
	ids     map[string]int
	infos   []info // per tensor id; constant tensors have c set
	offs    []int  // arena offset per tensor id, -1 when not in the arena
	steps   []step
	convs   map[int]*convPlan // by step index, for tools that describe a plan
	fsize   int               // float32 arena length
	isize   int               // int64 arena length
	ws      int               // workspace length
	inputs  []int
	outputs []int
	workers *workerPool
	pool    sync.Pool // of *runState
}

type step struct {
	k         kernel
	ins, outs []int // tensor ids, -1 for an omitted input or output
	n         *node
}

// runState is everything one run writes: the arena, the values that point
// into it, and the kernels' argument slices. It is pooled per plan.
type runState struct {
	images    imageBatch // Extract's per-image loop, when this plan drives one
	vals      []value
	ins, outs [][]*value
	x         *exec
}

// maxTensorElems bounds every tensor and the scratch space of a plan, so
// that a hostile model fails to load instead of exhausting memory.
const maxTensorElems = 1 << 28

// arenaAlign rounds buffer sizes so that buffers start on 64-byte lines.
const arenaAlign = 16

// compile builds the plan of g for the given batch size. The first graph
// input's dimension 0 and every dynamic dimension 0 take the batch size.
// Errors wrap ErrInvalidModel and name the node.
func compile(g *graph, batch, threads int, cache *loadCache, pins map[string]bool, wp *workerPool) (p *plan, err error) {
	p = &plan{batch: batch, threads: threads, ids: map[string]int{}, workers: wp}
	newTensor := func(name string, in info) int {
		id := len(p.infos)
		p.infos = append(p.infos, in)
		if name != "" {
			p.ids[name] = id
		}
		return id
	}
	for k, in := range g.inputs {
		shape := append([]int(nil), in.shape...)
		if len(shape) > 0 && (k == 0 || shape[0] < 0) {
			shape[0] = batch
		}
		p.inputs = append(p.inputs, newTensor(in.name, info{dtype: in.dtype, shape: shape}))
	}
	pc := &planCtx{opset: g.opset, threads: threads, cache: cache}
	var cur *node
	defer func() {
		if r := recover(); r != nil {
			if cur != nil {
				err = invalidf("%s: internal error at plan time: %v", cur.label(), r)
			} else {
				err = invalidf("internal error at plan time: %v", r)
			}
		}
	}()
	for _, n := range g.nodes {
		cur = n
		ins := make([]info, len(n.inputs))
		inIDs := make([]int, len(n.inputs))
		allConst := true
		for k, name := range n.inputs {
			inIDs[k] = -1
			if name == "" {
				continue
			}
			id, ok := p.ids[name]
			if !ok {
				c := g.consts[name]
				if c == nil {
					return nil, invalidf("%s: input %q is not defined", n.label(), name)
				}
				id = newTensor(name, info{dtype: c.dtype, shape: c.shape, c: c})
			}
			inIDs[k] = id
			ins[k] = p.infos[id]
			if ins[k].c == nil {
				allConst = false
			}
		}
		spec, ok := registry[n.opType]
		if !ok {
			return nil, notSupportedf("operator %s in %s", n.opType, n.label())
		}
		pc.conv = nil
		outs, k, err := spec.build(pc, n, ins)
		if err != nil {
			if errors.Is(err, ErrInvalidModel) {
				return nil, fmt.Errorf("%s: %w", n.label(), err)
			}
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalidModel, n.label(), err)
		}
		if len(outs) > len(n.outputs) {
			return nil, invalidf("%s: operator produced %d outputs, node has %d", n.label(), len(outs), len(n.outputs))
		}
		outIDs := make([]int, len(n.outputs))
		for j := range outIDs {
			outIDs[j] = -1
			if j >= len(outs) || outs[j].dtype == 0 {
				if n.outputs[j] != "" {
					return nil, invalidf("%s: output %d (%q) is not produced", n.label(), j, n.outputs[j])
				}
				continue
			}
			size := 1
			for _, d := range outs[j].shape {
				if d < 0 {
					return nil, invalidf("%s: output %d has shape %v", n.label(), j, outs[j].shape)
				}
				if d > 0 && size > maxTensorElems/d {
					return nil, notSupportedf("%s: output %d of shape %v is too large", n.label(), j, outs[j].shape)
				}
				size *= d
			}
			if pc.workspace > maxTensorElems {
				return nil, notSupportedf("%s: needs %d floats of scratch", n.label(), pc.workspace)
			}
			outIDs[j] = newTensor(n.outputs[j], outs[j])
		}
		switch {
		case k == nil:
			for j, id := range outIDs {
				if id >= 0 && p.infos[id].c == nil {
					return nil, invalidf("%s: output %d has neither kernel nor constant", n.label(), j)
				}
			}
		case allConst:
			if err := fold(p, pc, k, inIDs, outIDs); err != nil {
				return nil, fmt.Errorf("%w: %s: constant folding: %v", ErrInvalidModel, n.label(), err)
			}
		default:
			if cp := pc.conv; cp != nil {
				if p.convs == nil {
					p.convs = map[int]*convPlan{}
				}
				p.convs[len(p.steps)] = cp
			}
			p.steps = append(p.steps, step{k: k, ins: inIDs, outs: outIDs, n: n})
		}
	}
	cur = nil
	for _, o := range g.outputs {
		id, ok := p.ids[o.name]
		if !ok {
			return nil, invalidf("graph output %q is not computed", o.name)
		}
		p.outputs = append(p.outputs, id)
	}
	p.ws = pc.workspace
	pinned := map[int]bool{}
	for _, id := range p.outputs {
		pinned[id] = true
	}
	for name := range pins {
		if id, ok := p.ids[name]; ok {
			pinned[id] = true
		}
	}
	p.assignArena(pinned)
	return p, nil
}

// fold runs a kernel whose inputs are all constant once, at plan time, and
// records its outputs as constants.
func fold(p *plan, pc *planCtx, k kernel, inIDs, outIDs []int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	ins := make([]*value, len(inIDs))
	for j, id := range inIDs {
		if id >= 0 {
			ins[j] = p.infos[id].c
		}
	}
	outs := make([]*value, len(outIDs))
	for j, id := range outIDs {
		if id < 0 {
			continue
		}
		in := p.infos[id]
		v := &value{dtype: in.dtype, shape: in.shape}
		if in.dtype == Float32 {
			v.f = make([]float32, shapeSize(in.shape))
		} else {
			v.i = make([]int64, shapeSize(in.shape))
		}
		outs[j] = v
	}
	k(newExec(pc.workspace, 1, nil), ins, outs)
	for j, id := range outIDs {
		if id >= 0 {
			p.infos[id].c = outs[j]
		}
	}
	return nil
}

// assignArena gives every tensor computed by a step an arena offset. A
// tensor lives from the step that writes it to the last step that reads it
// (pinned tensors to the end of the run); buffers whose tensors are dead are
// reused, best fit by size, growing the largest free one when none fits.
func (p *plan) assignArena(pinned map[int]bool) {
	last := make([]int, len(p.infos))
	for id := range last {
		last[id] = -1
	}
	for si, s := range p.steps {
		for _, id := range s.ins {
			if id >= 0 {
				last[id] = si
			}
		}
		for _, id := range s.outs {
			if id >= 0 && last[id] < si {
				last[id] = si
			}
		}
	}
	for id := range pinned {
		last[id] = len(p.steps)
	}
	type block struct {
		size   int
		freeAt int // the step after which the block is free
		tensor []int
	}
	var blocks [2][]*block // by dtype: 0 float32, 1 int64
	p.offs = make([]int, len(p.infos))
	for id := range p.offs {
		p.offs[id] = -1
	}
	owner := make([]*block, len(p.infos))
	for si, s := range p.steps {
		for _, id := range s.outs {
			if id < 0 || p.infos[id].c != nil {
				continue
			}
			need := (shapeSize(p.infos[id].shape) + arenaAlign - 1) / arenaAlign * arenaAlign
			bs := &blocks[0]
			if p.infos[id].dtype == Int64 {
				bs = &blocks[1]
			}
			var best, largest *block
			for _, b := range *bs {
				if b.freeAt >= si {
					continue
				}
				if b.size >= need && (best == nil || b.size < best.size) {
					best = b
				}
				if largest == nil || b.size > largest.size {
					largest = b
				}
			}
			if best == nil {
				best = largest
			}
			if best == nil {
				best = &block{}
				*bs = append(*bs, best)
			}
			best.size = max(best.size, need)
			best.freeAt = last[id]
			best.tensor = append(best.tensor, id)
			owner[id] = best
		}
	}
	for d, bs := range blocks {
		// Largest first keeps big buffers aligned at the arena's start.
		sort.SliceStable(bs, func(i, j int) bool { return bs[i].size > bs[j].size })
		off := 0
		for _, b := range bs {
			for _, id := range b.tensor {
				p.offs[id] = off
			}
			off += b.size
		}
		if d == 0 {
			p.fsize = off
		} else {
			p.isize = off
		}
	}
}

// get returns a pooled run state, or a new one.
func (p *plan) get() *runState {
	if rs, ok := p.pool.Get().(*runState); ok {
		return rs
	}
	f := make([]float32, p.fsize)
	i := make([]int64, p.isize)
	rs := &runState{vals: make([]value, len(p.infos)), x: newExec(p.ws, p.threads, p.workers)}
	for id, in := range p.infos {
		v := &rs.vals[id]
		v.dtype, v.shape = in.dtype, in.shape
		if in.c != nil {
			v.f, v.i = in.c.f, in.c.i
			continue
		}
		if off := p.offs[id]; off >= 0 {
			n := shapeSize(in.shape)
			if in.dtype == Int64 {
				v.i = i[off : off+n : off+n]
			} else {
				v.f = f[off : off+n : off+n]
			}
		}
	}
	ptrs := func(ids []int) []*value {
		out := make([]*value, len(ids))
		for j, id := range ids {
			if id >= 0 {
				out[j] = &rs.vals[id]
			}
		}
		return out
	}
	rs.ins = make([][]*value, len(p.steps))
	rs.outs = make([][]*value, len(p.steps))
	for si, s := range p.steps {
		rs.ins[si], rs.outs[si] = ptrs(s.ins), ptrs(s.outs)
	}
	return rs
}

// put returns a run state to the pool, dropping references to the caller's
// input data.
func (p *plan) put(rs *runState) {
	for _, id := range p.inputs {
		rs.vals[id].f, rs.vals[id].i = nil, nil
	}
	p.pool.Put(rs)
}

// run executes the steps. The inputs must already be set in rs.vals. A
// panic in a kernel (a bug, since builders validate shapes) becomes an error.
func (p *plan) run(ctx context.Context, rs *runState) (err error) {
	si := 0
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("onnxmodel: internal error in %s: %v", p.steps[si].n.label(), r)
		}
	}()
	for si = range p.steps {
		if si&15 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		p.steps[si].k(rs.x, rs.ins[si], rs.outs[si])
	}
	return nil
}
