package onnxmodel

import (
	"fmt"

	"github.com/tlserve/tlserve/internal/gemm"
)

// opsConv holds the convolution.
var opsConv = map[string]opSpec{
	"Conv": {build: buildConv},
}

// colBudget bounds one im2col tile, in float32s, so that the tile and the
// packed B panel stay in L2.
const colBudget = 1 << 16

// convPlan is everything a Conv kernel needs, fixed at plan time. For each
// image, group and tile of output columns it computes
// out[oc, j] = W[oc, :] · col[:, j] with col the im2col of the input
// (or the input itself for a 1x1 stride-1 unpadded convolution).
type convPlan struct {
	geom2D
	n, c, m       int // batch, input channels, output channels
	group, cg, mg int // groups; input and output channels per group
	kdim          int // cg*kh*kw
	direct        bool
	depthwise     bool
	packed        [][]*gemm.PackedA // [group][row part], nil when W is computed at run time
	fuse          convFusion
	tile, tiles   int // output columns per tile, tiles per image and group
	rowBlock      int // output channels per row part
	parts         int // row parts per group
	colLen        int // im2col scratch per chunk
	gemmLen       int // gemm scratch per chunk
}

func buildConv(p *planCtx, n *node, ins []info) ([]info, kernel, error) {
	maxIn := 3
	if n.fuse.residual {
		maxIn = 4
	}
	if len(ins) < 2 || len(ins) > maxIn || ins[0].dtype == 0 || ins[1].dtype == 0 {
		return nil, nil, fmt.Errorf("want 2 or 3 inputs (X, W, optional B), got %d", len(ins))
	}
	x, w := ins[0], ins[1]
	if x.dtype != Float32 || w.dtype != Float32 {
		return nil, nil, fmt.Errorf("X and W must be float tensors")
	}
	r := len(x.shape) - 2
	switch {
	case r == 3:
		return nil, nil, fmt.Errorf("%w: 3-D convolution", ErrUnsupported)
	case r < 1 || r > 3:
		return nil, nil, fmt.Errorf("input X has rank %d, want 3 or 4", len(x.shape))
	}
	if len(w.shape) != r+2 {
		return nil, nil, fmt.Errorf("weights W have shape %v, want rank %d", w.shape, r+2)
	}
	cp := &convPlan{n: x.shape[0], c: x.shape[1], m: w.shape[0], fuse: n.fuse}
	g := n.attrs.int("group", 1)
	if g < 1 || g > int64(cp.c) {
		return nil, nil, fmt.Errorf("group %d for %d input channels", g, cp.c)
	}
	cp.group = int(g)
	if cp.c%cp.group != 0 || w.shape[1]*cp.group != cp.c || cp.m%cp.group != 0 || cp.m == 0 {
		return nil, nil, fmt.Errorf("input X %v, weights W %v and group %d do not match", x.shape, w.shape, cp.group)
	}
	cp.cg, cp.mg = cp.c/cp.group, cp.m/cp.group
	k := w.shape[2:]
	if ks := n.attrs.ints("kernel_shape", nil); ks != nil {
		kk, err := positive(ks, r, "kernel_shape")
		if err != nil {
			return nil, nil, err
		}
		if !equalShape(kk, k) {
			return nil, nil, fmt.Errorf("kernel_shape %v does not match weights W %v", ks, w.shape)
		}
	}
	wn, err := newWindow(n, x.shape[2:], k, true, false)
	if err != nil {
		return nil, nil, err
	}
	cp.geom2D = wn.as2D()
	cp.kdim = cp.cg * cp.kh * cp.kw
	outShape := append([]int{cp.n, cp.m}, wn.out...)
	if len(ins) > 2 && ins[2].dtype != 0 {
		b := ins[2]
		if b.dtype != Float32 || len(b.shape) != 1 || b.shape[0] != cp.m {
			return nil, nil, fmt.Errorf("bias B has shape %v, want [%d]", b.shape, cp.m)
		}
	}
	if n.fuse.residual {
		if len(ins) != 4 || ins[3].dtype != Float32 || !equalShape(ins[3].shape, outShape) {
			return nil, nil, fmt.Errorf("fused residual does not have the output shape %v", outShape)
		}
	}
	hw := cp.oh * cp.ow
	cp.direct = cp.kh == 1 && cp.kw == 1 && cp.sh == 1 && cp.sw == 1 && cp.pt == 0 && cp.pl == 0 && cp.pbot == 0 && cp.pr == 0
	cp.depthwise = cp.cg == 1 && cp.mg == 1 && !cp.direct

	threads := max(p.threads, 1)
	rt := gemm.RowTile()
	cp.tile = hw
	if !cp.direct {
		cp.tile = min(hw, max(64, colBudget/cp.kdim/16*16))
	}
	cp.tiles = (hw + cp.tile - 1) / cp.tile
	if have := cp.n * cp.group * cp.tiles; have < threads && hw >= 128*threads {
		per := (threads + cp.n*cp.group - 1) / (cp.n * cp.group)
		cp.tile = ((hw+per-1)/per + 15) / 16 * 16
		cp.tiles = (hw + cp.tile - 1) / cp.tile
	}
	cp.rowBlock, cp.parts = cp.mg, 1
	if have := cp.n * cp.group * cp.tiles; have < threads && cp.mg >= 2*rt && !cp.depthwise {
		parts := min((threads+have-1)/have, cp.mg/rt)
		cp.rowBlock = ((cp.mg+parts-1)/parts + rt - 1) / rt * rt
		cp.parts = (cp.mg + cp.rowBlock - 1) / cp.rowBlock
	}
	if !cp.direct && !cp.depthwise {
		cp.colLen = (cp.kdim*cp.tile + 15) / 16 * 16
	}
	if w.c != nil {
		key := "conv-pack:" + n.outputs[0]
		if v, ok := p.cache[key].(*convPlan); ok && v.rowBlock == cp.rowBlock && !cp.depthwise {
			cp.packed = v.packed
		} else if !cp.depthwise {
			cp.packed = make([][]*gemm.PackedA, cp.group)
			for gi := range cp.group {
				a := gemm.PackA(cp.mg, cp.kdim, w.c.f[gi*cp.mg*cp.kdim:], cp.kdim)
				for r0 := 0; r0 < cp.mg; r0 += cp.rowBlock {
					cp.packed[gi] = append(cp.packed[gi], a.RowRange(r0, min(r0+cp.rowBlock, cp.mg)))
				}
			}
			if p.cache != nil {
				p.cache[key] = cp
			}
		}
		cp.gemmLen = gemm.WorkspaceSize(cp.kdim, cp.tile)
	} else {
		cp.gemmLen = gemm.SgemmWorkspaceSize(cp.rowBlock, cp.tile, cp.kdim)
	}
	p.reserve(threads * (cp.colLen + cp.gemmLen))
	return []info{{dtype: Float32, shape: outShape}}, cp.run, nil
}

