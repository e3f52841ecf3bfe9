package gemm

// Winograd3x3 computes 3x3, stride-1, dilation-1 convolutions of one group
// with the Winograd F(2x2,3x3) algorithm: each 2x2 output tile comes from a
// 4x4 input tile through 16 products instead of 36, and the products of all
// tiles and channels form 16 GEMMs run by MulPacked. The filters are
// transformed and packed once, by NewWinograd3x3.
type Winograd3x3 struct {
	k, c int
	u    [16]*PackedA // u[e] is the K x C matrix of transformed filter element e
	fast bool         // use the AVX-512 row kernels of the transforms
}

// WinogradGeom describes one image of a Winograd3x3 convolution: the input
// is C x H x W, padded by PadTop rows and PadLeft columns (and by as many
// zeros as needed at the bottom and right), and the output is K x OH x OW.
type WinogradGeom struct {
	H, W            int
	PadTop, PadLeft int
	OH, OW          int
}

// Tiles returns the number of 2x2 output tiles of the image; Conv numbers
// them row by row.
func (g WinogradGeom) Tiles() int { return ((g.OH + 1) / 2) * ((g.OW + 1) / 2) }

// NewWinograd3x3 transforms and packs the filters w of a convolution with k
// output and c input channels (w[((ko*c)+ci)*9 + ky*3 + kx], the ONNX
// layout of one group). It panics if w is too short.
func NewWinograd3x3(k, c int, w []float32) *Winograd3x3 {
	if k <= 0 || c <= 0 {
		panic("gemm: non-positive Winograd dimension")
	}
	if len(w) < k*c*9 {
		panic("gemm: Winograd filter slice too short")
	}
	// G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]; U = G g G^T.
	mats := make([]float32, 16*k*c)
	for ko := 0; ko < k; ko++ {
		for ci := 0; ci < c; ci++ {
			g := w[(ko*c+ci)*9 : (ko*c+ci)*9+9]
			var t [4][3]float64 // G g
			for j := 0; j < 3; j++ {
				g0, g1, g2 := float64(g[j]), float64(g[3+j]), float64(g[6+j])
				t[0][j] = g0
				t[1][j] = (g0 + g1 + g2) / 2
				t[2][j] = (g0 - g1 + g2) / 2
				t[3][j] = g2
			}
			for i := 0; i < 4; i++ {
				r := [4]float64{t[i][0], (t[i][0] + t[i][1] + t[i][2]) / 2, (t[i][0] - t[i][1] + t[i][2]) / 2, t[i][2]}
				for j, v := range r {
					mats[(i*4+j)*k*c+ko*c+ci] = float32(v)
				}
			}
		}
	}
	wg := &Winograd3x3{k: k, c: c, fast: impl.id == kernAVX512}
	for e := range wg.u {
		wg.u[e] = PackA(k, c, mats[e*k*c:(e+1)*k*c], c)
	}
	return wg
}

// winogradChunk is the number of tiles transformed and multiplied at a
// time, so that the 16 transformed inputs and products stay in L2.
var winogradChunk = 1024

// WorkspaceSize returns the number of float32 scratch elements Conv needs
// to compute tiles output tiles in one call.
func (wg *Winograd3x3) WorkspaceSize(tiles int) int {
	if tiles <= 0 {
		return 0
	}
	nt := min(tiles, winogradChunk)
	// The slack lets the row kernels read whole vectors past a row of M.
	return 16*(wg.c+wg.k)*nt + WorkspaceSize(wg.c, nt) + winoSlack
}

