package onnxmodel

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/tlserve/tlserve/internal/refdata"
)

// BenchmarkExtract runs SqueezeNet 1.1 on fish.png at batch 1.
func BenchmarkExtract(b *testing.B) {
	img, _, _ := bgrPlanes(b, filepath.Join(refdata.Dir(b), "data", "images", "fish.png"))
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			m := loadSqueezeNet(b, threads)
			var f Features
			ctx := context.Background()
			if err := m.Extract(ctx, &f, img, 1); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := m.Extract(ctx, &f, img, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestExtractZeroAlloc checks that a steady-state Extract allocates
// nothing, on one and two threads, for a residual CNN made of the heavy
// operators and the planner (BatchNormalization folding, Conv fusion).
func TestExtractZeroAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	for _, threads := range []int{1, 2} {
		m := residualNet(t, 5).parse(t, Options{Threads: threads})
		img := randFloats(rand.New(rand.NewPCG(5, 6)), 2*3*16*16)
		var f Features
		ctx := context.Background()
		if err := m.Extract(ctx, &f, img, 2); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(20, func() {
			if err := m.Extract(ctx, &f, img, 2); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("threads=%d: Extract allocates %v times per run, want 0", threads, allocs)
		}
	}
}
