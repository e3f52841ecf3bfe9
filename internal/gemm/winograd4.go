package gemm

// Winograd4x4 computes 3x3, stride-1, dilation-1 convolutions of one group
// with the Winograd F(4x4,3x3) algorithm (Lavin and Gray, interpolation
// points 0, ±1, ±2, ±1/2 and infinity): each 4x4 output tile comes from a
// 6x6 input tile through 36 products instead of 144, and the products of
// all tiles and channels form 36 GEMMs run by MulPacked. The filters are
// transformed and packed once, by NewWinograd4x4; they take 36*K*C floats,
// four times the raw weights.
//
// Its geometry is a WinogradGeom, but its tiles are 4x4 output pixels:
// count them with Tiles, not WinogradGeom.Tiles.
type Winograd4x4 struct {
	k, c int
	u    [36]*PackedA // u[e] is the K x C matrix of transformed filter element e
	fast bool         // use the AVX-512 row kernels of the transforms
}

// NewWinograd4x4 transforms and packs the filters w of a convolution with k
// output and c input channels (w[((ko*c)+ci)*9 + ky*3 + kx], the ONNX
// layout of one group). It panics if a dimension is not positive or w is
// too short.
func NewWinograd4x4(k, c int, w []float32) *Winograd4x4 {
	if k <= 0 || c <= 0 {
		panic("gemm: non-positive Winograd dimension")
	}
	if len(w) < k*c*9 {
		panic("gemm: Winograd filter slice too short")
	}
	wg := &Winograd4x4{k: k, c: c, fast: impl.id == kernAVX512}
	// Each filter is transformed once, straight into the 36 packed
	// matrices (PackA's layout: panels of mr rows stored k-major), so that
	// no transient copy of the 36*K*C floats is needed.
	kern := impl
	mr := kern.mr
	panels := (k + mr - 1) / mr
	for e := range wg.u {
		wg.u[e] = &PackedA{m: k, k: c, kern: kern, data: make([]float32, panels*mr*c)}
	}
	u := make([]float64, 36)
	for ko := 0; ko < k; ko++ {
		base := (ko/mr)*mr*c + ko%mr
		for ci := 0; ci < c; ci++ {
			o := (ko*c + ci) * 9
			wino4Filter(u, w[o:o+9:o+9])
			for e, p := range wg.u {
				p.data[base+ci*mr] = float32(u[e])
			}
		}
	}
	return wg
}

// wino4G is G of F(4x4,3x3): row i evaluates the filter polynomial at the
// point 0, 1, -1, 2, -2 (scaled by 1/4, -1/6, -1/6, 1/24, 1/24 so that B
// has small integer entries) or takes its leading coefficient (infinity).
var wino4G = [6][3]float64{
	{1.0 / 4, 0, 0},
	{-1.0 / 6, -1.0 / 6, -1.0 / 6},
	{-1.0 / 6, 1.0 / 6, -1.0 / 6},
	{1.0 / 24, 1.0 / 12, 1.0 / 6},
	{1.0 / 24, -1.0 / 12, 1.0 / 6},
	{0, 0, 1},
}

// wino4Filter writes U = G g G^T of the 3x3 filter g (row-major) to u
// (row-major 6x6), in float64 so that the only rounding is the final
// conversion to float32.
func wino4Filter(u []float64, g []float32) {
	var t [6][3]float64 // G g
	for i := range t {
		for j := 0; j < 3; j++ {
			t[i][j] = wino4G[i][0]*float64(g[j]) + wino4G[i][1]*float64(g[3+j]) + wino4G[i][2]*float64(g[6+j])
		}
	}
	for i := 0; i < 6; i++ {
		for j := 0; j < 6; j++ {
			u[i*6+j] = t[i][0]*wino4G[j][0] + t[i][1]*wino4G[j][1] + t[i][2]*wino4G[j][2]
		}
	}
}

// Tiles returns the number of 4x4 output tiles of one image of geometry g;
// Conv numbers them row by row.
func (wg *Winograd4x4) Tiles(g WinogradGeom) int { return ((g.OH + 3) / 4) * ((g.OW + 3) / 4) }

