package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkConv3x3Algos compares im2col + MulPacked, Winograd F(2x2,3x3)
// and F(4x4,3x3) on the 3x3 stride-1 convolutions of ResNet50 (pad 1,
// bias and ReLU), single-threaded, at batch 1 and 8 (F(4x4) multiplies
// the tiles of all images of the batch in one call; the others run image
// by image). GFLOP/s counts the direct convolution's 2*K*C*9*H*W flops per
// image for all, so the rates compare times.
func BenchmarkConv3x3Algos(b *testing.B) {
	for _, batch := range []int{1, 8} {
		for _, s := range [][2]int{{64, 56}, {128, 28}, {256, 14}, {512, 7}} {
			ch, hw := s[0], s[1]
			rng := rand.New(rand.NewPCG(4, 4))
			w := randSlice(rng, ch*ch*9)
			src := randSlice(rng, batch*ch*hw*hw)
			dst := make([]float32, batch*ch*hw*hw)
			ep := &Epilogue{Bias: randSlice(rng, ch), Act: Relu}
			flops := 2 * float64(ch*ch*9*hw*hw) * float64(batch)
			g := WinogradGeom{H: hw, W: hw, PadTop: 1, PadLeft: 1, OH: hw, OW: hw}
			img, out := ch*hw*hw, ch*hw*hw
			name := fmt.Sprintf("n=%d/c=%d/hw=%d", batch, ch, hw)
			b.Run(name+"/im2col", func(b *testing.B) {
				pa := PackA(ch, ch*9, w, ch*9)
				col := make([]float32, ch*9*hw*hw)
				ws := make([]float32, WorkspaceSize(ch*9, hw*hw))
				benchFlops(b, flops, func() {
					for i := 0; i < batch; i++ {
						im2col3x3(col, src[i*img:], ch, hw, hw)
						MulPacked(dst[i*out:], hw*hw, pa, col, hw*hw, hw*hw, ep, ws)
					}
				})
			})
			b.Run(name+"/wino2", func(b *testing.B) {
				wg := NewWinograd3x3(ch, ch, w)
				ws := make([]float32, wg.WorkspaceSize(g.Tiles()))
				benchFlops(b, flops, func() {
					for i := 0; i < batch; i++ {
						wg.Conv(dst[i*out:], src[i*img:], g, 0, g.Tiles(), ep, ws)
					}
				})
			})
			b.Run(name+"/wino4", func(b *testing.B) {
				wg := NewWinograd4x4(ch, ch, w)
				tiles := batch * wg.Tiles(g)
				ws := make([]float32, wg.WorkspaceSize(tiles))
				benchFlops(b, flops, func() {
					wg.ConvBatch(dst, src, batch, g, 0, tiles, ep, ws)
				})
			})
		}
	}
}
