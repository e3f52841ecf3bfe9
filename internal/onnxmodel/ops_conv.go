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

// convAlgo is how a Conv computes, chosen at plan time.
type convAlgo uint8

const (
	convIm2col    convAlgo = iota // im2col tile times packed weights
	convDirect                    // 1x1 stride-1 unpadded: the input is the GEMM's B
	convWinograd2                 // 3x3 stride-1: Winograd F(2x2,3x3), image by image
	convWinograd4                 // 3x3 stride-1: Winograd F(4x4,3x3), tiles of the whole batch
	convDepthwise                 // one channel per group: a direct loop
	convRuntime                   // weights computed at run time: Sgemm
)

var convAlgoNames = [...]string{"im2col", "direct", "winograd2", "winograd4", "depthwise", "runtime"}

func (a convAlgo) String() string { return convAlgoNames[a] }

// Winograd is used for 3x3 stride-1 convolutions with at least
// winoMinChannels input and output channels: F(4x4,3x3) from wino4MinPixels
// output pixels per image, F(2x2,3x3) from wino2MinPixels. Below that the
// transformed filters (36/9 and 16/9 the size of the weights) are streamed
// for too little work. They are variables only so that measurements can
// compare settings in one process; see docs/decisions.md "onnxmodel: speed
// work".
var (
	winoMinChannels = 16
	wino4MinPixels  = 28 * 28
	wino2MinPixels  = 7 * 7
)

// convWeights is the load-time form of a Conv's constant weights, shared by
// the plans of every batch size through planCtx.cache: either the packed
// rows of each group, or the Winograd-transformed filters. It replaces the
// raw initializer, which Model releases after load.
type convWeights struct {
	packed []*gemm.PackedA // [group], all output channels of the group
	// w2 or w4 holds the transformed filters of output channels
	// [i*winoBlock, (i+1)*winoBlock) (one part unless split for threads);
	// wino4 is w4[0] when it is the only part. They are concrete types, not
	// an interface: an Epilogue passed through an interface method escapes
	// and would be allocated on every call.
	w2        []*gemm.Winograd3x3
	w4        []*gemm.Winograd4x4
	winoBlock int
	wino4     *gemm.Winograd4x4
}

// winoTilesPerThread is the number of tiles per image and thread below
// which the output channels of a Winograd convolution are split across
// threads instead of its tiles: with few tiles, each thread would stream
// all the transformed filters for little work.
const winoTilesPerThread = 64

// convPlan is everything a Conv kernel needs, fixed at plan time. For each
// image, group and tile of output columns it computes
// out[oc, j] = W[oc, :] · col[:, j] with col the im2col of the input
// (or the input itself for a 1x1 stride-1 unpadded convolution).
type convPlan struct {
	geom2D
	n, c, m       int // batch, input channels, output channels
	group, cg, mg int // groups; input and output channels per group
	kdim          int // cg*kh*kw
	algo          convAlgo
	inputIsB      bool              // 1x1 stride-1 unpadded: the input is the GEMM's B
	packed        [][]*gemm.PackedA // [group][row part], nil unless im2col or direct
	wino          *convWeights      // Winograd filters
	wtiles        int               // Winograd tiles per image
	wgeom         gemm.WinogradGeom
	fuse          convFusion
	tile, tiles   int // output columns (Winograd: tiles) per work item; items per image and group (Winograd F(4x4): per batch)
	rowBlock      int // output channels per row part
	parts         int // row parts per group
	colLen        int // im2col scratch per chunk
	gemmLen       int // gemm (or Winograd) scratch per chunk
}

// chooseConvAlgo picks the algorithm from the geometry alone, so that every
// batch size uses the same load-time weights.
func chooseConvAlgo(cp *convPlan, constW bool) convAlgo {
	switch {
	case cp.kh == 1 && cp.kw == 1 && cp.sh == 1 && cp.sw == 1 && cp.pt == 0 && cp.pl == 0 && cp.pbot == 0 && cp.pr == 0:
		if !constW {
			return convRuntime
		}
		return convDirect
	case cp.cg == 1 && cp.mg == 1:
		return convDepthwise
	case !constW:
		return convRuntime
	case cp.group == 1 && cp.kh == 3 && cp.kw == 3 && cp.sh == 1 && cp.sw == 1 && cp.dh == 1 && cp.dw == 1 &&
		cp.c >= winoMinChannels && cp.m >= winoMinChannels:
		switch px := cp.oh * cp.ow; {
		case px >= wino4MinPixels:
			return convWinograd4
		case px >= wino2MinPixels:
			return convWinograd2
		}
	}
	return convIm2col
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
	// A nil cache is the shape-checking compile at load: nothing is packed
	// there, and the kernel (run only if the node folds) multiplies the
	// raw weights.
	cp.algo = chooseConvAlgo(cp, w.c != nil && p.cache != nil)
	cp.inputIsB = cp.kh == 1 && cp.kw == 1 && cp.sh == 1 && cp.sw == 1 && cp.pt == 0 && cp.pl == 0 && cp.pbot == 0 && cp.pr == 0
	threads := max(p.threads, 1)
	if cp.algo == convWinograd2 || cp.algo == convWinograd4 {
		if err := cp.planWinograd(p, n, w.c, threads); err != nil {
			return nil, nil, err
		}
	} else if err := cp.planGEMM(p, n, w.c, threads); err != nil {
		return nil, nil, err
	}
	p.conv = cp
	return []info{{dtype: Float32, shape: outShape}}, cp.run, nil
}

