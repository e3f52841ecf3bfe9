package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// wino4BT and wino4AT are the F(4x4,3x3) data and output matrices that
// wino4Combine and wino4Reduce implement.
var (
	wino4BT = [6][6]float64{
		{4, 0, -5, 0, 1, 0},
		{0, -4, -4, 1, 1, 0},
		{0, 4, -4, -1, 1, 0},
		{0, -2, -1, 2, 1, 0},
		{0, 2, -1, -2, 1, 0},
		{0, 4, 0, -5, 0, 1},
	}
	wino4AT = [4][6]float64{
		{1, 1, 1, 1, 1, 0},
		{0, 1, -1, 2, -2, 0},
		{0, 1, 1, 4, 4, 0},
		{0, 1, -1, 8, -8, 1},
	}
)

// wino4Tile computes A^T [U ⊙ (B^T d B)] A in float64 for the 6x6 tile d
// and transformed filter u, with every matrix replaced by its absolute
// value when abs is set (which bounds the rounding error of the float32
// pipeline).
func wino4Tile(u []float64, d *[6][6]float64, abs bool) [4][4]float64 {
	f := func(x float64) float64 {
		if abs {
			return math.Abs(x)
		}
		return x
	}
	var t, v [6][6]float64
	for i := 0; i < 6; i++ {
		for j := 0; j < 6; j++ {
			for k := 0; k < 6; k++ {
				t[i][j] += f(wino4BT[i][k]) * f(d[k][j])
			}
		}
	}
	for i := 0; i < 6; i++ {
		for j := 0; j < 6; j++ {
			for k := 0; k < 6; k++ {
				v[i][j] += t[i][k] * f(wino4BT[j][k])
			}
			v[i][j] *= f(u[i*6+j])
		}
	}
	var s [4][6]float64
	var y [4][4]float64
	for i := 0; i < 4; i++ {
		for j := 0; j < 6; j++ {
			for k := 0; k < 6; k++ {
				s[i][j] += f(wino4AT[i][k]) * v[k][j]
			}
		}
	}
	for i := 0; i < 4; i++ {
		for j := 0; j < 4; j++ {
			for k := 0; k < 6; k++ {
				y[i][j] += s[i][k] * f(wino4AT[j][k])
			}
		}
	}
	return y
}

// TestWino4Matrices checks that the transform matrices compute a 3x3
// correlation exactly (in float64), and that the float32 helpers apply them.
func TestWino4Matrices(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	u := make([]float64, 36)
	for trial := 0; trial < 20; trial++ {
		g := randSlice(rng, 9)
		var d [6][6]float64
		for i := range d {
			for j := range d[i] {
				d[i][j] = rng.NormFloat64()
			}
		}
		wino4Filter(u, g)
		y := wino4Tile(u, &d, false)
		for i := 0; i < 4; i++ {
			for j := 0; j < 4; j++ {
				var want float64
				for a := 0; a < 3; a++ {
					for b := 0; b < 3; b++ {
						want += float64(g[a*3+b]) * d[i+a][j+b]
					}
				}
				if math.Abs(y[i][j]-want) > 1e-12*(1+math.Abs(want)) {
					t.Fatalf("trial %d: Y[%d][%d] = %v, want %v", trial, i, j, y[i][j], want)
				}
			}
		}
	}
	// Small integers keep the float32 helpers exact.
	for trial := 0; trial < 20; trial++ {
		var x [6]float32
		for i := range x {
			x[i] = float32(rng.IntN(21) - 10)
		}
		var got [6]float32
		got[0], got[1], got[2], got[3], got[4], got[5] = wino4Combine(x[0], x[1], x[2], x[3], x[4], x[5])
		for i := 0; i < 6; i++ {
			var want float64
			for k := 0; k < 6; k++ {
				want += wino4BT[i][k] * float64(x[k])
			}
			if float64(got[i]) != want {
				t.Fatalf("wino4Combine(%v)[%d] = %v, want %v", x, i, got[i], want)
			}
		}
		got[0], got[1], got[2], got[3] = wino4Reduce(x[0], x[1], x[2], x[3], x[4], x[5])
		for i := 0; i < 4; i++ {
			var want float64
			for k := 0; k < 6; k++ {
				want += wino4AT[i][k] * float64(x[k])
			}
			if float64(got[i]) != want {
				t.Fatalf("wino4Reduce(%v)[%d] = %v, want %v", x, i, got[i], want)
			}
		}
	}
}

