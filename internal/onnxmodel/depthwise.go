package onnxmodel

import "math"

// Depthwise convolution (one input and one output channel per group), as
// in MobileNet and EfficientNet. Each output row is a sum of kh·kw taps,
// and every tap is the same operation: add w times a contiguous run of a
// prepared input row to the output row. Preparing a row means copying it
// into a small ring of zero-padded rows (split into sw phases for a
// horizontal stride sw, so that a strided tap is a contiguous run too);
// taps that fall in the top or bottom padding are left out of the row's
// tap list. The row kernel (dwRowTo) therefore has no padding tests and
// no strides, and fuses the bias and the Relu/Clip epilogue.

const (
	// dwRingLen bounds the prepared rows of one call, in float32s (32 KiB
	// on the goroutine's stack).
	dwRingLen = 8192
	// dwMaxTaps bounds kh·kw.
	dwMaxTaps = 256
	// dwMaxRows bounds the rows a kernel column spans, (kh-1)·dh+1.
	dwMaxRows = 64
)

// dwGeom is the layout of the prepared rows for one convolution.
type dwGeom struct {
	ring   int // ring slots: the rows one output row reads, (kh-1)·dh+1
	phaseL int // floats per phase of a prepared row
	rowLen int // floats per prepared row: sw phases
	inCols int // input columns that some tap reads
	// The first input column goes to phase pl%sw at index pl/sw.
	colOff [dwMaxTaps]int32 // per kx: offset of tap kx within a prepared row
}

// newDWGeom returns the ring layout for g, or false when g needs more
// than the fixed buffers hold (the caller then uses the plain loop).
func newDWGeom(g *geom2D, d *dwGeom) bool {
	if g.kh*g.kw > dwMaxTaps || (g.kh-1)*g.dh+1 > dwMaxRows || g.ow <= 0 || g.oh <= 0 {
		return false
	}
	// Padded columns 0..wpad-1 are read; input column ix sits at ix+pl.
	wpad := (g.ow-1)*g.sw + (g.kw-1)*g.dw + 1
	d.ring = (g.kh-1)*g.dh + 1
	d.phaseL = (wpad + g.sw - 1) / g.sw
	d.rowLen = d.phaseL * g.sw
	if d.ring*d.rowLen > dwRingLen {
		return false
	}
	d.inCols = min(g.w, max(wpad-g.pl, 0))
	for kx := range g.kw {
		t := kx * g.dw
		d.colOff[kx] = int32(t%g.sw*d.phaseL + t/g.sw)
	}
	return true
}

// prepRow writes input row src into the prepared row dst: padded column
// px = ix+pl goes to phase px%sw at index px/sw. Padding positions are
// never written, so they stay zero for the whole call.
func (d *dwGeom) prepRow(dst, src []float32, pl, sw int) {
	src = src[:d.inCols]
	switch sw {
	case 1:
		copy(dst[pl:], src)
	case 2:
		a := dst[pl%2*d.phaseL+pl/2:]
		b := dst[(pl+1)%2*d.phaseL+(pl+1)/2:]
		split2(a, b, src)
	default:
		for ix, v := range src {
			px := ix + pl
			dst[px%sw*d.phaseL+px/sw] = v
		}
	}
}

// split2Generic sets even[i] = src[2i] and odd[i] = src[2i+1].
func split2Generic(even, odd, src []float32) {
	for i := 0; 2*i+1 < len(src); i++ {
		even[i], odd[i] = src[2*i], src[2*i+1]
	}
	if len(src)%2 == 1 {
		even[len(src)/2] = src[len(src)-1]
	}
}

// dwRowGeneric sets dst[i] = clamp(bias + Σ_t wts[t]·buf[offs[t]+i], lo,
// hi) for i < len(dst): the specification of the row kernels.
func dwRowGeneric(dst, buf []float32, offs []int32, wts []float32, bias, lo, hi float32) {
	n := len(dst)
	for i := range dst {
		dst[i] = bias
	}
	wts = wts[:len(offs)]
	t := 0
	for ; t+3 <= len(offs); t += 3 {
		w0, w1, w2 := wts[t], wts[t+1], wts[t+2]
		s0 := buf[offs[t]:][:n]
		s1 := buf[offs[t+1]:][:n]
		s2 := buf[offs[t+2]:][:n]
		for i := range dst {
			dst[i] += w0*s0[i] + w1*s1[i] + w2*s2[i]
		}
	}
	for ; t < len(offs); t++ {
		w := wts[t]
		s := buf[offs[t]:][:n]
		for i := range dst {
			dst[i] += w * s[i]
		}
	}
	for i, v := range dst {
		dst[i] = min(max(v, lo), hi)
	}
}