// Conv computes the output tiles [t0,t1) of one image:
//
//	dst[ko*OH*OW + y*OW + x] = act(sum_{ci,i,j} w[ko,ci,i,j] *
//	    src[ci*H*W + (y+i-PadTop)*W + (x+j-PadLeft)] + Bias[ko] + Add[ko*LdAdd + y*OW + x])
//
// with src elements outside the image read as zero, for the output pixels
// (y,x) of those tiles. Callers split the tiles of an image across
// goroutines. ws is scratch of at least wg.WorkspaceSize(t1-t0) floats;
// Conv does not allocate. It panics on inconsistent sizes.
func (wg *Winograd3x3) Conv(dst, src []float32, g WinogradGeom, t0, t1 int, ep *Epilogue, ws []float32) {
	if g.H <= 0 || g.W <= 0 || g.OH <= 0 || g.OW <= 0 || g.PadTop < 0 || g.PadLeft < 0 {
		panic("gemm: bad Winograd geometry")
	}
	if t0 < 0 || t1 > g.Tiles() || t0 > t1 {
		panic("gemm: Winograd tile range out of bounds")
	}
	if len(src) < wg.c*g.H*g.W || len(dst) < wg.k*g.OH*g.OW {
		panic("gemm: Winograd image slice too short")
	}
	nt := t1 - t0
	if nt == 0 {
		return
	}
	if len(ws) < wg.WorkspaceSize(nt) {
		panic("gemm: workspace too small")
	}
	e := winoEpilogue(ep, wg.k, g.OH*g.OW, 1)
	for c0 := t0; c0 < t1; c0 += winogradChunk {
		c1 := min(c0+winogradChunk, t1)
		nt := c1 - c0
		cs, ks := wg.c*nt, wg.k*nt
		v := ws[: 16*cs : 16*cs]
		m := ws[16*cs : 16*(cs+ks) : 16*(cs+ks)]
		gws := ws[16*(cs+ks) : len(ws)-winoSlack]
		winogradInput(v, src, wg.c, g, c0, c1, wg.fast)
		winoProducts(m, v, wg.u[:], cs, ks, nt, gws)
		winogradOutput(dst, ws[16*cs:], wg.k, g, c0, c1, &e, wg.fast)
	}
}

// winoEpilogue returns a copy of *ep (the zero Epilogue if ep is nil) after
// checking that its bias covers k channels and its residual, if any, covers
// images images of k channels of ohw pixels. It panics if they do not.
func winoEpilogue(ep *Epilogue, k, ohw, images int) Epilogue {
	var e Epilogue
	if ep != nil {
		e = *ep
		if e.Bias != nil && len(e.Bias) < k {
			panic("gemm: bias slice too short")
		}
		if e.Add != nil && (e.LdAdd < ohw || len(e.Add) < (images*k-1)*e.LdAdd+ohw) {
			panic("gemm: residual slice too short")
		}
	}
	return e
}

// winoProducts runs the element-wise GEMMs of a Winograd chunk of nt tiles:
// m[i*ks:(i+1)*ks] = u[i] * v[i*cs:(i+1)*cs] for every transformed filter
// element i, with gws as MulPacked's scratch.
func winoProducts(m, v []float32, u []*PackedA, cs, ks, nt int, gws []float32) {
	for i, p := range u {
		MulPacked(m[i*ks:(i+1)*ks], nt, p, v[i*cs:(i+1)*cs], nt, nt, nil, gws)
	}
}

// winogradBlock is the number of tiles of one tile row transformed at a
// time, through stack buffers; winoSlack is the room past the end of those
// buffers (and of M in the workspace) that lets the row kernels work on
// whole 16-float vectors.
const (
	winogradBlock = 32
	winoSlack     = 32
	winoRow       = 2*winogradBlock + 2 + winoSlack
)

// winogradInput writes V = B^T d B of the 4x4 input tile d of every channel
// and tile in [t0,t1) to v: element e of (channel ci, tile t) at
// v[e*c*nt + ci*nt + t-t0]. B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
// It works on runs of tiles along a tile row: the vertical half of the
// transform (winoVert) is shared by the two tiles that overlap each input
// column, the horizontal half (winoHoriz) writes rows of V.
func winogradInput(v, src []float32, c int, g WinogradGeom, t0, t1 int, fast bool) {
	const blk = winogradBlock
	nt := t1 - t0
	step := c * nt
	tw := (g.OW + 1) / 2
	hw := g.H * g.W
	var d, s [4][winoRow]float32
	for ci := 0; ci < c; ci++ {
		img := src[ci*hw : (ci+1)*hw : (ci+1)*hw]
		for t := t0; t < t1; {
			ty, tx := t/tw, t%tw
			n := min(tw-tx, t1-t, blk)
			iy0, ix0 := 2*ty-g.PadTop, 2*tx-g.PadLeft
			width := 2*n + 2
			// Input rows iy0..iy0+3, columns ix0..ix0+width-1, zero outside.
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
			winoVert(fast, &d, &s, width)
			o := ci*nt + t - t0
			for i := range s {
				e := i * 4 * step
				winoHoriz(fast, &s[i], v[e+o:e+o+n:e+o+n], v[e+step+o:e+step+o+n:e+step+o+n],
					v[e+2*step+o:e+2*step+o+n:e+2*step+o+n], v[e+3*step+o:e+3*step+o+n:e+3*step+o+n])
			}
			t += n
		}
	}
}