// wino4Reference returns the exact (float64) output of a batch of 3x3
// convolutions with the epilogue, and per element the bound of the
// float32 F(4x4,3x3) result's rounding error before the activation: the
// same computation with the absolute values of every operand and matrix,
// times the unit roundoff and the depth of the sums.
func wino4Reference(images, k, c int, w, src []float32, g WinogradGeom, ep *Epilogue) (want, bound []float64) {
	ohw := g.OH * g.OW
	want = make([]float64, images*k*ohw)
	bound = make([]float64, images*k*ohw)
	us := make([]float64, k*c*36)
	for i := 0; i < k*c; i++ {
		wino4Filter(us[i*36:(i+1)*36], w[i*9:i*9+9])
	}
	const eps = 0x1p-24
	depth := float64(c + 16) // the GEMM's sum over C plus the transforms' adds
	th, tw := (g.OH+3)/4, (g.OW+3)/4
	for b := 0; b < images; b++ {
		for ko := 0; ko < k; ko++ {
			for ty := 0; ty < th; ty++ {
				for tx := 0; tx < tw; tx++ {
					var acc, mag [4][4]float64
					for ci := 0; ci < c; ci++ {
						var d [6][6]float64
						for i := 0; i < 6; i++ {
							for j := 0; j < 6; j++ {
								iy, ix := 4*ty+i-g.PadTop, 4*tx+j-g.PadLeft
								if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
									d[i][j] = float64(src[((b*c+ci)*g.H+iy)*g.W+ix])
								}
							}
						}
						u := us[(ko*c+ci)*36 : (ko*c+ci+1)*36]
						// The correlation itself, directly.
						for i := 0; i < 4; i++ {
							for j := 0; j < 4; j++ {
								var s float64
								for a := 0; a < 3; a++ {
									for bb := 0; bb < 3; bb++ {
										s += float64(w[(ko*c+ci)*9+a*3+bb]) * d[i+a][j+bb]
									}
								}
								acc[i][j] += s
							}
						}
						m := wino4Tile(u, &d, true)
						for i := range mag {
							for j := range mag[i] {
								mag[i][j] += m[i][j]
							}
						}
					}
					for i := 0; i < 4; i++ {
						for j := 0; j < 4; j++ {
							y, x := 4*ty+i, 4*tx+j
							if y >= g.OH || x >= g.OW {
								continue
							}
							s, bd := acc[i][j], depth*eps*mag[i][j]
							if ep != nil {
								if ep.Bias != nil {
									s += float64(ep.Bias[ko])
									bd += 2 * eps * math.Abs(float64(ep.Bias[ko]))
								}
								if ep.Add != nil {
									a := float64(ep.Add[(b*k+ko)*ep.LdAdd+y*g.OW+x])
									s += a
									bd += 2 * eps * math.Abs(a)
								}
								switch ep.Act {
								case Relu:
									s = math.Max(s, 0)
								case Clip:
									s = math.Min(math.Max(s, float64(ep.Min)), float64(ep.Max))
								}
							}
							o := (b*k+ko)*ohw + y*g.OW + x
							want[o], bound[o] = s, bd
						}
					}
				}
			}
		}
	}
	return want, bound
}

// wino4Case is one Winograd4x4 problem: geometry, channels, images, and
// how the tiles are split into calls.
type wino4Case struct {
	h, w, pt, pl, pb, pr int
	k, c, images         int
	chunk                int // wino4Chunk for the case; 0 keeps the default
}

func (wc wino4Case) geom() WinogradGeom {
	return WinogradGeom{H: wc.h, W: wc.w, PadTop: wc.pt, PadLeft: wc.pl,
		OH: wc.h + wc.pt + wc.pb - 2, OW: wc.w + wc.pl + wc.pr - 2}
}