// run is the Conv kernel.
func (cp *convPlan) run(x *exec, ins, outs []*value) {
	if cp.depthwise {
		x.split(cp.n*cp.c, depthwiseRange, cp, ins, outs)
		return
	}
	x.split(cp.n*cp.group*cp.tiles*cp.parts, convRange, cp, ins, outs)
}

// convRange computes items [lo,hi) of a convolution; an item is one row
// part of one tile of output columns of one group of one image.
func convRange(j *job, chunk, lo, hi int) {
	cp := j.arg.(*convPlan)
	per := cp.colLen + cp.gemmLen
	ws := j.ws[chunk*per : (chunk+1)*per]
	col, gws := ws[:cp.colLen], ws[cp.colLen:]
	in, out := j.ins[0].f, j.outs[0].f
	var w, bias, res []float32
	if j.ins[1] != nil {
		w = j.ins[1].f
	}
	if len(j.ins) > 2 && j.ins[2] != nil {
		bias = j.ins[2].f
	}
	if cp.fuse.residual {
		res = j.ins[3].f
	}
	hw, ihw := cp.oh*cp.ow, cp.h*cp.w
	for it := lo; it < hi; it++ {
		part := it % cp.parts
		t := it / cp.parts % cp.tiles
		gi := it / (cp.parts * cp.tiles) % cp.group
		img := it / (cp.parts * cp.tiles * cp.group)
		c0 := t * cp.tile
		cols := min(cp.tile, hw-c0)
		r0 := part * cp.rowBlock
		rows := min(cp.rowBlock, cp.mg-r0)
		xg := in[(img*cp.c+gi*cp.cg)*ihw : (img*cp.c+(gi+1)*cp.cg)*ihw]
		var b []float32
		ldb := cols
		if cp.direct {
			b, ldb = xg[c0:], hw
		} else {
			b = col[:cp.kdim*cols]
			im2col(b, xg, &cp.geom2D, cp.cg, c0, cols)
		}
		oc := gi*cp.mg + r0 // first output channel
		dst := out[(img*cp.m+oc)*hw+c0:]
		ep := gemm.Epilogue{Act: gemm.Activation(cp.fuse.act), Min: cp.fuse.lo, Max: cp.fuse.hi}
		if bias != nil {
			ep.Bias = bias[oc : oc+rows]
		}
		if res != nil {
			ep.Add, ep.LdAdd = res[(img*cp.m+oc)*hw+c0:], hw
		}
		if cp.packed != nil {
			gemm.MulPacked(dst, hw, cp.packed[gi][part], b, ldb, cols, &ep, gws)
			continue
		}
		gemm.Sgemm(false, false, rows, cols, cp.kdim, 1, w[oc*cp.kdim:], cp.kdim, b, ldb, 0, dst, hw, gws)
		applyEpilogue(dst, hw, rows, cols, &ep)
	}
}

