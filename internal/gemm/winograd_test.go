package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// directConv3x3 is the reference: a naive float64 3x3 stride-1
// convolution with the epilogue, returning the output and the magnitude
// bounding each element's rounding error.
func directConv3x3(k, c int, w, src []float32, g WinogradGeom, ep *Epilogue) (want, scale []float64) {
	ohw := g.OH * g.OW
	want = make([]float64, k*ohw)
	scale = make([]float64, k*ohw)
	for ko := 0; ko < k; ko++ {
		for y := 0; y < g.OH; y++ {
			for x := 0; x < g.OW; x++ {
				var s, mag float64
				for ci := 0; ci < c; ci++ {
					for i := 0; i < 3; i++ {
						for j := 0; j < 3; j++ {
							iy, ix := y+i-g.PadTop, x+j-g.PadLeft
							if iy < 0 || iy >= g.H || ix < 0 || ix >= g.W {
								continue
							}
							p := float64(w[(ko*c+ci)*9+i*3+j]) * float64(src[ci*g.H*g.W+iy*g.W+ix])
							s += p
							mag += math.Abs(p)
						}
					}
				}
				if ep != nil {
					if ep.Bias != nil {
						s += float64(ep.Bias[ko])
						mag += math.Abs(float64(ep.Bias[ko]))
					}
					if ep.Add != nil {
						a := float64(ep.Add[ko*ep.LdAdd+y*g.OW+x])
						s += a
						mag += math.Abs(a)
					}
					switch ep.Act {
					case Relu:
						s = math.Max(s, 0)
					case Clip:
						s = math.Min(math.Max(s, float64(ep.Min)), float64(ep.Max))
					}
				}
				want[ko*ohw+y*g.OW+x] = s
				// The transforms add and subtract up to 4 terms per product.
				scale[ko*ohw+y*g.OW+x] = 4 * mag
			}
		}
	}
	return want, scale
}

func TestWinograd3x3(t *testing.T) {
	// Output size follows from the padding: OH = H + PadTop + padBottom - 2.
	geoms := []struct {
		h, w, pt, pl, pb, pr int
	}{
		{4, 4, 0, 0, 0, 0},
		{5, 7, 1, 1, 1, 1},
		{8, 8, 1, 1, 1, 1},
		{9, 6, 1, 0, 0, 1},
		{3, 3, 1, 1, 1, 1},
		{1, 1, 1, 1, 1, 1},
		{14, 13, 2, 1, 0, 2},
		{3, 70, 1, 1, 1, 1}, // tile rows longer than winogradBlock
		{5, 131, 0, 2, 1, 0},
	}
	chans := [][2]int{{1, 1}, {3, 5}, {17, 9}, {8, 33}}
	for _, kern := range kernels() {
		withKernel(t, kern, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(21, 22))
			idx := 0
			for _, gg := range geoms {
				for _, kc := range chans {
					k, c := kc[0], kc[1]
					g := WinogradGeom{H: gg.h, W: gg.w, PadTop: gg.pt, PadLeft: gg.pl,
						OH: gg.h + gg.pt + gg.pb - 2, OW: gg.w + gg.pl + gg.pr - 2}
					ec := epiCases[idx%len(epiCases)]
					idx++
					name := fmt.Sprintf("k=%d/c=%d/%dx%d/pad=%d,%d,%d,%d/%s", k, c, gg.h, gg.w, gg.pt, gg.pl, gg.pb, gg.pr, ec.name)
					t.Run(name, func(t *testing.T) {
						testWinograd(t, rng, k, c, g, ec)
					})
				}
			}
		})
	}
}

// winoTestEpilogue returns the Epilogue of case ec for a Winograd
// convolution of images images with k output channels of ohw pixels (nil
// for the "nil" case), with a random bias and a random residual whose rows
// are 3 floats longer than an image channel.
func winoTestEpilogue(rng *rand.Rand, ec epiCase, k, ohw, images int) *Epilogue {
	if ec.useNilEpil {
		return nil
	}
	ep := &Epilogue{Act: ec.act, Min: ec.lo, Max: ec.hi}
	if ec.bias {
		ep.Bias = randSlice(rng, k)
	}
	if ec.add {
		ep.LdAdd = ohw + 3
		ep.Add = randSlice(rng, (images*k-1)*ep.LdAdd+ohw)
	}
	return ep
}

func testWinograd(t *testing.T, rng *rand.Rand, k, c int, g WinogradGeom, ec epiCase) {
	t.Helper()
	w := randSlice(rng, k*c*9)
	src := randSlice(rng, c*g.H*g.W)
	ohw := g.OH * g.OW
	ep := winoTestEpilogue(rng, ec, k, ohw, 1)
	want, scale := directConv3x3(k, c, w, src, g, ep)
	wg := NewWinograd3x3(k, c, w)
	dst := guarded(k*ohw, nil)
	tiles := g.Tiles()
	// Split the tiles in up to three uneven ranges, as threads would.
	cuts := []int{0, tiles / 3, tiles - tiles/4, tiles}
	for i := 0; i+1 < len(cuts); i++ {
		t0, t1 := cuts[i], cuts[i+1]
		if t0 > t1 {
			continue
		}
		ws := guarded(wg.WorkspaceSize(t1-t0), nil)
		wg.Conv(dst[guard:], src, g, t0, t1, ep, ws[guard:len(ws)-guard])
		checkWorkspaceGuard(t, ws)
	}
	checkOutput(t, dst, k, ohw, ohw, c*9, want, scale)
}

func TestWinogradPanics(t *testing.T) {
	wg := NewWinograd3x3(2, 3, make([]float32, 54))
	g := WinogradGeom{H: 4, W: 4, OH: 2, OW: 2}
	for _, tt := range []struct {
		name string
		f    func()
	}{
		{"short filters", func() { NewWinograd3x3(2, 3, make([]float32, 53)) }},
		{"tile range", func() { wg.Conv(make([]float32, 8), make([]float32, 48), g, 0, 2, nil, make([]float32, 1000)) }},
		{"short src", func() { wg.Conv(make([]float32, 8), make([]float32, 47), g, 0, 1, nil, make([]float32, 1000)) }},
		{"short ws", func() { wg.Conv(make([]float32, 8), make([]float32, 48), g, 0, 1, nil, make([]float32, 3)) }},
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
