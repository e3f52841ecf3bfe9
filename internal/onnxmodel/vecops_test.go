package onnxmodel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSumAndScale checks sum32 and scaleTo (both the assembly and the Go
// versions where the assembly exists) against float64 references for every
// length up to 150, so the 64-lane, 16-lane and masked-tail paths all run,
// and checks that scaleTo writes nothing past len(dst).
func TestSumAndScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	impls := []struct {
		name  string
		sum   func([]float32) float32
		scale func(dst, src []float32, s float32)
	}{
		{"dispatch", sum32, scaleTo},
		{"generic", sumGeneric, scaleGeneric},
	}
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			for n := 0; n <= 150; n++ {
				src := make([]float32, n+5)
				for i := range src {
					src[i] = rng.Float32()*2 - 1
				}
				var want, abs float64
				for _, v := range src[:n] {
					want += float64(v)
					abs += math.Abs(float64(v))
				}
				got := im.sum(src[:n])
				if math.Abs(float64(got)-want) > 1e-6*abs+1e-7 {
					t.Fatalf("n=%d: sum %v, want %v", n, got, want)
				}
				dst := make([]float32, n+5)
				for i := range dst {
					dst[i] = 42
				}
				s := float32(-1.75)
				im.scale(dst[:n], src, s)
				for i, v := range dst {
					w := float32(42)
					if i < n {
						w = src[i] * s
					}
					if v != w {
						t.Fatalf("n=%d: scale dst[%d] = %v, want %v", n, i, v, w)
					}
				}
			}
		})
	}
}