// weights returns the load-time weights of node n, computing them on first
// use. It fails when the raw weights were released and the cache does not
// hold what this plan needs, which would be a bug in Model.release.
func (cp *convPlan) weights(p *planCtx, n *node, wc *value) (*convWeights, error) {
	key := n.outputs[0]
	cw := p.cache.weights[key]
	switch {
	case cw != nil && (cp.algo == convWinograd2) == (cw.w2 != nil) && (cp.algo == convWinograd4) == (cw.w4 != nil):
		return cw, nil
	case len(wc.f) < cp.m*cp.kdim:
		return nil, fmt.Errorf("%w: weights of %s were released", ErrInvalidModel, n.label())
	}
	cw = &convWeights{}
	switch cp.algo {
	case convWinograd2, convWinograd4:
		// The split depends only on the geometry and the model's thread
		// count, so it is the same for every batch size.
		threads := max(p.threads, 1)
		parts := 1
		if threads > 1 && cp.winoTiles() < winoTilesPerThread*threads {
			parts = threads
		}
		rt := gemm.RowTile()
		cw.winoBlock = ((cp.m+parts-1)/parts + rt - 1) / rt * rt
		for k0 := 0; k0 < cp.m; k0 += cw.winoBlock {
			k := min(cw.winoBlock, cp.m-k0)
			w := wc.f[k0*cp.c*9 : (k0+k)*cp.c*9]
			if cp.algo == convWinograd2 {
				cw.w2 = append(cw.w2, gemm.NewWinograd3x3(k, cp.c, w))
				continue
			}
			w4 := gemm.NewWinograd4x4(k, cp.c, w)
			cw.w4 = append(cw.w4, w4)
			if k0 == 0 && k == cp.m {
				cw.wino4 = w4
			}
		}
	default:
		cw.packed = make([]*gemm.PackedA, cp.group)
		for gi := range cp.group {
			cw.packed[gi] = gemm.PackA(cp.mg, cp.kdim, wc.f[gi*cp.mg*cp.kdim:], cp.kdim)
		}
	}
	p.cache.weights[key] = cw
	if p.cache.release[key] {
		wc.f = nil
	}
	return cw, nil
}

// winoTiles returns the number of Winograd tiles of one image.
func (cp *convPlan) winoTiles() int {
	if cp.algo == convWinograd4 {
		return ((cp.oh + 3) / 4) * ((cp.ow + 3) / 4)
	}
	return ((cp.oh + 1) / 2) * ((cp.ow + 1) / 2)
}

// planWinograd sets up a Winograd convolution. With the output channels
// split in parts (few tiles per image), a work item is one part of one
// image. Otherwise F(2x2,3x3) items are runs of tiles of one image: whole
// images when there are enough of them for the threads, else each image
// split in as many runs as it takes; F(4x4,3x3) numbers the tiles of the
// whole batch in one sequence and splits it in one run per thread (at most
// wino4Run tiles), so each run streams the filters once for several images.
func (cp *convPlan) planWinograd(p *planCtx, n *node, wc *value, threads int) error {
	cw, err := cp.weights(p, n, wc)
	if err != nil {
		return err
	}
	cp.wino = cw
	cp.wgeom = gemm.WinogradGeom{H: cp.h, W: cp.w, PadTop: cp.pt, PadLeft: cp.pl, OH: cp.oh, OW: cp.ow}
	cp.wtiles = cp.winoTiles()
	cp.rowBlock, cp.parts = cw.winoBlock, len(cw.w2)+len(cw.w4)
	switch {
	case cp.parts > 1:
		cp.tile, cp.tiles = cp.wtiles, 1
	case cw.wino4 != nil:
		total := cp.n * cp.wtiles
		runs := max(threads, (total+wino4Run-1)/wino4Run)
		cp.tile = (total + runs - 1) / runs
		cp.tiles = (total + cp.tile - 1) / cp.tile
	default:
		per := 1
		if cp.n < threads {
			per = (threads + cp.n - 1) / cp.n
		}
		cp.tile = (cp.wtiles + per - 1) / per
		cp.tiles = (cp.wtiles + cp.tile - 1) / cp.tile
	}
	for _, w := range cw.w2 {
		cp.gemmLen = max(cp.gemmLen, w.WorkspaceSize(cp.tile))
	}
	for _, w := range cw.w4 {
		cp.gemmLen = max(cp.gemmLen, w.WorkspaceSize(cp.tile))
	}
	p.reserve(threads * cp.gemmLen)
	return nil
}