// wino4Chunk bounds the number of tiles transformed and multiplied at a
// time. Chunks keep V and M (36*(C+K) floats per tile) near L2 where the
// filters are small, at the cost of reading all the transformed filters
// once per chunk; see docs/decisions.md "gemm: Winograd F(4x4,3x3)".
var wino4Chunk = 64

// WorkspaceSize returns the number of float32 scratch elements Conv and
// ConvBatch need to compute tiles output tiles in one call.
func (wg *Winograd4x4) WorkspaceSize(tiles int) int {
	if tiles <= 0 {
		return 0
	}
	nt := min(tiles, wino4Chunk)
	// The slack lets the row kernels read whole vectors past the end of M.
	return 36*(wg.c+wg.k)*nt + WorkspaceSize(wg.c, nt) + wino4Slack
}

// Conv computes the output tiles [t0,t1) of one image:
//
//	dst[ko*OH*OW + y*OW + x] = act(sum_{ci,i,j} w[ko,ci,i,j] *
//	    src[ci*H*W + (y+i-PadTop)*W + (x+j-PadLeft)] + Bias[ko] + Add[ko*LdAdd + y*OW + x])
//
// with src elements outside the image read as zero, for the output pixels
// (y,x) of those tiles (wg.Tiles(g) per image, row by row). Callers split
// the tiles of an image across goroutines. ws is scratch of at least
// wg.WorkspaceSize(t1-t0) floats; Conv does not allocate. It panics on
// inconsistent sizes.
func (wg *Winograd4x4) Conv(dst, src []float32, g WinogradGeom, t0, t1 int, ep *Epilogue, ws []float32) {
	wg.ConvBatch(dst, src, 1, g, t0, t1, ep, ws)
}

// ConvBatch is Conv over images consecutive images: image b is read from
// src[b*C*H*W:], written to dst[b*K*OH*OW:], and its residual, if any,
// starts at Add[b*K*LdAdd]. Tiles are numbered image by image, so
// [t0,t1) may span images (at most images*wg.Tiles(g)); putting the tiles
// of several images in one call lets each transformed filter matrix be
// read once for all of them, which is what makes small images (7x7, 14x14)
// pay.
func (wg *Winograd4x4) ConvBatch(dst, src []float32, images int, g WinogradGeom, t0, t1 int, ep *Epilogue, ws []float32) {
	if g.H <= 0 || g.W <= 0 || g.OH <= 0 || g.OW <= 0 || g.PadTop < 0 || g.PadLeft < 0 || images <= 0 {
		panic("gemm: bad Winograd geometry")
	}
	if t0 < 0 || t1 > images*wg.Tiles(g) || t0 > t1 {
		panic("gemm: Winograd tile range out of bounds")
	}
	ohw := g.OH * g.OW
	if len(src) < images*wg.c*g.H*g.W || len(dst) < images*wg.k*ohw {
		panic("gemm: Winograd image slice too short")
	}
	if t0 == t1 {
		return
	}
	if len(ws) < wg.WorkspaceSize(t1-t0) {
		panic("gemm: workspace too small")
	}
	e := winoEpilogue(ep, wg.k, ohw, images)
	if e.Act > Clip {
		panic("gemm: unknown activation")
	}
	// Equal chunks: a short last chunk would re-stream all of U for a few
	// tiles.
	chunks := (t1 - t0 + wino4Chunk - 1) / wino4Chunk
	size := (t1 - t0 + chunks - 1) / chunks
	for c0 := t0; c0 < t1; c0 += size {
		c1 := min(c0+size, t1)
		nt := c1 - c0
		cs, ks := wg.c*nt, wg.k*nt
		v := ws[: 36*cs : 36*cs]
		m := ws[36*cs : 36*(cs+ks) : 36*(cs+ks)]
		gws := ws[36*(cs+ks) : len(ws)-wino4Slack]
		wino4Input(v, src, wg.c, g, c0, c1, wg.fast)
		winoProducts(m, v, wg.u[:], cs, ks, nt, gws)
		wino4Output(dst, ws[36*cs:], wg.k, g, c0, c1, &e, wg.fast)
	}
}

// wino4Block is the number of tiles of one tile row transformed at a time,
// through stack buffers; wino4Slack is the room past the end of those
// buffers (and of M in the workspace) that lets the row kernels work on
// whole 16-float vectors.
const (
	wino4Block = 32
	wino4Slack = 32
	wino4Row   = 4*wino4Block + 2 + wino4Slack
)

