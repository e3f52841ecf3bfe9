package gemm

// Winograd3x3 computes 3x3, stride-1, dilation-1 convolutions of one group
// with the Winograd F(2x2,3x3) algorithm: each 2x2 output tile comes from a
// 4x4 input tile through 16 products instead of 36, and the products of all
// tiles and channels form 16 GEMMs run by MulPacked. The filters are
// transformed and packed once, by NewWinograd3x3.
type Winograd3x3 struct {
	k, c int
	u    [16]*PackedA // u[e] is the K x C matrix of transformed filter element e
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
	wg := &Winograd3x3{k: k, c: c}
	for e := range wg.u {
		wg.u[e] = PackA(k, c, mats[e*k*c:(e+1)*k*c], c)
	}
	return wg
}

// WorkspaceSize returns the number of float32 scratch elements Conv needs
// to compute tiles output tiles in one call.
func (wg *Winograd3x3) WorkspaceSize(tiles int) int {
	if tiles <= 0 {
		return 0
	}
	return 16*(wg.c+wg.k)*tiles + WorkspaceSize(wg.c, tiles)
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
	var e Epilogue
	if ep != nil {
		e = *ep
		if e.Bias != nil && len(e.Bias) < wg.k {
			panic("gemm: bias slice too short")
		}
		if e.Add != nil && (e.LdAdd < g.OH*g.OW || len(e.Add) < (wg.k-1)*e.LdAdd+g.OH*g.OW) {
			panic("gemm: residual slice too short")
		}
	}
	cs, ks := wg.c*nt, wg.k*nt
	v := ws[: 16*cs : 16*cs]
	m := ws[16*cs : 16*(cs+ks) : 16*(cs+ks)]
	gws := ws[16*(cs+ks):]
	winogradInput(v, src, wg.c, g, t0, t1)
	for i := range wg.u {
		MulPacked(m[i*ks:(i+1)*ks], nt, wg.u[i], v[i*cs:(i+1)*cs], nt, nt, nil, gws)
	}
	winogradOutput(dst, m, wg.k, g, t0, t1, &e)
}

// winogradInput writes V = B^T d B of the 4x4 input tile d of every channel
// and tile in [t0,t1) to v: element e of (channel ci, tile t) at
// v[e*c*nt + ci*nt + t-t0]. B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
func winogradInput(v, src []float32, c int, g WinogradGeom, t0, t1 int) {
	nt := t1 - t0
	tw := (g.OW + 1) / 2
	hw := g.H * g.W
	for ci := 0; ci < c; ci++ {
		img := src[ci*hw : (ci+1)*hw : (ci+1)*hw]
		for t := t0; t < t1; t++ {
			iy0, ix0 := 2*(t/tw)-g.PadTop, 2*(t%tw)-g.PadLeft
			var d [4][4]float32
			if iy0 >= 0 && ix0 >= 0 && iy0+4 <= g.H && ix0+4 <= g.W {
				for i := 0; i < 4; i++ {
					row := img[(iy0+i)*g.W+ix0 : (iy0+i)*g.W+ix0+4 : (iy0+i)*g.W+ix0+4]
					d[i] = [4]float32{row[0], row[1], row[2], row[3]}
				}
			} else {
				for i := 0; i < 4; i++ {
					y := iy0 + i
					if y < 0 || y >= g.H {
						continue
					}
					for j := 0; j < 4; j++ {
						if x := ix0 + j; x >= 0 && x < g.W {
							d[i][j] = img[y*g.W+x]
						}
					}
				}
			}
			var s [4][4]float32 // B^T d
			for j := 0; j < 4; j++ {
				s[0][j] = d[0][j] - d[2][j]
				s[1][j] = d[1][j] + d[2][j]
				s[2][j] = d[2][j] - d[1][j]
				s[3][j] = d[1][j] - d[3][j]
			}
			o := ci*nt + t - t0
			step := c * nt
			for i := 0; i < 4; i++ {
				r := &s[i]
				v[(i*4+0)*step+o] = r[0] - r[2]
				v[(i*4+1)*step+o] = r[1] + r[2]
				v[(i*4+2)*step+o] = r[2] - r[1]
				v[(i*4+3)*step+o] = r[1] - r[3]
			}
		}
	}
}

// winogradOutput computes Y = A^T M A (A^T = [1 1 1 0; 0 1 -1 -1]) of every
// output channel and tile in [t0,t1) from the 16 GEMM results in m, applies
// the epilogue and stores the pixels inside the image.
func winogradOutput(dst, m []float32, k int, g WinogradGeom, t0, t1 int, e *Epilogue) {
	nt := t1 - t0
	tw := (g.OW + 1) / 2
	ohw := g.OH * g.OW
	step := k * nt
	flags := 0
	if e.Bias != nil {
		flags |= flagBias
	}
	if e.Add != nil {
		flags |= flagAdd
	}
	switch e.Act {
	case Relu:
		flags |= flagRelu
	case Clip:
		flags |= flagClip
	}
	for ko := 0; ko < k; ko++ {
		out := dst[ko*ohw : (ko+1)*ohw : (ko+1)*ohw]
		var bias float32
		if flags&flagBias != 0 {
			bias = e.Bias[ko]
		}
		var add []float32
		if flags&flagAdd != 0 {
			add = e.Add[ko*e.LdAdd : ko*e.LdAdd+ohw : ko*e.LdAdd+ohw]
		}
		for t := t0; t < t1; t++ {
			o := ko*nt + t - t0
			var s [2][4]float32 // A^T M
			for j := 0; j < 4; j++ {
				m0, m1, m2, m3 := m[j*step+o], m[(4+j)*step+o], m[(8+j)*step+o], m[(12+j)*step+o]
				s[0][j] = m0 + m1 + m2
				s[1][j] = m1 - m2 - m3
			}
			y0, x0 := 2*(t/tw), 2*(t%tw)
			for i := 0; i < 2; i++ {
				y := y0 + i
				if y >= g.OH {
					break
				}
				r := &s[i]
				px := [2]float32{r[0] + r[1] + r[2], r[1] - r[2] - r[3]}
				for j, val := range px {
					x := x0 + j
					if x >= g.OW {
						break
					}
					idx := y*g.OW + x
					val += bias
					if add != nil {
						val += add[idx]
					}
					if flags&flagRelu != 0 {
						val = max(val, 0)
					}
					if flags&flagClip != 0 {
						val = min(max(val, e.Min), e.Max)
					}
					out[idx] = val
				}
			}
		}
	}
}
