package onnxmodel

import (
	"fmt"
	"math"
)

// opsPool holds the pooling operators and LRN.
var opsPool = map[string]opSpec{
	"MaxPool":           {build: buildPool(poolMax)},
	"AveragePool":       {build: buildPool(poolAvg)},
	"GlobalAveragePool": {build: buildGlobalPool(poolAvg)},
	"GlobalMaxPool":     {build: buildGlobalPool(poolMax)},
	"LRN":               {build: buildLRN},
}

type poolKind uint8

const (
	poolMax poolKind = iota
	poolAvg
)

// poolPlan is a MaxPool or AveragePool fixed at plan time.
type poolPlan struct {
	geom2D
	kind          poolKind
	includePad    bool // AveragePool count_include_pad
	planes        int  // N*C
	inLen, outLen int
}

func buildPool(kind poolKind) builder {
	return func(p *planCtx, n *node, ins []info) ([]info, kernel, error) {
		if len(ins) != 1 {
			return nil, nil, fmt.Errorf("want one input, got %d", len(ins))
		}
		if ins[0].dtype != Float32 {
			return nil, nil, fmt.Errorf("%w: pooling of %v", ErrUnsupported, ins[0].dtype)
		}
		if len(n.outputs) > 1 && n.outputs[1] != "" {
			return nil, nil, fmt.Errorf("%w: MaxPool Indices output", ErrUnsupported)
		}
		x := ins[0]
		r := len(x.shape) - 2
		switch {
		case r == 3:
			return nil, nil, fmt.Errorf("%w: 3-D pooling", ErrUnsupported)
		case r < 1 || r > 3:
			return nil, nil, fmt.Errorf("input has rank %d, want 3 or 4", len(x.shape))
		}
		k, err := kernelShape(n, r)
		if err != nil {
			return nil, nil, err
		}
		// MaxPool has dilations and ceil_mode from opset 10 (ignored
		// before, as ONNX Runtime does); AveragePool has ceil_mode from 10
		// and dilations only from opset 19.
		wn, err := newWindow(n, x.shape[2:], k, kind == poolMax && p.opset >= 10, p.opset >= 10)
		if err != nil {
			return nil, nil, err
		}
		pp := &poolPlan{geom2D: wn.as2D(), kind: kind, planes: x.shape[0] * x.shape[1],
			includePad: n.attrs.int("count_include_pad", 0) != 0}
		pp.inLen, pp.outLen = pp.h*pp.w, pp.oh*pp.ow
		if kind == poolMax {
			p.reserve(max(p.threads, 1) * pp.w)
		}
		out := append([]int{x.shape[0], x.shape[1]}, wn.out...)
		outs := []info{{dtype: Float32, shape: out}}
		if len(n.outputs) > 1 {
			outs = append(outs, info{}) // omitted Indices
		}
		return outs, pp.run, nil
	}
}

func (pp *poolPlan) run(x *exec, ins, outs []*value) {
	x.split(pp.planes, poolRange, pp, ins, outs)
}

// poolRange pools planes [lo,hi). A window that covers no input element
// (possible only with large pads) yields 0 for AveragePool and -Inf for
// MaxPool.
func poolRange(j *job, chunk, lo, hi int) {
	pp := j.arg.(*poolPlan)
	g := &pp.geom2D
	in, out := j.ins[0].f, j.outs[0].f
	var tmp []float32
	if pp.kind == poolMax {
		tmp = j.ws[chunk*g.w : (chunk+1)*g.w]
	}
	// Output columns [oxLo, oxHi) have windows inside the input in x.
	oxLo := min((g.pl+g.sw-1)/g.sw, g.ow)
	oxHi := oxLo
	if num := g.w + g.pl - (g.kw-1)*g.dw - 1; num >= 0 {
		oxHi = max(min(g.ow, num/g.sw+1), oxLo)
	}
	for pl := lo; pl < hi; pl++ {
		src := in[pl*pp.inLen : (pl+1)*pp.inLen]
		dst := out[pl*pp.outLen : (pl+1)*pp.outLen]
		for oy := range g.oh {
			y0 := oy*g.sh - g.pt
			drow := dst[oy*g.ow : (oy+1)*g.ow]
			if pp.kind == poolMax {
				ys, ye := y0, y0+(g.kh-1)*g.dh+1
				if ys >= 0 && ye <= g.h {
					maxRowInterior(drow, src, tmp, g, y0, oxLo, oxHi)
					pp.maxEdges(drow, src, y0, 0, oxLo)
					pp.maxEdges(drow, src, y0, oxHi, g.ow)
				} else {
					pp.maxEdges(drow, src, y0, 0, g.ow)
				}
				continue
			}
			for ox := range g.ow {
				x0 := ox*g.sw - g.pl
				// Average: the window clipped to the input, or to the padded
				// input when padding counts.
				ys, ye := max(y0, 0), min(y0+g.kh, g.h)
				xs, xe := max(x0, 0), min(x0+g.kw, g.w)
				s := float32(0)
				for iy := ys; iy < ye; iy++ {
					for _, v := range src[iy*g.w+xs : iy*g.w+max(xe, xs)] {
						s += v
					}
				}
				cnt := max(ye-ys, 0) * max(xe-xs, 0)
				if pp.includePad {
					cnt = (min(y0+g.kh, g.h+g.pbot) - y0) * (min(x0+g.kw, g.w+g.pr) - x0)
				}
				if cnt > 0 {
					drow[ox] = s / float32(cnt)
				} else {
					drow[ox] = 0
				}
			}
		}
	}
}