// applyEpilogue applies ep to the rows x cols block of dst, the path for
// products computed without one.
func applyEpilogue(dst []float32, ldc, rows, cols int, ep *gemm.Epilogue) {
	for i := range rows {
		row := dst[i*ldc : i*ldc+cols]
		if ep.Bias != nil {
			b := ep.Bias[i]
			for j := range row {
				row[j] += b
			}
		}
		if ep.Add != nil {
			add := ep.Add[i*ep.LdAdd : i*ep.LdAdd+cols]
			for j := range row {
				row[j] += add[j]
			}
		}
		activate(row, actKind(ep.Act), ep.Min, ep.Max)
	}
}

// activate applies an epilogue activation in place.
func activate(s []float32, act actKind, lo, hi float32) {
	switch act {
	case actRelu:
		for j, v := range s {
			s[j] = max(v, 0)
		}
	case actClip:
		for j, v := range s {
			s[j] = min(max(v, lo), hi)
		}
	}
}

// im2col writes col[k*cols+j], for kernel taps k < cg*kh*kw (channel-major)
// and j < cols, as the input under tap k for output position c0+j, with 0
// in the padding. x holds the cg input channels of one group.
func im2col(col, x []float32, g *geom2D, cg, c0, cols int) {
	ihw := g.h * g.w
	k := 0
	for c := range cg {
		xc := x[c*ihw : (c+1)*ihw]
		for ky := range g.kh {
			for kx := range g.kw {
				row := col[k*cols : (k+1)*cols]
				k++
				oy, ox := c0/g.ow, c0%g.ow
				for j := 0; j < cols; {
					seg := min(g.ow-ox, cols-j)
					dst := row[j : j+seg]
					j += seg
					iy := oy*g.sh - g.pt + ky*g.dh
					ix0 := ox*g.sw - g.pl + kx*g.dw
					oy, ox = oy+1, 0
					if iy < 0 || iy >= g.h {
						clear(dst)
						continue
					}
					src := xc[iy*g.w : (iy+1)*g.w]
					if g.sw == 1 {
						tlo := min(max(0, -ix0), seg)
						thi := max(min(seg, g.w-ix0), tlo)
						clear(dst[:tlo])
						copy(dst[tlo:thi], src[ix0+tlo:])
						clear(dst[thi:])
						continue
					}
					for t := range dst {
						ix := ix0 + t*g.sw
						if ix >= 0 && ix < g.w {
							dst[t] = src[ix]
						} else {
							dst[t] = 0
						}
					}
				}
			}
		}
	}
}

// depthwiseRange computes channels [lo,hi) (image-major) of a depthwise
// convolution directly, without im2col.
func depthwiseRange(j *job, _, lo, hi int) {
	cp := j.arg.(*convPlan)
	in, w, out := j.ins[0].f, j.ins[1].f, j.outs[0].f
	var bias, res []float32
	if len(j.ins) > 2 && j.ins[2] != nil {
		bias = j.ins[2].f
	}
	if cp.fuse.residual {
		res = j.ins[3].f
	}
	g := &cp.geom2D
	hw, ihw, kk := g.oh*g.ow, g.h*g.w, g.kh*g.kw
	for it := lo; it < hi; it++ {
		c := it % cp.c
		xc := in[it*ihw : (it+1)*ihw]
		wc := w[c*kk : (c+1)*kk]
		dst := out[it*hw : (it+1)*hw]
		b := float32(0)
		if bias != nil {
			b = bias[c]
		}
		for oy := range g.oh {
			for ox := range g.ow {
				s := b
				for ky := range g.kh {
					iy := oy*g.sh - g.pt + ky*g.dh
					if iy < 0 || iy >= g.h {
						continue
					}
					for kx := range g.kw {
						ix := ox*g.sw - g.pl + kx*g.dw
						if ix >= 0 && ix < g.w {
							s += xc[iy*g.w+ix] * wc[ky*g.kw+kx]
						}
					}
				}
				dst[oy*g.ow+ox] = s
			}
		}
		if res != nil {
			add := res[it*hw : (it+1)*hw]
			for i := range dst {
				dst[i] += add[i]
			}
		}
		activate(dst, cp.fuse.act, cp.fuse.lo, cp.fuse.hi)
	}
}