// winoVertGeneric computes the vertical half of the input transform for
// the first width columns: s0 = d0-d2, s1 = d1+d2, s2 = d2-d1, s3 = d1-d3.
func winoVertGeneric(d, s *[4][winoRow]float32, width int) {
	d0, d1, d2, d3 := d[0][:width], d[1][:width], d[2][:width], d[3][:width]
	s0, s1, s2, s3 := s[0][:width], s[1][:width], s[2][:width], s[3][:width]
	for x := range d0 {
		s0[x] = d0[x] - d2[x]
		s1[x] = d1[x] + d2[x]
		s2[x] = d2[x] - d1[x]
		s3[x] = d1[x] - d3[x]
	}
}

// winoHorizGeneric computes the horizontal half of the input transform of
// the len(v0) tiles of one row: with a, b, c, d = s[2q:2q+4],
// v0[q] = a-c, v1[q] = b+c, v2[q] = c-b, v3[q] = b-d.
func winoHorizGeneric(s *[winoRow]float32, v0, v1, v2, v3 []float32) {
	v1, v2, v3 = v1[:len(v0)], v2[:len(v0)], v3[:len(v0)]
	for q := range v0 {
		a, b, cc, dd := s[2*q], s[2*q+1], s[2*q+2], s[2*q+3]
		v0[q] = a - cc
		v1[q] = b + cc
		v2[q] = cc - b
		v3[q] = b - dd
	}
}

// winoOutGeneric computes Y = A^T M A (A^T = [1 1 1 0; 0 1 -1 -1]) of n
// tiles whose 16 elements are m[e*step+q]: output rows 0 and 1 of tile q
// go to r[0][2q:2q+2] and r[1][2q:2q+2].
func winoOutGeneric(m []float32, step, n int, r *[2][winoRow]float32) {
	var mm [16][]float32
	for i := range mm {
		mm[i] = m[i*step : i*step+n : i*step+n]
	}
	r0, r1 := r[0][:2*n], r[1][:2*n]
	for q := 0; q < n; q++ {
		a0 := mm[0][q] + mm[4][q] + mm[8][q]
		a1 := mm[1][q] + mm[5][q] + mm[9][q]
		a2 := mm[2][q] + mm[6][q] + mm[10][q]
		a3 := mm[3][q] + mm[7][q] + mm[11][q]
		b0 := mm[4][q] - mm[8][q] - mm[12][q]
		b1 := mm[5][q] - mm[9][q] - mm[13][q]
		b2 := mm[6][q] - mm[10][q] - mm[14][q]
		b3 := mm[7][q] - mm[11][q] - mm[15][q]
		r0[2*q], r0[2*q+1] = a0+a1+a2, a1-a2-a3
		r1[2*q], r1[2*q+1] = b0+b1+b2, b1-b2-b3
	}
}

// winogradOutput transforms the 16 GEMM results in m (element e of output
// channel ko and tile t at m[e*k*nt + ko*nt + t-t0]; m extends winoSlack
// floats past them) for every output channel and tile in [t0,t1), applies
// the epilogue and stores the pixels inside the image.
func winogradOutput(dst, m []float32, k int, g WinogradGeom, t0, t1 int, e *Epilogue, fast bool) {
	const blk = winogradBlock
	nt := t1 - t0
	step := k * nt
	tw := (g.OW + 1) / 2
	ohw := g.OH * g.OW
	var rows [2][winoRow]float32
	for ko := 0; ko < k; ko++ {
		out := dst[ko*ohw : (ko+1)*ohw : (ko+1)*ohw]
		var bias float32
		if e.Bias != nil {
			bias = e.Bias[ko]
		}
		var add []float32
		if e.Add != nil {
			add = e.Add[ko*e.LdAdd : ko*e.LdAdd+ohw : ko*e.LdAdd+ohw]
		}
		for t := t0; t < t1; {
			ty, tx := t/tw, t%tw
			n := min(tw-tx, t1-t, blk)
			winoOut(fast, m[ko*nt+t-t0:], step, n, &rows)
			y0, x0 := 2*ty, 2*tx
			cols := min(2*n, g.OW-x0)
			for i := 0; i < 2 && y0+i < g.OH; i++ {
				base := (y0+i)*g.OW + x0
				dr := out[base : base+cols : base+cols]
				src := rows[i][:cols]
				var ar []float32
				if add != nil {
					ar = add[base : base+cols : base+cols]
				}
				for j := range dr {
					val := src[j] + bias
					if ar != nil {
						val += ar[j]
					}
					switch e.Act {
					case Relu:
						val = max(val, 0)
					case Clip:
						val = min(max(val, e.Min), e.Max)
					}
					dr[j] = val
				}
			}
			t += n
		}
	}
}