// maxRowInterior computes max-pool outputs [oxLo,oxHi) of one output row
// whose windows lie inside the input. It takes the maximum over the window's
// rows first, column by column into tmp (independent operations the CPU
// overlaps), then over each window's columns of tmp.
func maxRowInterior(drow, src, tmp []float32, g *geom2D, y0, oxLo, oxHi int) {
	copy(tmp, src[y0*g.w:(y0+1)*g.w])
	for ky := 1; ky < g.kh; ky++ {
		row := src[(y0+ky*g.dh)*g.w : (y0+ky*g.dh+1)*g.w]
		row = row[:len(tmp)]
		for x, v := range row {
			tmp[x] = max(tmp[x], v)
		}
	}
	for ox := oxLo; ox < oxHi; ox++ {
		x0 := ox*g.sw - g.pl
		m := tmp[x0]
		for kx := 1; kx < g.kw; kx++ {
			m = max(m, tmp[x0+kx*g.dw])
		}
		drow[ox] = m
	}
}

// maxEdges computes max-pool outputs [a,b) of one output row with full
// bounds checks.
func (pp *poolPlan) maxEdges(drow, src []float32, y0, a, b int) {
	g := &pp.geom2D
	for ox := a; ox < b; ox++ {
		x0 := ox*g.sw - g.pl
		m := float32(math.Inf(-1))
		for ky := range g.kh {
			iy := y0 + ky*g.dh
			if iy < 0 || iy >= g.h {
				continue
			}
			row := src[iy*g.w : (iy+1)*g.w]
			for kx := range g.kw {
				if ix := x0 + kx*g.dw; ix >= 0 && ix < g.w {
					m = max(m, row[ix])
				}
			}
		}
		drow[ox] = m
	}
}

// globalPlan is a GlobalAveragePool or GlobalMaxPool.
type globalPlan struct {
	kind    poolKind
	planes  int
	spatial int
}

func buildGlobalPool(kind poolKind) builder {
	return func(p *planCtx, n *node, ins []info) ([]info, kernel, error) {
		if len(ins) != 1 || ins[0].dtype != Float32 || len(ins[0].shape) < 3 {
			return nil, nil, fmt.Errorf("want one float input of rank >= 3")
		}
		s := ins[0].shape
		gp := &globalPlan{kind: kind, planes: s[0] * s[1], spatial: shapeSize(s[2:])}
		if gp.spatial == 0 {
			return nil, nil, fmt.Errorf("input %v has no spatial elements", s)
		}
		out := []int{s[0], s[1]}
		for range s[2:] {
			out = append(out, 1)
		}
		return []info{{dtype: Float32, shape: out}}, gp.run, nil
	}
}

func (gp *globalPlan) run(x *exec, ins, outs []*value) {
	x.split(gp.planes, globalRange, gp, ins, outs)
}

func globalRange(j *job, _, lo, hi int) {
	gp := j.arg.(*globalPlan)
	in, out := j.ins[0].f, j.outs[0].f
	for pl := lo; pl < hi; pl++ {
		src := in[pl*gp.spatial : (pl+1)*gp.spatial]
		if gp.kind == poolMax {
			m := src[0]
			for _, v := range src[1:] {
				m = max(m, v)
			}
			out[pl] = m
			continue
		}
		out[pl] = sum32(src) / float32(gp.spatial)
	}
}

// lrnPlan is a local response normalisation across channels:
// y = x / (bias + alpha/size · Σ x²)^beta over the size channels around c.
type lrnPlan struct {
	n, c, spatial     int
	size              int
	alpha, beta, bias float32
}

func buildLRN(p *planCtx, n *node, ins []info) ([]info, kernel, error) {
	if len(ins) != 1 || ins[0].dtype != Float32 || len(ins[0].shape) < 3 {
		return nil, nil, fmt.Errorf("want one float input of rank >= 3")
	}
	size := n.attrs.int("size", 0)
	if size < 1 || size > 1<<16 {
		return nil, nil, fmt.Errorf("size %d, want >= 1", size)
	}
	s := ins[0].shape
	lp := &lrnPlan{n: s[0], c: s[1], spatial: shapeSize(s[2:]), size: int(size),
		alpha: n.attrs.float("alpha", 1e-4), beta: n.attrs.float("beta", 0.75), bias: n.attrs.float("bias", 1)}
	return []info{{dtype: Float32, shape: s}}, lp.run, nil
}

func (lp *lrnPlan) run(x *exec, ins, outs []*value) {
	x.split(lp.n*lp.c, lrnRange, lp, ins, outs)
}

func lrnRange(j *job, _, lo, hi int) {
	lp := j.arg.(*lrnPlan)
	in, out := j.ins[0].f, j.outs[0].f
	before, after := (lp.size-1)/2, lp.size/2 // floor and ceil of (size-1)/2
	scale := float64(lp.alpha) / float64(lp.size)
	for it := lo; it < hi; it++ {
		img, c := it/lp.c, it%lp.c
		c0, c1 := max(0, c-before), min(lp.c-1, c+after)
		base := img * lp.c * lp.spatial
		dst := out[it*lp.spatial : (it+1)*lp.spatial]
		src := in[it*lp.spatial : (it+1)*lp.spatial]
		for i := range dst {
			ss := 0.0
			for cc := c0; cc <= c1; cc++ {
				v := float64(in[base+cc*lp.spatial+i])
				ss += v * v
			}
			dst[i] = float32(float64(src[i]) / math.Pow(float64(lp.bias)+scale*ss, float64(lp.beta)))
		}
	}
}