// wino4Input writes V = B^T d B of the 6x6 input tile d of every channel
// and tile in [t0,t1) (numbered image by image) to v: element e of
// (channel ci, tile t) at v[e*c*nt + ci*nt + t-t0], nt = t1-t0. It works
// on runs of tiles along a tile row: the vertical half of the transform
// (wino4Vert) runs over whole input rows, the horizontal half (wino4Horiz)
// writes rows of V.
func wino4Input(v, src []float32, c int, g WinogradGeom, t0, t1 int, fast bool) {
	const blk = wino4Block
	nt := t1 - t0
	step := c * nt
	tw := (g.OW + 3) / 4
	tpi := tw * ((g.OH + 3) / 4)
	hw := g.H * g.W
	var d, s [6][wino4Row]float32
	for ci := 0; ci < c; ci++ {
		for t := t0; t < t1; {
			b, tt := t/tpi, t%tpi
			ty, tx := tt/tw, tt%tw
			n := min(tw-tx, t1-t, blk)
			img := src[(b*c+ci)*hw : (b*c+ci+1)*hw : (b*c+ci+1)*hw]
			iy0, ix0 := 4*ty-g.PadTop, 4*tx-g.PadLeft
			width := 4*n + 2
			// Input rows iy0..iy0+5, columns ix0..ix0+width-1, zero outside.
			lo, hi := max(0, -ix0), min(width, g.W-ix0)
			for i := range d {
				row := d[i][:width]
				y := iy0 + i
				if y < 0 || y >= g.H || lo >= hi {
					clear(row)
					continue
				}
				clear(row[:lo])
				copy(row[lo:hi], img[y*g.W+ix0+lo:y*g.W+ix0+hi])
				clear(row[hi:])
			}
			wino4Vert(fast, &d, &s, width)
			o := ci*nt + t - t0
			for i := range s {
				var vr [6][]float32
				for j := range vr {
					e := (i*6+j)*step + o
					vr[j] = v[e : e+n : e+n]
				}
				wino4Horiz(fast, &s[i], &vr)
			}
			t += n
		}
	}
}

// wino4Combine applies B^T to the six values d0..d5:
//
//	B^T = [4  0 -5  0 1 0]
//	      [0 -4 -4  1 1 0]
//	      [0  4 -4 -1 1 0]
//	      [0 -2 -1  2 1 0]
//	      [0  2 -1 -2 1 0]
//	      [0  4  0 -5 0 1]
//
// in the order of operations the AVX-512 kernels use.
func wino4Combine(d0, d1, d2, d3, d4, d5 float32) (v0, v1, v2, v3, v4, v5 float32) {
	a := d4 - 4*d2
	b := d3 - 4*d1
	c := d4 - d2
	e := 2 * (d3 - d1)
	v0 = (d4 - 5*d2) + 4*d0
	v1 = a + b
	v2 = a - b
	v3 = c + e
	v4 = c - e
	v5 = (d5 - 5*d3) + 4*d1
	return
}

// wino4VertGeneric computes the vertical half of the input transform
// (s = B^T d, column by column) for the first width columns.
func wino4VertGeneric(d, s *[6][wino4Row]float32, width int) {
	d0, d1, d2, d3, d4, d5 := d[0][:width], d[1][:width], d[2][:width], d[3][:width], d[4][:width], d[5][:width]
	s0, s1, s2, s3, s4, s5 := s[0][:width], s[1][:width], s[2][:width], s[3][:width], s[4][:width], s[5][:width]
	for x := range d0 {
		s0[x], s1[x], s2[x], s3[x], s4[x], s5[x] = wino4Combine(d0[x], d1[x], d2[x], d3[x], d4[x], d5[x])
	}
}

// wino4HorizGeneric computes the horizontal half of the input transform of
// the len(v[0]) tiles of one row: v[j][q] = (B^T s[4q:4q+6])[j].
func wino4HorizGeneric(s *[wino4Row]float32, v *[6][]float32) {
	n := len(v[0])
	v0, v1, v2, v3, v4, v5 := v[0], v[1][:n], v[2][:n], v[3][:n], v[4][:n], v[5][:n]
	for q := range v0 {
		x := s[4*q : 4*q+6 : 4*q+6]
		v0[q], v1[q], v2[q], v3[q], v4[q], v5[q] = wino4Combine(x[0], x[1], x[2], x[3], x[4], x[5])
	}
}

