package onnxmodel

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkExtract runs SqueezeNet 1.1 on fish.png at batch 1.
func BenchmarkExtract(b *testing.B) {
	img, _, _ := bgrPlanes(b, filepath.Join(sharedDir(b), "data", "images", "fish.png"))
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

func TestExtractZeroAlloc(t *testing.T) {
	img, _, _ := bgrPlanes(t, filepath.Join(sharedDir(t), "data", "images", "fish.png"))
	for _, threads := range []int{1, 2} {
		m := loadSqueezeNet(t, threads)
		var f Features
		ctx := context.Background()
		if err := m.Extract(ctx, &f, img, 1); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(5, func() {
			if err := m.Extract(ctx, &f, img, 1); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("threads=%d: Extract allocates %v times per run, want 0", threads, allocs)
		}
	}
}