func TestWinograd4x4(t *testing.T) {
	cases := []wino4Case{
		{h: 6, w: 6, k: 1, c: 1, images: 1},
		{h: 4, w: 4, pt: 1, pl: 1, pb: 1, pr: 1, k: 3, c: 5, images: 1},
		{h: 5, w: 7, pt: 1, pl: 1, pb: 1, pr: 1, k: 17, c: 9, images: 2},
		{h: 8, w: 8, pt: 1, pl: 1, pb: 1, pr: 1, k: 8, c: 33, images: 1},
		{h: 9, w: 6, pt: 1, pb: 0, pl: 0, pr: 1, k: 16, c: 16, images: 3},
		{h: 3, w: 3, pt: 1, pl: 1, pb: 1, pr: 1, k: 5, c: 3, images: 2},
		{h: 1, w: 1, pt: 1, pl: 1, pb: 1, pr: 1, k: 2, c: 7, images: 1},
		{h: 14, w: 13, pt: 2, pl: 1, pb: 0, pr: 2, k: 9, c: 4, images: 1},
		{h: 7, w: 7, pt: 1, pl: 1, pb: 1, pr: 1, k: 24, c: 40, images: 4},
		{h: 3, w: 139, pt: 1, pl: 1, pb: 1, pr: 1, k: 4, c: 3, images: 1}, // tile rows longer than wino4Block
		{h: 6, w: 131, pt: 0, pl: 2, pb: 1, pr: 0, k: 3, c: 2, images: 2},
		{h: 11, w: 10, pt: 1, pl: 1, pb: 1, pr: 1, k: 6, c: 5, images: 3, chunk: 5}, // chunks inside one call
	}
	for _, kern := range kernels() {
		withKernel(t, kern, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(43, 44))
			for i, wc := range cases {
				ec := epiCases[i%len(epiCases)]
				name := fmt.Sprintf("k=%d/c=%d/n=%d/%dx%d/pad=%d,%d,%d,%d/%s", wc.k, wc.c, wc.images,
					wc.h, wc.w, wc.pt, wc.pl, wc.pb, wc.pr, ec.name)
				t.Run(name, func(t *testing.T) {
					if wc.chunk > 0 {
						saved := wino4Chunk
						wino4Chunk = wc.chunk
						defer func() { wino4Chunk = saved }()
					}
					testWinograd4(t, rng, wc, ec)
				})
			}
		})
	}
}

// TestWinograd4x4Epilogues runs every epilogue on one geometry with
// partial tiles on both edges.
func TestWinograd4x4Epilogues(t *testing.T) {
	wc := wino4Case{h: 10, w: 9, pt: 1, pl: 1, pb: 1, pr: 1, k: 7, c: 6, images: 2}
	for _, kern := range kernels() {
		withKernel(t, kern, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(45, 46))
			for _, ec := range epiCases {
				t.Run(ec.name, func(t *testing.T) { testWinograd4(t, rng, wc, ec) })
			}
		})
	}
}

func testWinograd4(t *testing.T, rng *rand.Rand, wc wino4Case, ec epiCase) {
	t.Helper()
	k, c, images := wc.k, wc.c, wc.images
	g := wc.geom()
	w := randSlice(rng, k*c*9)
	src := randSlice(rng, images*c*g.H*g.W)
	ohw := g.OH * g.OW
	ep := winoTestEpilogue(rng, ec, k, ohw, images)
	want, bound := wino4Reference(images, k, c, w, src, g, ep)
	wg := NewWinograd4x4(k, c, w)
	dst := guarded(images*k*ohw, nil)
	tiles := images * wg.Tiles(g)
	// Split the tiles in up to three uneven ranges, as threads would; with
	// several images the ranges cross image boundaries.
	cuts := []int{0, tiles / 3, tiles - tiles/4, tiles}
	for i := 0; i+1 < len(cuts); i++ {
		t0, t1 := cuts[i], cuts[i+1]
		if t0 > t1 {
			continue
		}
		ws := guarded(wg.WorkspaceSize(t1-t0), nil)
		if images == 1 {
			wg.Conv(dst[guard:], src, g, t0, t1, ep, ws[guard:len(ws)-guard])
		} else {
			wg.ConvBatch(dst[guard:], src, images, g, t0, t1, ep, ws[guard:len(ws)-guard])
		}
		checkWorkspaceGuard(t, ws)
	}
	checkBound(t, dst, want, bound)
}