// wino4Reduce applies A^T to the six values m0..m5:
//
//	A^T = [1 1  1 1  1 0]
//	      [0 1 -1 2 -2 0]
//	      [0 1  1 4  4 0]
//	      [0 1 -1 8 -8 1]
func wino4Reduce(m0, m1, m2, m3, m4, m5 float32) (y0, y1, y2, y3 float32) {
	a := m1 + m2
	b := m1 - m2
	c := m3 + m4
	d := m3 - m4
	y0 = (m0 + a) + c
	y1 = b + 2*d
	y2 = a + 4*c
	y3 = (b + m5) + 8*d
	return
}

// wino4OutGeneric computes Y = A^T M A of n tiles whose 36 elements are
// m[e*step+q]: row i of tile q goes to r[i][4q:4q+4].
func wino4OutGeneric(m []float32, step, n int, r *[4][wino4Row]float32) {
	var mm [36][]float32
	for i := range mm {
		mm[i] = m[i*step : i*step+n : i*step+n]
	}
	for q := 0; q < n; q++ {
		var t [4][6]float32 // A^T M
		for j := 0; j < 6; j++ {
			t[0][j], t[1][j], t[2][j], t[3][j] = wino4Reduce(mm[j][q], mm[6+j][q], mm[12+j][q], mm[18+j][q], mm[24+j][q], mm[30+j][q])
		}
		for i := range t {
			x := &t[i]
			y := r[i][4*q : 4*q+4 : 4*q+4]
			y[0], y[1], y[2], y[3] = wino4Reduce(x[0], x[1], x[2], x[3], x[4], x[5])
		}
	}
}

// epiRowGeneric stores act(src[j] + bias + add[j]) to dst[j] for j <
// len(dst); add is nil for no residual.
func epiRowGeneric(dst, src, add []float32, bias float32, e *Epilogue) {
	src = src[:len(dst)]
	if add != nil {
		add = add[:len(dst)]
	}
	for j := range dst {
		val := src[j] + bias
		if add != nil {
			val += add[j]
		}
		switch e.Act {
		case Relu:
			val = max(val, 0)
		case Clip:
			val = min(max(val, e.Min), e.Max)
		}
		dst[j] = val
	}
}

// wino4Output transforms the 36 GEMM results in m (element e of output
// channel ko and tile t at m[e*k*nt + ko*nt + t-t0]; m extends wino4Slack
// floats past them) for every output channel and tile in [t0,t1), applies
// the epilogue and stores the pixels inside the image.
func wino4Output(dst, m []float32, k int, g WinogradGeom, t0, t1 int, e *Epilogue, fast bool) {
	const blk = wino4Block
	nt := t1 - t0
	step := k * nt
	tw := (g.OW + 3) / 4
	tpi := tw * ((g.OH + 3) / 4)
	ohw := g.OH * g.OW
	var rows [4][wino4Row]float32
	for ko := 0; ko < k; ko++ {
		var bias float32
		if e.Bias != nil {
			bias = e.Bias[ko]
		}
		for t := t0; t < t1; {
			b, tt := t/tpi, t%tpi
			ty, tx := tt/tw, tt%tw
			n := min(tw-tx, t1-t, blk)
			out := dst[(b*k+ko)*ohw : (b*k+ko+1)*ohw : (b*k+ko+1)*ohw]
			var add []float32
			if e.Add != nil {
				a0 := (b*k + ko) * e.LdAdd
				add = e.Add[a0 : a0+ohw : a0+ohw]
			}
			wino4Out(fast, m[ko*nt+t-t0:], step, n, &rows)
			y0, x0 := 4*ty, 4*tx
			cols := min(4*n, g.OW-x0)
			for i := 0; i < 4 && y0+i < g.OH; i++ {
				base := (y0+i)*g.OW + x0
				var ar []float32
				if add != nil {
					ar = add[base : base+cols : base+cols]
				}
				epiRow(fast, out[base:base+cols:base+cols], &rows[i], ar, bias, e)
			}
			t += n
		}
	}
}