// wino4Run bounds the tiles of one F(4x4,3x3) work item, and with it the
// workspace (36*(C+K) floats per tile).
var wino4Run = 1024

// planGEMM sets up the im2col, direct, depthwise and run-time-weights
// algorithms. Work items are (image, group, column tile, row block):
// columns are split first; when an image has too few columns for the
// threads (late 7x7 layers) the output channels are split in multiples of
// gemm.RowTile().
func (cp *convPlan) planGEMM(p *planCtx, n *node, wc *value, threads int) error {
	hw := cp.oh * cp.ow
	rt := gemm.RowTile()
	cp.tile = hw
	if !cp.inputIsB {
		cp.tile = min(hw, max(64, colBudget/cp.kdim/16*16))
	}
	cp.tiles = (hw + cp.tile - 1) / cp.tile
	if !cp.inputIsB && threads > 1 && cp.tiles > 1 && cp.tiles < 4*threads {
		// Equal tiles, as many as a multiple of the threads: a short last
		// tile (784 columns as 256+256+256+16) left one thread with twice
		// the other's work. Single tiles (7x7 layers) split rows instead,
		// below; with many tiles the imbalance is small.
		t := (cp.tiles + threads - 1) / threads * threads
		cp.tile = (hw + t - 1) / t
		cp.tiles = (hw + cp.tile - 1) / cp.tile
	}
	if have := cp.n * cp.group * cp.tiles; have < threads && hw >= 128*threads {
		per := (threads + cp.n*cp.group - 1) / (cp.n * cp.group)
		cp.tile = ((hw+per-1)/per + 15) / 16 * 16
		cp.tiles = (hw + cp.tile - 1) / cp.tile
	}
	cp.rowBlock, cp.parts = cp.mg, 1
	if have := cp.n * cp.group * cp.tiles; have < threads && cp.mg >= 2*rt && cp.algo != convDepthwise {
		parts := min((threads+have-1)/have, cp.mg/rt)
		cp.rowBlock = ((cp.mg+parts-1)/parts + rt - 1) / rt * rt
		cp.parts = (cp.mg + cp.rowBlock - 1) / cp.rowBlock
	}
	if !cp.inputIsB && cp.algo != convDepthwise {
		cp.colLen = (cp.kdim*cp.tile + 15) / 16 * 16
	}
	switch cp.algo {
	case convDepthwise:
		return nil
	case convRuntime:
		cp.gemmLen = gemm.SgemmWorkspaceSize(cp.rowBlock, cp.tile, cp.kdim)
	default:
		cw, err := cp.weights(p, n, wc)
		if err != nil {
			return err
		}
		cp.packed = make([][]*gemm.PackedA, cp.group)
		for gi, a := range cw.packed {
			for r0 := 0; r0 < cp.mg; r0 += cp.rowBlock {
				cp.packed[gi] = append(cp.packed[gi], a.RowRange(r0, min(r0+cp.rowBlock, cp.mg)))
			}
		}
		cp.gemmLen = gemm.WorkspaceSize(cp.kdim, cp.tile)
	}
	p.reserve(threads * (cp.colLen + cp.gemmLen))
	return nil
}

// run is the Conv kernel.
func (cp *convPlan) run(x *exec, ins, outs []*value) {
	switch cp.algo {
	case convDepthwise:
		x.split(cp.n*cp.c, depthwiseRows, cp, ins, outs)
	case convWinograd2, convWinograd4:
		if cp.wino.wino4 != nil {
			x.split(cp.tiles, winogradBatchRange, cp, ins, outs)
			return
		}
		x.split(cp.n*cp.tiles*cp.parts, winogradRange, cp, ins, outs)
	default:
		x.split(cp.n*cp.group*cp.tiles*cp.parts, convRange, cp, ins, outs)
	}
}