// checkBound compares the guarded dst with want element by element within
// bound and verifies that the guards still hold sentinels.
func checkBound(t *testing.T, dst []float32, want, bound []float64) {
	t.Helper()
	for j := 0; j < guard; j++ {
		if !math.IsNaN(float64(dst[j])) || !math.IsNaN(float64(dst[len(dst)-1-j])) {
			t.Fatal("write outside the output")
		}
	}
	bad := 0
	for i, w := range want {
		got := float64(dst[guard+i])
		if math.IsNaN(got) || math.Abs(got-w) > bound[i] {
			if bad < 5 {
				t.Errorf("dst[%d] = %v, want %v (bound %.3g)", i, got, w, bound[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d elements wrong", bad, len(want))
	}
}

func TestWinograd4x4Panics(t *testing.T) {
	wg := NewWinograd4x4(2, 3, make([]float32, 54))
	g := WinogradGeom{H: 6, W: 6, OH: 4, OW: 4}
	ws := make([]float32, wg.WorkspaceSize(2))
	for _, tt := range []struct {
		name string
		f    func()
	}{
		{"short filters", func() { NewWinograd4x4(2, 3, make([]float32, 53)) }},
		{"zero channels", func() { NewWinograd4x4(2, 0, nil) }},
		{"tile range", func() { wg.Conv(make([]float32, 32), make([]float32, 108), g, 0, 2, nil, ws) }},
		{"batch tile range", func() { wg.ConvBatch(make([]float32, 64), make([]float32, 216), 2, g, 1, 3, nil, ws) }},
		{"short src", func() { wg.Conv(make([]float32, 32), make([]float32, 107), g, 0, 1, nil, ws) }},
		{"short dst", func() { wg.ConvBatch(make([]float32, 63), make([]float32, 216), 2, g, 0, 1, nil, ws) }},
		{"short ws", func() { wg.Conv(make([]float32, 32), make([]float32, 108), g, 0, 1, nil, ws[:3]) }},
		{"short bias", func() {
			wg.Conv(make([]float32, 32), make([]float32, 108), g, 0, 1, &Epilogue{Bias: []float32{1}}, ws)
		}},
		{"short residual", func() {
			wg.ConvBatch(make([]float32, 64), make([]float32, 216), 2, g, 0, 1, &Epilogue{Add: make([]float32, 63), LdAdd: 16}, ws)
		}},
		{"bad geometry", func() { wg.Conv(make([]float32, 32), make([]float32, 108), WinogradGeom{H: 6, W: 6}, 0, 0, nil, ws) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil {
					t.Fatal("no panic")
				}
			}()
			tt.f()
		})
	}
}

// TestWino4RowKernels compares the fast row kernels of the transforms with
// their Go specifications, for every run length up to two vectors past a
// full block, and checks that nothing past n is written into V or dst.
func TestWino4RowKernels(t *testing.T) {
	if bestKernel().id != kernAVX512 {
		t.Skip("no AVX-512 row kernels on this machine or build")
	}
	rng := rand.New(rand.NewPCG(48, 49))
	near := func(got, want float32) bool {
		return math.Abs(float64(got-want)) <= 1e-5*(1+math.Abs(float64(want)))
	}
	for n := 1; n <= wino4Block; n++ {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			width := 4*n + 2
			var d, s1, s2 [6][wino4Row]float32
			for i := range d {
				copy(d[i][:], randSlice(rng, wino4Row))
			}
			wino4Vert(false, &d, &s1, width)
			wino4Vert(true, &d, &s2, width)
			for i := range s1 {
				for x := 0; x < width; x++ {
					if !near(s2[i][x], s1[i][x]) {
						t.Fatalf("vert: s[%d][%d] = %v, want %v", i, x, s2[i][x], s1[i][x])
					}
				}
			}
			// Horizontal pass into guarded rows of V.
			var vg, vf [6][]float32
			var vs, vfs [6][]float32
			for j := range vg {
				vg[j] = guarded(n, nil)
				vf[j] = guarded(n, nil)
				vs[j], vfs[j] = vg[j][guard:guard+n], vf[j][guard:guard+n]
			}
			wino4Horiz(false, &s1[2], &vs)
			wino4Horiz(true, &s1[2], &vfs)
			for j := range vg {
				for i, v := range vf[j] {
					if i < guard || i >= guard+n {
						if !math.IsNaN(float64(v)) {
							t.Fatalf("horiz: v%d[%d] written outside the run", j, i-guard)
						}
						continue
					}
					if !near(v, vg[j][i]) {
						t.Fatalf("horiz: v%d[%d] = %v, want %v", j, i-guard, v, vg[j][i])
					}
				}
			}
			// Output transform from 36 streams with slack, then the epilogue.
			step := n + 5
			m := randSlice(rng, 36*step+wino4Slack)
			var r1, r2 [4][wino4Row]float32
			wino4Out(false, m, step, n, &r1)
			wino4Out(true, m, step, n, &r2)
			for i := range r1 {
				for x := 0; x < 4*n; x++ {
					if !near(r2[i][x], r1[i][x]) {
						t.Fatalf("out: r[%d][%d] = %v, want %v", i, x, r2[i][x], r1[i][x])
					}
				}
			}
			cols := 4*n - 1
			add := randSlice(rng, cols)
			for _, ec := range epiCases[1:] {
				e := Epilogue{Act: ec.act, Min: ec.lo, Max: ec.hi}
				var a []float32
				if ec.add {
					a = add
				}
				want, got := guarded(cols, nil), guarded(cols, nil)
				epiRow(false, want[guard:guard+cols], &r1[1], a, 0.25, &e)
				epiRow(true, got[guard:guard+cols], &r1[1], a, 0.25, &e)
				for i, v := range got {
					if math.IsNaN(float64(v)) != math.IsNaN(float64(want[i])) || (!math.IsNaN(float64(v)) && v != want[i]) {
						t.Fatalf("epilogue %s: dst[%d] = %v, want %v", ec.name, i-guard, v, want[i])
					}
				}
			}
		})
	}
}
