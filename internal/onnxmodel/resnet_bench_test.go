package onnxmodel_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tlserve/tlserve/internal/modelgen"
	"github.com/tlserve/tlserve/internal/onnxmodel"
)

// BenchmarkExtractResNet50 runs a generated full-size ResNet50 v1 (224x224,
// random weights; speed does not depend on the values) at batch 1 and 4.
func BenchmarkExtractResNet50(b *testing.B) {
	file, err := modelgen.Generate(modelgen.Options{Variant: modelgen.VariantV1BNOpset13, InputSize: 224})
	if err != nil {
		b.Fatal(err)
	}
	for _, threads := range []int{1, 2} {
		m, err := onnxmodel.Parse(file, onnxmodel.Options{Threads: threads})
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range []int{1, 4} {
			b.Run(fmt.Sprintf("threads=%d/n=%d", threads, n), func(b *testing.B) {
				in := make([]float32, n*3*224*224)
				modelgen.Input(in, 1)
				var f onnxmodel.Features
				ctx := context.Background()
				if err := m.Extract(ctx, &f, in, n); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if err := m.Extract(ctx, &f, in, n); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		m.Close()
	}
}

// BenchmarkLoadResNet50 measures Load (file to ready batch-1 plan) of a
// generated full-size ResNet50 v1 with BatchNormalization kept, which the
// loader folds; B/op counts everything the load allocates.
func BenchmarkLoadResNet50(b *testing.B) {
	file, err := modelgen.Generate(modelgen.Options{Variant: modelgen.VariantV1BNOpset13, InputSize: 224})
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "resnet50.onnx")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		m, err := onnxmodel.Load(path, onnxmodel.Options{Threads: 2})
		if err != nil {
			b.Fatal(err)
		}
		m.Close()
	}
}