// convBias returns the bias and residual inputs of a Conv, nil when absent.
func (cp *convPlan) convBias(j *job) (bias, res []float32) {
	if len(j.ins) > 2 && j.ins[2] != nil {
		bias = j.ins[2].f
	}
	if cp.fuse.residual {
		res = j.ins[3].f
	}
	return bias, res
}

// winogradRange computes items [lo,hi) of a Winograd convolution; an item
// is one run of output tiles of one part of the output channels of one
// image.
func winogradRange(j *job, chunk, lo, hi int) {
	cp := j.arg.(*convPlan)
	ws := j.ws[chunk*cp.gemmLen : (chunk+1)*cp.gemmLen]
	in, out := j.ins[0].f, j.outs[0].f
	bias, res := cp.convBias(j)
	hw, ihw := cp.oh*cp.ow, cp.h*cp.w
	ep := gemm.Epilogue{Act: gemm.Activation(cp.fuse.act), Min: cp.fuse.lo, Max: cp.fuse.hi}
	for it := lo; it < hi; it++ {
		part := it % cp.parts
		t := it / cp.parts % cp.tiles
		img := it / (cp.parts * cp.tiles)
		t0 := t * cp.tile
		k0 := part * cp.rowBlock
		k1 := min(k0+cp.rowBlock, cp.m)
		if bias != nil {
			ep.Bias = bias[k0:k1]
		}
		if res != nil {
			ep.Add, ep.LdAdd = res[(img*cp.m+k0)*hw:(img*cp.m+k1)*hw], hw
		}
		dst, src := out[(img*cp.m+k0)*hw:(img*cp.m+k1)*hw], in[img*cp.c*ihw:(img+1)*cp.c*ihw]
		t1 := min(t0+cp.tile, cp.wtiles)
		if cp.algo == convWinograd4 {
			cp.wino.w4[part].Conv(dst, src, cp.wgeom, t0, t1, &ep, ws)
		} else {
			cp.wino.w2[part].Conv(dst, src, cp.wgeom, t0, t1, &ep, ws)
		}
	}
}

// winogradBatchRange computes items [lo,hi) of a Winograd F(4x4,3x3)
// convolution with undivided output channels; an item is one run of the
// batch's output tiles.
func winogradBatchRange(j *job, chunk, lo, hi int) {
	cp := j.arg.(*convPlan)
	ws := j.ws[chunk*cp.gemmLen : (chunk+1)*cp.gemmLen]
	bias, res := cp.convBias(j)
	total := cp.n * cp.wtiles
	ep := gemm.Epilogue{Act: gemm.Activation(cp.fuse.act), Min: cp.fuse.lo, Max: cp.fuse.hi, Bias: bias}
	if res != nil {
		ep.Add, ep.LdAdd = res, cp.oh*cp.ow
	}
	for it := lo; it < hi; it++ {
		t0 := it * cp.tile
		cp.wino.wino4.ConvBatch(j.outs[0].f, j.ins[0].f, cp.n, cp.wgeom, t0, min(t0+cp.tile, total), &ep, ws)
	}
}

// convRange computes items [lo,hi) of a convolution; an item is one row
// part of one tile of output columns of one group of one image.
func convRange(j *job, chunk, lo, hi int) {
	cp := j.arg.(*convPlan)
	per := cp.colLen + cp.gemmLen
	ws := j.ws[chunk*per : (chunk+1)*per]
	col, gws := ws[:cp.colLen], ws[cp.colLen:]
	in, out := j.ins[0].f, j.outs[0].f
	var w []float32
	if j.ins[1] != nil {
		w = j.ins[1].f
	}
	bias, res := cp.convBias(j)
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
		if cp.inputIsB {
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
						if thi > tlo {
							// A short segment may lie wholly in the
							// padding, where ix0+tlo is negative.
							copy(dst[tlo:thi], src[ix0+tlo:])
						}
						clear(dst[thi:])
						continue
					}
					// Outputs t in [tlo,thi) read inside the row.
					sw := g.sw
					tlo := min(max(0, (sw-1-ix0)/sw), seg)
					thi := max(min(seg, (g.w-ix0+sw-1)/sw), tlo)
					clear(dst[:tlo])
					in := dst[tlo:thi]
					ix := ix0 + tlo*sw
					if sw == 2 && len(in) > 0 {
						s := src[ix : ix+2*len(in)-1]
						for t := range in {
							in[t] = s[2*t]
						}
					} else {
						for t := range in {
							in[t] = src[ix+t*sw]
						}
					}
					clear(dst[thi:])
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
	bias, res := cp.convBias(j)
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