// depthwiseRows computes channels [lo,hi) (image-major) of a depthwise
// convolution, as depthwiseRange does, row by row through prepared rows.
// Geometries too wide for its fixed buffers go to depthwiseRange.
func depthwiseRows(j *job, chunk, lo, hi int) {
	cp := j.arg.(*convPlan)
	g := &cp.geom2D
	var d dwGeom
	if !newDWGeom(g, &d) {
		depthwiseRange(j, chunk, lo, hi)
		return
	}
	in, w, out := j.ins[0].f, j.ins[1].f, j.outs[0].f
	bias, res := cp.convBias(j)
	alo, ahi := float32(math.Inf(-1)), float32(math.Inf(1))
	if res == nil {
		switch cp.fuse.act {
		case actRelu:
			alo = 0
		case actClip:
			alo, ahi = cp.fuse.lo, cp.fuse.hi
		}
	}
	var (
		ring [dwRingLen]float32
		tag  [dwMaxRows]int // input row held by each ring slot, -1 for none
		offs [dwMaxTaps]int32
		wts  [dwMaxTaps]float32
	)
	hw, ihw, kk := g.oh*g.ow, g.h*g.w, g.kh*g.kw
	// When the whole padded plane fits, every input row is prepared once
	// per channel and all output rows share one tap list.
	if planeRows := (g.oh-1)*g.sh + (g.kh-1)*g.dh + 1; planeRows*d.rowLen <= dwRingLen {
		for ky := range g.kh {
			for kx := range g.kw {
				offs[ky*g.kw+kx] = int32(ky*g.dh*d.rowLen) + d.colOff[kx]
			}
		}
		step := g.sh * d.rowLen
		for it := lo; it < hi; it++ {
			c := it % cp.c
			xc := in[it*ihw : (it+1)*ihw]
			dst := out[it*hw : (it+1)*hw]
			b := float32(0)
			if bias != nil {
				b = bias[c]
			}
			for iy := range min(g.h, planeRows-g.pt) {
				pr := iy + g.pt
				d.prepRow(ring[pr*d.rowLen:(pr+1)*d.rowLen], xc[iy*g.w:(iy+1)*g.w], g.pl, g.sw)
			}
			dwPlaneTo(dst, ring[:], offs[:kk], w[c*kk:(c+1)*kk], g.ow, step, b, alo, ahi)
			if res != nil {
				dwResidual(dst, res[it*hw:(it+1)*hw], cp.fuse)
			}
		}
		return
	}
	for it := lo; it < hi; it++ {
		c := it % cp.c
		xc := in[it*ihw : (it+1)*ihw]
		wc := w[c*kk : (c+1)*kk]
		dst := out[it*hw : (it+1)*hw]
		b := float32(0)
		if bias != nil {
			b = bias[c]
		}
		for s := range d.ring {
			tag[s] = -1
		}
		for oy := range g.oh {
			nt := 0
			iy0 := oy*g.sh - g.pt
			for ky := range g.kh {
				iy := iy0 + ky*g.dh
				if iy < 0 || iy >= g.h {
					continue
				}
				slot := iy % d.ring
				row := ring[slot*d.rowLen : (slot+1)*d.rowLen]
				if tag[slot] != iy {
					d.prepRow(row, xc[iy*g.w:(iy+1)*g.w], g.pl, g.sw)
					tag[slot] = iy
				}
				base := int32(slot * d.rowLen)
				for kx := range g.kw {
					offs[nt] = base + d.colOff[kx]
					wts[nt] = wc[ky*g.kw+kx]
					nt++
				}
			}
			dwRowTo(dst[oy*g.ow:(oy+1)*g.ow], ring[:], offs[:nt], wts[:nt], b, alo, ahi)
		}
		if res != nil {
			dwResidual(dst, res[it*hw:(it+1)*hw], cp.fuse)
		}
	}
}

// dwResidual adds the residual to dst and then applies the activation
// (the row kernels ran without it).
func dwResidual(dst, add []float32, f convFusion) {
	add = add[:len(dst)]
	for i := range dst {
		dst[i] += add[i]
	}
	activate(dst, f.act, f.lo, f.hi)
}

// dwPlaneGeneric runs dwRowTo for the len(dst)/ow output rows of a plane;
// output row oy reads buf from oy·step.
func dwPlaneGeneric(dst, buf []float32, offs []int32, wts []float32, ow, step int, bias, lo, hi float32) {
	for oy := range len(dst) / ow {
		dwRowTo(dst[oy*ow:(oy+1)*ow], buf[oy*step:], offs, wts, bias, lo, hi)
	}
}
